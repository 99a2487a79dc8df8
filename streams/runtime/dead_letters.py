"""The one error policy for agents: a record that cannot be processed goes to the dead-letter
topic with its bytes, its position and the error, in the agent's own transaction
(`streams.runtime.processing.events` sends it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.events import DeadLettered, new_header

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
