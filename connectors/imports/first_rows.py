"""client_id → the row that first had it, for millions of ids in little memory.

An import rejects a later row with an id already accepted (`validation.RowValidator`), so it
remembers every accepted id. Ids are kept as 128-bit BLAKE2b fingerprints in flat arrays (open
addressing, linear probing), 24 bytes a slot and at most half full (linear probing slows down
fast past that): about 48-96 bytes per id, where a dict of strings takes well over 100. Two
different ids share a fingerprint with probability about n²/2¹²⁹ (1e-26 for 10 million ids),
far below any hardware error rate.

One id at a time (`setdefault`, rows validated one by one) the arrays are read as
`array.array`s; a batch (`setdefault_many`, a block of CSV rows) probes the same memory through
numpy views, all the batch's ids at once.
"""

from __future__ import annotations

import hashlib
import struct
from array import array
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["FirstRows"]

_TWO_WORDS: Final = struct.Struct("<QQ")
Words = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]


def _fingerprint(client_id: bytes) -> bytes:
    return hashlib.blake2b(client_id, digest_size=16).digest()


class FirstRows:
    """See the module docstring."""

    def __init__(self, capacity: int = 1 << 14) -> None:
        self._allocate(capacity)
        self._size = 0

    def _allocate(self, capacity: int) -> None:
        self._mask = capacity - 1
        self._hi = array("Q", bytes(8 * capacity))
        self._lo = array("Q", bytes(8 * capacity))  # 0 marks an empty slot (ids have lo | 1)
        self._rows = array("Q", bytes(8 * capacity))

    def __len__(self) -> int:
        return self._size

    def setdefault(self, client_id: str, row: int) -> int:
        """The row recorded for `client_id`; records `row` first if there is none."""
        words: tuple[int, int] = _TWO_WORDS.unpack(
            _fingerprint(client_id.encode("utf-8", "surrogatepass"))
        )
        hi, lo = words[0], words[1] | 1
        mask, los = self._mask, self._lo
        slot = hi & mask
        while found := los[slot]:
            if found == lo and self._hi[slot] == hi:
                return self._rows[slot]
            slot = (slot + 1) & mask
        self._hi[slot], los[slot], self._rows[slot] = hi, lo, row  # the free slot found
        self._size += 1
        if self._size * 2 > mask + 1:
            self._grow(self._size)
        return row

    def setdefault_many(self, client_ids: Sequence[bytes], rows: Sequence[int]) -> list[int]:
        """`setdefault` of each (UTF-8 client_id, row), in order, at once."""
        if not client_ids:
            return []
        digests = b"".join(map(_fingerprint, client_ids))
        words = np.frombuffer(digests, "<u8").reshape(-1, 2)
        hi, lo = words[:, 0].copy(), words[:, 1] | np.uint64(1)
        batch_rows = np.asarray(rows, np.int64)
        # The batch's own repeats: each id's first place in the batch stands for all of them.
        order = np.lexsort((lo, hi))
        sorted_hi, sorted_lo = hi[order], lo[order]
        starts = np.flatnonzero(
            np.concatenate(
                ([True], (sorted_hi[1:] != sorted_hi[:-1]) | (sorted_lo[1:] != sorted_lo[:-1]))
            )
        )
        leaders = order[starts]  # lexsort is stable: the first place of each id
        group = np.empty(len(order), np.int64)
        group[order] = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(order))))
        if (self._size + len(leaders)) * 2 > self._mask + 1:
            self._grow(self._size + len(leaders))
        found = self._probe(hi[leaders], lo[leaders], batch_rows[leaders])
        return found[group].tolist()  # type: ignore[no-any-return]

    def _views(self) -> tuple[Words, Words, Ints]:
        return (
            np.frombuffer(self._hi, np.uint64),
            np.frombuffer(self._lo, np.uint64),
            np.frombuffer(self._rows, np.int64),
        )

    def _probe(self, hi: Words, lo: Words, rows: Ints) -> Ints:
        """The recorded row of each of the distinct fingerprints (hi, lo); the ones not found
        are inserted with `rows`, which they return."""
        his, los, table_rows = self._views()
        mask = np.uint64(self._mask)
        result = rows.copy()
        pending = np.arange(len(hi))
        slot = (hi & mask).astype(np.int64)
        while len(pending):
            at = slot[pending]
            current = los[at]
            match = (current == lo[pending]) & (his[at] == hi[pending])
            result[pending[match]] = table_rows[at[match]]
            empty = current == 0
            # Of several ids probing the same free slot, the first takes it; the others see
            # it taken on the next round and move on.
            free_slots, first = np.unique(at[empty], return_index=True)
            winners = pending[empty][first]
            his[free_slots], los[free_slots], table_rows[free_slots] = (
                hi[winners],
                lo[winners],
                rows[winners],
            )
            self._size += len(winners)
            moving = ~match & ~empty
            slot[pending[moving]] = (at[moving] + 1) & self._mask
            done = match.copy()
            done[np.flatnonzero(empty)[first]] = True
            pending = pending[~done]
        return result

    def _grow(self, needed: int) -> None:
        capacity = self._mask + 1
        while needed * 2 > capacity:
            capacity *= 2
        his, los, rows = self._views()
        used = los != 0
        old = his[used].copy(), los[used].copy(), rows[used].copy()
        self._allocate(capacity)
        self._size = 0
        self._probe(*old)
