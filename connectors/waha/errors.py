"""Errors of the WAHA connector.

Every message says what was wrong, where (the body's source, such as a file name or
`topic[partition]@offset`, and the JSON path inside the body) and what to do next. The parts stay
on the exception as attributes, so a dead-letter record or a 400 answer can carry them as data.
"""

from __future__ import annotations

from streams.errors import CobrancaError


class WahaError(CobrancaError):
    """Base of every error the WAHA connector raises."""


class WahaWireError(WahaError):
    """A WAHA body is not valid JSON, or does not have the shape WAHA documents."""

    def __init__(
        self, reason: str, *, path: str, source: str | None = None, hint: str = ""
    ) -> None:
        where = f"{source}: {path}" if source else path
        message = f"{where}: {reason}"
        if hint:
            message = f"{message}. {hint}"
        super().__init__(message)
        self.reason = reason
        """Why the value was refused, e.g. `missing required field`."""
        self.path = path
        """JSON path of the offending value (`$` is the whole body, `$.payload.id` a field)."""
        self.source = source
        """Where the body came from (file name, `topic[partition]@offset`), when the caller said."""
        self.hint = hint
        """What to check next; empty when there is nothing useful to add."""


class InvalidAck(WahaError):
    """An ack value outside WAHA's documented range (-1 ERROR to 4 PLAYED)."""

    def __init__(self, ack: int) -> None:
        super().__init__(
            f"ack {ack} is not a WAHA ack level; expected -1 (ERROR), 0 (PENDING), 1 (SERVER), "
            "2 (DEVICE), 3 (READ) or 4 (PLAYED). Filter acks through normalize(), which ignores "
            "unknown levels"
        )
        self.ack = ack


class InvalidSignature(WahaError):
    """A webhook's `X-Webhook-Hmac` is missing, uses another algorithm, or does not match."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"webhook signature rejected: {reason}. Check that the session's webhook "
            '"hmac": {"key": ...} (or WHATSAPP_HOOK_HMAC_KEY) is the key configured for its tenant'
        )
        self.reason = reason
        """Which check failed: missing header, unsupported algorithm, or mismatch."""
