"""The fast murmur2 partitioner picks what aiokafka's (the Java client's) default would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference
from hypothesis import given
from hypothesis import strategies as st

from streams.runtime.partitioning import murmur2, murmur2_many, partition_for, partitions_for


@given(key=st.binary(max_size=200))
def test_murmur2_is_the_java_clients(key: bytes) -> None:
    assert murmur2(key) == reference(key)


@given(key=st.binary(min_size=1, max_size=80), count=st.integers(min_value=1, max_value=64))
def test_partitions_are_the_default_partitioners(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_known_values() -> None:
    # Values of the Java client's Utils.murmur2 (its unit tests), unsigned.
    assert murmur2(b"21") == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"") == 275646681


@given(keys=st.lists(st.binary(max_size=70), max_size=50), count=st.integers(1, 64))
def test_many_keys_at_once_are_each_keys_own(keys: list[bytes], count: int) -> None:
    assert murmur2_many(keys).tolist() == [reference(key) for key in keys]
    partitions = list(range(0, 2 * count, 2))
    expected = [partition_for(key, partitions) for key in keys]
    assert partitions_for(keys, partitions).tolist() == expected
