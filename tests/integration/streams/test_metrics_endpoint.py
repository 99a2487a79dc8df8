"""The worker's Prometheus endpoint on the real broker: what it processed shows up in /metrics,
the ledger's business series (sends by outcome and reason, tokens debited) included; the
endpoint listens on loopback, says which setting to change when its port is taken, and closes
with the worker."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.base.ports import free_port
from streams.base.topics import CLIENTS, LEDGER, SEND_DECISIONS, SEND_REQUESTS
from streams.runtime.errors import MetricsEndpointUnavailable
from streams.runtime.metrics import PrometheusSensor
from streams.runtime.producer import EventProducer
from tests.factories import client_imported, credit_requested, send_requested
from tests.kafka_helpers import WorkerProcess, configure_tenant, count_for, produce, wait_until

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

IMPORTS = 12
AGENT = "regua"
LEDGER_EVENTS = {"topic": SEND_REQUESTS.name, "agent": "ledger"}
CREDIT = 5
REQUESTS = 8
"""A second tenant's requests, past its credit: CREDIT approved, the rest rejected."""


def _get(port: int) -> str | None:
    """The /metrics page, or None while nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, ConnectionError):
        return None


def _samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def _produce_clients(bootstrap: str, tenant: str, n: int) -> None:
    clients = [client_imported(tenant, i) for i in range(n)]
    async with EventProducer(bootstrap) as producer:
        await producer.send_many((c, f"{tenant}:{c.client_id}") for c in clients)


def test_worker_metrics_count_the_events_it_processed(kafka_bootstrap: str, tmp_path: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, tenant)
    asyncio.run(_produce_clients(kafka_bootstrap, tenant, IMPORTS))
    payer = f"p-{uuid.uuid4().hex[:8]}"  # requests of its own, no imports: its sends are ours
    configure_tenant(kafka_bootstrap, payer)
    asyncio.run(produce(kafka_bootstrap, [credit_requested(payer, CREDIT)], payer))
    port = free_port()
    worker = WorkerProcess(
        kafka_bootstrap,
        tmp_path,
        app_id=f"metrics-{tenant}",
        env={"COBRANCA_METRICS_PORT": str(port), "COBRANCA_METRICS_HOST": "127.0.0.1"},
    )
    worker.start()
    scraped: list[Samples] = []

    def caught_up() -> bool:
        # A new group reads the topic from the start, earlier tests' imports included: wait
        # until it has committed everything, then every counter covers our imports. Only the
        # imports topic: the others are written transactionally, and their commit markers
        # count as lag (streams/runtime/metrics.py).
        text = _get(port)
        if text is None:
            return False
        samples = _samples(text)
        scraped.append(samples)
        lags = [
            v
            for (n, ls), v in samples.items()
            if n == "cobranca_consumer_lag" and ("topic", CLIENTS.name) in ls
        ]
        # The ledger reports its events a batch at a time (ADR 0014): wait for its series too.
        decided = _value(samples, "cobranca_events_processed_total", **LEDGER_EVENTS)
        return bool(lags) and sum(lags) == 0 and decided >= IMPORTS

    try:
        # Credits and requests are separate topics: the credit is decided before they come.
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, payer) == 1,
            timeout=90,
            what="the credit",
            worker=worker,
        )
        requests = [send_requested(payer, f"m-{i}") for i in range(REQUESTS)]
        asyncio.run(produce(kafka_bootstrap, requests, payer))
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_DECISIONS.name, payer) == REQUESTS,
            timeout=90,
            what=f"{REQUESTS} send decisions",
            worker=worker,
        )
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) >= IMPORTS,
            timeout=90,
            what=f"{IMPORTS} SendRequested or SendDeferred",
            worker=worker,
        )
        wait_until(
            caught_up,
            timeout=60,
            what="zero consumer lag and the ledger's events in /metrics",
            worker=worker,
        )
        text = _get(port)
    finally:
        worker.stop()
    assert text is not None
    assert "# HELP cobranca_events_processed_total Events an agent finished processing" in text
    samples = _samples(text)
    events = {"topic": CLIENTS.name, "agent": AGENT}
    assert _value(samples, "cobranca_events_processed_total", **events) >= IMPORTS
    assert _value(samples, "cobranca_event_processing_seconds_count", **events) >= IMPORTS
    assert _value(samples, "cobranca_events_processed_total", **LEDGER_EVENTS) >= IMPORTS
    sent = {"topic": SEND_REQUESTS.name}
    assert _value(samples, "cobranca_records_sent_total", **sent) >= IMPORTS
    assert _value(samples, "cobranca_send_errors_total") == 0
    assert _value(samples, "cobranca_commits_total") >= 1
    assert _value(samples, "cobranca_commit_seconds_count") >= 1
    assert _value(samples, "cobranca_rebalances_total") >= 1
    # The session's broker has 3 partitions per topic, and this worker is the group's only one.
    assert _value(samples, "cobranca_assigned_partitions", topic=CLIENTS.name) == 3
    assert _value(samples, "process_cpu_seconds_total") > 0
    # Business series: the group read every tenant's history, so at least the payer's.
    approved = {"outcome": "approved", "reason": "none"}
    assert _value(samples, "cobranca_sends_decided_total", **approved) >= CREDIT
    rejected = {"outcome": "rejected", "reason": "insufficient_tokens"}
    assert _value(samples, "cobranca_sends_decided_total", **rejected) >= REQUESTS - CREDIT
    assert _value(samples, "cobranca_ledger_tokens_total", movement="debited") >= CREDIT
    assert _value(samples, "cobranca_ledger_tokens_total", movement="credited") >= CREDIT
    assert "# HELP cobranca_sends_decided_total Send requests the ledger decided" in text
    assert _value(samples, "process_resident_memory_bytes") > 0


def test_a_taken_port_names_the_setting_that_moves_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sensor = PrometheusSensor(endpoint=("127.0.0.1", port))
        with pytest.raises(MetricsEndpointUnavailable, match="COBRANCA_METRICS_PORT") as info:
            asyncio.run(sensor.on_start())
    assert f"127.0.0.1:{port}" in str(info.value)


def test_the_endpoint_serves_its_registry_and_closes_with_the_worker() -> None:
    port = free_port()
    sensor = PrometheusSensor(endpoint=("127.0.0.1", port))
    sensor.rebalances.inc()

    async def serve_and_stop() -> str | None:
        await sensor.on_start()
        try:
            return await asyncio.to_thread(_get, port)
        finally:
            await sensor.on_stop()

    text = asyncio.run(serve_and_stop())
    assert text is not None
    assert _value(_samples(text), "cobranca_rebalances_total") == 1
    assert _get(port) is None  # closed: nothing listens any more
