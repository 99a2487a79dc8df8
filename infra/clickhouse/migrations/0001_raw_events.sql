-- raw_events: one row per Kafka record of any audit topic, written by the ClickHouse sink.
--
-- The sink writes deterministic batches (one topic-partition offset range per batch) with
-- insert_deduplication_token, so a retried batch is dropped here and never reaches the
-- materialized views fed from this table. non_replicated_deduplication_window turns that
-- deduplication on for a plain MergeTree (a single server or chDB); it remembers the last
-- 1000 inserted blocks.
--
-- event_id is a String, not a UUID: the sink must never fail a whole batch on one odd id.
-- payload is the decoded event as JSON; the header fields are also columns for filtering.

CREATE TABLE IF NOT EXISTS {database}.raw_events
(
    topic          LowCardinality(String),
    `partition`    UInt16,
    `offset`       UInt64,
    event_id       String,
    event_type     LowCardinality(String),
    schema_id      UInt32,
    tenant_id      LowCardinality(String),
    correlation_id String,
    causation_id   Nullable(String),
    source         LowCardinality(String),
    occurred_at    DateTime64(3, 'UTC'),
    ingested_at    DateTime64(3, 'UTC') DEFAULT now64(3),
    payload        String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, topic, `partition`, `offset`)
SETTINGS non_replicated_deduplication_window = 1000;
