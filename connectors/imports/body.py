"""An HTTP request body as the blocking binary stream the importer reads, in a worker thread.

The importer (`formats.RowSource`) parses from a blocking ``read``; aiohttp hands the body out
chunk by chunk on the event loop. `BodyPipe` joins them by pulling: each time the parser in its
thread needs bytes, the pipe asks the loop for the next chunk of the body and waits for it. So
the body is never held whole (the parser's buffer and chunk of lines, plus one chunk in
flight), and a slow consumer (Kafka acknowledging batches) slows the upload down through TCP
instead of filling memory.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import time
from collections.abc import Awaitable, Callable

from connectors.imports.errors import BodyTooLarge, UploadCut

__all__ = ["BodyPipe", "BodyTooLarge", "UploadCut", "UploadTooSlow"]


class UploadTooSlow(UploadCut):
    """The client sent the body slower than the minimum rate (408): a trickle holds a slot."""

    def __init__(self, received: int, window_s: float, rate: int, got: int) -> None:
        super().__init__(
            f"the upload sent {got:,} bytes in {window_s:.0f} s of waiting for it, under the "
            f"minimum of {rate:,} bytes/s (COBRANCA_IMPORTS_MIN_UPLOAD_RATE), after "
            f"{received:,} bytes; the upload is incomplete. Send the file in one go from a "
            "faster link"
        )


class BodyPipe(io.RawIOBase):
    """Read-only raw stream over a request body; use it from a thread other than the loop's."""

    def __init__(
        self,
        read: Callable[[int], Awaitable[bytes]],
        loop: asyncio.AbstractEventLoop,
        *,
        limit: int,
        idle_timeout_s: float = 300.0,
        min_rate: int = 0,
        rate_window_s: float = 30.0,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self._read = read
        self._loop = loop
        self._limit = limit
        self._idle = idle_timeout_s
        self._min_rate = min_rate
        self._window = rate_window_s
        # The rate counts only the time spent waiting for the client: when Kafka is slow the
        # importer reads slowly, and that time is the server's, not the client's.
        self._waited = 0.0
        self._window_bytes = 0
        self._on_end = on_end
        self.received = 0
        """Bytes of the body read so far."""
        self.ended = False
        """True once the whole body was read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        if self.ended:
            return 0
        target = memoryview(buffer)  # type: ignore[arg-type]
        future = asyncio.run_coroutine_threadsafe(_read_chunk(self._read, len(target)), self._loop)
        began = time.monotonic()
        try:
            data = future.result(self._idle)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise UploadCut(
                f"no data from the client for {self._idle:.0f} s after {self.received:,} bytes; "
                "the upload is incomplete"
            ) from None
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            raise UploadCut(
                f"the upload was cut off after {self.received:,} bytes ({exc!r})"
            ) from exc
        except Exception as exc:  # aiohttp's payload errors (ContentLengthError, ...)
            if type(exc).__module__.startswith("aiohttp"):
                raise UploadCut(
                    f"the upload was cut off after {self.received:,} bytes ({exc})"
                ) from exc
            raise
        if not data:
            self.ended = True
            if self._on_end is not None:
                self._on_end()
            return 0
        self.received += len(data)
        if self.received > self._limit:
            raise BodyTooLarge(self._limit)
        if self._min_rate:
            self._check_rate(time.monotonic() - began, len(data))
        target[: len(data)] = data
        return len(data)

    def _check_rate(self, waited: float, size: int) -> None:
        """Every `rate_window_s` of waiting must bring `min_rate` bytes a second."""
        self._waited += waited
        self._window_bytes += size
        if self._waited < self._window:
            return
        if self._window_bytes < self._min_rate * self._waited:
            raise UploadTooSlow(self.received, self._waited, self._min_rate, self._window_bytes)
        self._waited, self._window_bytes = 0.0, 0


async def _read_chunk(read: Callable[[int], Awaitable[bytes]], size: int) -> bytes:
    return await read(size)
