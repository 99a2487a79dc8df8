-- Promises to pay: each PaymentPromised with its promised amount and date, and whether the same
-- client claimed a payment (PaymentClaimed) at or after the promise, with the first such claim.
--
-- A plain view over raw_actions, not a materialized one: whether a claim followed depends on
-- events that may be sunk later than the promise, and promises are few next to the other
-- events, so joining at query time is exact and cheap.
--
--   SELECT toDate(promised_at, 'America/Sao_Paulo') AS day, count() AS promises,
--          sum(amount_centavos) AS promised_centavos, countIf(claimed) AS followed_by_a_claim
--   FROM {database}.promise_outcomes WHERE tenant_id = 'acme' GROUP BY day ORDER BY day

CREATE VIEW IF NOT EXISTS {database}.promise_outcomes
AS
SELECT
    p.tenant_id AS tenant_id,
    p.client_id AS client_id,
    p.occurred_at AS promised_at,
    p.promised_date AS promised_date,
    p.amount_centavos AS amount_centavos,
    p.event_id AS promise_event_id,
    c.event_id != '' AS claimed,
    if(c.event_id != '', c.occurred_at, NULL) AS claimed_at
FROM
(
    SELECT tenant_id, assumeNotNull(client_id) AS client_id, occurred_at, promised_date,
           amount_centavos, event_id
    FROM {database}.raw_actions
    WHERE event_type = 'PaymentPromised'
) AS p
ASOF LEFT JOIN
(
    SELECT tenant_id, assumeNotNull(client_id) AS client_id, occurred_at, event_id
    FROM {database}.raw_actions
    WHERE event_type = 'PaymentClaimed'
) AS c
ON p.tenant_id = c.tenant_id AND p.client_id = c.client_id AND p.occurred_at <= c.occurred_at;
