"""Errors of Brazil's rules: a value that breaks one of them, said in Brazilian Portuguese.

The rules read what people type into spreadsheets and forms (phones, CPF/CNPJ, amounts, due
dates); a value they refuse is data to answer, not a crash. `InvalidValue` carries what is wrong
(`Problem`, machine-readable) and a message in Brazilian Portuguese with personal digits masked,
which a caller shows to the people who typed the value (the importer stores both in an
`ImportRejected` event).
"""

from __future__ import annotations

import enum

from streams.base.errors import CobrancaError

__all__ = ["BrazilError", "InvalidValue", "Problem"]


class BrazilError(CobrancaError):
    """Base of the errors of `streams.domain.brazil`."""


class Problem(enum.StrEnum):
    """What is wrong with a value (the importer's rejection reasons have the same values)."""

    INVALID_PHONE = "invalid_phone"
    LANDLINE = "landline"
    INVALID_DOCUMENT = "invalid_document"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_DUE_DATE = "invalid_due_date"


class InvalidValue(BrazilError):
    """One value failed one of Brazil's rules."""

    def __init__(self, reason: Problem, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        """What is wrong, machine-readable."""
        self.message = message
        """Human-readable explanation in Brazilian Portuguese, personal data masked."""
