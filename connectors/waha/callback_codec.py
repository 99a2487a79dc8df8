"""WahaCallbackReceived to Confluent-framed Avro, by hand, for the receiver's hot path.

fastavro's writer is the larger part of what the receiver spends per webhook beyond aiohttp
itself (bench/webhook_bench.py with --py-spy); this record has a fixed shape of strings, bytes,
longs and one map, so writing it directly is a few varints and copies. The encoder is tied to
one pinned schema version: when the registry's latest WahaCallbackReceived is another one (the
schema changed), `encode_callback` falls back to `schemas.codec.encode_datum`, so a schema
change can make it slower, never wrong. tests/unit/waha/test_callback_codec.py checks it
byte for byte against fastavro.

Avro binary encoding (specification 1.11, "Binary Encoding"): int and long are zigzag varints;
string and bytes a long length then the bytes; a union the branch index then the value; a map
one block of `count` key/value pairs then 0 (0 alone when empty); a record its fields in order;
timestamp-millis a long of milliseconds since the epoch.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, Final

from schemas.binary import MAGIC
from schemas.codec import encode_datum
from schemas.registry import default_registry

__all__ = ["encode_callback"]

EVENT_TYPE: Final = "WahaCallbackReceived"
#: The version this encoder writes (registered versions are immutable: the registry refuses to
#: load a history file that no longer matches its pinned fingerprint).
WRITES_VERSION: Final = 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_PREFIX: Final = struct.Struct(">bI")


@cache
def _pinned_prefix() -> bytes | None:
    """The wire prefix (magic byte, schema id) when the latest schema is the one written here."""
    latest = default_registry().latest(f"cobranca.events.{EVENT_TYPE}")
    if latest is None or latest.version != WRITES_VERSION:
        return None
    return _PREFIX.pack(MAGIC, latest.schema_id)


def _long(out: bytearray, n: int) -> None:
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _bytes(out: bytearray, data: bytes) -> None:
    _long(out, len(data))
    out += data


def _string(out: bytearray, text: str) -> None:
    _bytes(out, text.encode())


def _optional_string(out: bytearray, text: str | None) -> None:
    if text is None:
        out.append(0)  # branch 0: null
    else:
        out.append(2)  # branch 1 (zigzag 1 = 2): string
        _string(out, text)


@lru_cache(maxsize=4096)
def _constant_string(text: str) -> bytes:
    """A string that repeats from record to record (event type, tenant, source), encoded once."""
    out = bytearray()
    _string(out, text)
    return bytes(out)


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def encode_callback(datum: Mapping[str, Any]) -> bytes:
    """The wire bytes of a WahaCallbackReceived datum (the receiver's `callback_datum`)."""
    prefix = _pinned_prefix()
    if prefix is None:
        return encode_datum(EVENT_TYPE, datum)
    out = bytearray(prefix)
    header = datum["header"]
    _string(out, header["event_id"])
    out += _constant_string(header["event_type"])
    _long(out, header["schema_version"])
    out += _constant_string(header["tenant_id"])
    _long(out, _millis(header["occurred_at"]))
    _string(out, header["correlation_id"])
    out += _constant_string(header["source"])
    _optional_string(out, header["causation_id"])
    _bytes(out, datum["body"])
    headers: Mapping[str, str] = datum["headers"]
    if headers:
        _long(out, len(headers))
        for name, value in headers.items():
            _string(out, name)
            _string(out, value)
    out.append(0)
    _long(out, _millis(datum["received_at"]))
    _optional_string(out, datum["session"])
    _optional_string(out, datum["remote"])
    return bytes(out)
