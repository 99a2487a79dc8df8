"""Errors of the models package (the intent classifier, its data and its encoder)."""

from __future__ import annotations

from streams.base.errors import CobrancaError


class ModelError(CobrancaError):
    """Something about the intent model, its data or its encoder is wrong."""


class ProvisionError(ModelError):
    """The encoder's weights cannot be provisioned (missing package, hash mismatch, bad file)."""


class ArtifactError(ModelError):
    """The trained classifier artifact is missing, corrupt or made for another encoder."""


class DataError(ModelError):
    """A training or evaluation file has a bad row (file, line and what is wrong)."""
