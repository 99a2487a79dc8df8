"""The project's one exception root, and the errors every layer shares.

Each package keeps its own errors in one module (`streams/domain/errors.py`,
`streams/runtime/errors.py`, `schemas/errors.py`, `connectors/*/errors.py`, `models/errors.py`,
`infra/kafka/errors.py`) and they all derive from `CobrancaError`, so a caller can catch
everything the project raises without catching programming errors.

`ProduceFailed` and `RecordTooLarge` live here because they cross layers: the runtime's
producers raise them and the connectors' servers, which only see the sink ports they declare,
answer them (503 and 413).
"""

from __future__ import annotations

__all__ = ["CobrancaError", "ProduceFailed", "RecordTooLarge", "SettingsError"]


class CobrancaError(Exception):
    """Base of every error cobranca raises on purpose."""


class ProduceFailed(CobrancaError):
    """Kafka did not acknowledge an event; the caller must not report it as stored."""


class RecordTooLarge(ProduceFailed):
    """A record is larger than the topic or the producer accepts: sending it again cannot help."""

    def __init__(self, message: str, *, topic: str, size: int | None, limit: int | None) -> None:
        super().__init__(message)
        self.topic = topic
        self.size = size
        """The record's size in a batch of its own, when known."""
        self.limit = limit
        """The most that could be stored, when known."""


class SettingsError(CobrancaError):
    """A setting from the environment that cannot be used as it is written."""
