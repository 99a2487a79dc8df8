"""The receiver's group-commit counts are Counters, read from the producer at each scrape."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from streams.ops.waha_receiver import ProducerCounts
from streams.runtime.group_commit import GroupCommitProducer


def test_the_counts_are_counters_that_follow_the_producer() -> None:
    producer = GroupCommitProducer("127.0.0.1:1", "cobranca.waha.callbacks")
    registry = CollectorRegistry()
    registry.register(ProducerCounts(producer))

    before = generate_latest(registry).decode()
    producer.flushes, producer.records = 3, 51
    after = generate_latest(registry).decode()

    for name in ("produce_batches", "records_stored", "producer_renewals"):
        assert f"# TYPE cobranca_webhook_{name}_total counter" in before
    assert "cobranca_webhook_produce_batches_total 0.0" in before
    assert "cobranca_webhook_produce_batches_total 3.0" in after
    assert "cobranca_webhook_records_stored_total 51.0" in after
    assert "cobranca_webhook_producer_renewals_total 0.0" in after
