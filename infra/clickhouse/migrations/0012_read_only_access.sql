-- Read-only access for Grafana and analysts (ADR 0020).
--
-- The role {database}_reader may SELECT from every table and view of the database and do
-- nothing else: no INSERT, ALTER, DROP or CREATE, no other database, no system tables, no
-- files or URLs. The login CLICKHOUSE_READER_USER (default grafana) gets it; the runner fills in
-- the user and the SHA-256 of CLICKHOUSE_READER_PASSWORD, so no secret is in this file, and only
-- the hash reaches ClickHouse. More analysts: `CREATE USER alice IDENTIFIED BY '...'` and
-- `GRANT {database}_reader TO alice` as an administrator.
--
-- Access statements need a server that stores users made by SQL (clickhouse-server with access
-- management for the migration user: CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1 in
-- docker-compose.yml). The local server (chDB's clickhouse-local) has none: the runner skips
-- them there, and `cobranca db serve` declares the same user with the same grant in the
-- users.xml it writes (connectors/clickhouse/server.py).
--
-- IF NOT EXISTS: a user that already exists keeps its password; rotate it with
-- `ALTER USER ... IDENTIFIED WITH sha256_password BY '...'` as an administrator.

CREATE ROLE IF NOT EXISTS {database}_reader;

GRANT SELECT ON {database}.* TO {database}_reader;

CREATE USER IF NOT EXISTS {reader_user}
    IDENTIFIED WITH sha256_hash BY '{reader_password_sha256}'
    DEFAULT DATABASE {database}
    SETTINGS readonly = 2;

GRANT {database}_reader TO {reader_user};
