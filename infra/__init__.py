"""Local infrastructure: the Apache Kafka broker and the ClickHouse DDL."""
