"""The one error policy for agents: a record that cannot be processed goes to the dead-letter
topic with its bytes, its position and the error, in the agent's own transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust
import structlog

from schemas.codec import Undecodable
from schemas.errors import UndecodableEvent
from schemas.events import DeadLettered, Event, new_header
from streams.channels import CHANNELS
from streams.topics import DEAD_LETTERS

log = structlog.get_logger(__name__)

SOURCE = "streams.dead_letters"
UNKNOWN_TENANT = "unknown"


def dead_letter_for(message: Any, error: Exception, original: bytes) -> DeadLettered:
    """The DeadLettered event for the record at `message`'s position."""
    key: bytes | None = message.key
    # Keys start with the tenant ("tenant_id" or "tenant_id:entity"), so the dead letter stays
    # visible to that tenant's operators; a key that says nothing gets a placeholder.
    tenant = key.decode("utf-8", "replace").split(":", 1)[0] if key else UNKNOWN_TENANT
    position = f"{message.topic}[{message.partition}]@{message.offset}"
    return DeadLettered(
        header=new_header(
            "DeadLettered",
            tenant_id=tenant or UNKNOWN_TENANT,
            correlation_id=position,
            causation_id=None,
            source=SOURCE,
            occurred_at=datetime.now(UTC),
        ),
        original=original,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        error_type=type(error).__name__,
        error=str(error),
        key=key,
    )


async def events(stream: faust.StreamT[Any]) -> AsyncIterator[Event]:
    """The stream's events, typed; undecodable records are dead-lettered on the way."""
    async for event in stream.events():
        value = event.value
        if isinstance(value, Undecodable):
            message = event.message
            error = UndecodableEvent(value.reason, schema_id=value.schema_id).at(
                message.topic, message.partition, message.offset
            )
            log.warning("dead_lettered", error=str(error))
            dead = dead_letter_for(message, error, value.data)
            await CHANNELS[DEAD_LETTERS.name].send(key=message.topic.encode(), value=dead)
            continue
        yield value
