"""A tenant's debtors in ClickHouse: the candidates of a search, and a debtor's events.

ClickHouse holds no name, phone or CPF/CNPJ in clear (privacy.py). A search therefore asks for
what raw_clients does hold (migration 0015): the keyed hashes of the name's 3-character pieces
(`name_grams`), the phone's last four digits (`phone_last4`), the pseudonyms of the whole phone
and of the document. The answer is candidates, each with its latest import's position in
`cobranca.clients`: the caller reads those records back from the log and keeps the ones that
really match (`streams.domain.debtors.matches`); pieces in another order, or another number
with the same last four digits, are dropped there.

Fast among a million debtors of a tenant: `debtor_search` (migration 0015) is ordered by
(tenant_id, client_id), so a page in client id order reads the tenant's debtors in that order
and stops at the page's end; its bloom filters skip granules without what is asked for, and a
projection orders the phones' last four digits (spread over every granule otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.errors import QueryFailed
from connectors.clickhouse.privacy import Pseudonymizer
from connectors.clickhouse.raw_tables import name_gram_keys, name_grams_sql
from connectors.clickhouse.trace import TraceEvent, trace_client
from streams.base.topics import CLIENTS
from streams.domain.debtors import DebtorQuery, QueryKind

__all__ = ["MAX_PAGE", "DebtorCandidate", "client_events", "search_candidates"]

MAX_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class DebtorCandidate:
    """A client whose imports hold what a search asked for, as of its latest import."""

    client_id: str
    amount_centavos: int
    due_date: date
    last_imported_at: datetime
    imports: int
    partition: int
    offset: int

    @property
    def position(self) -> tuple[str, int, int]:
        """Where `cobranca.clients` holds the latest ClientImported of the client."""
        return (CLIENTS.name, self.partition, self.offset)


def _rows(
    client: Client, sql: str, params: dict[str, Any], settings: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    try:
        answer = client.query(sql, parameters=params, settings=settings)
        return [tuple(row) for row in answer.result_rows]
    except DriverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise QueryFailed(f"ClickHouse rejected a debtor query: {first}") from exc


def search_candidates(
    client: Client,
    database: str,
    tenant: str,
    query: DebtorQuery,
    key: bytes,
    *,
    after: str = "",
    limit: int = 20,
) -> tuple[list[DebtorCandidate], str | None]:
    """Up to `limit` clients of `tenant` after client id `after`, in client id order, whose
    imports may answer `query` (pseudonyms and name pieces keyed with `key`), and the client id
    the next page starts after (None: there is no more)."""
    pseudonyms = Pseudonymizer(key)
    name_key0, name_key1 = name_gram_keys(key)
    params: dict[str, Any] = {
        "tenant": tenant,
        "after": after,
        "limit": max(1, min(limit, MAX_PAGE)),
        "name_key0": name_key0,
        "name_key1": name_key1,
    }
    settings: dict[str, Any] = {}
    if query.kind is QueryKind.NAME:
        match = f"hasAll(name_grams, {name_grams_sql('{q:String}')})"
        params["q"] = query.text
    else:
        # Numbers match few rows: find them all (the last four digits through the projection,
        # pseudonyms through their bloom filters) and sort those, rather than reading the
        # tenant's debtors in order up to the page's end.
        settings["optimize_read_in_order"] = 0
        # A whole phone or a valid CPF/CNPJ is found by its pseudonym; other digits by the
        # phone's last four (a whole number's end is its last four too: no need to ask twice).
        conditions = []
        if query.phone_e164 is not None:
            conditions.append("phone_e164 = {phone:String}")
            params["phone"] = pseudonyms.phone(query.phone_e164)
        if query.document is not None:
            conditions.append("document = {document:String}")
            params["document"] = pseudonyms.pseudonym(query.document)
        if not conditions:
            conditions.append("phone_last4 = {last4:String}")
            params["last4"] = query.phone_suffix
        match = f"({' OR '.join(conditions)})"
    table = f"{database}.debtor_search"
    # The page's clients: the matching rows read in the table's order (tenant_id, client_id)
    # and no further than needed. (DISTINCT or LIMIT BY here would read every match first.) A
    # client imported many times has a row per import: a page may hold fewer clients than
    # asked for, and says where the next one starts.
    page = params["limit"]
    params["rows"] = page + 1
    ids: list[str] = []
    rows = _rows(
        client,
        f"""SELECT client_id FROM {table}
            WHERE tenant_id = {{tenant:String}} AND client_id > {{after:String}} AND {match}
            ORDER BY client_id
            LIMIT {{rows:UInt32}}""",
        params,
        settings,
    )
    for (client_id,) in rows:
        if not ids or ids[-1] != client_id:
            ids.append(str(client_id))
    if not ids:
        return [], None
    more = len(ids) > page or len(rows) == params["rows"]
    # Each one's latest import, found by the primary key.
    details = _rows(
        client,
        f"""SELECT client_id,
                   argMax(amount_centavos, (occurred_at, kafka_partition, kafka_offset)),
                   argMax(due_date, (occurred_at, kafka_partition, kafka_offset)),
                   max(occurred_at),
                   count(),
                   argMax(kafka_partition, (occurred_at, kafka_partition, kafka_offset)),
                   argMax(kafka_offset, (occurred_at, kafka_partition, kafka_offset))
            FROM {table}
            WHERE tenant_id = {{tenant:String}}
              AND client_id IN (SELECT arrayJoin({{ids:Array(String)}}))
            GROUP BY client_id
            ORDER BY client_id""",
        {"tenant": tenant, "ids": ids[:page]},
    )
    candidates = [
        DebtorCandidate(
            client_id=str(r[0]),
            amount_centavos=int(r[1]),
            due_date=r[2],
            last_imported_at=r[3],
            imports=int(r[4]),
            partition=int(r[5]),
            offset=int(r[6]),
        )
        for r in details
    ]
    return candidates, (ids[:page][-1] if more else None)


def client_events(
    client: Client, database: str, tenant: str, client_id: str
) -> list[TraceEvent] | None:
    """Every event about the debtor `client_id` of `tenant`, oldest first: its imports, and
    what `cobranca trace` finds for the phone(s) it was imported with (the sends to it and
    their debits, deliveries, replies, intents and actions). None when no import of it is in
    ClickHouse."""
    params = {"tenant": tenant, "id": client_id}
    phones = _rows(
        client,
        f"SELECT DISTINCT phone_e164 FROM {database}.debtor_search "
        "WHERE tenant_id = {tenant:String} AND client_id = {id:String}",
        params,
    )
    if not phones:
        return None
    try:
        return trace_client(client, database, tenant, client_id, [str(p) for (p,) in phones])
    except DriverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise QueryFailed(f"ClickHouse rejected a debtor timeline query: {first}") from exc
