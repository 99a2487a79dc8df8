"""`cobranca schemas push`: copy the pinned schemas into a Confluent registry, ids kept.

Confluent's IMPORT mode is the one way to register a schema under a chosen id and version. For
each subject: read each pinned version from the target; a version already there with the same id
is left alone, one there with another id is an error (the target disagrees with our pins, and
importing would make the same bytes mean two schemas); the missing ones are imported with
`PUT /mode/{subject}` `{"mode": "IMPORT"}`, then `POST /subjects/{subject}/versions` with
`{"schema", "schemaType", "id", "version"}` in version order, then the subject is put back in
READWRITE. Running it again imports nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from connectors.schema_registry.errors import PushRefused
from schemas.registry_api import CONTENT_TYPE, ImportRequest

__all__ = ["Pushed", "push_schemas"]

_HEADERS: Final = {"Content-Type": CONTENT_TYPE, "Accept": f"{CONTENT_TYPE}, application/json"}


@dataclass(frozen=True, slots=True)
class Pushed:
    """What became of one pinned version on the target."""

    subject: str
    version: int
    schema_id: int
    imported: bool
    """False when the target had it already, with the same id."""


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    try:
        async with session.request(
            method, url, data=None if body is None else json.dumps(body), headers=_HEADERS
        ) as response:
            text = await response.text()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return response.status, parsed
    except aiohttp.ClientError as exc:
        raise PushRefused(f"{method} {url}: no answer ({exc})") from exc


def _refused(method: str, url: str, status: int, body: Any) -> PushRefused:
    message = body.get("message") if isinstance(body, dict) else body
    return PushRefused(f"{method} {url} answered {status}: {message}")


async def push_schemas(
    registry_url: str, requests: Sequence[ImportRequest], *, timeout_s: float = 30.0
) -> list[Pushed]:
    """Register `requests` (schemas/registry_api.import_requests) at `registry_url`, ids kept."""
    base = registry_url.rstrip("/")
    done: list[Pushed] = []
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for subject, group in groupby(requests, key=lambda r: r.subject):
            name = quote(subject, safe="")
            missing: list[ImportRequest] = []
            for request in sorted(group, key=lambda r: r.version):
                url = f"{base}/subjects/{name}/versions/{request.version}"
                status, body = await _call(session, "GET", url)
                if status == 404:
                    missing.append(request)
                    continue
                if status != 200 or not isinstance(body, dict):
                    raise _refused("GET", url, status, body)
                if body.get("id") != request.schema_id:
                    raise PushRefused(
                        f"{subject} v{request.version} has id {body.get('id')} at {base}, "
                        f"pinned as {request.schema_id} in schemas/registry.json: the target "
                        "disagrees with the pins; nothing of this subject was written"
                    )
                done.append(Pushed(subject, request.version, request.schema_id, imported=False))
            if not missing:
                continue
            mode_url = f"{base}/mode/{name}"
            status, body = await _call(session, "PUT", f"{mode_url}?force=true", {"mode": "IMPORT"})
            if status != 200:
                raise _refused("PUT", mode_url, status, body)
            try:
                for request in missing:
                    url = f"{base}/subjects/{name}/versions"
                    status, body = await _call(session, "POST", url, request.body)
                    if status != 200:
                        raise _refused("POST", url, status, body)
                    if isinstance(body, dict) and body.get("id") not in (None, request.schema_id):
                        raise PushRefused(
                            f"{subject} v{request.version} was registered as id {body['id']}, "
                            f"not the pinned {request.schema_id}"
                        )
                    done.append(Pushed(subject, request.version, request.schema_id, imported=True))
            finally:
                status, body = await _call(session, "PUT", mode_url, {"mode": "READWRITE"})
                if status != 200:
                    raise _refused("PUT", mode_url, status, body)
    return done
