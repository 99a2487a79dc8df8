"""`cobranca api serve` as a process of the test's own: its first platform admin made, started
on a free port, waited for, and stopped by its PID."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

from streams.base.ports import free_port
from tests.cli import cobranca

__all__ = ["serving_api"]


@contextlib.contextmanager
def serving_api(
    env: Mapping[str, str], home: Path, admin: str, password: str, *, start_s: float = 90
) -> Iterator[str]:
    """The API's base URL while it serves, with `admin` able to log in with `password`; its
    log in `home/api.log`."""
    made = cobranca("users", "create-admin", admin, env=env, stdin=password)
    assert made.returncode == 0, made.stderr
    port = free_port()
    with open(home / "api.log", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.ops.cli", "api", "serve", "--port", str(port)],
            env={**env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:
            assert proc.poll() is None, (home / "api.log").read_text()
            try:
                if requests.get(base + "/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"the API did not start in {start_s:.0f} s"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()  # this process, by its PID
        proc.wait(timeout=30)
