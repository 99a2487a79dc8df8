"""Errors of the schema-registry connector."""

from __future__ import annotations

from streams.base.errors import CobrancaError


class SchemaRegistryError(CobrancaError):
    """Base of every error the schema-registry connector raises."""


class PushRefused(SchemaRegistryError):
    """A Confluent registry refused or did not answer a request of `cobranca schemas push`."""
