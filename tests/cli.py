"""Run `cobranca …` as a child process, the way an operator types it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["cobranca"]


def cobranca(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
    check: bool = False,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`cobranca ARGS` (`python -m streams.ops.cli`) with this process's environment plus
    `env`; its text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        cwd=cwd,
    )
