from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import apply_migrations, deduplicated_insert_settings
from tests.integration.clickhouse.rows import RAW_EVENT_COLUMNS, raw_event

pytestmark = pytest.mark.integration


@pytest.fixture
def migrated(client: Client, database: str) -> str:
    apply_migrations(client, database)
    return database


def insert(
    client: Client,
    database: str,
    rows: list[list[object]],
    token: str,
    **overrides: str,
) -> None:
    client.insert(
        "raw_events",
        rows,
        column_names=RAW_EVENT_COLUMNS,
        database=database,
        settings={**deduplicated_insert_settings(token), **overrides},
    )


def raw_count(client: Client, database: str) -> int:
    return int(client.query(f"SELECT count() FROM {database}.raw_events").result_rows[0][0])


def per_day(client: Client, database: str) -> dict[tuple[str, date, str], int]:
    rows = client.query(
        f"SELECT tenant_id, day, event_type, sum(events) FROM {database}.events_per_tenant_day "
        "GROUP BY tenant_id, day, event_type"
    ).result_rows
    return {(tenant, day, kind): int(n) for tenant, day, kind, n in rows}


def test_rows_round_trip_with_defaults(client: Client, migrated: str) -> None:
    before = datetime.now(UTC)
    insert(client, migrated, [raw_event(7), raw_event(8)], "sends-0-7-8")
    rows = client.query(
        f"SELECT `offset`, event_id, causation_id, occurred_at, ingested_at "
        f"FROM {migrated}.raw_events ORDER BY `offset`"
    ).result_rows
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (7, "cobranca.sends-0-7", None),
        (8, "cobranca.sends-0-8", "cause-8"),
    ]
    assert rows[0][3] == datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
    assert rows[0][4] >= before.replace(microsecond=0)


def test_the_view_counts_per_tenant_type_and_sao_paulo_day(client: Client, migrated: str) -> None:
    late_utc = datetime(2024, 3, 1, 2, 30, tzinfo=UTC)  # 23:30 on Feb 29 in Sao Paulo
    noon_utc = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
    rows = [
        raw_event(1, occurred_at=late_utc),
        raw_event(2, occurred_at=noon_utc),
        raw_event(3, occurred_at=noon_utc),
        raw_event(4, occurred_at=noon_utc, event_type="TokensDebited"),
        raw_event(5, occurred_at=noon_utc, tenant="globex"),
    ]
    insert(client, migrated, rows[:2], "batch-a")
    insert(client, migrated, rows[2:], "batch-b")
    assert per_day(client, migrated) == {
        ("acme", date(2024, 2, 29), "SendRequested"): 1,
        ("acme", date(2024, 3, 1), "SendRequested"): 2,
        ("acme", date(2024, 3, 1), "TokensDebited"): 1,
        ("globex", date(2024, 3, 1), "SendRequested"): 1,
    }


def test_a_retried_batch_with_the_same_token_changes_nothing(client: Client, migrated: str) -> None:
    batch = [raw_event(offset) for offset in range(100, 110)]
    insert(client, migrated, batch, "cobranca.sends[0]@100-109")
    insert(client, migrated, batch, "cobranca.sends[0]@100-109")
    insert(client, migrated, batch, "cobranca.sends[0]@100-109")
    assert raw_count(client, migrated) == 10
    assert sum(per_day(client, migrated).values()) == 10

    # Same rows under another token are a different batch: the token, not the content, decides.
    insert(client, migrated, batch, "cobranca.sends[0]@100-109#other")
    assert raw_count(client, migrated) == 20
    assert sum(per_day(client, migrated).values()) == 20


def test_dedup_still_holds_after_parts_merge(client: Client, migrated: str) -> None:
    batch = [raw_event(offset) for offset in range(200, 205)]
    insert(client, migrated, batch, "merge-test")
    insert(client, migrated, [raw_event(300)], "another")
    client.command(f"OPTIMIZE TABLE {migrated}.raw_events FINAL")
    client.command(f"OPTIMIZE TABLE {migrated}.events_per_tenant_day FINAL")
    insert(client, migrated, batch, "merge-test")
    assert raw_count(client, migrated) == 6
    assert sum(per_day(client, migrated).values()) == 6
    stored = client.query(f"SELECT count() FROM {migrated}.events_per_tenant_day").result_rows
    assert stored == [(1,)]


def test_without_dependent_view_dedup_the_view_would_double_count(
    client: Client, migrated: str
) -> None:
    """Why `deduplicated_insert_settings` sets deduplicate_blocks_in_dependent_materialized_views.

    A canary on the engine's behaviour: if this starts failing, ClickHouse changed how a block
    dropped by the source table reaches its views, and the sink's guarantee must be re-checked.
    """
    batch = [raw_event(offset) for offset in range(400, 403)]
    off = {"deduplicate_blocks_in_dependent_materialized_views": "0"}
    insert(client, migrated, batch, "canary", **off)
    insert(client, migrated, batch, "canary", **off)
    assert raw_count(client, migrated) == 3
    assert sum(per_day(client, migrated).values()) == 6
