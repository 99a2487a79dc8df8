"""WahaCallbackReceived to Confluent-framed Avro, for the webhook receiver's hot path.

fastavro's writer is the larger part of what the receiver spends per webhook beyond aiohttp
itself (bench/webhook_bench.py with --py-spy); this record has a fixed shape of strings, bytes,
longs and one map, so writing it with the primitives of `schemas.binary` is a few varints and
copies. The encoder is tied to one pinned schema version: when the registry's latest
WahaCallbackReceived is another one (the schema changed), `encode_callback` falls back to
`schemas.codec.encode_datum`, so a schema change can make it slower, never wrong.
tests/unit/schemas/test_callback_writer.py checks it byte for byte against fastavro.

A map is written as one block of `count` key/value pairs then 0 (0 alone when empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any, Final

from schemas.binary import (
    epoch_millis,
    optional_string_bytes,
    string_bytes,
    wire_prefix,
    write_long,
)
from schemas.codec import encode_datum
from schemas.registry import default_registry

__all__ = ["encode_callback"]

EVENT_TYPE: Final = "WahaCallbackReceived"
#: The version this encoder writes (registered versions are immutable: the registry refuses to
#: load a history file that no longer matches its pinned fingerprint).
WRITES_VERSION: Final = 1


@cache
def _pinned_prefix() -> bytes | None:
    """The wire prefix (magic byte, schema id) when the latest schema is the one written here."""
    latest = default_registry().latest(f"cobranca.events.{EVENT_TYPE}")
    if latest is None or latest.version != WRITES_VERSION:
        return None
    return wire_prefix(latest.schema_id)


#: Strings that repeat from record to record (event type, tenant, source), encoded once.
_constant_string = lru_cache(maxsize=4096)(string_bytes)


def encode_callback(datum: Mapping[str, Any]) -> bytes:
    """The wire bytes of a WahaCallbackReceived datum (the receiver's `callback_datum`)."""
    prefix = _pinned_prefix()
    if prefix is None:
        return encode_datum(EVENT_TYPE, datum)
    out = bytearray(prefix)
    header = datum["header"]
    out += string_bytes(header["event_id"])
    out += _constant_string(header["event_type"])
    write_long(out, header["schema_version"])
    out += _constant_string(header["tenant_id"])
    write_long(out, epoch_millis(header["occurred_at"]))
    out += string_bytes(header["correlation_id"])
    out += _constant_string(header["source"])
    out += optional_string_bytes(header["causation_id"])
    body: bytes = datum["body"]
    write_long(out, len(body))
    out += body
    headers: Mapping[str, str] = datum["headers"]
    if headers:
        write_long(out, len(headers))
        for name, value in headers.items():
            out += string_bytes(name)
            out += string_bytes(value)
    out.append(0)
    write_long(out, epoch_millis(datum["received_at"]))
    out += optional_string_bytes(datum["session"])
    out += optional_string_bytes(datum["remote"])
    return bytes(out)
