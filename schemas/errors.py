"""Errors of the event contracts: registry, compatibility and the wire codec."""

from __future__ import annotations

from streams.base.errors import CobrancaError


class SchemaError(CobrancaError):
    """Base of the schema package's errors."""


class SchemaNotRegistered(SchemaError):
    """A schema in schemas/avro has no pinned id, or differs from its latest pinned version."""


class IncompatibleSchema(SchemaError):
    """A new schema version cannot read data written with an earlier one (BACKWARD_TRANSITIVE)."""


class UndecodableEvent(SchemaError):
    """Bytes that are not a cobranca event in the Confluent wire format."""

    def __init__(
        self,
        reason: str,
        *,
        schema_id: int | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.schema_id = schema_id
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(self._message())

    def at(self, topic: str, partition: int, offset: int) -> UndecodableEvent:
        """The same error, located at the record it came from."""
        return UndecodableEvent(
            self.reason, schema_id=self.schema_id, topic=topic, partition=partition, offset=offset
        )

    def _message(self) -> str:
        where = f"{self.topic}[{self.partition}]@{self.offset}" if self.topic else "record"
        schema = f" (schema id {self.schema_id})" if self.schema_id is not None else ""
        return (
            f"cannot decode {where}{schema}: {self.reason}; the record is dead-lettered with its "
            "bytes, fix the producer"
        )


class UnencodableEvent(SchemaError):
    """An event that does not match its own schema (a bug in the producer, caught before Kafka)."""
