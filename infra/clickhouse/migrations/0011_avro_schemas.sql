-- The schema registry ClickHouse reads while it decodes the sink's inserts (ADR 0012).
--
-- The sink sends each batch as Avro frames (the record's Confluent wire format, its body
-- prefixed with the schema id and the Kafka offset) in one INSERT ... FORMAT AvroConfluent.
-- ClickHouse resolves a frame's schema id through `format_avro_schema_registry_url`, which the
-- sink points at ClickHouse's own HTTP interface: the handler `/<database>/schemas/ids/<id>`
-- (connectors/clickhouse/server.py; a clickhouse-server needs the same http_handlers rule)
-- answers `{"schema": ...}` from this table. The sink adds the frame schema of every pinned
-- schema it knows before its first insert; a pinned schema never changes, so rows are only
-- ever added, and the table is never read by analysts.

CREATE TABLE IF NOT EXISTS {database}.avro_schemas
(
    id     UInt32,
    schema String
)
ENGINE = ReplacingMergeTree
ORDER BY id;
