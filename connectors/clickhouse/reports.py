"""Reports the HTTP API reads from ClickHouse: a tenant's ledger, page by page, and its usage.

The ledger topic is keyed by tenant, so a tenant's movements are one partition's records and
their Kafka offsets are the order of its hash chain: a page is `before` an offset, newest first,
and each entry names its position (`cobranca.ledger[p]@o`) for an auditor to find the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.errors import QueryFailed

__all__ = [
    "ANALYTICS",
    "ImportRejections",
    "LedgerEntry",
    "RejectedRow",
    "UsageDay",
    "analytics",
    "import_rejections",
    "imported_client_position",
    "ledger_page",
    "usage",
]

MAX_PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    event_type: str
    occurred_at: str
    amount: int | None
    balance_after: int | None
    request_id: str | None
    reference: str | None
    prev_hash: str | None
    hash: str | None
    partition: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "occurred_at": self.occurred_at,
            "amount": self.amount,
            "balance_after": self.balance_after,
            "request_id": self.request_id,
            "reference": self.reference,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "position": f"cobranca.ledger[{self.partition}]@{self.offset}",
            "offset": self.offset,
        }


@dataclass(frozen=True, slots=True)
class UsageDay:
    day: date
    credited: int
    debited: int
    refunded: int
    sends: int
    send_tokens: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "credited": self.credited,
            "debited": self.debited,
            "refunded": self.refunded,
            "sends": self.sends,
            "send_tokens": self.send_tokens,
        }


def _rows(client: Client, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    try:
        return [tuple(row) for row in client.query(sql, parameters=params).result_rows]
    except DriverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise QueryFailed(f"ClickHouse rejected a report query: {first}") from exc


def ledger_page(
    client: Client, database: str, tenant: str, *, before: int | None, limit: int
) -> list[LedgerEntry]:
    """Up to `limit` movements of `tenant` older than offset `before` (None: the newest)."""
    sql = f"""
        SELECT event_type, occurred_at, amount, balance_after, request_id, reference,
               prev_hash, `hash`, kafka_partition, kafka_offset
        FROM {database}.raw_ledger
        WHERE tenant_id = {{tenant:String}} AND kafka_offset < {{before:UInt64}}
        ORDER BY kafka_offset DESC
        LIMIT {{limit:UInt32}}
    """
    rows = _rows(
        client,
        sql,
        {
            "tenant": tenant,
            "before": 2**63 if before is None else before,
            "limit": min(limit, MAX_PAGE),
        },
    )
    return [
        LedgerEntry(
            event_type=str(r[0]),
            occurred_at=r[1].isoformat(),
            amount=r[2],
            balance_after=r[3],
            request_id=r[4],
            reference=r[5],
            prev_hash=r[6],
            hash=r[7],
            partition=int(r[8]),
            offset=int(r[9]),
        )
        for r in rows
    ]


def imported_client_position(
    client: Client, database: str, tenant: str, client_id: str | None
) -> tuple[int, int] | None:
    """(partition, offset) on `cobranca.clients` of the latest ClientImported of `tenant` (of
    `client_id`, when given); None when there is none. ClickHouse keeps no names (privacy.py),
    so the caller reads the event itself from the log at that position."""
    where = "" if client_id is None else "AND client_id = {client_id:String}"
    sql = f"""
        SELECT kafka_partition, kafka_offset
        FROM {database}.raw_clients
        WHERE tenant_id = {{tenant:String}} AND event_type = 'ClientImported' {where}
        ORDER BY occurred_at DESC, kafka_offset DESC
        LIMIT 1
    """
    params: dict[str, Any] = {"tenant": tenant}
    if client_id is not None:
        params["client_id"] = client_id
    rows = _rows(client, sql, params)
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One ImportRejected as ClickHouse keeps it: without the row's text (privacy.py drops
    `raw_row`), but with where the log holds the whole event."""

    partition: int
    offset: int
    row: int
    reason: str
    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ImportRejections:
    rows: list[RejectedRow]
    """The import's rejected rows, by row number."""
    completed_rejected: int | None
    """How many rows its ImportCompleted says were rejected; None before it is stored."""


def import_rejections(
    client: Client, database: str, tenant: str, import_id: str
) -> ImportRejections:
    """The rejected rows of one import of `tenant`, and its ImportCompleted's count (a caller
    compares them to tell a sink that has not caught up from an import without rejections)."""
    params = {"tenant": tenant, "import_id": import_id}
    where = (
        f"FROM {database}.raw_clients WHERE tenant_id = {{tenant:String}} "
        "AND import_id = {import_id:String}"
    )
    # DISTINCT: the sink writes at least once; a record's position names it.
    rows = _rows(
        client,
        f"""
        SELECT DISTINCT kafka_partition, kafka_offset, `row`, reason, field, message
        {where} AND event_type = 'ImportRejected'
        ORDER BY `row`, kafka_offset
        """,
        params,
    )
    completed = _rows(
        client,
        f"SELECT rejected {where} AND event_type = 'ImportCompleted' "
        "ORDER BY kafka_offset DESC LIMIT 1",
        params,
    )
    return ImportRejections(
        rows=[
            RejectedRow(
                int(r[0]), int(r[1]), int(r[2] or 0), str(r[3] or ""), r[4], str(r[5] or "")
            )
            for r in rows
        ],
        completed_rejected=int(completed[0][0] or 0) if completed else None,
    )


def usage(client: Client, database: str, tenant: str, start: date, end: date) -> list[UsageDay]:
    """Per São Paulo day from `start` to `end` inclusive: tokens credited, debited, refunded, and
    the sends approved with their tokens (billing views of migration 0005)."""
    sql = f"""
        SELECT day,
               sum(b.credited), sum(b.debited), sum(b.refunded),
               sum(s.sends), sum(s.tokens)
        FROM (
            SELECT day, sum(credited) AS credited, sum(debited) AS debited,
                   sum(refunded) AS refunded
            FROM {database}.billing_daily
            WHERE tenant_id = {{tenant:String}} AND day BETWEEN {{start:Date}} AND {{end:Date}}
            GROUP BY day
        ) AS b
        FULL OUTER JOIN (
            SELECT day, sum(sends) AS sends, sum(tokens) AS tokens
            FROM {database}.billing_sends_daily
            WHERE tenant_id = {{tenant:String}} AND day BETWEEN {{start:Date}} AND {{end:Date}}
            GROUP BY day
        ) AS s USING (day)
        GROUP BY day
        ORDER BY day
    """
    rows = _rows(client, sql, {"tenant": tenant, "start": start, "end": end})
    return [UsageDay(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


# The analytics views the API serves, each as one query per tenant and São Paulo day range:
# name → (columns, SQL with {db}, and the parameters tenant, start, end). The funnel and the
# response times come from their tables refreshed every 30 s: the live views aggregate every
# request of the tenant on each call (250-350 ms at a million debtors, docs/adr/0027), and the
# console that reads them refreshes every 30 s anyway.
ANALYTICS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "billing": (
        ("day", "credited", "debited", "refunded", "credits", "debits", "refunds"),
        """SELECT day, sum(credited), sum(debited), sum(refunded), sum(credits), sum(debits),
                  sum(refunds)
           FROM {db}.billing_daily WHERE {where} GROUP BY day ORDER BY day""",
    ),
    "sends": (
        ("day", "kind", "sends", "tokens"),
        """SELECT day, kind, sum(sends), sum(tokens) FROM {db}.billing_sends_daily
           WHERE {where} GROUP BY day, kind ORDER BY day, kind""",
    ),
    "funnel": (
        (
            "day",
            "step",
            "requested",
            "approved",
            "rejected",
            "deferred",
            "dispatched",
            "delivered",
            "read",
            "replied",
        ),
        """SELECT day, step, requested, approved, rejected, deferred, dispatched, delivered,
                  `read`, replied
           FROM {db}.delivery_funnel WHERE {where} ORDER BY day, step""",
    ),
    "response_times": (
        ("day", "dispatched", "read", "replied", "dispatch_to_read_s", "read_to_reply_s"),
        """SELECT day, dispatched, `read`, replied, dispatch_to_read_s, read_to_reply_s
           FROM {db}.response_times WHERE {where} ORDER BY day""",
    ),
    "intents": (
        ("day", "label", "classified", "mean_confidence"),
        """SELECT day, label, sum(classified),
                  round(sum(confidence_micros) / sum(classified) / 1e6, 4)
           FROM {db}.intents_daily WHERE {where} GROUP BY day, label ORDER BY day, label""",
    ),
    "handoffs": (
        ("day", "reason", "handoffs"),
        """SELECT day, reason, sum(handoffs) FROM {db}.handoffs_daily
           WHERE {where} GROUP BY day, reason ORDER BY day, reason""",
    ),
    "promises": (
        ("day", "promises", "promised_centavos", "followed_by_a_claim"),
        """SELECT toDate(promised_at, 'America/Sao_Paulo') AS day, count(), sum(amount_centavos),
                  countIf(claimed)
           FROM {db}.promise_outcomes
           WHERE tenant_id = {tenant:String}
             AND toDate(promised_at, 'America/Sao_Paulo') BETWEEN {start:Date} AND {end:Date}
           GROUP BY day ORDER BY day""",
    ),
    "events": (
        ("day", "event_type", "events"),
        """SELECT day, event_type, sum(events) FROM {db}.events_per_tenant_day
           WHERE {where} GROUP BY day, event_type ORDER BY day, event_type""",
    ),
}
_WHERE: Final = "tenant_id = {tenant:String} AND day BETWEEN {start:Date} AND {end:Date}"


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def analytics(
    client: Client, database: str, view: str, tenant: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Rows of one `ANALYTICS` view for a tenant and São Paulo days `start`..`end`."""
    columns, sql = ANALYTICS[view]
    query = sql.replace("{where}", _WHERE).replace("{db}", database)
    rows = _rows(client, query, {"tenant": tenant, "start": start, "end": end})
    return [dict(zip(columns, map(_plain, row), strict=True)) for row in rows]
