"""Kafka records → rows of the raw tables, one table per audit topic; ClickHouse decodes them.

Each audit topic has a raw table (`cobranca.sends.requested` → `raw_sends_requested`, created by
migration 0003). A row is one record: where it sits (`kafka_partition`, `kafka_offset`), which
schema wrote it (`schema_id`), the header's fields as columns, the event's own fields as typed
columns (the column names are the Avro field names), and `payload`: the event's fields as JSON.
No phone or document reaches ClickHouse in clear (`privacy.py`).

The Python side does almost nothing per record (ADR 0012): a record value is already Confluent
wire format (magic byte, schema id, Avro body), so the sink *frames* it, prefixing the body with
the record's schema id and offset, and sends a batch as the concatenated frames in one
`INSERT INTO raw_x SELECT ... FROM input(...) FORMAT AvroConfluent`. ClickHouse decodes the Avro
(resolving each frame's schema from the registry it serves itself, see `registry_base` and
migration 0011), computes the pseudonyms (HMAC-SHA256 as two SHA256 calls, the key passed as
query parameters, never in the SQL text), masks diagnostics, builds `payload` and feeds the
views. Frames of several schemas (event types and versions) mix freely in one insert.

A batch is a half-open offset range `[start, end)` of one topic-partition. Its deduplication
token names that range (`cobranca.ledger[3]@1200-1700`), so inserting it again (a retry after a
crash, a replay) changes nothing in the raw table or in the views fed from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError
from clickhouse_connect.driver.exceptions import OperationalError

from connectors.clickhouse.batches import Batch
from connectors.clickhouse.client import deduplicated_insert_settings
from connectors.clickhouse.errors import SinkInsertFailed
from connectors.clickhouse.privacy import FIELD_POLICY, Policy
from schemas.codec import decode
from schemas.errors import UndecodableEvent
from schemas.registry import RegisteredSchema, SchemaRegistry, default_registry
from streams.base.topics import CATALOGUE, TopicKind

__all__ = [
    "AUDIT_TOPICS",
    "RAW_TABLES",
    "RawTableWriter",
    "frame_schema",
    "hmac_pads",
    "insert_statement",
    "name_gram_keys",
    "name_grams_sql",
    "raw_table_for",
    "schema_registry_base",
]

log = structlog.get_logger(__name__)

AUDIT_TOPICS: Final = tuple(spec.name for spec in CATALOGUE if spec.kind is TopicKind.AUDIT)


def raw_table_for(topic: str) -> str:
    """`cobranca.sends.requested` → `raw_sends_requested`."""
    return "raw_" + topic.removeprefix("cobranca.").replace(".", "_").replace("-", "_")


RAW_TABLES: Final[Mapping[str, str]] = {topic: raw_table_for(topic) for topic in AUDIT_TOPICS}
"""Audit topic → its raw table (every table migration 0003 creates)."""

_POSITION_FIELDS: Final = (
    {"name": "schema_id", "type": "int"},
    {"name": "kafka_offset", "type": {"type": "fixed", "name": "cobranca.sink.Offset", "size": 8}},
)
"""What a frame adds in front of the event's own fields: written before the Avro body, they are
the first fields of the record ClickHouse decodes (`frame_schema`)."""

_INSERT_SETTINGS: Final = {
    # Fields of other event types in the same topic (and of older versions) are not in a frame's
    # schema: they read as NULL.
    "input_format_avro_allow_missing_fields": "1",
    "output_format_json_quote_64bit_integers": "0",
    "output_format_json_quote_decimals": "0",
    "async_insert": "0",
}

_HMAC_BLOCK = 64
_UNDECODABLE = re.compile(
    r"INCORRECT_DATA|CANNOT_READ_ALL_DATA|ATTEMPT_TO_READ_AFTER_EOF|CANNOT_PARSE|TOO_LARGE|"
    r"avro|magic",
    re.IGNORECASE,
)
"""What ClickHouse says about a body that is not the Avro its schema id names."""


def frame_schema(schema: RegisteredSchema) -> dict[str, Any]:
    """The schema of a frame: the event's schema with `schema_id` and `kafka_offset` first."""
    return {**schema.schema, "fields": [*_POSITION_FIELDS, *schema.schema["fields"]]}


def hmac_pads(key: bytes) -> tuple[str, str]:
    """HMAC-SHA256's inner and outer padded keys, hex: HMAC(k, m) = SHA256(outer ‖ SHA256(inner ‖
    m)) (RFC 2104), which ClickHouse computes with its SHA256 function."""
    padded = (hashlib.sha256(key).digest() if len(key) > _HMAC_BLOCK else key).ljust(
        _HMAC_BLOCK, b"\0"
    )
    inner = bytes(b ^ 0x36 for b in padded)
    outer = bytes(b ^ 0x5C for b in padded)
    return inner.hex(), outer.hex()


def schema_registry_base(env: Mapping[str, str] | None = None) -> str | None:
    """CLICKHOUSE_SCHEMA_REGISTRY_URL: how ClickHouse reaches its own HTTP interface for the
    schemas of the sink's inserts (e.g. `http://schema_registry@127.0.0.1:8123` in compose).
    Unset: the URL the client uses, right for the local server."""
    value = (os.environ if env is None else env).get("CLICKHOUSE_SCHEMA_REGISTRY_URL", "")
    return value.rstrip("/") or None


class RawTableWriter:
    """Frames record values and inserts batches of frames into their topic's raw table.

    Thread-safe: the sink inserts several batches at once from worker threads.
    """

    def __init__(
        self, key: bytes, registry: SchemaRegistry | None = None, registry_base: str | None = None
    ) -> None:
        self._registry = registry or default_registry()
        self._pads = hmac_pads(key)
        self._name_keys = name_gram_keys(key)
        self._registry_base = registry_base or schema_registry_base()
        self._prefixes = {
            b"\0" + schema.schema_id.to_bytes(4, "big"): _frame_prefix(schema.schema_id)
            for schema in self._all_schemas()
        }
        self._statements: dict[tuple[str, str], str] = {}
        self._registered: set[str] = set()
        self._lock = threading.Lock()

    def frame(self, offset: int, value: bytes | None) -> bytes | None:
        """The frame of one record, or None for a record that is not a cobranca event (no value,
        no wire-format prefix, a schema id that is not pinned): the sink leaves those out, as
        the worker dead-letters them (they reach `raw_dead_letters` as DeadLettered events).
        """
        if value is None:
            return None
        prefix = self._prefixes.get(value[:5])
        if prefix is None:
            return None
        return prefix + offset.to_bytes(8, "little") + value[5:]

    def insert(self, client: Client, database: str, batch: Batch) -> None:
        """Insert one batch into its topic's raw table, deduplicated by the batch's token.

        Returns after ClickHouse acknowledged the insert (the part is written, views included).
        A batch ClickHouse cannot decode is checked frame by frame in Python: the frames whose
        body is not the Avro its schema id names are left out (a pure function of the batch, so
        a retry inserts the same rows under the same token) and the rest inserted.
        """
        table = f"{database}.{RAW_TABLES[batch.topic]}"
        try:
            try:
                self._send(client, database, batch, batch.rows)
            except DriverError as exc:
                if not _UNDECODABLE.search(str(exc)):
                    raise
                decodable: list[bytes] = []
                undecodable: list[bytes] = []
                for row in batch.rows:
                    (decodable if self._decodes(row) else undecodable).append(row)
                if not undecodable:
                    raise
                # They stay on the topic: the offsets say where to find them.
                log.warning(
                    "sink leaves out records it cannot decode",
                    token=batch.token,
                    topic=batch.topic,
                    partition=batch.partition,
                    left_out=len(undecodable),
                    offsets=[self._offset(row) for row in undecodable[:100]],
                )
                if decodable:
                    self._send(client, database, batch, decodable)
        except DriverError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = (
                f" Run `cobranca db migrate` for database {database} first."
                if "UNKNOWN_TABLE" in str(exc) or "UNKNOWN_DATABASE" in str(exc)
                else ""
            )
            raise SinkInsertFailed(
                f"ClickHouse refused batch {batch.token} ({len(batch.rows)} rows) into {table}: "
                f"{first}. Its offsets were not committed; the sink retries the same range.{hint}",
                # clickhouse-connect's answer to a refused, reset or unanswered connection.
                unreachable=isinstance(exc, OperationalError),
            ) from exc

    def _send(self, client: Client, database: str, batch: Batch, rows: list[bytes]) -> None:
        self._register_schemas(client, database)
        client.command(
            self._statement(client, database, batch.topic),
            parameters={
                "partition": batch.partition,
                "hmac_inner": self._pads[0],
                "hmac_outer": self._pads[1],
                "name_key0": self._name_keys[0],
                "name_key1": self._name_keys[1],
            },
            data=b"".join(rows),
            settings={
                **_INSERT_SETTINGS,
                "format_avro_schema_registry_url": self._registry_url(client, database),
                **deduplicated_insert_settings(batch.token),
            },
        )

    def _offset(self, row: bytes) -> int:
        """The Kafka offset a frame carries after its prefix."""
        start = len(self._prefixes[row[:5]])
        return int.from_bytes(row[start : start + 8], "little")

    def _decodes(self, row: bytes) -> bool:
        """Whether a frame's body is exactly one record of the schema its id names."""
        head = row[:5]
        body = row[len(self._prefixes[head]) + 8 :]
        try:
            decode(head + body, self._registry)
        except UndecodableEvent:
            return False
        return True

    # -- the schema registry ClickHouse reads -------------------------------------------------

    def _registry_url(self, client: Client, database: str) -> str:
        """Where ClickHouse fetches a frame's schema: its own HTTP interface, whose
        `/<database>/schemas/ids/<id>` handler reads `<database>.avro_schemas` (server.py)."""
        base = self._registry_base or str(getattr(client, "url", "")).rstrip("/")
        return f"{base}/{database}"

    def _register_schemas(self, client: Client, database: str) -> None:
        """Every pinned schema's frame schema into `<database>.avro_schemas`, once per database
        and process. A pinned schema never changes, so rows are only ever added."""
        if database in self._registered:
            return
        with self._lock:
            if database in self._registered:
                return
            present = {
                int(row[0])
                for row in client.query(f"SELECT id FROM {database}.avro_schemas").result_rows
            }
            missing = [
                json.dumps({"id": schema.schema_id, "schema": json.dumps(frame_schema(schema))})
                for schema in self._all_schemas()
                if schema.schema_id not in present
            ]
            if missing:
                # raw_insert: clickhouse-connect's `insert` imports pandas (seconds) on first use.
                client.raw_insert(
                    f"{database}.avro_schemas",
                    ["id", "schema"],
                    insert_block="\n".join(missing).encode(),
                    fmt="JSONEachRow",
                )
            self._registered.add(database)

    def _all_schemas(self) -> list[RegisteredSchema]:
        return [
            v for subject in self._registry.subjects() for v in self._registry.versions(subject)
        ]

    # -- the insert statement -----------------------------------------------------------------

    def _statement(self, client: Client, database: str, topic: str) -> str:
        # Built from the table's columns once per process: restart the sink after a migration
        # that adds a column (compose runs db-migrate before the sink).
        cached = self._statements.get((database, topic))
        if cached is None:
            table = RAW_TABLES[topic]
            columns = [
                str(row[0])
                for row in client.query(
                    "SELECT name FROM system.columns WHERE database = {db:String} "
                    "AND table = {t:String} ORDER BY position",
                    parameters={"db": database, "t": table},
                ).result_rows
            ]
            carried = _EVENTS_OF[topic]
            schemas = [
                v
                for subject in self._registry.subjects()
                for v in self._registry.versions(subject)
                if _event_type(v) in carried
            ]
            cached = insert_statement(f"{database}.{table}", columns, schemas)
            self._statements[(database, topic)] = cached
        return cached


_EVENTS_OF: Final[Mapping[str, frozenset[str]]] = {
    spec.name: frozenset(spec.events) for spec in CATALOGUE
}
"""Topic → the event types it carries (a webhook's type is carried by both lanes)."""


def _event_type(schema: RegisteredSchema) -> str:
    return schema.subject.rsplit(".", 1)[-1]


def _frame_prefix(schema_id: int) -> bytes:
    """Magic byte, schema id, then `schema_id` again as the frame's first Avro field (zigzag)."""
    out = bytearray(b"\0" + schema_id.to_bytes(4, "big"))
    n = schema_id << 1
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# -- SQL ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    avro_type: str
    """The ClickHouse type the Avro field reads as (before privacy)."""
    policy: Policy


def name_gram_keys(key: bytes) -> tuple[int, int]:
    """The two 64-bit SipHash keys of the name pieces' hashes, derived from the pseudonym key
    (so one secret keys every pseudonym, and the pieces' hashes are not the pseudonyms')."""
    digest = hashlib.sha256(b"cobranca name grams\0" + key).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:16], "little")


NAME_NORMALIZED: Final = (
    "trimBoth(replaceRegexpAll(lowerUTF8(replaceRegexpAll(normalizeUTF8NFD({expr}), "
    "'\\\\p{{Mn}}', '')), '\\\\s+', ' '))"
)
"""A name lower-cased, without accents, runs of spaces as one: ClickHouse's spelling of
`streams.domain.debtors.normalize_name`."""


def name_grams_sql(expr: str) -> str:
    """The keyed hashes of every 3-character piece of the normalized name `expr` (an SQL
    String expression; NULL has none). Keys are the query parameters name_key0/1."""
    normalized = NAME_NORMALIZED.format(expr=f"ifNull({expr}, '')")
    return (
        "arrayDistinct(arrayMap(g -> sipHash64Keyed(({name_key0:UInt64}, {name_key1:UInt64}), g), "
        f"ngrams({normalized}, 3)))"
    )


_DERIVED: Final[Mapping[str, tuple[str, Any]]] = {
    "name_grams": ("name", name_grams_sql),
    "phone_last4": ("phone_e164", lambda expr: f"right({expr}, 4)"),
}
"""Columns a raw table may have (migration 0015) computed from an event field before privacy
applies to it: column → (field, SQL of the value from the field's input expression). The
field itself is stored only as its policy says (a name: never)."""


def insert_statement(
    table: str, columns: Sequence[str], schemas: Sequence[RegisteredSchema]
) -> str:
    """`INSERT INTO table SELECT ... FROM input(...) FORMAT AvroConfluent` for frames of `schemas`.

    Pure: the SQL is a function of the table's columns and the schemas (tested directly).
    """
    fields: dict[str, _Field] = {}
    sources: dict[str, str] = {}
    """Fields read only to derive a column (`_DERIVED`), with their ClickHouse types."""
    wanted = {field for column, (field, _) in _DERIVED.items() if column in columns}
    per_schema: dict[int, list[str]] = {}
    for schema in schemas:
        kept = []
        for avro_field in schema.schema["fields"]:
            name = avro_field["name"]
            if name == "header":
                continue
            policy = FIELD_POLICY.get(name, Policy.DROP)
            if name in wanted:
                sources[name] = _nullable(_clickhouse_type(avro_field["type"]))
            if policy is Policy.DROP:
                continue  # not in the input structure (unless a column derives from it)
            ch_type = _nullable(_clickhouse_type(avro_field["type"]))
            known = fields.get(name)
            if known is not None and known.avro_type != ch_type:
                raise ValueError(
                    f"{table}: field {name} is {known.avro_type} in one event and {ch_type} in "
                    f"{schema.subject} v{schema.version}; give them one type"
                )
            fields[name] = _Field(name, ch_type, policy)
            kept.append(name)
        per_schema[schema.schema_id] = kept
    header = [
        f"`header.{name}` {_nullable(_clickhouse_type(t))}" for name, t in _HEADER_TYPES.items()
    ]
    structure = ", ".join(
        [
            "`schema_id` Int32",
            "`kafka_offset` FixedString(8)",
            *header,
            *(f"`{f.name}` {f.avro_type}" for f in fields.values()),
            *(f"`{name}` {t}" for name, t in sources.items() if name not in fields),
        ]
    )
    redacted = {name: _redact(f"i.`{name}`", f.policy) for name, f in fields.items()}
    inner: dict[str, str] = {
        "kafka_partition": "{partition:UInt16}",
        "kafka_offset": "reinterpretAsUInt64(i.`kafka_offset`)",
        "schema_id": "i.`schema_id`",
        **{name: f"i.`header.{name}`" for name in _HEADER_TYPES},
        "correlation_id": _correlation("i.`header.correlation_id`"),
        **redacted,
        **{
            column: derive(f"i.`{field}`")
            for column, (field, derive) in _DERIVED.items()
            if column in columns and field in sources
        },
    }
    branches = []
    for schema_id, kept in per_schema.items():
        # One JSON object of the event's own fields, named after its columns (the redacted ones).
        json_object = (
            f"formatRowNoNewline('JSONEachRow', {', '.join(f'`{n}`' for n in kept)})"
            if kept
            else "'{}'"
        )
        branches.append(f"`schema_id` = {schema_id}, {json_object}")
    payload = f"multiIf({', '.join(branches)}, '{{}}')" if branches else "'{}'"
    selected = [c for c in columns if c in inner]
    outer = [f"`{c}`" for c in selected]
    if "payload" in columns:
        selected.append("payload")
        outer.append(payload)
    inner_sql = ", ".join(f"{expr} AS `{name}`" for name, expr in inner.items())
    return (
        f"INSERT INTO {table} ({', '.join(f'`{c}`' for c in selected)}) "
        f"SELECT {', '.join(outer)} FROM (SELECT {inner_sql} "
        f"FROM input({_quote(structure)}) AS i) FORMAT AvroConfluent"
    )


_HEADER_TYPES: Final[Mapping[str, Any]] = {
    "event_id": "string",
    "event_type": "string",
    "schema_version": "int",
    "tenant_id": "string",
    "occurred_at": {"type": "long", "logicalType": "timestamp-millis"},
    "correlation_id": "string",
    "causation_id": ["null", "string"],
    "source": "string",
}
"""The envelope's fields (EventHeader) as Avro types."""

_PRIMITIVES: Final = {
    "string": "String",
    "bytes": "String",
    "boolean": "Bool",
    "int": "Int32",
    "long": "Int64",
    "float": "Float32",
    "double": "Float64",
}
_LOGICAL: Final = {
    "timestamp-millis": "DateTime64(3, 'UTC')",
    "timestamp-micros": "DateTime64(6, 'UTC')",
    "date": "Date32",
}


def _clickhouse_type(avro: Any) -> str:
    """The ClickHouse type an Avro type reads as in ClickHouse's Avro formats."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            raise ValueError(f"only unions with null are supported, got {avro}")
        inner = _clickhouse_type(branches[0])
        return _nullable(inner) if "null" in avro else inner
    if isinstance(avro, str):
        if avro in _PRIMITIVES:
            return _PRIMITIVES[avro]
        raise ValueError(f"named type {avro} is not inlined")
    kind = avro["type"]
    if isinstance(kind, (dict, list)):
        return _clickhouse_type(kind)
    if "logicalType" in avro and avro["logicalType"] in _LOGICAL:
        return _LOGICAL[avro["logicalType"]]
    if kind == "enum":
        return "String"
    if kind == "fixed":
        return f"FixedString({avro['size']})"
    if kind == "array":
        return f"Array({_clickhouse_type(avro['items'])})"
    if kind == "map":
        return f"Map(String, {_clickhouse_type(avro['values'])})"
    if kind == "record":
        inner = ", ".join(f"`{f['name']}` {_clickhouse_type(f['type'])}" for f in avro["fields"])
        return f"Tuple({inner})"
    return _clickhouse_type(kind)


def _nullable(ch_type: str) -> str:
    if ch_type.startswith(("Nullable(", "Array(", "Map(", "Tuple(")):
        return ch_type
    return f"Nullable({ch_type})"


# Privacy in SQL: the same rules as `privacy.Pseudonymizer`, computed by ClickHouse.
_PHONE_ID = r"^\+?([0-9]{8,15})(@(c\.us|s\.whatsapp\.net))?$"
_SEP = r"[\s.()/-]{0,2}"
_MASK_RE = (
    r"(^|[^0-9A-Za-z])\+?"
    + _SEP.join([r"([0-9])"] * 5)
    + rf"(?:{_SEP}[0-9]){{3,}}{_SEP}([0-9]){_SEP}([0-9])"
)
"""A run of at least 10 digits, up to two separators between two digits (`(11) 98765-4321`):
`streams.base.logs.mask`'s first-5/last-2 rule in RE2, which has no look-arounds (ADR 0012)."""


def _pseudonym(expr: str) -> str:
    inner = f"SHA256(concat(unhex({{hmac_inner:String}}), {expr}))"
    digest = f"SHA256(concat(unhex({{hmac_outer:String}}), {inner}))"
    return f"concat('p:', substring(lower(hex({digest})), 1, 24))"


def _phone(expr: str) -> str:
    number = f"concat('+', regexpExtract({expr}, {_quote(_PHONE_ID)}, 1))"
    return _pseudonym(f"if(match({expr}, {_quote(_PHONE_ID)}), {number}, {expr})")


def _correlation(expr: str) -> str:
    return f"if(position({expr}, '@') > 0 OR startsWith({expr}, '+'), {_phone(expr)}, {expr})"


_MASKED = r"\1\2\3\4\5\6****\7\8"
"""The boundary, the first five digits, `****`, the last two."""
_A = "[0-9A-Za-z]"
_CNPJ_MASK_RE = (
    rf"(^|[^0-9A-Za-z+])({_A})({_A})\.?({_A})({_A})({_A})\.?{_A}{{3}}/?{_A}{{4}}-?([0-9])([0-9])"
    r"([^0-9A-Za-z]|$)"
)
"""A CNPJ, alphanumeric (`12.ABC.345/01DE-35`, either case) or not, bounded as
`streams.base.logs.mask` bounds it. RE2 has no look-arounds, so the boundary after it is
matched, and a CNPJ right after another (`12ABC34501DE35 A1B2C3D4E5F668`, one separator for
both boundaries) is left to a second pass."""
_CNPJ_MASKED = r"\1\2\3\4\5\6****\7\8\9"
"""The boundary, the first five characters, `****`, the last two, the boundary after."""
_MASKS: Final = ((_CNPJ_MASK_RE, _CNPJ_MASKED),) * 2 + ((_MASK_RE, _MASKED),)
"""CNPJs first, as the logs' pattern tries them first: the digit runs' pattern would take the
first 10+ digits of `1234567890AB04` and show the rest."""


def _mask(expr: str) -> str:
    for pattern, replacement in _MASKS:
        expr = f"replaceRegexpAll({expr}, {_quote(pattern)}, {_quote(replacement)})"
    return expr


def _redact(expr: str, policy: Policy) -> str:
    if policy is Policy.PHONE:
        return _phone(expr)
    if policy is Policy.PSEUDONYM:
        return _pseudonym(expr)
    if policy is Policy.MASK:
        return _mask(expr)
    return expr


def _quote(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
