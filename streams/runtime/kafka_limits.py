"""The largest record a topic accepts, as the broker says, and what a record costs.

The broker refuses a record batch larger than the topic's `max.message.bytes` (the broker's
`message.max.bytes` unless the topic overrides it) with MESSAGE_TOO_LARGE. A producer that
groups records must keep its batches under that size, and an endpoint that stores what a client
sends must refuse, before producing, a record the topic cannot hold (issue 18): a refusal from
the broker comes too late, after the request was accepted and the record numbered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from streams.runtime.errors import KafkaLimitsError

__all__ = [
    "BROKER_SETTING",
    "KAFKA_DEFAULT_MAX_MESSAGE_BYTES",
    "RECORD_OVERHEAD",
    "TOPIC_SETTING",
    "TopicLimits",
    "describe_limits",
    "record_bytes",
]

BROKER_SETTING: Final = "message.max.bytes"
TOPIC_SETTING: Final = "max.message.bytes"
#: Kafka's default for both settings: 1 MiB plus a record batch's 12-byte log overhead.
KAFKA_DEFAULT_MAX_MESSAGE_BYTES: Final = 1_048_588


def record_bytes(key: bytes | None, value: bytes) -> int:
    """The most a record (no Kafka headers) takes in a batch of its own, uncompressed: the size
    the broker compares with `max.message.bytes`."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, []))


#: What a record alone in its batch costs beyond its key and value: the batch's header and the
#: most a record's own framing (length, attributes, deltas, header count) can take.
RECORD_OVERHEAD: Final = record_bytes(b"", b"")


@dataclass(frozen=True, slots=True)
class TopicLimits:
    """What the broker accepts on one topic."""

    topic: str
    topic_max_message_bytes: int
    """The topic's `max.message.bytes` in force: the largest record batch it stores."""
    topic_overridden: bool
    """Whether the topic sets it itself; otherwise it is the broker's `message.max.bytes`."""
    broker_message_max_bytes: int
    """The broker's `message.max.bytes`, the default of every topic that does not override it."""

    @property
    def max_batch_bytes(self) -> int:
        """The largest record batch a produce to this topic may carry."""
        return self.topic_max_message_bytes

    def setting(self) -> str:
        """Which setting to raise to store larger records, as an operator would write it."""
        if self.topic_overridden:
            return f"{TOPIC_SETTING} of {self.topic}"
        return f"{TOPIC_SETTING} of {self.topic} (now the broker's {BROKER_SETTING})"


async def describe_limits(bootstrap: str, topic: str) -> TopicLimits:
    """Ask the broker for `topic`'s `max.message.bytes` and its own `message.max.bytes`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        await admin.close()
        raise KafkaLimitsError(
            f"no Kafka broker answers at {bootstrap}; start the local one with "
            "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        cluster = await admin.describe_cluster()
        broker_id = str(cluster["controller_id"])
        brokers = [str(b["node_id"]) for b in cluster["brokers"]]
        if broker_id not in brokers:
            broker_id = brokers[0]
        responses = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, topic, {TOPIC_SETTING: None}),
                ConfigResource(ConfigResourceType.BROKER, broker_id, {BROKER_SETTING: None}),
            ]
        )
    except KafkaError as exc:
        raise KafkaLimitsError(
            f"describing the configuration of {topic!r} on {bootstrap} failed: {exc!r}"
        ) from exc
    finally:
        await admin.close()
    entries: dict[tuple[int, str], tuple[str, Any]] = {}
    for response in responses:
        for error_code, error_message, kind, name, configs in (
            tuple(resource)[:5] for resource in response.resources
        ):
            if error_code:
                raise KafkaLimitsError(
                    f"the broker at {bootstrap} did not describe {name!r}: error {error_code} "
                    f"({error_message}); does the topic exist? `cobranca topics create` makes it"
                )
            for entry in configs:
                entries[(kind, entry[0])] = (entry[1], entry[3])
    try:
        topic_value, topic_source = entries[(ConfigResourceType.TOPIC, TOPIC_SETTING)]
        broker_value, _ = entries[(ConfigResourceType.BROKER, BROKER_SETTING)]
        return TopicLimits(
            topic=topic,
            topic_max_message_bytes=int(topic_value),
            topic_overridden=_set_on_topic(topic_source),
            broker_message_max_bytes=int(broker_value),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise KafkaLimitsError(
            f"the broker at {bootstrap} did not give {TOPIC_SETTING} of {topic!r} and its "
            f"{BROKER_SETTING} ({exc!r})"
        ) from exc


def _set_on_topic(source: object) -> bool:
    """Whether a topic's config entry is the topic's own: v1+ of DescribeConfigs gives its
    source (1, DYNAMIC_TOPIC_CONFIG), v0 only whether it is a default (a bool)."""
    if isinstance(source, bool):
        return not source
    return source == 1
