"""The ledger's hash chain: each tenant's ledger events linked by SHA-256, so an edit shows.

Every event on the ledger topic carries `prev_hash`, the hash of the same tenant's previous
ledger event ("" for the first), and `hash`, the SHA-256 of its own canonical encoding, which
includes `prev_hash`. Rewriting any event changes its hash and breaks the link from the next one;
rewriting the hash too breaks the check of the event itself.

The canonical encoding is JSON with sorted keys and no spaces, of every field except `hash`
(the header expanded, enums as their symbols, times as integer UTC milliseconds, which is what
Avro keeps). A later schema version that adds a ledger field must leave it out of the encoding
while it holds its default, or old events would no longer verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final, TypeVar

import orjson

from schemas.events import Event

GENESIS = ""

E = TypeVar("E", bound=Event)


def canonical(event: Event) -> bytes:
    """The bytes an event's hash is computed over."""
    fields = event.asdict()
    fields.pop("hash", None)
    # orjson walks the event natively (enums as their values, nested dicts and lists) and
    # asks `_plain` only for what it must not write its own way: records and times.
    return orjson.dumps(fields, default=_plain, option=_CANONICAL)


def digest(event: Event) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def seal(event: E, prev_hash: str) -> E:
    """`event` linked after `prev_hash`, with its own hash filled in."""
    linked = type(event)(**{**event.asdict(), "prev_hash": prev_hash, "hash": ""})
    linked.hash = digest(linked)
    return linked


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a tenant's chain does not hold, and why."""

    tenant_id: str
    event_id: str
    reason: str


def verify(events: list[Any], heads: dict[str, str] | None = None) -> list[ChainBreak]:
    """Check each event's hash and its link to the tenant's previous event, in log order.

    `heads` (tenant → last hash seen) is updated in place, so a caller can verify a log in
    pieces; the caller's final `heads` are the chain heads.
    """
    heads = {} if heads is None else heads
    breaks: list[ChainBreak] = []
    for event in events:
        tenant, event_id = event.header.tenant_id, event.header.event_id
        expected_prev = heads.get(tenant, GENESIS)
        if event.prev_hash != expected_prev:
            breaks.append(
                ChainBreak(
                    tenant,
                    event_id,
                    f"prev_hash {event.prev_hash[:12] or '(empty)'}… does not link to the "
                    f"previous event's hash {expected_prev[:12] or '(empty)'}…",
                )
            )
        actual = digest(event)
        if event.hash != actual:
            breaks.append(
                ChainBreak(
                    tenant,
                    event_id,
                    f"hash {event.hash[:12] or '(empty)'}… is not the event's own "
                    f"{actual[:12]}…: the event was changed after it was written",
                )
            )
        heads[tenant] = event.hash
    return breaks


_CANONICAL: Final = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _plain(value: Any) -> Any:
    """What orjson cannot write as the canonical encoding wants it: a nested record as its
    fields, a time as integer UTC milliseconds (a date as its ISO text, orjson's own way)."""
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, date | time):
        return value.isoformat()
    if hasattr(value, "asdict") and hasattr(value, "_options"):  # a Faust record
        return {k: v for k, v in value.asdict().items() if not k.startswith("__")}
    raise TypeError(f"{type(value).__name__} has no canonical encoding")
