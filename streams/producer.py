"""Producing events from outside the worker (CLI, imports, tests): acks=all, idempotent.

Agents never use this: inside the worker every output goes through the transaction of the
event that caused it (streams/transport.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError

from schemas.codec import encode
from schemas.events import Event
from streams.errors import CobrancaError
from streams.topics import topic_for_event


class ProduceFailed(CobrancaError):
    """Kafka did not acknowledge an event; the caller must not report it as stored."""


class EventProducer:
    """Send events to the topic the catalogue assigns to their type."""

    def __init__(self, bootstrap: str, *, linger_ms: int = 5) -> None:
        self._bootstrap = bootstrap
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            compression_type=None,
        )

    async def __aenter__(self) -> EventProducer:
        try:
            await self._producer.start()
        except KafkaConnectionError as exc:
            await self._producer.stop()
            raise ProduceFailed(
                f"no Kafka broker answers at {self._bootstrap}; start the local one with "
                "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def send(self, event: Event, key: str) -> None:
        """Send one event and wait until every in-sync replica has it."""
        await self.send_many([(event, key)])

    async def send_many(self, events: Iterable[tuple[Event, str]]) -> int:
        """Send a batch and wait for all acknowledgements; returns how many were stored."""
        futures = []
        try:
            for event, key in events:
                topic = topic_for_event(event.header.event_type).name
                value = encode(event.to_representation())
                futures.append(await self._producer.send(topic, value, key=key.encode()))
            for future in futures:
                await future
        except KafkaError as exc:
            raise ProduceFailed(
                f"Kafka at {self._bootstrap} did not store the batch: {exc!r}"
            ) from exc
        return len(futures)
