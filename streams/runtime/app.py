"""The Faust application: one `app`, configured from the environment.

Agents live in their own modules (streams/agents/) and topics come from the catalogue
(streams/base/topics.py); this module only builds the app, and `create_worker`
(streams/agents/worker.py) calls it: importing it builds nothing.
"""

from __future__ import annotations

import faust

from schemas.codec import register_faust_codec
from streams.base.settings import Settings


def create_app(settings: Settings) -> faust.App:
    """The app for these settings, with exactly-once processing on the `cobranca://` transport."""
    register_faust_codec()
    brokers = ";".join(settings.kafka_bootstrap.split(","))
    return faust.App(
        settings.app_id,
        broker=f"cobranca://{brokers}",
        # Each input's offsets, the records it caused and table changelogs commit in one Kafka
        # transaction; see streams/runtime/transport.py for how outputs find their transaction.
        processing_guarantee="exactly_once",
        datadir=str(settings.data_dir / "faust"),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer="avro",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 6, 0.5),
        broker_commit_interval=settings.commit_interval_s,
        # Records linger until their transaction commits: a commit closes the open batches and
        # wakes the sender (aiokafka's flush_for_commit), and read_committed consumers see
        # nothing before it, so waiting costs no latency. A shorter linger sent a produce request
        # per source partition every few milliseconds, and the socket writes were the worker's
        # largest cost (docs/performance.md).
        producer_linger=settings.commit_interval_s,
        producer_max_batch_size=512 * 1024,
        # Bounded fetch batches keep Faust's flow control ahead of an agent that stops consuming
        # (the dispatcher while WAHA is down): a buffer that fills up blocks the fetcher of every
        # agent. See docs/adr/0006.
        broker_max_poll_records=100,
        web_enabled=False,
        autodiscover=False,
    )
