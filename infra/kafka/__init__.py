"""A single-node Apache Kafka broker (KRaft, combined controller and broker) run from Maven Central jars."""
