"""The floor plan holds: import-linter's contracts (pyproject.toml, docs/adr/0018-layout.md).

The layers (ops → agents → runtime | connectors | infra → domain → schemas | models → base), a
domain that does no I/O, and no cycle between the modules of a package. The contracts are the
list; this test only runs the tool, as `make lint` does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    tool = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(tool), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: " in done.stdout and " broken" in done.stdout, done.stdout
