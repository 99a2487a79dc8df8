-- Two additions to the raw tables of 0003:
--
-- raw_ledger keeps the tenant's hash chain (prev_hash, hash: streams/ledger_chain.py), so the
-- chain can be checked in ClickHouse too. Rows sunk before this migration have them NULL;
-- `cobranca replay` fills them.
--
-- raw_events, a table until 0004 dropped it, comes back as a view of every topic's events with
-- the columns they share (topic, position, header, payload): for queries and dashboards about
-- the whole log (infra/grafana/dashboards/cobranca-overview.json reads it), e.g.
--   SELECT topic, count() FROM {database}.raw_events
--   WHERE occurred_at >= now() - INTERVAL 1 DAY GROUP BY topic

ALTER TABLE {database}.raw_ledger
    ADD COLUMN IF NOT EXISTS prev_hash Nullable(String) AFTER threshold,
    ADD COLUMN IF NOT EXISTS `hash` Nullable(String) AFTER prev_hash;

CREATE VIEW IF NOT EXISTS {database}.raw_events
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
FROM {database}.raw_dead_letters;
