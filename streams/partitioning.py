"""The Java client's default partitioner (murmur2 of the key), fast enough for bulk loads.

aiokafka's `DefaultPartitioner` computes the same hash byte by byte with a mask after every
operation: ~3 µs for a 20-byte key, as much as the rest of producing an import row. This one
reads the key's 4-byte words in one `struct` call and masks once per step. The partition is the
same (a property test compares both), so a key lands where any Kafka client's default would put
it, and where the régua keeps that client's state.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import Final

__all__ = ["murmur2", "partition_for"]

_SEED: Final = 0x9747B28C
_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF


@cache
def _words(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}I")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``), unsigned 32 bits."""
    length = len(data)
    h = _SEED ^ length
    whole = length >> 2
    for k in _words(whole).unpack_from(data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest:
        tail = whole << 2
        if rest == 3:
            h ^= data[tail + 2] << 16
        if rest >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_for(key: bytes, partitions: list[int]) -> int:
    """The partition of `key` among `partitions` (sorted ids), as the default partitioner."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
