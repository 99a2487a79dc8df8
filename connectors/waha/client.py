"""An aiohttp client for the part of WAHA's API the dispatcher uses.

Every call sends `X-Api-Key`. Answers are mapped to typed errors at this boundary, so callers
decide on classes, not status codes (WAHA_API.md, section 5: Errors):

- 2xx: the decoded body; a send's message id is read whatever the engine
  (`wire.message_id_from_send_response`);
- 5xx, a timeout or a network error: `WahaTransientError` (retry with backoff);
- 429: `WahaRateLimited` with the `Retry-After` it asked for;
- 422 `Session status is not as expected`: `WahaSessionNotWorking` with the session's status
  (pause the session, do not burn retries);
- 401: `WahaUnauthorized`; any other 4xx: `WahaPermanentError` (sending again will not help).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import aiohttp
import orjson

from connectors.waha.dispatch.backoff import parse_retry_after
from connectors.waha.errors import (
    WahaCallError,
    WahaPermanentError,
    WahaRateLimited,
    WahaSessionNotWorking,
    WahaTransientError,
    WahaUnauthorized,
    WahaWireError,
)
from connectors.waha.wire import message_id_from_send_response

__all__ = [
    "API_KEY_HEADER",
    "ContactCheck",
    "FileToSend",
    "SentMessage",
    "SessionInfo",
    "WahaClient",
    "send_endpoint_for",
]

API_KEY_HEADER: Final = "X-Api-Key"
_NOT_WORKING: Final = "Session status is not as expected"


@dataclass(frozen=True, slots=True)
class FileToSend:
    """A file WAHA downloads from `url` and sends (`file` in sendFile/sendImage)."""

    url: str
    mimetype: str
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """WAHA accepted a send (201): the message id it gave, whatever its engine."""

    message_id: str
    chat_id: str
    body: Any
    """The engine's raw answer (WEBJS Message, NOWEB Baileys message, GOWS {id, _data})."""


@dataclass(frozen=True, slots=True)
class ContactCheck:
    """`contacts/check-exists`: whether the number has WhatsApp, and its chat id if so."""

    exists: bool
    chat_id: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    name: str
    status: str
    engine: str | None = None


def send_endpoint_for(mimetype: str) -> str:
    """sendImage for images (shown inline), sendFile (a document) for everything else."""
    return "/api/sendImage" if mimetype.lower().startswith("image/") else "/api/sendFile"


class WahaClient:
    """One WAHA server. Use as an async context manager, or call `close()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        headers = {"Accept": "application/json"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self._headers = headers
        self._max_connections = max_connections
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        # Created lazily: an aiohttp session must be made inside the running event loop.
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> WahaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- sending ----------------------------------------------------------------------------

    async def send_text(self, session: str, chat_id: str, text: str) -> SentMessage:
        body = {"session": session, "chatId": chat_id, "text": text, "linkPreview": False}
        return await self._send("/api/sendText", body, chat_id)

    async def send_file(
        self, session: str, chat_id: str, file: FileToSend, caption: str | None = None
    ) -> SentMessage:
        """sendImage or sendFile, by the file's mimetype."""
        payload: dict[str, Any] = {"mimetype": file.mimetype, "url": file.url}
        if file.filename:
            payload["filename"] = file.filename
        body: dict[str, Any] = {"session": session, "chatId": chat_id, "file": payload}
        if caption:
            body["caption"] = caption
        return await self._send(send_endpoint_for(file.mimetype), body, chat_id)

    async def _send(self, path: str, body: dict[str, Any], chat_id: str) -> SentMessage:
        answer = await self._call("POST", path, json=body)
        try:
            message_id = message_id_from_send_response(answer, source=f"POST {path}")
        except WahaWireError as exc:
            # WAHA said 201: the message may well have gone out, so a retry could send it twice.
            raise WahaPermanentError(
                "send accepted without a readable message id",
                method="POST",
                url=self.base_url + path,
                status=201,
                body=str(exc),
            ) from exc
        return SentMessage(message_id=message_id, chat_id=chat_id, body=answer)

    async def start_typing(self, session: str, chat_id: str) -> None:
        await self._call("POST", "/api/startTyping", json={"session": session, "chatId": chat_id})

    async def stop_typing(self, session: str, chat_id: str) -> None:
        await self._call("POST", "/api/stopTyping", json={"session": session, "chatId": chat_id})

    async def send_seen(
        self, session: str, chat_id: str, message_ids: list[str] | None = None
    ) -> None:
        body: dict[str, Any] = {"session": session, "chatId": chat_id}
        if message_ids:
            body["messageIds"] = message_ids
        await self._call("POST", "/api/sendSeen", json=body)

    # --- contacts and sessions ----------------------------------------------------------------

    async def check_exists(self, session: str, phone: str) -> ContactCheck:
        """Whether `phone` (digits, or E.164) has WhatsApp, and the chat id to send to."""
        answer = await self._call(
            "GET",
            "/api/contacts/check-exists",
            params={"phone": phone.removeprefix("+"), "session": session},
        )
        if not isinstance(answer, dict):
            raise self._bad_answer("GET", "/api/contacts/check-exists", answer)
        chat_id = answer.get("chatId")
        return ContactCheck(
            exists=bool(answer.get("numberExists")),
            chat_id=chat_id if isinstance(chat_id, str) and chat_id else None,
        )

    async def session_info(self, session: str) -> SessionInfo:
        """`GET /api/sessions/{session}`: its status (WORKING, FAILED, ...)."""
        path = f"/api/sessions/{session}"
        answer = await self._call("GET", path)
        if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
            raise self._bad_answer("GET", path, answer)
        return _session_info(answer, session)

    async def start_session(self, session: str) -> SessionInfo:
        """`POST /api/sessions/{session}/start` (idempotent): the session as WAHA answers."""
        answer = await self._call("POST", f"/api/sessions/{session}/start")
        return _session_info(answer if isinstance(answer, dict) else {}, session)

    async def stop_session(self, session: str) -> SessionInfo:
        """`POST /api/sessions/{session}/stop` (idempotent; does not log out)."""
        answer = await self._call("POST", f"/api/sessions/{session}/stop")
        return _session_info(answer if isinstance(answer, dict) else {}, session)

    async def pairing_qr(self, session: str) -> tuple[str, str]:
        """`GET /api/{session}/auth/qr` as JSON: (mimetype, base64 image) of the QR to scan;
        WAHA answers 422 unless the session waits for a scan (SCAN_QR_CODE)."""
        path = f"/api/{session}/auth/qr"
        answer = await self._call("GET", path)
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), str):
            raise self._bad_answer("GET", path, answer)
        return str(answer.get("mimetype") or "image/png"), answer["data"]

    async def sessions(self, *, all_: bool = False) -> list[SessionInfo]:
        answer = await self._call("GET", "/api/sessions", params={"all": "true"} if all_ else None)
        if not isinstance(answer, list):
            raise self._bad_answer("GET", "/api/sessions", answer)
        return [_session_info(item, "?") for item in answer if isinstance(item, dict)]

    # --- the boundary -------------------------------------------------------------------------

    def _bad_answer(self, method: str, path: str, answer: object) -> WahaPermanentError:
        return WahaPermanentError(
            "unexpected answer shape",
            method=method,
            url=self.base_url + path,
            status=200,
            body=repr(answer)[:300],
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        url = self.base_url + path
        try:
            async with self._session().request(method, url, json=json, params=params) as response:
                raw = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as exc:
            raise WahaTransientError(
                f"timed out after {self.timeout_s:g}s", method=method, url=url
            ) from exc
        except aiohttp.ClientError as exc:
            raise WahaTransientError(
                f"network error: {type(exc).__name__}: {exc}",
                method=method,
                url=url,
                hint="Check WAHA_URL and that WAHA is running",
            ) from exc
        if 200 <= status < 300:
            if not raw.strip():
                return None
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                return raw.decode(errors="replace")
        raise _error_for(method, url, status, raw, retry_after)


def _session_info(answer: dict[str, Any], default_name: str) -> SessionInfo:
    name = answer.get("name")
    engine = answer.get("engine")
    if isinstance(engine, dict):  # WAHA's SessionInfo: {"engine": {"engine": "WEBJS", ...}}
        engine = engine.get("engine")
    return SessionInfo(
        name=name if isinstance(name, str) else default_name,
        status=str(answer.get("status")),
        engine=engine if isinstance(engine, str) else None,
    )


def _error_for(
    method: str, url: str, status: int, raw: bytes, retry_after: str | None
) -> WahaCallError:
    text = raw.decode(errors="replace")
    try:
        decoded = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        decoded = None
    common: dict[str, Any] = {"method": method, "url": url, "status": status, "body": text}
    if status >= 500:
        return WahaTransientError("WAHA failed", **common)
    if status == 429:
        return WahaRateLimited(
            "too many requests", retry_after=parse_retry_after(retry_after), **common
        )
    if status == 401:
        return WahaUnauthorized(
            "unauthorized", hint="Set WAHA_API_KEY to the key WAHA was started with", **common
        )
    if status == 422 and isinstance(decoded, dict):
        error = decoded.get("error")
        expected = decoded.get("expected")
        if (isinstance(error, str) and error.startswith(_NOT_WORKING)) or (
            isinstance(expected, list) and "WORKING" in expected
        ):
            session_status = decoded.get("status")
            return WahaSessionNotWorking(
                "session is not WORKING",
                session_status=session_status if isinstance(session_status, str) else None,
                **common,
            )
    return WahaPermanentError("request refused", **common)
