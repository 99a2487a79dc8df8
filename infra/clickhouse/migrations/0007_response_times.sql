-- Response times per tenant and dispatch day: dispatched → read, read → first reply and
-- dispatched → first reply, in seconds, as exact quantiles [p50, p90, p99] (exact, so a replay
-- yields the same numbers). Built on send_lifecycle (0006), for the same reason as the funnel:
-- the stages of one send arrive on different topics in any order.
--
-- Times are when cobranca recorded each step (the events' occurred_at). An interval that comes
-- out negative (a READ ack recorded after the reply it preceded) counts as 0. A quantile over
-- no sends is nan.
--
--   response_times_live  VIEW, computed now from send_lifecycle.
--   response_times       the same rows, refreshed every 30 seconds: what dashboards read.
--
--   SELECT day, dispatched, read, replied, dispatch_to_read_s, read_to_reply_s
--   FROM {database}.response_times WHERE tenant_id = 'acme' ORDER BY day

CREATE VIEW IF NOT EXISTS {database}.response_times_live
AS
SELECT
    tenant_id,
    toDate(assumeNotNull(dispatched_at), 'America/Sao_Paulo') AS day,
    count() AS dispatched,
    countIf(read_at IS NOT NULL) AS `read`,
    countIf(replied_at IS NOT NULL) AS replied,
    quantilesExactIf(0.5, 0.9, 0.99)(
        greatest(dateDiff('millisecond', dispatched_at, read_at), 0) / 1000,
        read_at IS NOT NULL) AS dispatch_to_read_s,
    quantilesExactIf(0.5, 0.9, 0.99)(
        greatest(dateDiff('millisecond', read_at, replied_at), 0) / 1000,
        read_at IS NOT NULL AND replied_at IS NOT NULL) AS read_to_reply_s,
    quantilesExactIf(0.5, 0.9, 0.99)(
        greatest(dateDiff('millisecond', dispatched_at, replied_at), 0) / 1000,
        replied_at IS NOT NULL) AS dispatch_to_reply_s
FROM {database}.send_lifecycle
WHERE dispatched_at IS NOT NULL
GROUP BY tenant_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.response_times
REFRESH EVERY 30 SECOND
(
    tenant_id           LowCardinality(String),
    day                 Date,
    dispatched          UInt64,
    `read`              UInt64,
    replied             UInt64,
    dispatch_to_read_s  Array(Float64),
    read_to_reply_s     Array(Float64),
    dispatch_to_reply_s Array(Float64)
)
ENGINE = MergeTree
ORDER BY (tenant_id, day)
AS SELECT * FROM {database}.response_times_live;
