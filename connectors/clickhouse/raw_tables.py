"""Kafka records → rows of the raw tables, one table per audit topic; deduplicated batch inserts.

Each audit topic has a raw table (`cobranca.sends.requested` → `raw_sends_requested`, created by
migration 0003). A row is one record: where it sits (`kafka_partition`, `kafka_offset`), which
schema wrote it (`schema_id`), the header's fields as columns, the event's own fields as typed
columns (the column names are the Avro field names), and `payload`: the whole event as JSON.
Both pass through `privacy.Pseudonymizer` first, so no phone or document reaches ClickHouse.

Rows travel as JSONEachRow: one `orjson` line per record, built once and joined per batch. The
server maps keys to columns by name and ignores keys that are not columns
(`input_format_skip_unknown_fields`), so a field gets a typed column by adding it to the table,
and `payload` is the event's JSON object stored as text
(`input_format_json_read_objects_as_strings`).
Building a dict and one `orjson.dumps` per row is the cheapest way from Python to ClickHouse that
was measured here (several times faster than clickhouse-connect's own Native serialization).

A batch is a half-open offset range `[start, end)` of one topic-partition. Its deduplication
token names that range (`cobranca.ledger[3]@1200-1700`), so inserting it again (a retry after a
crash, a replay) changes nothing in the raw table or in the views fed from it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.batches import Batch
from connectors.clickhouse.client import deduplicated_insert_settings
from connectors.clickhouse.errors import SinkInsertFailed
from connectors.clickhouse.privacy import Pseudonymizer
from schemas.codec import FAUST_KEY, decode
from schemas.errors import UndecodableEvent
from schemas.registry import SchemaRegistry, default_registry
from streams.topics import CATALOGUE, TopicKind

__all__ = [
    "AUDIT_TOPICS",
    "RAW_TABLES",
    "RowEncoder",
    "insert_batch",
    "raw_table_for",
]

AUDIT_TOPICS: Final = tuple(spec.name for spec in CATALOGUE if spec.kind is TopicKind.AUDIT)


def raw_table_for(topic: str) -> str:
    """`cobranca.sends.requested` → `raw_sends_requested`."""
    return "raw_" + topic.removeprefix("cobranca.").replace(".", "_").replace("-", "_")


RAW_TABLES: Final[Mapping[str, str]] = {topic: raw_table_for(topic) for topic in AUDIT_TOPICS}
"""Audit topic → its raw table (every table migration 0003 creates)."""

_INSERT_FORMAT_SETTINGS: Final = {
    "input_format_skip_unknown_fields": "1",
    "input_format_json_read_objects_as_strings": "1",
    "input_format_defaults_for_omitted_fields": "1",
    "input_format_null_as_default": "1",
    "date_time_input_format": "best_effort",
    "async_insert": "0",
}


class RowEncoder:
    """Turns record values into JSONEachRow lines for their raw table."""

    def __init__(self, pseudonymizer: Pseudonymizer, registry: SchemaRegistry | None = None):
        self._privacy = pseudonymizer
        self._registry = registry or default_registry()

    def encode(self, partition: int, offset: int, value: bytes | None) -> bytes | None:
        """The row of one record, or None for a record that is not a cobranca event.

        The worker dead-letters undecodable records (they reach `raw_dead_letters` as
        DeadLettered events), so the sink leaves them out rather than stop.
        """
        if value is None:
            return None
        try:
            event = decode(value, self._registry)
        except UndecodableEvent:
            return None
        header = event.pop("header")
        event.pop(FAUST_KEY, None)
        header["correlation_id"] = self._privacy.correlation(header["correlation_id"])
        fields = self._privacy.redact(event)
        row = {
            "kafka_partition": partition,
            "kafka_offset": offset,
            "schema_id": int.from_bytes(value[1:5], "big"),
            **header,
            **fields,
            "payload": fields,
        }
        return orjson.dumps(row, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, date | datetime):  # orjson handles these; subclasses land here
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def insert_batch(client: Client, database: str, batch: Batch) -> None:
    """Insert one batch into its topic's raw table, deduplicated by the batch's token.

    Returns after ClickHouse acknowledged the insert (the part is written, views included).
    """
    table = f"{database}.{RAW_TABLES[batch.topic]}"
    try:
        client.raw_insert(
            table,
            None,
            insert_block=b"\n".join(batch.lines),
            fmt="JSONEachRow",
            settings={**_INSERT_FORMAT_SETTINGS, **deduplicated_insert_settings(batch.token)},
        )
    except DriverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (
            f" Run `cobranca db migrate` for database {database} first."
            if "UNKNOWN_TABLE" in str(exc) or "UNKNOWN_DATABASE" in str(exc)
            else ""
        )
        raise SinkInsertFailed(
            f"ClickHouse refused batch {batch.token} ({len(batch.lines)} rows) into {table}: "
            f"{first}. Its offsets were not committed; the sink retries the same range.{hint}"
        ) from exc
