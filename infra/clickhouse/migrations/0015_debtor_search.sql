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
-- The sink computes both inside its insert (raw_tables.py), from fields it does not store.
-- Rows written before this migration have neither: `cobranca replay` rebuilds raw_clients
-- from the log with them.
--
-- Skip indexes keep a search fast among a tenant's million debtors: the ordering key
-- (tenant_id, event_type, ...) narrows the read to one tenant's ClientImported rows, and
-- each bloom filter skips the granules without the hashes asked for.
--
-- The read-only role (0012) may not read name_grams: hashes of name pieces are pseudonyms, but
-- counting them over a whole tenant says more about names than analysts need.

ALTER TABLE {database}.raw_clients
    ADD COLUMN IF NOT EXISTS name_grams Array(UInt64) AFTER document_kind;

ALTER TABLE {database}.raw_clients
    ADD COLUMN IF NOT EXISTS phone_last4 LowCardinality(Nullable(String)) AFTER name_grams;

ALTER TABLE {database}.raw_clients
    ADD INDEX IF NOT EXISTS name_grams_bf name_grams TYPE bloom_filter(0.01) GRANULARITY 1;

ALTER TABLE {database}.raw_clients
    ADD INDEX IF NOT EXISTS phone_last4_bf phone_last4 TYPE bloom_filter GRANULARITY 1;

ALTER TABLE {database}.raw_clients
    ADD INDEX IF NOT EXISTS document_bf document TYPE bloom_filter GRANULARITY 1;

REVOKE SELECT(name_grams) ON {database}.raw_clients FROM {database}_reader;
