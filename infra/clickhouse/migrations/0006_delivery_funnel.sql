-- The delivery funnel per tenant, collection step and day: requested, approved, rejected (by
-- reason), deferred, dispatched, delivered (ack DEVICE or later), read, replied.
--
-- A send's stages arrive on four topics, in any order (a replay reads them side by side), and
-- only SendRequested carries the step and the day. So the views do not count stages as they
-- arrive; they fold every event into its request's state, keyed by (tenant_id, request_id):
--
--   send_lifecycle_state  AggregatingMergeTree, one partial row per event; exact whatever the
--                         order, deduplicated like the raw tables.
--   send_lifecycle        VIEW: one row per request (its step, when it was requested, which
--                         stages it reached and when). Also the base of response times (0007).
--   delivery_funnel_live  VIEW: the funnel, computed now from send_lifecycle (exact, up to date;
--                         its cost grows with the number of requests).
--   delivery_funnel       the same rows, refreshed every 30 seconds into a small table: what
--                         dashboards read (a query costs milliseconds at any size).
--
-- Counts are requests (request_id is the send's idempotency key): a request is "rejected" if
-- the ledger rejected it at least once (a repeated request is rejected as duplicate even when
-- the first was approved), "delivered" once any ack reached DEVICE (2) or later, "read" READ
-- (3) or later, "replied" once an inbound message names it in request_id. Events that name no
-- request (a delivery ack WAHA could not tie to a send) are not attributed. Requests whose
-- SendRequested is not sunk yet are left out until it is. step '' are replies (no step).
--
--   SELECT day, step, requested, approved, rejected, rejected_by_reason, deferred, dispatched,
--          delivered, read, replied
--   FROM {database}.delivery_funnel WHERE tenant_id = 'acme' ORDER BY day, step

CREATE TABLE IF NOT EXISTS {database}.send_lifecycle_state
(
    tenant_id      LowCardinality(String),
    request_id     String,
    step           SimpleAggregateFunction(any, Nullable(String)),
    requested_at   SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    approved       SimpleAggregateFunction(max, UInt8),
    rejected       SimpleAggregateFunction(max, UInt8),
    reject_reasons SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    deferred       SimpleAggregateFunction(max, UInt8),
    dispatched_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    delivered_at   SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    read_at        SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    replied_at     SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, request_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.send_lifecycle_from_sends_requested
TO {database}.send_lifecycle_state
AS
SELECT
    tenant_id,
    request_id,
    if(event_type = 'SendRequested', CAST(step, 'Nullable(String)'), NULL) AS step,
    if(event_type = 'SendRequested', occurred_at, NULL) AS requested_at,
    toUInt8(event_type = 'SendDeferred') AS deferred
FROM {database}.raw_sends_requested;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.send_lifecycle_from_sends_decided
TO {database}.send_lifecycle_state
AS
SELECT
    tenant_id,
    request_id,
    toUInt8(event_type = 'SendApproved') AS approved,
    toUInt8(event_type = 'SendRejected') AS rejected,
    if(event_type = 'SendRejected', [ifNull(CAST(reason, 'Nullable(String)'), 'other')], [])
        AS reject_reasons
FROM {database}.raw_sends_decided;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.send_lifecycle_from_dispatches
TO {database}.send_lifecycle_state
AS
SELECT tenant_id, request_id, occurred_at AS dispatched_at
FROM {database}.raw_dispatches
WHERE event_type = 'MessageDispatched';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.send_lifecycle_from_conversations
TO {database}.send_lifecycle_state
AS
SELECT
    tenant_id,
    assumeNotNull(request_id) AS request_id,
    if(event_type = 'DeliveryStatusChanged' AND ack >= 2, occurred_at, NULL) AS delivered_at,
    if(event_type = 'DeliveryStatusChanged' AND ack >= 3, occurred_at, NULL) AS read_at,
    if(event_type = 'InboundMessage', occurred_at, NULL) AS replied_at
FROM {database}.raw_conversations
WHERE request_id IS NOT NULL
  AND ((event_type = 'DeliveryStatusChanged' AND ack >= 2)
       OR (event_type = 'InboundMessage' AND NOT ifNull(from_me, false)));

CREATE VIEW IF NOT EXISTS {database}.send_lifecycle
AS
SELECT
    tenant_id,
    request_id,
    any(step) AS step,
    min(requested_at) AS requested_at,
    max(approved) AS approved,
    max(rejected) AS rejected,
    arraySort(groupUniqArrayArray(reject_reasons)) AS reject_reasons,
    max(deferred) AS deferred,
    min(dispatched_at) AS dispatched_at,
    min(delivered_at) AS delivered_at,
    min(read_at) AS read_at,
    min(replied_at) AS replied_at
FROM {database}.send_lifecycle_state
GROUP BY tenant_id, request_id;

CREATE VIEW IF NOT EXISTS {database}.delivery_funnel_live
AS
SELECT
    tenant_id,
    ifNull(step, '') AS step,
    toDate(assumeNotNull(requested_at), 'America/Sao_Paulo') AS day,
    count() AS requested,
    countIf(approved = 1) AS approved,
    countIf(rejected = 1) AS rejected,
    sumMap(mapFromArrays(reject_reasons, arrayWithConstant(length(reject_reasons), toUInt64(1))))
        AS rejected_by_reason,
    countIf(deferred = 1) AS deferred,
    countIf(dispatched_at IS NOT NULL) AS dispatched,
    countIf(delivered_at IS NOT NULL) AS delivered,
    countIf(read_at IS NOT NULL) AS `read`,
    countIf(replied_at IS NOT NULL) AS replied
FROM {database}.send_lifecycle
WHERE requested_at IS NOT NULL
GROUP BY tenant_id, step, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.delivery_funnel
REFRESH EVERY 30 SECOND
(
    tenant_id          LowCardinality(String),
    step               LowCardinality(String),
    day                Date,
    requested          UInt64,
    approved           UInt64,
    rejected           UInt64,
    rejected_by_reason Map(String, UInt64),
    deferred           UInt64,
    dispatched         UInt64,
    delivered          UInt64,
    `read`             UInt64,
    replied            UInt64
)
ENGINE = MergeTree
ORDER BY (tenant_id, day, step)
AS SELECT * FROM {database}.delivery_funnel_live;
