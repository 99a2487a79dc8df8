"""A tenant's debtors in ClickHouse: the candidates of a search, and a debtor's events.

ClickHouse holds no name, phone or CPF/CNPJ in clear (privacy.py). A search therefore asks for
what raw_clients does hold (migration 0015): the keyed hashes of the name's 3-character pieces
(`name_grams`), the phone's last four digits (`phone_last4`), the pseudonyms of the whole phone
and of the document. The answer is candidates, each with its latest import's position in
`cobranca.clients`: the caller reads those records back from the log and keeps the ones that
really match (`streams.domain.debtors.matches`); pieces in another order, or another number
with the same last four digits, are dropped there.

Fast among a million debtors of a tenant: the ordering key (tenant_id, event_type, …) reads
only the tenant's ClientImported rows, and the bloom filters skip granules without the hashes
asked for; the page is then grouped per client (`client_id`'s bloom filter).
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
from connectors.clickhouse.trace import TraceEvent, trace_pseudonym
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


def _rows(client: Client, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    try:
        return [tuple(row) for row in client.query(sql, parameters=params).result_rows]
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
) -> list[DebtorCandidate]:
    """Up to `limit` clients of `tenant` after client id `after`, in client id order, whose
    imports may answer `query` (pseudonyms and name pieces keyed with `key`)."""
    pseudonyms = Pseudonymizer(key)
    name_key0, name_key1 = name_gram_keys(key)
    params: dict[str, Any] = {
        "tenant": tenant,
        "after": after,
        "limit": max(1, min(limit, MAX_PAGE)),
        "name_key0": name_key0,
        "name_key1": name_key1,
    }
    if query.kind is QueryKind.NAME:
        match = f"hasAll(name_grams, {name_grams_sql('{q:String}')})"
        params["q"] = query.text
    else:
        conditions = ["phone_last4 = {last4:String}"]
        params["last4"] = query.phone_suffix
        if query.phone_e164 is not None:
            conditions.append("phone_e164 = {phone:String}")
            params["phone"] = pseudonyms.phone(query.phone_e164)
        if query.document is not None:
            conditions.append("document = {document:String}")
            params["document"] = pseudonyms.pseudonym(query.document)
        match = f"({' OR '.join(conditions)})"
    own = (
        f"FROM {database}.raw_clients "
        "WHERE tenant_id = {tenant:String} AND event_type = 'ClientImported' "
    )
    sql = f"""
        SELECT client_id,
               argMax(amount_centavos, (occurred_at, kafka_partition, kafka_offset)),
               argMax(due_date, (occurred_at, kafka_partition, kafka_offset)),
               max(occurred_at),
               count(),
               argMax(kafka_partition, (occurred_at, kafka_partition, kafka_offset)),
               argMax(kafka_offset, (occurred_at, kafka_partition, kafka_offset))
        {own}
          AND client_id IN (
              SELECT DISTINCT client_id {own}
                AND {match} AND client_id > {{after:String}}
              ORDER BY client_id LIMIT {{limit:UInt32}}
          )
        GROUP BY client_id
        ORDER BY client_id
    """
    return [
        DebtorCandidate(
            client_id=str(r[0]),
            amount_centavos=int(r[1]),
            due_date=r[2],
            last_imported_at=r[3],
            imports=int(r[4]),
            partition=int(r[5]),
            offset=int(r[6]),
        )
        for r in _rows(client, sql, params)
    ]


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
        f"SELECT DISTINCT assumeNotNull(phone_e164) FROM {database}.raw_clients "
        "WHERE tenant_id = {tenant:String} AND event_type = 'ClientImported' "
        "AND client_id = {id:String} AND phone_e164 IS NOT NULL",
        params,
    )
    if not phones:
        return None
    events: dict[tuple[str, int, int], TraceEvent] = {}
    for (pseudonym,) in phones:
        try:
            found = trace_pseudonym(client, database, str(pseudonym), tenant)
        except DriverError as exc:
            raise QueryFailed(f"ClickHouse rejected a debtor timeline query: {exc}") from exc
        for event in found:
            events[(event.topic, event.partition, event.offset)] = event
    return sorted(events.values(), key=lambda e: (e.occurred_at, e.topic, e.partition, e.offset))
