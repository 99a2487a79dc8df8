"""Rows for raw_events, shared by the integration tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from connectors.clickhouse.raw_events import COLUMNS

RAW_EVENT_COLUMNS = list(COLUMNS)


def raw_event(
    offset: int,
    *,
    tenant: str = "acme",
    event_type: str = "SendRequested",
    occurred_at: datetime | None = None,
    topic: str = "cobranca.sends",
    partition: int = 0,
) -> list[Any]:
    """One raw_events row in RAW_EVENT_COLUMNS order; the event id derives from the position."""
    when = occurred_at or datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
    event_id = f"{topic}-{partition}-{offset}"
    payload = {"event_id": event_id, "tenant_id": tenant, "event_type": event_type}
    return [
        topic,
        partition,
        offset,
        event_id,
        event_type,
        1,
        tenant,
        f"corr-{offset}",
        None if offset % 2 else f"cause-{offset}",
        "tests",
        when,
        json.dumps(payload),
    ]
