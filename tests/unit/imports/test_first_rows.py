"""The duplicate table: one id at a time and in batches, over the same memory."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.imports.first_rows import FirstRows


def test_table_grows_and_keeps_every_id() -> None:
    table = FirstRows()
    for n in range(200_000):
        assert table.setdefault(f"client-{n}", n + 1) == n + 1
    assert len(table) == 200_000
    assert table.setdefault("client-0", 999) == 1
    assert table.setdefault("client-199999", 999) == 200_000
    assert table.setdefault("client-200000", 999) == 999


def test_a_batch_keeps_the_first_row_of_each_id_within_it_and_before_it() -> None:
    table = FirstRows()
    assert table.setdefault("a", 1) == 1
    ids = [b"b", b"a", b"c", b"b", b"b", b"c"]
    assert table.setdefault_many(ids, [2, 3, 4, 5, 6, 7]) == [2, 1, 4, 2, 2, 4]
    assert len(table) == 3
    assert table.setdefault("c", 99) == 4


def test_batches_grow_the_table_many_times_over() -> None:
    table = FirstRows(capacity=16)
    ids = [f"client-{n}".encode() for n in range(100_000)]
    assert table.setdefault_many(ids, list(range(1, 100_001))) == list(range(1, 100_001))
    assert len(table) == 100_000
    again = table.setdefault_many(ids[::-1], [0] * len(ids))
    assert again == list(range(100_000, 0, -1))
    assert table.setdefault("client-77", 0) == 78


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.text(max_size=4), max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    capacity=st.sampled_from([2, 16, 1 << 14]),
    singly=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_batches_and_single_ids_agree(
    ids: list[str], cuts: list[int], capacity: int, singly: list[bool]
) -> None:
    one_by_one = FirstRows(capacity)
    expected = [one_by_one.setdefault(client_id, row) for row, client_id in enumerate(ids, 1)]
    batched = FirstRows(capacity)
    found: list[int] = []
    bounds = sorted({0, len(ids), *(min(cut, len(ids)) for cut in cuts)})
    for n, (start, end) in enumerate(itertools.pairwise(bounds)):
        chunk = ids[start:end]
        if singly[n]:  # a mix of both ways in one table
            found += [batched.setdefault(c, r) for r, c in enumerate(chunk, start + 1)]
        else:
            encoded = [c.encode("utf-8", "surrogatepass") for c in chunk]
            found += batched.setdefault_many(encoded, list(range(start + 1, end + 1)))
    assert found == expected
    assert len(batched) == len(one_by_one)
