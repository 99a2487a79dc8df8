"""Adapters to the outside world: WAHA, imports, ClickHouse."""
