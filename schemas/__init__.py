"""Event contracts: one Avro schema per event, the Confluent wire-format codec, compatibility."""
