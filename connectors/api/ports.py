"""What the API needs from the rest of the system, declared here and wired in streams/ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from schemas.events import Event
from streams.domain.identity import IdentityDirectory

__all__ = ["EventLog"]


class EventLog(Protocol):
    """The log the API writes to and the identity it reads back (Kafka in production:
    `streams/ops/api_server.py`)."""

    @property
    def identity(self) -> IdentityDirectory:
        """Every identity event on the log so far, this replica's own writes included."""
        ...

    async def append(self, events: Sequence[tuple[Event, str]]) -> None:
        """Store `(event, key)` pairs, each on its event type's topic; identity events are in
        `identity` once this returns. Raises `ProduceFailed` when the log does not answer."""
        ...
