"""`cobranca topics tail`: a topic's records decoded, one line each, like kcat.

A line is ``topic[partition]@offset key event_type {event as JSON}``; with `--json`, one JSON
object per line (`{"topic", "partition", "offset", "key", "event_type", "event"}`): a stream
has no end to close one document with, so JSON Lines, which `jq` reads as it comes.

Phones, CPFs and CNPJs are masked (`streams.base.logs.mask`) in the key and in every text value
of the event, in both forms, as in the logs: a terminal is scrolled back, pasted into tickets and
recorded. `--unmasked` shows the real values, for the operator who needs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

from schemas.codec import FAUST_KEY, decode
from schemas.errors import UndecodableEvent
from streams.base.cli_output import json_value
from streams.base.logs import mask
from streams.runtime.log_reader import LogRecord, follow_topic

__all__ = ["record_document", "record_line", "tail"]


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def record_document(record: LogRecord, *, unmasked: bool = False) -> dict[str, Any]:
    """The record's position, key and decoded event (None for a tombstone); an undecodable
    value is shown as its reason, never as an error that stops the tail."""
    key = None if record.key is None else record.key.decode("utf-8", errors="replace")
    event: dict[str, Any] | None = None
    event_type: str | None = None
    error: str | None = None
    if record.value is not None:
        try:
            event = decode(record.value)
        except UndecodableEvent as exc:
            schema = f" (schema id {exc.schema_id})" if exc.schema_id is not None else ""
            error = f"{exc.reason}{schema}"
        else:
            event.pop(FAUST_KEY, None)
            header = event.get("header")
            event_type = header.get("event_type") if isinstance(header, dict) else None
    document: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": key,
        "event_type": event_type,
        "event": event,
    }
    if error is not None:
        document["undecodable"] = error
    return document if unmasked else _masked(document)


def _json(value: Any) -> str:
    return json.dumps(value, default=json_value, ensure_ascii=False, separators=(",", ":"))


def record_line(document: dict[str, Any]) -> str:
    """kcat's shape: position, key, event type, the event as JSON."""
    position = f"{document['topic']}[{document['partition']}]@{document['offset']}"
    if "undecodable" in document:
        what = f"UNDECODABLE {document['undecodable']}"
    elif document["event"] is None:
        what = "(tombstone)"
    else:
        what = f"{document['event_type']} {_json(document['event'])}"
    return f"{position} {document['key'] or '-'} {what}"


async def tail(
    bootstrap: str,
    topic: str,
    write: Callable[[str], None],
    *,
    from_beginning: bool = False,
    as_json: bool = False,
    unmasked: bool = False,
    max_records: int | None = None,
) -> int:
    """Print `topic`'s records with `write` until `max_records` (or forever); how many."""
    shown = 0
    if max_records is not None and max_records <= 0:
        return 0
    async with aclosing(follow_topic(bootstrap, topic, from_beginning=from_beginning)) as records:
        async for record in records:
            document = record_document(record, unmasked=unmasked)
            write(_json(document) if as_json else record_line(document))
            shown += 1
            if max_records is not None and shown >= max_records:
                break
    return shown
