-- events_per_tenant_day: how many events of each type each tenant produced per day, where the
-- day is the calendar day in Sao Paulo (the tenants' business day), not in UTC.
--
-- SummingMergeTree folds rows with the same key only when parts merge, and a merge may never
-- come: always read with sum(), e.g.
--   SELECT tenant_id, day, event_type, sum(events) AS events
--   FROM {database}.events_per_tenant_day GROUP BY tenant_id, day, event_type
--
-- Deduplication: since ClickHouse 24.7 a retried insert into raw_events is still pushed through
-- the view, and it is the view's target table that drops the repeated block (its token derives
-- from the insert's insert_deduplication_token). So this table keeps a deduplication log too;
-- without it a retried batch would be dropped from raw_events but counted twice here.
--
-- The view counts rows as they are inserted into raw_events; rows already there when the view
-- was created are not counted. Migrations run before the sink starts, and an audit replay
-- starts from a fresh database, so in practice every row passes through the view.

CREATE TABLE IF NOT EXISTS {database}.events_per_tenant_day
(
    tenant_id  LowCardinality(String),
    day        Date,
    event_type LowCardinality(String),
    events     UInt64
)
ENGINE = SummingMergeTree(events)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, event_type)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_per_tenant_day_mv
TO {database}.events_per_tenant_day
AS
SELECT
    tenant_id,
    toDate(occurred_at, 'America/Sao_Paulo') AS day,
    event_type,
    count() AS events
FROM {database}.raw_events
GROUP BY tenant_id, day, event_type;
