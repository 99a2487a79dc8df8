"""Errors of the imports connector.

Only whole-source problems are exceptions: a file that cannot be read at all (binary, empty,
no usable header, an encoding we cannot decode), a bad tenant or import id, Kafka refusing the
events, or an HTTP import request the endpoint refuses. A bad *row* is never an exception: it
becomes an `ImportRejected` event with its row number, field and reason, and the import goes on.
Messages are in English, like every other error the `cobranca` command prints; rejection
messages (stored in events, read by the tenant's operators) are in Brazilian Portuguese.
"""

from __future__ import annotations

from typing import Any

from streams.base.errors import CobrancaError


class ImportsError(CobrancaError):
    """Base of every error the imports connector raises."""


class UnreadableSource(ImportsError):
    """The source as a whole cannot be imported: nothing was read from it as rows."""

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        """The file name (or `<stream>` for an HTTP body) that could not be read."""
        self.line = line
        """The 1-based physical line of the problem, when it is one line."""


class SourceInterrupted(ImportsError):
    """The source stopped before its end (an upload cut off, too large, too slow)."""

    # Every row read before it is whole and is answered; the import ends with an
    # ImportCompleted marked incomplete (ADR 0017).


class TooManyClients(SourceInterrupted):
    """An import reached its most distinct accepted clients: its duplicate table is bounded."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the import reached {limit:,} distinct accepted clients, the most one import holds "
            "(its duplicate check keeps every accepted client id in memory); the rows before "
            "are answered (an incomplete import). Split the file into several imports"
        )
        self.limit = limit


class InvalidImportParameter(ImportsError):
    """A tenant id or import id cannot be used in event headers and Kafka keys."""


class RequestRefused(ImportsError):
    """An HTTP import request refused (unknown import, one already running, too many running)."""

    # Raised by the import jobs (`server.py`); the API (`connectors/api/app.py`) answers it with
    # `status` and `headers` in its one error shape: `code`, `message`, and `extra` as details.

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": code, "message": message, **extra}
        self.headers = headers or {}


class BodyTooLarge(SourceInterrupted):
    """The request body passed the configured size limit (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the request body is larger than the limit of {limit:,} bytes "
            "(COBRANCA_IMPORTS_MAX_BYTES); split the file into several imports"
        )
        self.limit = limit


class UnsupportedFormat(ImportsError):
    """The upload's Content-Type or ``?format=`` names no format the importer reads (415)."""


class BadKeysFile(ImportsError):
    """An old imports keys file (`cobranca api import-keys`) is not the documented TOML shape."""


class UploadCut(SourceInterrupted):
    """The client stopped sending (disconnected or went silent) before the body ended."""


class GzipBroken(SourceInterrupted):
    """A gzip source ends early or is corrupt: the rows decompressed before are whole."""
