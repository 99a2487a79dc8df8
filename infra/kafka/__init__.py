"""A single-node Apache Kafka broker (KRaft) run from Maven Central jars."""
