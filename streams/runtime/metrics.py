"""Prometheus metrics for the Faust worker: a sensor that counts what the pipeline does, and the
endpoint that serves the counts at ``/metrics``.

Faust calls a sensor's hooks on the event loop as events flow (`faust/sensors/base.py`); the
sensor here turns them into prometheus_client metrics in a registry of its own, next to the
process metrics (CPU, memory, open files, GC). The endpoint is prometheus_client's HTTP server in
a daemon thread, so a scrape never waits for the event loop and a busy loop never delays a scrape.
It starts with the app (sensors are the first services Faust starts and the last it stops) and
stops with it.

Labels stay few and bounded: the topic, the agent (a stream's name), the partition for lag, the
exception class for send errors, the ledger event type, a send's outcome and rejection reason
(the SendRejectReason enum), a token movement, a WAHA ack name (mapped onto the known six, else
OTHER), an intent label (the classifier's LABELS, else other), the WAHA session of a circuit
breaker (a few per tenant). Tenants, keys, ids and offsets never become labels.

The agents report business events through duck-typed hooks (`on_batch_processed`,
`on_ledger_events`, `on_sends`, `on_tokens`, `on_deliveries`, `on_intents`, `on_open_handoffs`,
`on_circuit_change`), found with `getattr` on the app's sensors, so an agent never imports this
module. The business counts are taken as the agent sends, inside transactions that may still
abort (the worker then redoes the work and counts it again): they are rates to watch, not a
ledger; ClickHouse holds the exact figures.

Open hand-offs are a gauge per worker, set by the conversation agent from the conversation state
it holds (a hand-off opened counts +1, its resolution -1): the sum over the workers is the total.
Every rebalance sets it to 0, and it comes back as the agent rebuilds its partitions' state
(lazily, on each partition's first event), so after a restart or a rebalance it may read low
until conversations flow again.

Consumer lag is taken at every commit round (COBRANCA_COMMIT_INTERVAL_S), in offsets a record
could take: those the fetcher has not read yet (the partition's end as last seen by a fetch, the
last stable offset under exactly-once, minus the fetch position) plus those it delivered that are
not committed (one past the last delivered offset minus the committed one). Not simply the end
minus the committed offset: a transaction marker is never delivered, so on a partition whose last
entry is a marker the committed offset rests one below the end, and an idle partition fed by a
transactional producer would never show 0. Where the transport gives no fetch position it falls
back to end minus committed. It reads Faust's own bookkeeping of committed and read offsets
(`Consumer._committed_offset`, `_read_offset`); a Faust without them exports no lag rather than a
wrong one. A partition gets a lag series only once this worker has committed on it since it was
assigned, so a worker stuck on its first event after a restart shows no lag for that partition
(alert on the rate of cobranca_events_processed_total, or on the broker's own group lag).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import Callable, Mapping
from typing import Any

import faust
from faust.types import TP, AppT, EventT, StreamT
from faust.types.transports import ConsumerT, ProducerT
from faust.types.tuples import PendingMessage, RecordMetadata
from prometheus_client import Counter, Gauge, Histogram

from streams.base.topics import DEAD_LETTERS
from streams.domain.intent import LABELS
from streams.runtime.metrics_endpoint import MetricsEndpoint, process_registry

UNNAMED_STREAM = "unnamed"
"""The agent label of a stream that no agent owns (`app.stream(...)` without a prefix)."""

EVENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
REBALANCE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

ACK_NAMES = frozenset({"ERROR", "PENDING", "SERVER", "DEVICE", "READ", "PLAYED"})
"""WAHA's ack names (`DeliveryStatusChanged.ack_name`); any other counts as OTHER."""
NO_REASON = "none"
"""The reason label of an approved send."""


class PrometheusSensor(faust.Sensor):
    """Counts events, sends, commits and rebalances into `registry`; serves it on `endpoint`."""

    def __init__(
        self,
        *,
        endpoint: tuple[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.registry = process_registry()
        self._endpoint: MetricsEndpoint | None = None
        # Series by label values, so the per-event hooks skip prometheus_client's labels() lookup
        # (a lock and a tuple each); bounded like the labels themselves.
        self._event_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._send_series: dict[str, tuple[Counter, Histogram]] = {}
        registry = self.registry
        self.events_processed = Counter(
            "cobranca_events_processed",
            "Events an agent finished processing (acknowledged), by source topic and agent.",
            ["topic", "agent"],
            registry=registry,
        )
        self.event_seconds = Histogram(
            "cobranca_event_processing_seconds",
            "Time from an event entering an agent's stream until the agent asked for the next one.",
            ["topic", "agent"],
            buckets=EVENT_BUCKETS,
            registry=registry,
        )
        self.topic_buffer_full = Counter(
            "cobranca_topic_buffer_full",
            "Times the consumer waited because a topic's in-memory buffer was full (backpressure).",
            ["topic"],
            registry=registry,
        )
        self.records_sent = Counter(
            "cobranca_records_sent",
            "Records the broker acknowledged, by destination topic (inside a transaction that "
            "may still abort under exactly-once).",
            ["topic"],
            registry=registry,
        )
        self.send_seconds = Histogram(
            "cobranca_send_seconds",
            "Time from handing a record to the producer until the broker acknowledged it.",
            ["topic"],
            buckets=EVENT_BUCKETS,
            registry=registry,
        )
        self.send_errors = Counter(
            "cobranca_send_errors",
            "Records the producer failed to write, by destination topic and exception class.",
            ["topic", "error"],
            registry=registry,
        )
        self.commits = Counter(
            "cobranca_commits",
            "Commit rounds that committed offsets (with their transaction, under exactly-once).",
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "cobranca_commit_seconds",
            "Duration of commit rounds that committed offsets, waiting for in-flight events "
            "included.",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.rebalances = Counter(
            "cobranca_rebalances",
            "Consumer group rebalances this worker took part in.",
            registry=registry,
        )
        self.rebalance_seconds = Histogram(
            "cobranca_rebalance_seconds",
            "Duration of rebalances, from revocation until every table recovered.",
            buckets=REBALANCE_BUCKETS,
            registry=registry,
        )
        self.assigned_partitions = Gauge(
            "cobranca_assigned_partitions",
            "Partitions assigned to this worker after its last rebalance, by topic.",
            ["topic"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "cobranca_consumer_lag",
            "Offsets between a partition's end and this worker's last committed offset, taken "
            "at each commit round.",
            ["topic", "partition"],
            registry=registry,
        )
        self.ledger_events = Counter(
            "cobranca_ledger_events",
            "Ledger events the ledger agent decided, by type (TokensCredited, TokensDebited, "
            "TokensRefunded, BalanceLow: a tenant's balance crossed below its threshold), "
            "inside transactions that may still abort.",
            ["event_type"],
            registry=registry,
        )
        # Series an alert reads with increase() exist at 0 from the start: one born at 1 on the
        # first event would show no increase (infra/prometheus/rules/cobranca.yml).
        self.ledger_events.labels("BalanceLow")
        self.records_sent.labels(DEAD_LETTERS.name)
        self.sends = Counter(
            "cobranca_sends_decided",
            "Send requests the ledger decided, by outcome (approved, rejected) and reason (the "
            "SendRejectReason of a rejection, none for an approval), inside transactions that "
            "may still abort.",
            ["outcome", "reason"],
            registry=registry,
        )
        self.tokens = Counter(
            "cobranca_ledger_tokens",
            "Tokens the ledger moved (not events), by movement: debited, refunded, credited; "
            "inside transactions that may still abort.",
            ["movement"],
            registry=registry,
        )
        for movement in ("debited", "refunded", "credited"):
            self.tokens.labels(movement)
        self.deliveries = Counter(
            "cobranca_delivery_statuses",
            "Delivery acknowledgements (DeliveryStatusChanged) the normalizer emitted, by WAHA "
            "ack name (SERVER, DEVICE, READ, PLAYED, PENDING, ERROR, OTHER), inside "
            "transactions that may still abort.",
            ["ack"],
            registry=registry,
        )
        self.intents = Counter(
            "cobranca_intents_classified",
            "Replies the conversation agent classified (IntentClassified), by intent label, "
            "inside transactions that may still abort.",
            ["intent"],
            registry=registry,
        )
        self.open_handoffs = Gauge(
            "cobranca_open_handoffs",
            "Hand-offs open in the conversation state this worker holds (sum over workers for "
            "the total); 0 after a rebalance until the agent rebuilds its partitions' state.",
            registry=registry,
        )
        self.circuit_open = Gauge(
            "cobranca_waha_circuit_open",
            "1 while a WAHA session's circuit breaker is not closed (open, or half-open waiting "
            "for its trial call), else 0.",
            ["session"],
            registry=registry,
        )
        self.circuit_opened = Counter(
            "cobranca_waha_circuit_opened",
            "Times a WAHA session's circuit breaker opened.",
            ["session"],
            registry=registry,
        )
        super().__init__(**kwargs)

    # -- the endpoint ---------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Serve the registry at http://host:port/metrics if an endpoint was given."""
        if self.endpoint is None:
            return
        host, port = self.endpoint
        endpoint = MetricsEndpoint(self.registry, host, port)
        endpoint.start()
        self._endpoint = endpoint

    async def on_stop(self) -> None:
        """Close the endpoint; shutting the server down waits for its poll, so off the loop."""
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            await asyncio.to_thread(endpoint.stop)

    # -- events ---------------------------------------------------------------------------------

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]
    ) -> dict[str, float]:
        return {"time_in": self.clock()}

    def on_stream_event_out(
        self,
        tp: TP,
        offset: int,
        stream: StreamT[Any],
        event: EventT[Any],
        state: dict[str, Any] | None = None,
    ) -> None:
        processed, seconds = self._series(tp.topic, stream.prefix or UNNAMED_STREAM)
        processed.inc()
        # Stream.ack() reports the end of an event without the state its start returned.
        if state is not None and "time_in" in state:
            seconds.observe(self.clock() - state["time_in"])

    def on_batch_processed(self, topic: str, agent: str, count: int, seconds: float) -> None:
        """`count` events of `topic` an agent fed by batches (`streams.runtime.feed`) finished, each
        observed with its batch's time: Faust's per-event hooks never see them."""
        processed, histogram = self._series(topic, agent)
        processed.inc(count)
        for _ in range(count):
            histogram.observe(seconds)

    def _series(self, topic: str, agent: str) -> tuple[Counter, Histogram]:
        """The (events, seconds) series of an agent's topic, made once."""
        labels = (topic, agent)
        series = self._event_series.get(labels)
        if series is None:
            series = self._event_series[labels] = (
                self.events_processed.labels(*labels),
                self.event_seconds.labels(*labels),
            )
        return series

    def on_topic_buffer_full(self, tp: TP) -> None:
        self.topic_buffer_full.labels(tp.topic).inc()

    # -- sends ----------------------------------------------------------------------------------

    def on_send_initiated(
        self,
        producer: ProducerT,
        topic: str,
        message: PendingMessage,
        keysize: int,
        valsize: int,
    ) -> tuple[str, float]:
        return topic, self.clock()

    def on_send_completed(
        self, producer: ProducerT, state: tuple[str, float], metadata: RecordMetadata
    ) -> None:
        topic, started = state
        series = self._send_series.get(topic)
        if series is None:
            series = self._send_series[topic] = (
                self.records_sent.labels(topic),
                self.send_seconds.labels(topic),
            )
        sent, seconds = series
        sent.inc()
        seconds.observe(self.clock() - started)

    def on_send_error(
        self, producer: ProducerT, exc: BaseException, state: tuple[str, float]
    ) -> None:
        topic, _ = state
        self.send_errors.labels(topic, type(exc).__name__).inc()

    def on_records_sent(self, topic: str, count: int) -> None:
        """Records an agent handed to the producer as one batch, past Faust's send path
        (`SourcePartitionTransactions.send_encoded`): counted when enqueued, no latency."""
        self.records_sent.labels(topic).inc(count)

    # -- business events --------------------------------------------------------------------------

    def on_ledger_events(self, counts: Mapping[str, int]) -> None:
        """Ledger events of one batch, by type (`streams.agents.ledger`)."""
        for event_type, count in counts.items():
            self.ledger_events.labels(event_type).inc(count)

    def on_sends(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Send decisions of one batch, by (outcome, reason) (`streams.agents.ledger`)."""
        for (outcome, reason), count in counts.items():
            self.sends.labels(outcome, reason).inc(count)

    def on_tokens(self, amounts: Mapping[str, int]) -> None:
        """Tokens of one batch, by movement (debited, refunded, credited)."""
        for movement, amount in amounts.items():
            self.tokens.labels(movement).inc(amount)

    def on_deliveries(self, counts: Mapping[str, int]) -> None:
        """DeliveryStatusChanged sent, by WAHA ack name (`streams.agents.normalizer`)."""
        for ack, count in counts.items():
            name = ack.upper()
            self.deliveries.labels(name if name in ACK_NAMES else "OTHER").inc(count)

    def on_intents(self, counts: Mapping[str, int]) -> None:
        """IntentClassified sent, by label (`streams.agents.conversation`)."""
        for intent, count in counts.items():
            self.intents.labels(intent if intent in LABELS else "other").inc(count)

    def on_open_handoffs(self, count: int) -> None:
        """Hand-offs open in the conversation state this worker holds now."""
        self.open_handoffs.set(count)

    def on_circuit_change(self, session: str, state: str) -> None:
        """A WAHA session's breaker moved to `state` (closed, open, half_open)."""
        self.circuit_open.labels(session).set(0 if state == "closed" else 1)
        if state == "open":
            self.circuit_opened.labels(session).inc()

    # -- commits and lag ------------------------------------------------------------------------

    def on_commit_initiated(self, consumer: ConsumerT) -> tuple[float, dict[TP, int | None] | None]:
        return self.clock(), _committed_offsets(consumer)

    def on_commit_completed(
        self, consumer: ConsumerT, state: tuple[float, dict[TP, int | None] | None]
    ) -> None:
        started, before = state
        after = _committed_offsets(consumer)
        # Faust's commit timer fires every interval, with or without acknowledged events; only
        # rounds that moved an offset count, so idle rounds do not flatten the latency.
        if after is None or after != before:
            self.commits.inc()
            self.commit_seconds.observe(self.clock() - started)
        if after is not None:
            self._update_lag(consumer, after)

    def _update_lag(self, consumer: ConsumerT, committed: Mapping[TP, int | None]) -> None:
        for tp, offset in committed.items():
            if offset is None:  # Faust keeps None for "no committed offset"
                continue
            try:
                end = consumer.highwater(tp)
            except AssertionError:
                # aiokafka asserts the partition is still assigned; a rebalance just took it.
                continue
            if end is None:  # not fetched yet since the assignment
                continue
            self.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                _behind(consumer, tp, end, offset)
            )

    # -- rebalances -----------------------------------------------------------------------------

    def on_rebalance_start(self, app: AppT) -> dict[str, float]:
        self.rebalances.inc()
        # Partitions may move away: their lag is no longer this worker's to report.
        self.consumer_lag.clear()
        self.open_handoffs.set(0)  # the state is forgotten too (streams/runtime/state.py)
        return {"time_start": self.clock()}

    def on_rebalance_end(self, app: AppT, state: dict[str, Any]) -> None:
        if "time_start" in state:
            self.rebalance_seconds.observe(self.clock() - state["time_start"])
        per_topic = Tally(tp.topic for tp in app.consumer.assignment())
        self.assigned_partitions.clear()
        for topic, count in per_topic.items():
            self.assigned_partitions.labels(topic).set(count)


def _behind(consumer: ConsumerT, tp: TP, end: int, committed: int) -> int:
    """Offsets of `tp` that records not yet committed may take (see the module docstring)."""
    fetch_position = getattr(consumer, "fetch_position", None)
    position = fetch_position(tp) if fetch_position is not None else None
    read = getattr(consumer, "_read_offset", {}).get(tp)
    if position is None or read is None:
        return max(end - committed, 0)
    return max(end - int(position), 0) + max(int(read) + 1 - committed, 0)


def _committed_offsets(consumer: ConsumerT) -> dict[TP, int | None] | None:
    """Faust's view of the committed offsets by partition, or None if this Faust keeps none."""
    committed = getattr(consumer, "_committed_offset", None)
    return None if committed is None else dict(committed)


def install_metrics(
    app: faust.App, port: int | None, host: str = "127.0.0.1"
) -> PrometheusSensor | None:
    """Add the metrics sensor to `app`, serving http://host:port/metrics while the app runs.

    `port` None (COBRANCA_METRICS_PORT unset) installs nothing. Installing twice returns the
    sensor already there, so no event is counted twice.
    """
    if port is None:
        return None
    for sensor in app.sensors:
        if isinstance(sensor, PrometheusSensor):
            return sensor
    sensor = PrometheusSensor(endpoint=(host, port))
    app.sensors.add(sensor)
    return sensor
