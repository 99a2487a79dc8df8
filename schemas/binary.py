"""Avro's binary encoding, value by value, for the writers that do not go through fastavro.

fastavro writes what `schemas.codec.encode` writes when a datum needs checking; the hot paths
(`schemas.fast_writer`'s compiled writers, the importer's rows through `schemas.fixed_header`
and `schemas.columns`) write the same bytes themselves, and this module is the one place that
knows how (Avro specification 1.11, "Binary Encoding"): int, long, an enum's index and a
union's branch are zig-zag varints; string and bytes a long length then the bytes; ``date`` is
an int of days and ``timestamp-millis`` a long of milliseconds since 1970-01-01 (UTC). A record
value on Kafka starts with the Confluent wire prefix: the magic byte 0 and the schema id as 4
bytes big-endian. tests/unit/schemas/test_binary.py checks every function here byte for byte
against fastavro.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = [
    "MAGIC",
    "NULL",
    "WIRE_PREFIX",
    "date_bytes",
    "enum_bytes",
    "epoch_days",
    "epoch_millis",
    "long_bytes",
    "optional_string_bytes",
    "string_bytes",
    "wire_prefix",
    "write_long",
]

MAGIC: Final = 0
#: The Confluent wire prefix: the magic byte, then the schema id (4 bytes, big-endian).
WIRE_PREFIX: Final = struct.Struct(">bI")
#: Branch 0 of a ``["null", T]`` union: the whole encoding of a null there.
NULL: Final = b"\x00"
_SOME: Final = b"\x02"  # branch 1 of ["null", T], zig-zag encoded: the value follows
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()


def wire_prefix(schema_id: int) -> bytes:
    """The 5 bytes before the Avro body of a record value written with `schema_id`."""
    return WIRE_PREFIX.pack(MAGIC, schema_id)


def write_long(out: bytearray, n: int) -> None:
    """Append the zig-zag varint of an int or long `n` (a 64-bit signed value) to `out`."""
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _encoded_long(n: int) -> bytes:
    out = bytearray()
    write_long(out, n)
    return bytes(out)


# Varints of 0..4095 made once: string lengths, row numbers of small files, dates near 1981.
_SMALL: Final = tuple(_encoded_long(n) for n in range(4096))


def long_bytes(n: int) -> bytes:
    """The zig-zag varint of an int or long `n` (also an enum's index, a union's branch)."""
    return _SMALL[n] if 0 <= n < 4096 else _encoded_long(n)


def string_bytes(text: str) -> bytes:
    """A string: its UTF-8 length, then its UTF-8 bytes. Raises UnicodeEncodeError for a lone
    surrogate, which no Avro string holds (callers name the field and the row)."""
    data = text.encode()
    return (_SMALL[len(data)] if len(data) < 4096 else _encoded_long(len(data))) + data


def optional_string_bytes(text: str | None) -> bytes:
    """A value of a ``["null", "string"]`` union: `NULL`, or branch 1 and the string."""
    return NULL if text is None else _SOME + string_bytes(text)


def enum_bytes(symbols: Sequence[str]) -> Mapping[str, bytes]:
    """Each symbol of an enum with the bytes that write it (its index), for a lookup per value."""
    return {symbol: long_bytes(i) for i, symbol in enumerate(symbols)}


def epoch_millis(moment: dt.datetime) -> int:
    """An aware datetime as ``timestamp-millis`` stores it: whole milliseconds since the epoch,
    the sub-millisecond part dropped (as fastavro does)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def epoch_days(day: dt.date) -> int:
    """A date as ``date`` stores it: days since 1970-01-01."""
    return day.toordinal() - _EPOCH_ORDINAL


def date_bytes(day: dt.date) -> bytes:
    """The encoding of a ``date``."""
    return long_bytes(epoch_days(day))
