"""Shared fixtures: a real Apache Kafka broker for each test module, stopped by PID at its end.

A module gets a broker of its own because every worker a test starts is a new consumer group,
which reads its topics from offset 0: on a broker shared by the whole session, a worker of a late
test first worked through every earlier test's traffic (10,000 send requests, thousands of
approvals to dispatch), and waits sized for its own traffic timed out.

Set COBRANCA_TEST_BOOTSTRAP to run against a broker you already have (it must allow topic
creation); otherwise each module starts its own on free loopback ports in a temp directory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.base.settings import cache_home
from tests.kafka_helpers import TEST_PARTITIONS


@pytest.fixture(scope="module")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from infra.kafka.broker import LocalBroker
    from streams.runtime.topic_admin import create_topics

    external = os.environ.get("COBRANCA_TEST_BOOTSTRAP")
    if external:
        asyncio.run(create_topics(external, TEST_PARTITIONS))
        yield external
        return
    home: Path = tmp_path_factory.mktemp("kafka")
    broker = LocalBroker.on_free_ports(cache=cache_home(), home=home)
    broker.start(timeout=90)
    try:
        asyncio.run(create_topics(broker.bootstrap, TEST_PARTITIONS))
        yield broker.bootstrap
    finally:
        broker.stop()
