"""Kafka records → rows of `raw_events`, inserted as deterministic, deduplicated batches.

A batch is one topic-partition offset range; its deduplication token names that range, so a
retried or replayed batch changes nothing in the table or in the views fed from it.

Personal data never reaches the analytics tables in clear: phone numbers and CPF/CNPJ in the
payload are replaced by a keyed pseudonym (HMAC-SHA256 with COBRANCA_PSEUDONYM_KEY), stable
across batches so analysts can still count and join per person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from connectors.clickhouse.client import deduplicated_insert_settings

COLUMNS = (
    "topic",
    "partition",
    "offset",
    "event_id",
    "event_type",
    "schema_id",
    "tenant_id",
    "correlation_id",
    "causation_id",
    "source",
    "occurred_at",
    "payload",
)
PERSONAL_FIELDS = frozenset({"phone_e164", "document", "sender"})
DEV_PSEUDONYM_KEY = b"cobranca-local-development-only"


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One record as read from an audit topic: where it was, its raw bytes, its decoded event."""

    topic: str
    partition: int
    offset: int
    value: bytes
    event: Mapping[str, Any]


def pseudonym_key(env: Mapping[str, str] | None = None) -> bytes:
    """The key for personal-data pseudonyms; a fixed development key when none is configured."""
    key = (os.environ if env is None else env).get("COBRANCA_PSEUDONYM_KEY")
    return key.encode() if key else DEV_PSEUDONYM_KEY


def pseudonymize(value: str, key: bytes) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return f"p:{digest[:24]}"


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _payload(event: Mapping[str, Any], key: bytes) -> bytes:
    visible = {
        name: pseudonymize(value, key)
        if name in PERSONAL_FIELDS and isinstance(value, str)
        else value
        for name, value in event.items()
        if not name.startswith("__")
    }
    return orjson.dumps(visible, default=_json_default)


def to_row(record: KafkaRecord, key: bytes) -> list[Any]:
    header = record.event["header"]
    (schema_id,) = struct.unpack_from(">I", record.value, 1)
    return [
        record.topic,
        record.partition,
        record.offset,
        header["event_id"],
        header["event_type"],
        schema_id,
        header["tenant_id"],
        header["correlation_id"],
        header.get("causation_id"),
        header["source"],
        header["occurred_at"],
        _payload(record.event, key).decode(),
    ]


def batch_token(records: Sequence[KafkaRecord]) -> str:
    """``topic[partition]@first-last``: the batch's identity, the same on every retry."""
    first, last = records[0], records[-1]
    if any(r.topic != first.topic or r.partition != first.partition for r in records):
        raise ValueError("a raw_events batch holds one topic-partition")
    return f"{first.topic}[{first.partition}]@{first.offset}-{last.offset}"


def insert_batch(client: Client, database: str, records: Sequence[KafkaRecord], key: bytes) -> str:
    """Insert one topic-partition offset range; returns its deduplication token."""
    token = batch_token(records)
    client.insert(
        "raw_events",
        [to_row(record, key) for record in records],
        column_names=COLUMNS,
        database=database,
        settings=deduplicated_insert_settings(token),
    )
    return token
