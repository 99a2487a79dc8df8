"""Imports through the API under one tenant's hostile load (issue 18 §3): per-tenant and total
limits with Retry-After, uploads that trickle are ended, and a cut upload is an incomplete
import; every refusal in the API's one error shape."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.imports.test_http_imports import (
    Api,
    _api,
    _counts_of,
    _error,
    _events,
    _ndjson,
    _summary,
)
from tests.unit.imports.sample import MIXED

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

HEADER = b"codigo;nome;celular;cpf;valor;vencimento\n"


async def _held(release: asyncio.Event) -> AsyncIterator[bytes]:
    """A CSV body that sends its header and then waits for `release` (a slow tenant)."""
    yield HEADER
    await release.wait()


async def _trickle(every_s: float, stop: asyncio.Event) -> AsyncIterator[bytes]:
    yield HEADER
    while not stop.is_set():
        await asyncio.sleep(every_s)
        yield b"\n"


async def _running(api: Api, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if api.service.running == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {count} imports running")


async def test_one_tenant_cannot_take_every_import_slot(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async for api in _api(tmp_path, kafka_bootstrap, max_running=3, max_running_per_tenant=2):
        release = asyncio.Event()
        csv = {"Content-Type": "text/csv"}
        slow = [asyncio.ensure_future(api.post(_held(release), headers=csv)) for _ in range(2)]
        await _running(api, 2)
        status, body, headers = await api.post(MIXED.encode(), headers=csv)
        assert status == 429, body
        code, message, _ = _error(body)
        assert code == "too_many_imports_for_tenant"
        assert "COBRANCA_IMPORTS_MAX_RUNNING_PER_TENANT" in message
        assert int(headers["Retry-After"]) > 0
        # Another tenant still gets in, and then the total is reached: 429 with Retry-After too.
        theirs = {**csv, **api.auth(api.other)}
        other = asyncio.ensure_future(api.post(_held(release), headers=theirs, tenant=api.other))
        await _running(api, 3)
        status, body, headers = await api.post(MIXED.encode(), headers=theirs, tenant=api.other)
        assert status == 429 and _error(body)[0] == "too_many_imports", body
        assert int(headers["Retry-After"]) > 0
        release.set()
        for answer in await asyncio.gather(*slow, other):
            assert answer[0] == 202, answer[1]
        await _running(api, 0)
        status, body, _ = await api.post(MIXED.encode(), headers=csv)
        assert status == 202, body


async def test_an_upload_slower_than_the_minimum_rate_is_ended(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    options = {"min_upload_rate": 1_000, "rate_window_s": 1.0}
    async for api in _api(tmp_path, kafka_bootstrap, **options):
        stop = asyncio.Event()
        began = time.monotonic()
        status, body, _ = await api.post(_trickle(0.05, stop), headers={"Content-Type": "text/csv"})
        stop.set()
        assert status == 408, body
        code, message, _ = _error(body)
        assert code == "upload_too_slow"
        assert "COBRANCA_IMPORTS_MIN_UPLOAD_RATE" in message
        assert time.monotonic() - began < 10
        await _running(api, 0)  # its slot is free again


async def test_a_cut_upload_is_an_incomplete_import_whose_counts_are_what_was_stored(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Issue 18 §4 (ADR 0017): the rows read before the cut are stored and answered by an
    ImportCompleted with incomplete: true; the status counts exactly what is on the topic."""
    async for api in _api(tmp_path, kafka_bootstrap, max_bytes=50_000_000):
        body = _ndjson(15_000)
        sent = body[: len(body) * 2 // 3]  # cut inside a line, two thirds in
        import_id = f"cut-{uuid.uuid4().hex[:8]}"
        host, port = api.server.host, api.server.port
        _, writer = await asyncio.open_connection(host, port)
        writer.write(
            (
                f"POST /v1/tenants/{api.tenant}/imports?import_id={import_id} HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {api.keys[api.tenant]}\r\n"
                f"Content-Type: application/x-ndjson\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + sent
        )
        await writer.drain()
        await _received(api, import_id, len(sent))
        writer.close()
        await writer.wait_closed()
        final = await api.wait_finished(f"/v1/tenants/{api.tenant}/imports/{import_id}")
        assert final["state"] == "incomplete", final
        assert final["error"]["code"] == "upload_incomplete"
        whole_lines = sent.count(b"\n")
        assert final["rows"] == final["rows_read"] == whole_lines
        events = await _events(kafka_bootstrap, import_id)
        completions = [v for _, v in events if v["header"]["event_type"] == "ImportCompleted"]
        assert len(completions) == 1 and completions[0]["incomplete"] is True
        assert _summary(completions[0]) == _summary(final) == _counts_of(events)


async def _received(api: Api, import_id: str, size: int) -> None:
    deadline = time.monotonic() + 30
    location = f"/v1/tenants/{api.tenant}/imports/{import_id}"
    while time.monotonic() < deadline:
        status, body = await api.get(location)
        if status == 200 and body["bytes_received"] >= size - 65_536:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server never read {size:,} bytes of {import_id}")
