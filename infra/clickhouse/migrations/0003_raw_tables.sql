-- The raw tables: one per audit topic, one row per Kafka record, written by the ClickHouse sink
-- (connectors/clickhouse/sink.py). They replace raw_events (0001); migration 0004 moves its view.
--
-- Every table has the record's position (kafka_partition, kafka_offset), the id of the schema
-- that wrote it, the header's fields, typed columns named like the events' Avro fields, and
-- payload: the whole event as JSON. Phones and documents (and WhatsApp ids, which contain the
-- phone) hold a keyed pseudonym (`p:` + 24 hex digits), never the number; names, e-mails,
-- message texts and raw bodies are left out (connectors/clickhouse/privacy.py).
--
-- The sink inserts deterministic batches (one topic-partition offset range each) with
-- insert_deduplication_token, so a retried batch is dropped here and in every view fed from
-- these tables. non_replicated_deduplication_window turns that deduplication on for a plain
-- MergeTree and keeps the last 10000 blocks per table: far more than a crashed sink's partitions
-- see inserted before another member (or the restarted one) retries them.
--
-- Rows are projections of the log: `cobranca replay` rebuilds them from offset 0.

-- cobranca.clients: ClientImported, ImportRejected, ImportCompleted
CREATE TABLE IF NOT EXISTS {database}.raw_clients
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    import_id       String,
    `row`           Nullable(UInt64),
    client_id       Nullable(String),
    phone_e164      Nullable(String),
    document        Nullable(String),
    document_kind   LowCardinality(Nullable(String)),
    amount_centavos Nullable(Int64),
    due_date        Nullable(Date),
    invoice_id      Nullable(String),
    uf              LowCardinality(Nullable(String)),
    reason          LowCardinality(Nullable(String)),
    field           Nullable(String),
    message         Nullable(String),
    rows            Nullable(UInt64),
    accepted        Nullable(UInt64),
    rejected        Nullable(UInt64),
    by_reason       Map(String, UInt64),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX client_id_bf client_id TYPE bloom_filter GRANULARITY 4,
    INDEX phone_e164_bf phone_e164 TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.sends.requested: SendRequested, SendDeferred
CREATE TABLE IF NOT EXISTS {database}.raw_sends_requested
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    request_id      String,
    client_id       Nullable(String),
    phone_e164      Nullable(String),
    kind            LowCardinality(Nullable(String)),
    file_mimetype   Nullable(String),
    batch_id        Nullable(String),
    recipients      Nullable(UInt32),
    step            LowCardinality(Nullable(String)),
    session         LowCardinality(Nullable(String)),
    until           Nullable(DateTime64(3, 'UTC')),
    reason          LowCardinality(Nullable(String)),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX request_id_bf request_id TYPE bloom_filter GRANULARITY 4,
    INDEX client_id_bf client_id TYPE bloom_filter GRANULARITY 4,
    INDEX phone_e164_bf phone_e164 TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.credits.requested: CreditRequested
CREATE TABLE IF NOT EXISTS {database}.raw_credits_requested
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    credit_id       String,
    amount          Int64,
    reference       Nullable(String),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.sends.decided: SendApproved, SendRejected
CREATE TABLE IF NOT EXISTS {database}.raw_sends_decided
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    request_id      String,
    client_id       Nullable(String),
    phone_e164      Nullable(String),
    kind            LowCardinality(Nullable(String)),
    price_tokens    Nullable(Int64),
    balance_after   Nullable(Int64),
    file_mimetype   Nullable(String),
    session         LowCardinality(Nullable(String)),
    reason          LowCardinality(Nullable(String)),
    detail          Nullable(String),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX request_id_bf request_id TYPE bloom_filter GRANULARITY 4,
    INDEX client_id_bf client_id TYPE bloom_filter GRANULARITY 4,
    INDEX phone_e164_bf phone_e164 TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.ledger: TokensCredited, TokensDebited, TokensRefunded, BalanceLow
CREATE TABLE IF NOT EXISTS {database}.raw_ledger
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    request_id      Nullable(String),
    amount          Nullable(Int64),
    balance_after   Nullable(Int64),
    reference       Nullable(String),
    reason          LowCardinality(Nullable(String)),
    balance         Nullable(Int64),
    threshold       Nullable(Int64),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX request_id_bf request_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.dispatches: MessageDispatched, DispatchFailed
CREATE TABLE IF NOT EXISTS {database}.raw_dispatches
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    request_id      String,
    session         LowCardinality(String),
    chat_id         Nullable(String),
    waha_message_id Nullable(String),
    attempt         UInt32,
    retryable       Nullable(Bool),
    error           Nullable(String),
    status_code     Nullable(Int32),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX request_id_bf request_id TYPE bloom_filter GRANULARITY 4,
    INDEX chat_id_bf chat_id TYPE bloom_filter GRANULARITY 4,
    INDEX waha_message_id_bf waha_message_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.waha.callbacks: WahaCallbackReceived (body, headers and peer address left out)
CREATE TABLE IF NOT EXISTS {database}.raw_waha_callbacks
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    received_at     DateTime64(3, 'UTC'),
    session         LowCardinality(Nullable(String)),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.conversations: InboundMessage, DeliveryStatusChanged, SessionStatusChanged
CREATE TABLE IF NOT EXISTS {database}.raw_conversations
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    session         LowCardinality(String),
    waha_message_id Nullable(String),
    chat_id         Nullable(String),
    sender          Nullable(String),
    is_group        Nullable(Bool),
    from_me         Nullable(Bool),
    has_media       Nullable(Bool),
    timestamp       Nullable(DateTime64(3, 'UTC')),
    media_mimetype  Nullable(String),
    request_id      Nullable(String),
    ack             Nullable(Int8),
    ack_name        LowCardinality(Nullable(String)),
    status          LowCardinality(Nullable(String)),
    previous        LowCardinality(Nullable(String)),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX request_id_bf request_id TYPE bloom_filter GRANULARITY 4,
    INDEX chat_id_bf chat_id TYPE bloom_filter GRANULARITY 4,
    INDEX waha_message_id_bf waha_message_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.intents: IntentClassified
CREATE TABLE IF NOT EXISTS {database}.raw_intents
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    waha_message_id String,
    chat_id         String,
    label           LowCardinality(String),
    confidence      Float32,
    model_version   LowCardinality(String),
    client_id       Nullable(String),
    promised_date   Nullable(Date),
    amount_centavos Nullable(Int64),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX chat_id_bf chat_id TYPE bloom_filter GRANULARITY 4,
    INDEX waha_message_id_bf waha_message_id TYPE bloom_filter GRANULARITY 4,
    INDEX client_id_bf client_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.actions: PaymentPromised, PaymentClaimed, OptedOut, WrongNumberReported, HandoffRequested, CollectionPaused
CREATE TABLE IF NOT EXISTS {database}.raw_actions
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    client_id       Nullable(String),
    waha_message_id Nullable(String),
    promised_date   Nullable(Date),
    amount_centavos Nullable(Int64),
    phone_e164      Nullable(String),
    chat_id         Nullable(String),
    reason          LowCardinality(Nullable(String)),
    intent          LowCardinality(Nullable(String)),
    until           Nullable(DateTime64(3, 'UTC')),
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4,
    INDEX client_id_bf client_id TYPE bloom_filter GRANULARITY 4,
    INDEX phone_e164_bf phone_e164 TYPE bloom_filter GRANULARITY 4,
    INDEX chat_id_bf chat_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- cobranca.dead-letters: DeadLettered (topic, partition and offset are where the dead letter came from; its bytes are left out)
CREATE TABLE IF NOT EXISTS {database}.raw_dead_letters
(
    kafka_partition UInt16,
    kafka_offset    UInt64,
    schema_id       UInt32,
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    correlation_id  String,
    causation_id    Nullable(String),
    source          LowCardinality(String),
    topic           LowCardinality(String),
    `partition`     Int32,
    `offset`        Int64,
    error_type      LowCardinality(String),
    error           String,
    payload         String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX correlation_id_bf correlation_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;
