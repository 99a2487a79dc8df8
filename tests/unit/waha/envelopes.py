"""Builders of WAHA webhook bodies for tests, shaped like the shared fixtures."""

from __future__ import annotations

from typing import Any

import orjson

ME = {"id": "5511900000000@c.us", "pushName": "Cobrança"}


def envelope(event: str, payload: Any, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "evt_01jq0000000000000000000099",
        "timestamp": 1700000000000,
        "event": event,
        "session": "tenant-a",
        "metadata": {},
        "me": ME,
        "payload": payload,
        "engine": "WEBJS",
        "environment": {"version": "2026.7.1", "engine": "WEBJS", "tier": "CORE"},
    }
    body.update(overrides)
    return body


def message(**fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "false_5511988887777@c.us_3EB0AAAA",
        "timestamp": 1700000000,
        "from": "5511988887777@c.us",
        "fromMe": False,
        "to": ME["id"],
        "participant": None,
        "body": "Vou pagar amanhã",
        "hasMedia": False,
        "media": None,
        "ack": 1,
        "ackName": "SERVER",
    }
    payload.update(fields)
    return payload


def ack(level: int | None, name: str | None, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "true_5511988887777@c.us_3EB0BBBB",
        "from": "5511988887777@c.us",
        "to": None,
        "participant": None,
        "fromMe": True,
        "ack": level,
        "ackName": name,
    }
    payload.update(fields)
    return payload


def raw(body: Any) -> bytes:
    return orjson.dumps(body)
