"""Confluent Schema Registry's REST API, read-only, served from the pinned registry (app), and
the client that copies the pins into a real Confluent registry, ids kept (push)."""
