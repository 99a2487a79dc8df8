"""Errors of the local broker's life cycle."""

from __future__ import annotations

from streams.base.errors import CobrancaError


class BrokerError(CobrancaError):
    """The local Kafka broker could not be fetched, started or stopped."""


class JarsMissing(BrokerError):
    """The broker's jars are not in the cache and fetching them failed."""


class BrokerStartTimeout(BrokerError):
    """The broker process started but did not answer in time."""
