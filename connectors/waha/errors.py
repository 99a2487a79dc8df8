"""Errors of the WAHA connector.

Every message says what was wrong, where (the body's source, such as a file name or
`topic[partition]@offset`, and the JSON path inside the body) and what to do next. The parts stay
on the exception as attributes, so a dead-letter record or a 400 answer can carry them as data.
"""

from __future__ import annotations

from streams.base.errors import CobrancaError


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


class InvalidSignature(WahaError):
    """A webhook's `X-Webhook-Hmac` is missing, uses another algorithm, or does not match."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"webhook signature rejected: {reason}. Check that the session's webhook "
            '"hmac": {"key": ...} (or WHATSAPP_HOOK_HMAC_KEY) is the key configured for its tenant'
        )
        self.reason = reason
        """Which check failed: missing header, unsupported algorithm, or mismatch."""


class ReceiverConfigError(WahaError):
    """The webhook receiver's settings are invalid or exceed what Kafka stores; it won't start."""


# --- calls to WAHA's API (connectors/waha/client.py) -----------------------------------------


class WahaCallError(WahaError):
    """A call to WAHA's HTTP API did not succeed."""

    def __init__(
        self,
        reason: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body: str = "",
        hint: str = "",
    ) -> None:
        shown = f"{method} {url}"
        answer = f"HTTP {status}" if status is not None else "no answer"
        message = f"{shown}: {answer}: {reason}"
        if body:
            message = f"{message}: {body[:300]}"
        if hint:
            message = f"{message}. {hint}"
        super().__init__(message)
        self.reason = reason
        self.method = method
        self.url = url
        self.status = status
        """HTTP status WAHA answered with; None when there was no answer."""
        self.body = body
        """WAHA's answer (or the network error), for DispatchFailed.error."""


class WahaTransientError(WahaCallError):
    """WAHA failed in a way a later attempt may not: 5xx, timeout or network error."""


class WahaRateLimited(WahaTransientError):
    """WAHA answered 429; `retry_after` is the wait it asked for, in seconds, if it said."""

    def __init__(self, *args: object, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class WahaPermanentError(WahaCallError):
    """WAHA refused the request (a 4xx other than 429): sending it again will not help."""


class WahaUnauthorized(WahaPermanentError):
    """WAHA answered 401: the X-Api-Key is missing or wrong (WAHA_API_KEY)."""


class WahaSessionNotWorking(WahaCallError):
    """WAHA answered 422 because the session is not WORKING; `session_status` says what it is."""

    def __init__(self, *args: object, session_status: str | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.session_status = session_status


class SimulatorDidNotStart(WahaError):
    """The simulator process exited or did not answer /ping in time."""
