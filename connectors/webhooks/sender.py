"""POST a webhook: aiohttp with a total timeout, no redirects followed, the answer's body read
only up to a few KiB. Every failure is an `Outcome` with a reason, never an exception: the
delivery agent records it and retries.

A redirect is a failure (`3xx ... not followed`): following one would send a signed event to a
host the tenant did not subscribe, and would let a receiver point the agent at internal
addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Final

import aiohttp

__all__ = ["Outcome", "WebhookSender"]

_READ_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one POST ended: the answer's status, and an error unless it was a 2xx."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None


class WebhookSender:
    """One aiohttp session for every POST; use as an async context manager."""

    def __init__(self, timeout_s: float = 10.0, max_connections: int = 64) -> None:
        self.timeout_s = timeout_s
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebhookSender:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=8),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: str, headers: dict[str, str]) -> Outcome:
        """POST `body` to `url` with `headers`; a 2xx is delivered, anything else an error."""
        if self._session is None:
            raise RuntimeError("use WebhookSender as `async with WebhookSender() as sender`")
        try:
            async with self._session.post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(_READ_LIMIT)
                status = response.status
        except TimeoutError:
            return Outcome(None, f"no answer within {self.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
        except (OSError, ValueError) as exc:  # a URL aiohttp cannot use, a socket error
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return Outcome(status, None)
        if 300 <= status < 400:
            return Outcome(status, f"HTTP {status}: redirects are not followed")
        return Outcome(status, f"HTTP {status}")
