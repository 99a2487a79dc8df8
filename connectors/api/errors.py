"""Errors of the HTTP API. Each is answered with the API's one error shape:

    {"error": {"code": "...", "message": "...", "details": {...}}}

`code` is stable and machine-readable, `message` says what was wrong and what to do, `details`
carries the values involved (the field, the limit, the tenant).
"""

from __future__ import annotations

from typing import Any

from streams.base.errors import CobrancaError

__all__ = ["ApiError", "SigningKeysError", "error_body"]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error shape of every HTTP surface."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


class ApiError(CobrancaError):
    """A request the API refuses, with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class SigningKeysError(CobrancaError):
    """The JWT signing keys cannot be used (missing folder, unreadable or wrong kind of key)."""
