"""Imports over HTTP as an operator runs them: `cobranca users create-admin`, `cobranca api serve`
in its own process, a tenant key issued through the API (``POST /v1/tenants/{t}/keys`` with the
imports scopes), an upload with curl's shape, an old imports keys file migrated with
`cobranca api import-keys` (its clients keep their keys), and SIGTERM."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streams.base.ports import free_port
from streams.base.topics import CLIENTS
from tests.cli import cobranca
from tests.kafka_helpers import read_committed
from tests.unit.imports.sample import EXPECTED_SUMMARY, MIXED

pytestmark = pytest.mark.integration

PASSWORD = "a long enough password"
SCOPES = ["imports:write", "imports:read"]


def _call(
    url: str,
    *,
    key: str | None = None,
    body: bytes | None = None,
    ctype: str | None = None,
    json_body: Any = None,
) -> tuple[int, dict[str, Any]]:
    if json_body is not None:
        body, ctype = json.dumps(json_body).encode(), "application/json"
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


@dataclass
class Served:
    base: str
    env: dict[str, str]
    admin: str
    """A platform admin's access token."""

    def issue(self, tenant: str) -> str:
        """A tenant key with the imports scopes, issued through the API as the README says."""
        status, body = _call(
            f"{self.base}/v1/tenants/{tenant}/keys",
            key=self.admin,
            json_body={"name": "erp", "scopes": SCOPES},
        )
        assert status == 201, body
        return str(body["key"])

    def import_csv(self, tenant: str, key: str) -> dict[str, Any]:
        status, body = _call(
            f"{self.base}/v1/tenants/{tenant}/imports",
            key=key,
            body=MIXED.encode(),
            ctype="text/csv",
        )
        assert status == 202, body
        location = f"{self.base}/v1/tenants/{tenant}/imports/{body['import_id']}"
        final: dict[str, Any] = _wait(
            lambda: (r := _call(location, key=key)[1])["state"] != "running" and r, "completion"
        )
        return final


@pytest.fixture(scope="module")
def served(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("api")
    port = free_port()
    env = {
        **os.environ,
        "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "COBRANCA_API_SIGNING_KEYS": str(home / "signing-keys"),
        "COBRANCA_API_PORT": str(port),
        "COBRANCA_LOG_FORMAT": "json",
    }
    email = f"ops-{uuid.uuid4().hex[:6]}@example.com"
    made = cobranca("users", "create-admin", email, env=env, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "streams.ops.cli", "api", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(home / "server.log").open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _call(f"{base}/healthz")[0] == 200, "/healthz")
        status, tokens = _call(
            f"{base}/v1/auth/login", json_body={"email": email, "password": PASSWORD}
        )
        assert status == 200, tokens
        yield Served(base, env, str(tokens["access_token"]))
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, (home / "server.log").read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_key_issued_through_the_api_imports(served: Served) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    url = f"{served.base}/v1/tenants/{tenant}/imports"
    status, body = _call(url, body=b"x", key="cbk_" + "a" * 43)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    key = served.issue(tenant)
    assert key.startswith("cbk_")
    final = served.import_csv(tenant, key)
    assert final["state"] == "completed"
    assert {k: final[k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    # What Prometheus scrapes from the API (the `imports` job, ADR 0020): the process, the imports.
    with urllib.request.urlopen(f"{served.base}/metrics", timeout=30) as response:
        metrics = response.read().decode()
    assert "process_cpu_seconds_total" in metrics
    assert 'cobranca_imports_total{state="completed"}' in metrics
    assert 'cobranca_import_requests_total{status="202"}' in metrics
    assert 'cobranca_import_requests_total{status="401"}' in metrics
    # A key of this tenant is no key of another one.
    status, body = _call(
        f"{served.base}/v1/tenants/o-{uuid.uuid4().hex[:8]}/imports", key=key, body=b"x"
    )
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_an_old_keys_file_is_migrated_and_its_keys_keep_working(
    served: Served, tmp_path: Path
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    key = "cbk_" + secrets.token_urlsafe(32)  # what `cobranca imports new-key` handed out
    hashed = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    stranger = "sha256:" + hashlib.sha256(b"another").hexdigest()
    keys_file = tmp_path / "imports-keys.toml"
    keys_file.write_text(
        f'[keys]\n"{hashed}" = "{tenant}"  # created 2026-12-04T16:55Z\n'
        f'"{stranger}" = "Acme@Corp"\n',  # a tenant id the API cannot route
        encoding="utf-8",
    )
    me = f"{served.base}/v1/auth/me"
    assert _call(me, key=key)[0] == 401

    migrated = cobranca("api", "import-keys", str(keys_file), env=served.env)
    assert migrated.returncode == 0, migrated.stderr
    assert "1 key(s) migrated, 0 already present" in migrated.stdout
    assert "'Acme@Corp'" in migrated.stderr
    # The running server follows the identity topic: the key works without a restart.
    _wait(lambda: _call(me, key=key)[0] == 200, "the migrated key")
    _, who = _call(me, key=key)
    assert who["tenant"] == tenant and set(SCOPES) <= set(who["permissions"])
    final = served.import_csv(tenant, key)
    assert final["state"] == "completed"
    assert {k: final[k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY

    again = cobranca("api", "import-keys", str(keys_file), env=served.env)
    assert again.returncode == 0 and "0 key(s) migrated, 1 already present" in again.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text('[keys]\n"cbk_plainkeyplainkey" = "acme"\n', encoding="utf-8")
    refused = cobranca("api", "import-keys", str(broken), env=served.env)
    assert refused.returncode == 1 and "never the keys themselves" in refused.stderr


def test_an_upload_cut_off_fails_without_a_completion(served: Served, kafka_bootstrap: str) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    key = served.issue(tenant)
    import_id = f"cut-{uuid.uuid4().hex[:8]}"
    body = MIXED.encode()
    host, port = served.base.removeprefix("http://").split(":")
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
    location = f"{served.base}/v1/tenants/{tenant}/imports/{import_id}"
    final = _wait(
        lambda: (r := _call(location, key=key))[0] == 200 and r[1]["state"] != "running" and r[1],
        "the cut upload to fail",
    )
    assert final["state"] == "failed"
    assert final["error"]["code"] == "upload_incomplete"

    events = [
        v
        for _, v in asyncio.run(read_committed(kafka_bootstrap, CLIENTS.name))
        if v.get("import_id") == import_id
    ]
    # Cut inside the head (the first 64 KiB): no row was read, nothing is stored. A cut after
    # rows were read is an incomplete import (ADR 0017; test_http_limits.py).
    assert events == []
