-- What the console's debtor search (GET /v1/tenants/TENANT/debtors, connectors/clickhouse/debtors.py)
-- looks for, without ClickHouse holding a name, phone or CPF/CNPJ in clear (privacy.py, LGPD):
--
--   name_grams   the keyed hashes (SipHash-2-4, a key derived from COBRANCA_PSEUDONYM_KEY) of
--                every 3-character piece of the debtor's name, lower-cased and without accents:
--                a search for "conceic" asks for rows holding all of its pieces' hashes, and
--                the API checks each candidate against the name it reads back from the log
--                (the record's position is on the row). The name itself stays out.
--   phone_last4  the phone's last four digits: a search by the end of a number. The whole
--                number's pseudonym (phone_e164) finds a whole number; document's finds a CPF/CNPJ.
--
-- The sink computes both inside its insert into raw_clients (raw_tables.py), from fields it
-- does not store. debtor_search holds each ClientImported's searchable columns ordered by
-- (tenant_id, client_id): a page of a search in client id order reads one tenant's debtors in
-- that order and stops at the page's end, the bloom filters skip the granules without what is
-- asked for, and a projection orders the last four digits. Measured with bench/debtor_search_bench.py (README).
--
-- Rows written before this migration have no name pieces or last digits: `cobranca replay`
-- rebuilds raw_clients (and this table) from the log with them.
--
-- The read-only role (0012) may read neither name_grams nor debtor_search: hashes of name
-- pieces are pseudonyms, but counting them over a whole tenant says more about names than
-- analysts need.

ALTER TABLE {database}.raw_clients
    ADD COLUMN IF NOT EXISTS name_grams Array(UInt64) AFTER document_kind;

ALTER TABLE {database}.raw_clients
    ADD COLUMN IF NOT EXISTS phone_last4 LowCardinality(Nullable(String)) AFTER name_grams;

CREATE TABLE IF NOT EXISTS {database}.debtor_search
(
    tenant_id       LowCardinality(String),
    client_id       String,
    occurred_at     DateTime64(3, 'UTC'),
    kafka_partition UInt16,
    kafka_offset    UInt64,
    name_grams      Array(UInt64),
    phone_last4     LowCardinality(String),
    phone_e164      String,
    document        Nullable(String),
    amount_centavos Int64,
    due_date        Date,
    INDEX name_grams_bf name_grams TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX phone_last4_bf phone_last4 TYPE bloom_filter GRANULARITY 1,
    INDEX phone_e164_bf phone_e164 TYPE bloom_filter GRANULARITY 1,
    INDEX document_bf document TYPE bloom_filter GRANULARITY 1,
    -- The last four digits of a million phones are spread over every granule: a search by
    -- them reads this projection's (tenant_id, phone_last4, client_id) order instead.
    PROJECTION by_phone_last4 (SELECT tenant_id, phone_last4, client_id ORDER BY tenant_id, phone_last4, client_id)
)
ENGINE = MergeTree
ORDER BY (tenant_id, client_id, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.debtor_search_mv TO {database}.debtor_search AS
SELECT
    tenant_id,
    assumeNotNull(client_id) AS client_id,
    occurred_at,
    kafka_partition,
    kafka_offset,
    name_grams,
    ifNull(phone_last4, '') AS phone_last4,
    ifNull(phone_e164, '') AS phone_e164,
    document,
    ifNull(amount_centavos, 0) AS amount_centavos,
    ifNull(due_date, toDate(0)) AS due_date
FROM {database}.raw_clients
WHERE event_type = 'ClientImported' AND client_id IS NOT NULL;

INSERT INTO {database}.debtor_search
SELECT
    tenant_id,
    assumeNotNull(client_id),
    occurred_at,
    kafka_partition,
    kafka_offset,
    name_grams,
    ifNull(phone_last4, ''),
    ifNull(phone_e164, ''),
    document,
    ifNull(amount_centavos, 0),
    ifNull(due_date, toDate(0))
FROM {database}.raw_clients
WHERE event_type = 'ClientImported' AND client_id IS NOT NULL;

REVOKE SELECT(name_grams) ON {database}.raw_clients FROM {database}_reader;

REVOKE SELECT ON {database}.debtor_search FROM {database}_reader;
