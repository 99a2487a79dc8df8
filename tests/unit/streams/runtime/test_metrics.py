"""The metrics sensor: Faust's hooks, driven by hand, show up in the registry as samples."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaTimeoutError
from faust.types import TP

from streams.base.settings import Settings
from streams.runtime.metrics import PrometheusSensor, install_metrics

CLIENTS = TP("cobranca.clients", 0)
AGENT = "regua"
UNUSED: Any = None
"""For the hooks' arguments the sensor never reads (the event, the producer, the message)."""


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ConsumerOffsets:
    """What the sensor reads from Faust's consumer: committed offsets, partition ends, assignment.

    Like aiokafka, asking for the end of a partition that is not assigned fails an assertion.
    """

    def __init__(self, committed: dict[TP, int | None], ends: dict[TP, int | None]) -> None:
        self._committed_offset = committed
        self.ends = ends

    def highwater(self, tp: TP) -> int | None:
        assert tp in self.ends, "Partition is not assigned"
        return self.ends[tp]

    def assignment(self) -> set[TP]:
        return set(self.ends)

    positions: dict[TP, int] | None = None
    """The fetcher's next offsets, where the test gives them (`fetch_position`)."""

    def fetch_position(self, tp: TP) -> int | None:
        return None if self.positions is None else self.positions.get(tp)


@pytest.fixture
def app() -> Iterator[faust.App]:
    yield faust.App("metrics-unit", broker="memory://", autodiscover=False, web_enabled=False)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sensor(clock: Clock) -> PrometheusSensor:
    return PrometheusSensor(clock=clock)


def sample(sensor: PrometheusSensor, name: str, **labels: str) -> float | None:
    return sensor.registry.get_sample_value(name, labels)


def process_one(sensor: PrometheusSensor, clock: Clock, stream: Any, seconds: float) -> None:
    state = sensor.on_stream_event_in(CLIENTS, 7, stream, UNUSED)
    clock.now += seconds
    sensor.on_stream_event_out(CLIENTS, 7, stream, UNUSED, state)


def test_events_are_counted_by_topic_and_agent_with_their_processing_time(
    sensor: PrometheusSensor, clock: Clock, app: faust.App
) -> None:
    stream = app.stream(app.channel(), prefix=AGENT)
    process_one(sensor, clock, stream, 0.003)
    process_one(sensor, clock, stream, 0.2)
    labels = {"topic": CLIENTS.topic, "agent": AGENT}
    assert sample(sensor, "cobranca_events_processed_total", **labels) == 2
    assert sample(sensor, "cobranca_event_processing_seconds_count", **labels) == 2
    assert sample(sensor, "cobranca_event_processing_seconds_sum", **labels) == pytest.approx(0.203)
    assert sample(sensor, "cobranca_event_processing_seconds_bucket", **labels, le="0.005") == 1


def test_an_ack_without_start_state_counts_the_event_but_no_time(
    sensor: PrometheusSensor, app: faust.App
) -> None:
    stream = app.stream(app.channel(), prefix=AGENT)
    sensor.on_stream_event_out(CLIENTS, 7, stream, UNUSED)  # Stream.ack() passes no state
    labels = {"topic": CLIENTS.topic, "agent": AGENT}
    assert sample(sensor, "cobranca_events_processed_total", **labels) == 1
    assert sample(sensor, "cobranca_event_processing_seconds_count", **labels) == 0


def test_a_stream_no_agent_owns_is_labelled_unnamed(
    sensor: PrometheusSensor, clock: Clock, app: faust.App
) -> None:
    process_one(sensor, clock, app.stream(app.channel()), 0.001)
    labels = {"topic": CLIENTS.topic, "agent": "unnamed"}
    assert sample(sensor, "cobranca_events_processed_total", **labels) == 1


def test_sends_count_when_acknowledged_and_errors_by_exception_class(
    sensor: PrometheusSensor, clock: Clock
) -> None:
    topic = "cobranca.sends.requested"
    state = sensor.on_send_initiated(UNUSED, topic, UNUSED, 10, 200)
    assert sample(sensor, "cobranca_records_sent_total", topic=topic) is None
    clock.now += 0.004
    sensor.on_send_completed(UNUSED, state, UNUSED)
    failed = sensor.on_send_initiated(UNUSED, topic, UNUSED, 10, 200)
    sensor.on_send_error(UNUSED, KafkaTimeoutError(), failed)
    assert sample(sensor, "cobranca_records_sent_total", topic=topic) == 1
    assert sample(sensor, "cobranca_send_seconds_sum", topic=topic) == pytest.approx(0.004)
    assert sample(sensor, "cobranca_send_errors_total", topic=topic, error="KafkaTimeoutError") == 1


def test_records_sent_as_one_batch_count_each_record(sensor: PrometheusSensor) -> None:
    sensor.on_records_sent("cobranca.ledger", 3)
    sensor.on_records_sent("cobranca.ledger", 2)
    assert sample(sensor, "cobranca_records_sent_total", topic="cobranca.ledger") == 5


def test_only_commit_rounds_that_move_an_offset_count(
    sensor: PrometheusSensor, clock: Clock
) -> None:
    consumer: Any = ConsumerOffsets({CLIENTS: 10}, {CLIENTS: 20})
    state = sensor.on_commit_initiated(consumer)
    consumer._committed_offset[CLIENTS] = 15
    clock.now += 0.05
    sensor.on_commit_completed(consumer, state)
    idle = sensor.on_commit_initiated(consumer)  # the commit timer, nothing acknowledged since
    clock.now += 0.001
    sensor.on_commit_completed(consumer, idle)
    assert sample(sensor, "cobranca_commits_total") == 1
    assert sample(sensor, "cobranca_commit_seconds_count") == 1
    assert sample(sensor, "cobranca_commit_seconds_sum") == pytest.approx(0.05)


def test_lag_is_the_partition_end_minus_the_committed_offset(sensor: PrometheusSensor) -> None:
    behind, caught_up = TP("cobranca.clients", 1), TP("cobranca.clients", 2)
    never_committed, not_fetched = TP("cobranca.clients", 3), TP("cobranca.clients", 4)
    revoked = TP("cobranca.clients", 5)  # still in Faust's books, no longer assigned
    consumer: Any = ConsumerOffsets(
        {behind: 40, caught_up: 90, never_committed: None, not_fetched: 3, revoked: 8},
        {behind: 100, caught_up: 90, never_committed: 50, not_fetched: None},
    )
    sensor.on_commit_completed(consumer, sensor.on_commit_initiated(consumer))
    lag = "cobranca_consumer_lag"
    assert sample(sensor, lag, topic="cobranca.clients", partition="1") == 60
    assert sample(sensor, lag, topic="cobranca.clients", partition="2") == 0
    for partition in ("3", "4", "5"):
        assert sample(sensor, lag, topic="cobranca.clients", partition=partition) is None


def test_a_transaction_marker_at_the_end_is_no_lag(sensor: PrometheusSensor) -> None:
    # Offsets 0-89 are records, 90 the marker of the transaction that wrote them: the fetcher
    # is past it, the last delivered record is 89 and the group committed 90.
    idle, working = TP("cobranca.sends.decided", 0), TP("cobranca.sends.decided", 1)
    consumer: Any = ConsumerOffsets({idle: 90, working: 40}, {idle: 91, working: 100})
    consumer.positions = {idle: 91, working: 70}  # 70-99 not fetched yet
    consumer._read_offset = {idle: 89, working: 59}  # 40-59 delivered, not committed
    sensor.on_commit_completed(consumer, sensor.on_commit_initiated(consumer))
    lag = "cobranca_consumer_lag"
    assert sample(sensor, lag, topic=idle.topic, partition="0") == 0
    assert sample(sensor, lag, topic=working.topic, partition="1") == 30 + 20


def test_without_fausts_committed_offsets_every_round_counts_and_no_lag_is_exported(
    sensor: PrometheusSensor,
) -> None:
    consumer: Any = SimpleNamespace(highwater=lambda tp: 100)
    sensor.on_commit_completed(consumer, sensor.on_commit_initiated(consumer))
    assert sample(sensor, "cobranca_commits_total") == 1
    families = {family.name for family in sensor.registry.collect() if family.samples}
    assert "cobranca_consumer_lag" not in families


def test_a_rebalance_resets_lag_and_reports_the_new_assignment(
    sensor: PrometheusSensor, clock: Clock
) -> None:
    old: Any = ConsumerOffsets({CLIENTS: 1}, {CLIENTS: 5})
    sensor.on_commit_completed(old, sensor.on_commit_initiated(old))
    assert sample(sensor, "cobranca_consumer_lag", topic=CLIENTS.topic, partition="0") == 4
    assigned = {TP("cobranca.clients", 1): 0, TP("cobranca.clients", 2): 0}
    assigned[TP("cobranca.sends.requested", 0)] = 0
    app: Any = SimpleNamespace(consumer=ConsumerOffsets({}, dict(assigned)))
    state = sensor.on_rebalance_start(app)
    assert sample(sensor, "cobranca_consumer_lag", topic=CLIENTS.topic, partition="0") is None
    clock.now += 2.5
    sensor.on_rebalance_end(app, state)
    assert sample(sensor, "cobranca_rebalances_total") == 1
    assert sample(sensor, "cobranca_rebalance_seconds_sum") == pytest.approx(2.5)
    assert sample(sensor, "cobranca_assigned_partitions", topic="cobranca.clients") == 2
    assert sample(sensor, "cobranca_assigned_partitions", topic="cobranca.sends.requested") == 1


def test_a_full_topic_buffer_is_counted(sensor: PrometheusSensor) -> None:
    sensor.on_topic_buffer_full(CLIENTS)
    assert sample(sensor, "cobranca_topic_buffer_full_total", topic=CLIENTS.topic) == 1


def test_the_registry_is_the_sensors_own_with_process_metrics(sensor: PrometheusSensor) -> None:
    from prometheus_client import REGISTRY

    assert sensor.registry is not REGISTRY
    assert sample(sensor, "process_cpu_seconds_total") is not None
    assert sample(sensor, "process_resident_memory_bytes") is not None
    families = {family.name for family in sensor.registry.collect()}
    assert "python_info" in families and "python_gc_collections" in families


def test_every_pipeline_metric_is_prefixed_and_explained(sensor: PrometheusSensor) -> None:
    ours = [
        family
        for family in sensor.registry.collect()
        if not family.name.startswith(("process_", "python_"))
    ]
    assert len(ours) == 20
    for family in ours:
        assert family.name.startswith("cobranca_"), family.name
        assert len(family.documentation) > 20, family.name


def test_install_adds_one_sensor_serving_on_loopback(app: faust.App) -> None:
    sensor = install_metrics(app, 9100)
    assert sensor is not None
    assert sensor in set(app.sensors)
    assert sensor.endpoint == ("127.0.0.1", 9100)
    assert install_metrics(app, 9100) is sensor  # installing again counts nothing twice
    assert sum(isinstance(s, PrometheusSensor) for s in app.sensors) == 1


def test_install_without_a_port_installs_nothing(app: faust.App) -> None:
    assert install_metrics(app, None) is None
    assert not any(isinstance(s, PrometheusSensor) for s in app.sensors)


def test_metrics_are_off_and_on_loopback_unless_configured() -> None:
    settings = Settings.from_env({})
    assert settings.metrics_port is None
    assert settings.metrics_host == "127.0.0.1"
    settings = Settings.from_env({"COBRANCA_METRICS_PORT": "9100"})
    assert (settings.metrics_port, settings.metrics_host) == (9100, "127.0.0.1")
    settings = Settings.from_env(
        {"COBRANCA_METRICS_PORT": "9100", "COBRANCA_METRICS_HOST": "0.0.0.0"}
    )
    assert settings.metrics_host == "0.0.0.0"


def test_a_batch_fed_agent_counts_its_events_with_their_batch_time(
    sensor: PrometheusSensor,
) -> None:
    sensor.on_batch_processed(CLIENTS.topic, "ledger", 3, 0.02)
    sensor.on_batch_processed(CLIENTS.topic, "ledger", 2, 0.5)
    labels = {"topic": CLIENTS.topic, "agent": "ledger"}
    assert sample(sensor, "cobranca_events_processed_total", **labels) == 5
    assert sample(sensor, "cobranca_event_processing_seconds_count", **labels) == 5
    assert sample(sensor, "cobranca_event_processing_seconds_sum", **labels) == pytest.approx(1.06)


def test_ledger_events_are_counted_by_type(sensor: PrometheusSensor) -> None:
    sensor.on_ledger_events({"TokensDebited": 3, "BalanceLow": 1})
    sensor.on_ledger_events({"BalanceLow": 1})
    assert sample(sensor, "cobranca_ledger_events_total", event_type="BalanceLow") == 2
    assert sample(sensor, "cobranca_ledger_events_total", event_type="TokensDebited") == 3


def test_a_circuit_is_open_until_it_closes_and_its_openings_are_counted(
    sensor: PrometheusSensor,
) -> None:
    sensor.on_circuit_change("acme-1", "open")
    assert sample(sensor, "cobranca_waha_circuit_open", session="acme-1") == 1
    sensor.on_circuit_change("acme-1", "half_open")
    assert sample(sensor, "cobranca_waha_circuit_open", session="acme-1") == 1
    sensor.on_circuit_change("acme-1", "open")
    sensor.on_circuit_change("acme-1", "closed")
    assert sample(sensor, "cobranca_waha_circuit_open", session="acme-1") == 0
    assert sample(sensor, "cobranca_waha_circuit_opened_total", session="acme-1") == 2


def test_sends_are_counted_by_outcome_and_reason(sensor: PrometheusSensor) -> None:
    sensor.on_sends({("approved", "none"): 4, ("rejected", "opted_out"): 1})
    sensor.on_sends({("rejected", "opted_out"): 2})
    assert sample(sensor, "cobranca_sends_decided_total", outcome="approved", reason="none") == 4
    rejected = {"outcome": "rejected", "reason": "opted_out"}
    assert sample(sensor, "cobranca_sends_decided_total", **rejected) == 3


def test_tokens_are_counted_in_tokens_by_movement_from_zero(sensor: PrometheusSensor) -> None:
    for movement in ("debited", "refunded", "credited"):
        assert sample(sensor, "cobranca_ledger_tokens_total", movement=movement) == 0
    sensor.on_tokens({"debited": 5, "credited": 100})
    sensor.on_tokens({"debited": 2, "refunded": 1})
    assert sample(sensor, "cobranca_ledger_tokens_total", movement="debited") == 7
    assert sample(sensor, "cobranca_ledger_tokens_total", movement="refunded") == 1
    assert sample(sensor, "cobranca_ledger_tokens_total", movement="credited") == 100


def test_deliveries_are_counted_by_a_bounded_ack_name(sensor: PrometheusSensor) -> None:
    sensor.on_deliveries({"SERVER": 2, "READ": 1})
    sensor.on_deliveries({"read": 1, "SOMETHING_NEW": 3})
    assert sample(sensor, "cobranca_delivery_statuses_total", ack="SERVER") == 2
    assert sample(sensor, "cobranca_delivery_statuses_total", ack="READ") == 2
    assert sample(sensor, "cobranca_delivery_statuses_total", ack="OTHER") == 3
    assert sample(sensor, "cobranca_delivery_statuses_total", ack="SOMETHING_NEW") is None


def test_intents_are_counted_by_a_known_label(sensor: PrometheusSensor) -> None:
    sensor.on_intents({"promise_to_pay": 2, "not-a-label": 1})
    assert sample(sensor, "cobranca_intents_classified_total", intent="promise_to_pay") == 2
    assert sample(sensor, "cobranca_intents_classified_total", intent="other") == 1
    assert sample(sensor, "cobranca_intents_classified_total", intent="not-a-label") is None


def test_open_handoffs_follow_the_agent_and_drop_to_zero_at_a_rebalance(
    sensor: PrometheusSensor,
) -> None:
    sensor.on_open_handoffs(3)
    assert sample(sensor, "cobranca_open_handoffs") == 3
    sensor.on_open_handoffs(2)
    assert sample(sensor, "cobranca_open_handoffs") == 2
    app: Any = SimpleNamespace(consumer=ConsumerOffsets({}, {}))
    sensor.on_rebalance_end(app, sensor.on_rebalance_start(app))
    assert sample(sensor, "cobranca_open_handoffs") == 0
