"""Run the real worker as a process and read topics back, as an auditor would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from schemas.codec import decode
from streams.runtime.log_reader import read_topic

#: Partitions of the catalogue's topics on the test broker; workers must create their table
#: changelogs with the same count (Faust co-partitions tables with their sources).
TEST_PARTITIONS = 3


class WorkerProcess:
    """`cobranca worker` in a child process, against a given broker and state directory."""

    def __init__(
        self, bootstrap: str, data_dir: Path, app_id: str, env: Mapping[str, str] | None = None
    ) -> None:
        self.env = {
            **os.environ,
            "COBRANCA_KAFKA_BOOTSTRAP": bootstrap,
            "COBRANCA_DATA_DIR": str(data_dir),
            "COBRANCA_APP_ID": app_id,
            "COBRANCA_TOPIC_PARTITIONS": str(TEST_PARTITIONS),
            "COBRANCA_SESSION_TIMEOUT_S": "6",
            "COBRANCA_COMMIT_INTERVAL_S": "0.2",
            "COBRANCA_LOG_FORMAT": "json",
            "COBRANCA_LOG_LEVEL": "WARNING",
            # The trained model loads in seconds but costs every worker of every test that
            # never sees a reply; tests of the conversation name the classifier they use.
            "COBRANCA_INTENT_CLASSIFIER": "none",
            # Nothing listens on the discard port: a test that wants WAHA names its simulator,
            # and no other test's worker sends to a WAHA someone runs on the default port.
            "WAHA_URL": "http://127.0.0.1:9",
            **(env or {}),
        }
        self.log = data_dir / "worker.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.ops.cli", "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye to the group."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def assert_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"worker exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
            )


async def read_committed(bootstrap: str, topic: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every committed record on `topic` up to its current end, decoded, as (key, event dict)."""
    records = await read_topic(bootstrap, topic)
    return [(r.key, decode(r.value)) for r in records if r.value is not None]


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, worker: WorkerProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None:
            worker.assert_alive()
        if condition():
            return
        time.sleep(0.5)
    tail = f"\nworker log:\n{worker.log.read_text()[-6000:]}" if worker is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")


def for_tenant(
    records: list[tuple[bytes | None, dict[str, Any]]], tenant: str
) -> list[dict[str, Any]]:
    return [value for _, value in records if value["header"]["tenant_id"] == tenant]


def end_offsets(bootstrap: str, topic: str) -> int:
    """Records ever written to `topic` (committed or not, markers included): cheap progress."""
    from streams.base.topics import CATALOGUE
    from streams.runtime.topic_admin import describe_topics

    (state,) = asyncio.run(
        describe_topics(bootstrap, tuple(s for s in CATALOGUE if s.name == topic))
    )
    return state.end_offsets


def count_for(bootstrap: str, topic: str, tenant: str) -> int:
    return len(for_tenant(asyncio.run(read_committed(bootstrap, topic)), tenant))


#: The régua step tests use: due 30 days before the factories' due date (5 Dec 2026), so it is
#: due as soon as a client is imported.
TEST_STEP = "D-30"


def configure_tenant(bootstrap: str, tenant: str, **extra: Any) -> Any:
    """Apply a tenant configuration whose contact windows are open all day Monday to Saturday
    (Sundays and holidays never open), with one step due at import; returns the config.
    `extra` adds top-level keys of the file (``imports={"require_document": True}``)."""
    from streams.runtime.tenants import apply_config

    config = tenant_config(tenant, **extra)
    asyncio.run(apply_config(bootstrap, config))
    return config


def tenant_config(tenant: str, **extra: Any) -> Any:
    """The configuration `configure_tenant` applies, not applied."""
    from streams.domain.tenant_config import parse_tenant_config

    return parse_tenant_config(
        {
            "tenant": tenant,
            "name": f"Credora {tenant}",
            "waha": {"sessions": [{"name": f"{tenant}-waha"}]},
            "contact": {
                "windows": {"default": {"weekdays": "00:00-24:00", "saturday": "00:00-24:00"}}
            },
            "regua": {
                "steps": [
                    {
                        "when": TEST_STEP,
                        "template": "Olá, {first_name}! {amount} vencem em {due_date}.",
                    }
                ]
            },
        }
        | extra,
        source=f"tests:{tenant}",
    )


async def committed_offsets(bootstrap: str, group: str) -> dict[Any, Any]:
    """What consumer group `group` has committed: TopicPartition → OffsetAndMetadata."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return dict(await admin.list_consumer_group_offsets(group))
    finally:
        await admin.close()


async def produce(bootstrap: str, events: Sequence[Any], key: str) -> None:
    """Produce `events` under one key (a tenant's), in order, as the product's producer does."""
    from streams.runtime.producer import EventProducer

    async with EventProducer(bootstrap) as producer:
        await producer.send_many((event, key) for event in events)


async def produce_keyed(bootstrap: str, events: Sequence[tuple[Any, str]]) -> None:
    """Produce (event, key) pairs, in order, as the product's producer does."""
    from streams.runtime.producer import EventProducer

    async with EventProducer(bootstrap) as producer:
        await producer.send_many(events)


async def records_behind(bootstrap: str, group: str, topics: Sequence[str]) -> int:
    """Records of `topics` that consumer group `group` has not committed past.

    Not the end offset minus the committed one: a partition whose last entry is a transaction
    marker (a transactional producer wrote it) keeps its committed offset one below its end,
    since a marker is never delivered and so never acknowledged. Past the committed offset,
    only records a read_committed consumer is actually handed count."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.errors import GroupCoordinatorNotAvailableError

    try:
        committed = await committed_offsets(bootstrap, group)
    except GroupCoordinatorNotAvailableError:
        committed = {}  # the broker's offsets topic is not up yet: nothing committed
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        if any(consumer.partitions_for_topic(topic) is None for topic in topics):
            await consumer._client.force_metadata_update()
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(tps)
        behind = {}
        for tp in tps:
            meta = committed.get(tp)
            at = meta.offset if meta is not None and meta.offset >= 0 else 0
            if ends[tp] > at:
                behind[tp] = at
        if not behind:
            return 0
        consumer.assign(list(behind))
        for tp, at in behind.items():
            consumer.seek(tp, at)
        count = 0
        while [tp for tp in behind if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                break  # what is left are markers, or records of open transactions
            count += sum(len(records) for records in batch.values())
        return count
    finally:
        await consumer.stop()
