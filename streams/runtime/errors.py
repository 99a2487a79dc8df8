"""Errors of the Kafka/Faust runtime, all under the project's root `CobrancaError`."""

from __future__ import annotations

from streams.base.errors import CobrancaError

__all__ = [
    "FollowerError",
    "KafkaLimitsError",
    "LogReadError",
    "MetricsEndpointUnavailable",
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


class FollowerError(CobrancaError):
    """A followed topic cannot be read."""


class TenantDirectoryError(CobrancaError):
    """The tenants topic cannot be followed."""
