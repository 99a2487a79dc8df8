"""How many copies a topic gets on a cluster of a given size."""

from __future__ import annotations

import pytest

from streams.runtime.topic_admin import replication_for


@pytest.mark.parametrize(
    ("brokers", "expected"),
    [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))],
)
def test_replication_grows_to_three_copies_and_acks_wait_for_two(
    brokers: int, expected: tuple[int, int]
) -> None:
    assert replication_for(brokers) == expected
