"""A local 3-node KRaft cluster (`cobranca broker start --nodes 3`): topics replicated 3 times
with a minimum ISR of 2, and the ledger's decisions exactly once while the node leading the
busy partition is killed mid-stream and started again later."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from infra.kafka.cluster import LocalCluster
from streams.base.settings import cache_home
from streams.base.topics import LEDGER, SEND_DECISIONS, SEND_REQUESTS
from streams.runtime.topic_admin import create_topics
from tests.cli import cobranca
from tests.factories import credit_requested, send_requested
from tests.faults import report
from tests.kafka_helpers import (
    TEST_PARTITIONS,
    WorkerProcess,
    count_for,
    for_tenant,
    produce,
    read_committed,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Started, checked and stopped through the CLI, as an engineer would."""
    data = tmp_path_factory.mktemp("cluster")
    first = LocalCluster.on_free_ports(cache=cache_home(), home=data, nodes=3).nodes[0]
    env = {"COBRANCA_DATA_DIR": str(data), "COBRANCA_KAFKA_BOOTSTRAP": first.bootstrap}
    started = cobranca("broker", "start", "--nodes", "3", "--timeout", "180", env=env, timeout=300)
    assert started.returncode == 0, started.stderr
    cluster = LocalCluster.recorded(
        first.bootstrap, cache=cache_home(), home=data / "kafka-cluster"
    )
    assert cluster is not None
    try:
        assert f"COBRANCA_KAFKA_BOOTSTRAP={cluster.bootstrap}" in started.stdout
        status = cobranca("broker", "status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        nodes = json.loads(status.stdout)["nodes"]
        assert [n["bootstrap"] for n in nodes] == cluster.bootstrap.split(",")
        asyncio.run(create_topics(cluster.bootstrap, TEST_PARTITIONS))
        yield cluster
    finally:
        stopped = cobranca("broker", "stop", env=env, timeout=300)
        assert stopped.returncode == 0, stopped.stderr
    assert all(pid is None for pid in (node.pid() for node in cluster.nodes))


async def _partitions(bootstrap: str, topic: str) -> dict[int, dict[str, object]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return {p["partition"]: p for p in described["partitions"]}
    finally:
        await admin.close()


async def _min_isr(bootstrap: str, topic: str) -> str | None:
    """The topic's min.insync.replicas; None while the node asked does not know the topic yet
    (it answers with no configuration entries)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        (resource,) = response.resources
        return next(
            (str(entry[1]) for entry in resource[4] if entry[0] == "min.insync.replicas"), None
        )
    finally:
        await admin.close()


async def _busiest_partition(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(TEST_PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        return max(tps, key=lambda tp: ends[tp]).partition
    finally:
        await consumer.stop()


def test_topics_are_replicated_to_three_nodes_with_a_minimum_isr_of_two(
    cluster: LocalCluster,
) -> None:
    # A node learns of a new topic, and a follower catches up with it, a moment after the
    # topic is made; on a loaded machine that moment can last seconds (once, the node asked
    # knew no partition of it yet), so wait for the full picture.
    deadline = time.monotonic() + 60
    while True:
        partitions = asyncio.run(_partitions(cluster.bootstrap, LEDGER.name))
        isr = {number: sorted(cast(list[int], p["isr"])) for number, p in partitions.items()}
        behind = {number: nodes for number, nodes in isr.items() if nodes != [1, 2, 3]}
        complete = len(partitions) == TEST_PARTITIONS and not behind
        if complete or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(partitions) == TEST_PARTITIONS, f"partitions known after 60 s: {sorted(partitions)}"
    for partition in partitions.values():
        assert sorted(cast(list[int], partition["replicas"])) == [1, 2, 3]
    assert not behind, f"partitions whose ISR is not every node after 60 s: {behind}"
    # The node asked may learn the topic's configuration a moment after its partitions.
    while (min_isr := asyncio.run(_min_isr(cluster.bootstrap, LEDGER.name))) is None:
        if time.monotonic() > deadline + 30:
            break
        time.sleep(0.5)
    assert min_isr == "2"


def test_killing_the_leader_of_the_busy_partition_mid_stream_loses_and_repeats_nothing(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    bootstrap = cluster.bootstrap
    tenant, total, after = f"clu-{uuid.uuid4().hex[:8]}", 6_000, 1_500
    asyncio.run(produce(bootstrap, [credit_requested(tenant, 10 * total)], tenant))
    worker = WorkerProcess(bootstrap, tmp_path / "worker", app_id=f"cluster-{tenant}")
    worker.start()
    restarts = 0

    def decided_all() -> bool:
        """Every request decided; a worker that exited is started again, as a supervisor
        would."""
        nonlocal restarts
        assert worker.proc is not None
        if worker.proc.poll() is not None:
            restarts += 1
            worker.start()
        return count_for(bootstrap, SEND_DECISIONS.name, tenant) >= total

    try:
        wait_until(
            lambda: count_for(bootstrap, LEDGER.name, tenant) == 1,
            timeout=180,
            what="the credit",
            worker=worker,
        )
        requests = [send_requested(tenant, f"r{i}", phone=f"+55119{i:08d}") for i in range(total)]
        asyncio.run(produce(bootstrap, requests[:-after], tenant))
        wait_until(
            lambda: count_for(bootstrap, SEND_DECISIONS.name, tenant) > 0,
            timeout=180,
            what="the first decisions",
            worker=worker,
        )
        # The tenant's requests, decisions and ledger share one partition number: its leader
        # is the node doing this stream's work.
        busy = asyncio.run(_busiest_partition(bootstrap, SEND_REQUESTS.name))
        leader = int(asyncio.run(_partitions(bootstrap, SEND_REQUESTS.name))[busy]["leader"])  # type: ignore[call-overload]
        victim = cluster.nodes[leader - 1]
        assert victim.kill()  # SIGKILL mid-stream: transactions open, requests waiting
        asyncio.run(produce(bootstrap, requests[-after:], tenant))  # while it is down
        time.sleep(5)
        victim.start(timeout=180)
        wait_until(decided_all, timeout=300, what=f"{total} decisions after the failover")
        time.sleep(1.0)  # anything decided twice would show up now
    finally:
        worker.stop()

    decisions = for_tenant(asyncio.run(read_committed(bootstrap, SEND_DECISIONS.name)), tenant)
    ledger = for_tenant(asyncio.run(read_committed(bootstrap, LEDGER.name)), tenant)
    approved = [d for d in decisions if d["header"]["event_type"] == "SendApproved"]
    debits = [e for e in ledger if e["header"]["event_type"] == "TokensDebited"]
    report(
        "cluster_leader_sigkill",
        [f"r{i}" for i in range(total)],
        [d["request_id"] for d in decisions],
        debits=len(debits),
    )
    assert Counter(d["request_id"] for d in decisions) == {f"r{i}": 1 for i in range(total)}
    assert len(approved) == total
    assert Counter(d["request_id"] for d in debits) == {f"r{i}": 1 for i in range(total)}
    assert sum(d["amount"] for d in debits) == sum(a["price_tokens"] for a in approved)

    # The killed node caught up: every partition has its three copies in sync again.
    def in_sync() -> bool:
        described = asyncio.run(_partitions(bootstrap, LEDGER.name)).values()
        return all(sorted(p["isr"]) == [1, 2, 3] for p in described)  # type: ignore[arg-type]

    wait_until(in_sync, timeout=120, what="the restarted node back in every ISR")
    print(f"killed node {leader} (leader of partition {busy}); worker restarts: {restarts}")
