-- cobranca.webhooks.deliveries: every POST of an event to a tenant's webhook (WebhookAttempted)
-- and what was given up on (WebhookDeadLettered), for support and for tenants' delivery reports.
-- The body POSTed is not copied here (connectors/clickhouse/privacy.py: `body`); the log keeps
-- it, and the delivery agent rebuilds its retries from the log, not from this table. It joins
-- the per-day counts and the raw_events view.
--   SELECT kind, countIf(delivered) AS delivered, countIf(NOT delivered) AS failed
--   FROM {database}.raw_webhooks_deliveries
--   WHERE tenant_id = 'acme' AND event_type = 'WebhookAttempted' GROUP BY kind

CREATE TABLE IF NOT EXISTS {database}.raw_webhooks_deliveries
(
    kafka_partition   UInt16,
    kafka_offset      UInt64,
    schema_id         UInt32,
    event_id          String,
    event_type        LowCardinality(String),
    schema_version    UInt16,
    tenant_id         LowCardinality(String),
    occurred_at       DateTime64(3, 'UTC'),
    correlation_id    String,
    causation_id      Nullable(String),
    source            LowCardinality(String),
    subscription_id   String,
    source_event_id   String,
    source_event_type LowCardinality(String),
    kind              LowCardinality(String),
    attempt           Nullable(Int32),
    delivered         Nullable(Bool),
    event_occurred_at Nullable(DateTime64(3, 'UTC')),
    status_code       Nullable(Int32),
    error             Nullable(String),
    next_attempt_at   Nullable(DateTime64(3, 'UTC')),
    attempts          Nullable(Int32),
    reason            Nullable(String),
    payload           String,
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX source_event_id_bf source_event_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_per_tenant_day_from_webhooks_deliveries
TO {database}.events_per_tenant_day
AS
SELECT tenant_id, toDate(occurred_at, 'America/Sao_Paulo') AS day, event_type, count() AS events
FROM {database}.raw_webhooks_deliveries
GROUP BY tenant_id, day, event_type;

CREATE OR REPLACE VIEW {database}.raw_events
AS
SELECT 'cobranca.clients' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_clients
UNION ALL
SELECT 'cobranca.sends.requested' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_sends_requested
UNION ALL
SELECT 'cobranca.credits.requested' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_credits_requested
UNION ALL
SELECT 'cobranca.sends.decided' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_sends_decided
UNION ALL
SELECT 'cobranca.ledger' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_ledger
UNION ALL
SELECT 'cobranca.dispatches' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_dispatches
UNION ALL
SELECT 'cobranca.waha.callbacks' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_waha_callbacks
UNION ALL
SELECT 'cobranca.conversations' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_conversations
UNION ALL
SELECT 'cobranca.intents' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_intents
UNION ALL
SELECT 'cobranca.actions' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_actions
UNION ALL
SELECT 'cobranca.dead-letters' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_dead_letters
UNION ALL
SELECT 'cobranca.api.audit' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_api_audit
UNION ALL
SELECT 'cobranca.webhooks.deliveries' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_webhooks_deliveries;
