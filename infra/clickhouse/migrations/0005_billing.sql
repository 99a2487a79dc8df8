-- Billing: tokens per tenant and day, approved sends by kind, and each tenant's current balance.
--
-- Days are calendar days in Sao Paulo (the tenants' business day). The Summing/Aggregating
-- tables fold rows with the same key only when parts merge, which may never happen: always read
-- them with sum() / argMaxMerge() and GROUP BY, as in the README's queries, e.g. a month:
--   SELECT tenant_id, toStartOfMonth(day) AS month, sum(credited), sum(debited), sum(refunded)
--   FROM {database}.billing_daily GROUP BY tenant_id, month ORDER BY tenant_id, month
--
-- Every target keeps a deduplication log like the raw tables: a batch the sink retries is
-- dropped by the raw table and again by each of these (its token derives from the batch's).

CREATE TABLE IF NOT EXISTS {database}.billing_daily
(
    tenant_id LowCardinality(String),
    day       Date,
    credited  Int64,
    debited   Int64,
    refunded  Int64,
    credits   UInt64,
    debits    UInt64,
    refunds   UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.billing_daily_mv
TO {database}.billing_daily
AS
SELECT
    tenant_id,
    toDate(occurred_at, 'America/Sao_Paulo') AS day,
    sumIf(ifNull(amount, 0), event_type = 'TokensCredited') AS credited,
    sumIf(ifNull(amount, 0), event_type = 'TokensDebited') AS debited,
    sumIf(ifNull(amount, 0), event_type = 'TokensRefunded') AS refunded,
    countIf(event_type = 'TokensCredited') AS credits,
    countIf(event_type = 'TokensDebited') AS debits,
    countIf(event_type = 'TokensRefunded') AS refunds
FROM {database}.raw_ledger
WHERE event_type IN ('TokensCredited', 'TokensDebited', 'TokensRefunded')
GROUP BY tenant_id, day;

-- Approved (debited) sends per kind: TEXT, FILE.
CREATE TABLE IF NOT EXISTS {database}.billing_sends_daily
(
    tenant_id LowCardinality(String),
    day       Date,
    kind      LowCardinality(String),
    sends     UInt64,
    tokens    Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, kind)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.billing_sends_daily_mv
TO {database}.billing_sends_daily
AS
SELECT
    tenant_id,
    toDate(occurred_at, 'America/Sao_Paulo') AS day,
    ifNull(kind, '') AS kind,
    count() AS sends,
    sum(ifNull(price_tokens, 0)) AS tokens
FROM {database}.raw_sends_decided
WHERE event_type = 'SendApproved'
GROUP BY tenant_id, day, kind;

-- The balance after the tenant's latest ledger movement. The ledger topic is keyed by tenant,
-- so one tenant's movements sit in one partition and the highest offset is the latest.
CREATE TABLE IF NOT EXISTS {database}.tenant_balance
(
    tenant_id        LowCardinality(String),
    balance          AggregateFunction(argMax, Int64, UInt64),
    as_of            SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    ledger_movements SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY tenant_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.tenant_balance_mv
TO {database}.tenant_balance
AS
SELECT
    tenant_id,
    argMaxState(assumeNotNull(balance_after), kafka_offset) AS balance,
    max(occurred_at) AS as_of,
    count() AS ledger_movements
FROM {database}.raw_ledger
WHERE balance_after IS NOT NULL
GROUP BY tenant_id;

CREATE VIEW IF NOT EXISTS {database}.tenant_balances
AS
SELECT
    tenant_id,
    argMaxMerge(balance) AS balance,
    max(as_of) AS as_of,
    sum(ledger_movements) AS ledger_movements
FROM {database}.tenant_balance
GROUP BY tenant_id;
