"""Changing a topic's max.message.bytes on the test broker while producers run (issue 18)."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.runtime.errors import KafkaLimitsError
from streams.runtime.kafka_limits import TOPIC_SETTING, describe_limits

#: DescribeConfigs' source of a setting the topic sets itself.
_TOPIC_OWN = 1


async def new_topic(bootstrap: str, partitions: int = 6, **configs: str) -> str:
    """A topic of this test's own, outside the catalogue, with `configs` (dots as underscores)."""
    name = f"test.limits-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    partitions,
                    replication_factor=1,
                    topic_configs={k.replace("_", "."): v for k, v in configs.items()},
                )
            ]
        )
    finally:
        await admin.close()
    # The controller answers before every broker knows the topic: wait until it is described.
    deadline = time.monotonic() + 30
    while True:
        try:
            await describe_limits(bootstrap, name)
            return name
        except KafkaLimitsError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def set_max_message_bytes(
    bootstrap: str, topic: str, value: int | None, within_s: float = 30
) -> None:
    """Set (None: remove) the topic's own max.message.bytes, keeping its other own settings
    (AlterConfigs replaces them all), and return once the broker describes the new value."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        (resource,) = described.resources
        own = {
            entry[0]: entry[1]
            for entry in resource[4]
            if entry[3] == _TOPIC_OWN and entry[0] != TOPIC_SETTING
        }
        if value is not None:
            own[TOPIC_SETTING] = str(value)
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, own)])
    finally:
        await admin.close()
    deadline = time.monotonic() + within_s
    while True:
        limits = await describe_limits(bootstrap, topic)
        if value is None and not limits.topic_overridden:
            return
        if limits.topic_overridden and limits.topic_max_message_bytes == value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{topic}: {TOPIC_SETTING} still {limits}")
        await asyncio.sleep(0.1)
