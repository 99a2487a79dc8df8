"""`cobranca imports new-key` and `cobranca imports serve` as an operator runs them: a key made
on the command line, the server in its own process, an upload with curl's shape, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams.base.topics import CLIENTS
from tests.integration.conftest import free_port
from tests.kafka_helpers import read_committed
from tests.unit.imports.sample import EXPECTED_SUMMARY, MIXED

pytestmark = pytest.mark.integration


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _call(
    url: str, *, key: str | None = None, body: bytes | None = None, ctype: str | None = None
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait(condition: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def served(kafka_bootstrap: str, tmp_path: Path) -> Any:
    keys = tmp_path / "keys.toml"
    port = free_port()
    env = {
        **os.environ,
        "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "COBRANCA_IMPORTS_KEYS_FILE": str(keys),
        "COBRANCA_IMPORTS_PORT": str(port),
        "COBRANCA_LOG_FORMAT": "json",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "streams.ops.cli", "imports", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _call(f"{base}/healthz")[0] == 200, "/healthz")
        yield base, env, keys, server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def test_a_key_from_the_command_line_imports_through_the_server(served: Any) -> None:
    base, env, keys, server = served
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    assert _call(f"{base}/v1/tenants/{tenant}/imports", body=b"x", key="cbk_" + "a" * 43)[0] == 401
    made = _cli("imports", "new-key", tenant, "--append", "--force", env=env)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    key = lines[1].strip()
    assert key.startswith("cbk_") and key not in keys.read_text()
    assert lines[-1].strip() in keys.read_text()  # the hash line, picked up without a restart
    status, body = _call(
        f"{base}/v1/tenants/{tenant}/imports", key=key, body=MIXED.encode(), ctype="text/csv"
    )
    assert status == 202, body
    location = f"{base}/v1/tenants/{tenant}/imports/{body['import_id']}"
    final = _wait(
        lambda: (r := _call(location, key=key)[1])["state"] != "running" and r, "completion"
    )
    assert final["state"] == "completed"
    assert {k: final[k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0


def test_an_upload_cut_off_fails_without_a_completion(served: Any, kafka_bootstrap: str) -> None:
    base, env, _, _ = served
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    made = _cli("imports", "new-key", tenant, "--append", "--force", env=env)
    key = made.stdout.splitlines()[1].strip()
    import_id = f"cut-{uuid.uuid4().hex[:8]}"
    body = MIXED.encode()
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            (
                f"POST /v1/tenants/{tenant}/imports?import_id={import_id} HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {key}\r\nContent-Type: text/csv\r\n"
                f"Content-Length: {len(body) + 100_000}\r\n\r\n"
            ).encode()
            + body
        )
        time.sleep(1)
    location = f"{base}/v1/tenants/{tenant}/imports/{import_id}"
    final = _wait(
        lambda: (r := _call(location, key=key))[0] == 200 and r[1]["state"] != "running" and r[1],
        "the cut upload to fail",
    )
    assert final["state"] == "failed"
    assert final["error"]["error"] == "upload_incomplete"

    events = [
        v
        for _, v in asyncio.run(read_committed(kafka_bootstrap, CLIENTS.name))
        if v.get("import_id") == import_id
    ]
    # Cut inside the head (the first 64 KiB): no row was read, nothing is stored. A cut after
    # rows were read is an incomplete import (ADR 0017; test_http_limits.py).
    assert events == []
