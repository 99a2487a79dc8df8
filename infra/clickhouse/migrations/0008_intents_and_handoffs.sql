-- Intents per tenant, day and label with their mean confidence, and hand-offs to a human by
-- reason. Confidence is summed as integer millionths, so the mean is the same whatever order
-- the rows were added in (a float sum is not) and a replay reproduces it exactly.
--
--   SELECT day, label, sum(classified) AS classified,
--          sum(confidence_micros) / sum(classified) / 1e6 AS mean_confidence
--   FROM {database}.intents_daily WHERE tenant_id = 'acme' GROUP BY day, label ORDER BY day, label

CREATE TABLE IF NOT EXISTS {database}.intents_daily
(
    tenant_id         LowCardinality(String),
    day               Date,
    label             LowCardinality(String),
    classified        UInt64,
    confidence_micros UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, label)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.intents_daily_mv
TO {database}.intents_daily
AS
SELECT
    tenant_id,
    toDate(occurred_at, 'America/Sao_Paulo') AS day,
    label,
    count() AS classified,
    sum(toUInt64(round(toFloat64(confidence) * 1000000))) AS confidence_micros
FROM {database}.raw_intents
GROUP BY tenant_id, day, label;

CREATE TABLE IF NOT EXISTS {database}.handoffs_daily
(
    tenant_id LowCardinality(String),
    day       Date,
    reason    LowCardinality(String),
    handoffs  UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, reason)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.handoffs_daily_mv
TO {database}.handoffs_daily
AS
SELECT
    tenant_id,
    toDate(occurred_at, 'America/Sao_Paulo') AS day,
    ifNull(CAST(reason, 'Nullable(String)'), '') AS reason,
    count() AS handoffs
FROM {database}.raw_actions
WHERE event_type = 'HandoffRequested'
GROUP BY tenant_id, day, reason;
