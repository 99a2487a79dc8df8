"""Errors of the Kafka/Faust runtime, all under the project's root `CobrancaError`."""

from __future__ import annotations

from streams.base.errors import CobrancaError

__all__ = [
    "FollowerError",
    "KafkaLimitsError",
    "LogReadError",
    "MetricsEndpointUnavailable",
    "ProduceFailed",
    "RecordTooLarge",
    "SendOutsideTransaction",
    "TenantDirectoryError",
    "TopicAdminError",
]


class LogReadError(CobrancaError):
    """A topic could not be read to its end."""


class TopicAdminError(CobrancaError):
    """Topics could not be created or described on the broker."""


class SendOutsideTransaction(CobrancaError):
    """A record was sent under exactly-once outside of an agent processing an event."""


class MetricsEndpointUnavailable(CobrancaError):
    """The metrics endpoint could not listen on its host and port."""


class KafkaLimitsError(CobrancaError):
    """The broker did not say what a topic accepts."""


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


class FollowerError(CobrancaError):
    """A followed topic cannot be read."""


class TenantDirectoryError(CobrancaError):
    """The tenants topic cannot be followed."""
