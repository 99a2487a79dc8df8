-- cobranca.waha.messages: the debtors' messages among WAHA's webhooks (WahaCallbackReceived of
-- the `message` and `message.any` events), which the receiver stores apart from the acks and
-- session statuses so that a reply never waits behind a backlog of acks (docs/adr/0032). It
-- joins the per-day counts and the raw_events view as raw_waha_callbacks does.
--   SELECT count() FROM {database}.raw_waha_messages WHERE tenant_id = 'acme'

-- The same columns, engine, ordering, index and settings as raw_waha_callbacks.
CREATE TABLE IF NOT EXISTS {database}.raw_waha_messages AS {database}.raw_waha_callbacks;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_per_tenant_day_from_waha_messages
TO {database}.events_per_tenant_day
AS
SELECT tenant_id, toDate(occurred_at, 'America/Sao_Paulo') AS day, event_type, count() AS events
FROM {database}.raw_waha_messages
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
SELECT 'cobranca.waha.messages' AS topic, kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version, tenant_id,
       occurred_at, correlation_id, causation_id, source, payload, ingested_at
FROM {database}.raw_waha_messages
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
