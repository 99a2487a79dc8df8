"""The simulated WAHA: its HTTP API (aiohttp) and the webhooks it sends.

API (what cobranca uses of WAHA 2026.7.1; bodies and errors as in shared/waha):

- `GET /api/sessions[?all=true]`, `GET /api/sessions/{s}`, `POST /api/sessions/{s}/start|stop`;
- `POST /api/sendText`, `/api/sendImage`, `/api/sendFile` → 201 with the engine's raw object;
- `POST /api/sendSeen`, `/api/startTyping`, `/api/stopTyping` → 201;
- `GET /api/contacts/check-exists?phone=&session=` → `{numberExists, chatId}`, with the 9th-digit
  rule of `config.directory_chat_id`;
- `GET /ping` (no key).

Every /api call needs `X-Api-Key` (or `?x-api-key=`): 401 otherwise. Unknown session: 404. A send
to a session that is not WORKING: 422, the body of fixtures/support/error_422_session_not_working.

Webhooks (when `webhook_url` is set): `message.ack` SERVER → DEVICE → READ after each send,
`message` when a simulated debtor answers (pt-BR, `replies.py`), `session.status` on every
status change. Each body is signed (`X-Webhook-Hmac`, HMAC-SHA512 hex of the raw body) and
retried on any non-2xx or network error with WAHA's policies (constant 2, 2...; linear 2, 4...;
exponential 2, 4.1, 8.4... with about 20% jitter), the same body every time.

Test control (no key; loopback only): `GET /_sim/sends` (every accepted send), `GET /_sim/stats`,
`GET /_sim/webhooks` (recent bodies), `POST /_sim/faults` (see `Faults`),
`POST /_sim/sessions/{s}/status` `{status, for_s?}`, `POST /_sim/inbound` `{session, chat_id,
text?}`, `POST /_sim/reset`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
import orjson
import structlog
from aiohttp import web

from connectors.waha.signatures import ALGORITHM, ALGORITHM_HEADER, SIGNATURE_HEADER, sign_body
from connectors.waha.simulator import shapes
from connectors.waha.simulator.config import Faults, SimulatorConfig, directory_chat_id
from connectors.waha.simulator.replies import debtor_reply
from streams.domain.normalized import Ack

__all__ = ["AcceptedSend", "Simulator", "retry_delays"]

log = structlog.get_logger(__name__)

_NOT_WORKING: Final = "Session status is not as expected. Try again later or restart the session"
_SEND_PATHS: Final = ("/api/sendText", "/api/sendImage", "/api/sendFile")
_NAMES: Final = ("Maria", "João", "Ana", "Carlos", "Fernanda", "José", "Juliana", "Paulo")


def retry_delays(policy: str, base_s: float, attempts: int, rng: random.Random) -> list[float]:
    """Waits between WAHA's delivery attempts: `attempts - 1` delays for `policy`."""
    delays = []
    for n in range(1, max(attempts, 1)):
        if policy == "constant":
            delays.append(base_s)
        elif policy == "linear":
            delays.append(base_s * n)
        else:
            delays.append(base_s * 2 ** (n - 1) * (1 + rng.uniform(0, 0.2)))
    return delays


@dataclass(frozen=True, slots=True)
class AcceptedSend:
    """A send the simulator answered 201: the record tests count duplicates on."""

    message_id: str
    session: str
    chat_id: str
    endpoint: str
    text: str | None
    file_url: str | None
    at: float
    """Unix seconds."""
    delivered: bool
    """False when the chat is not a WhatsApp account (unregistered, or the 9th-digit trap)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "session": self.session,
            "chat_id": self.chat_id,
            "endpoint": self.endpoint,
            "text": self.text,
            "file_url": self.file_url,
            "at": self.at,
            "delivered": self.delivered,
        }


@dataclass(slots=True)
class _Session:
    name: str
    status: str
    history: list[tuple[str, int]]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _nest_error(status: int, message: str | list[str], error: str) -> web.Response:
    return web.json_response(
        {"message": message, "error": error, "statusCode": status}, status=status
    )


class Simulator:
    """One simulated WAHA server. `await start()`, read `url`, `await stop()`."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        if self.config.engine not in shapes.ENGINES:
            raise ValueError(f"engine {self.config.engine!r}: expected one of {shapes.ENGINES}")
        self.faults: Faults = self.config.faults
        self.rng = random.Random(self.config.seed)
        now = _now_ms()
        self.sessions: dict[str, _Session] = {
            name: _Session(name, "WORKING", [("STOPPED", now), ("STARTING", now), ("WORKING", now)])
            for name in self.config.sessions
        }
        self.sends: list[AcceptedSend] = []
        self.stats: Counter[str] = Counter()
        self.webhook_log: deque[bytes] = deque(maxlen=10_000)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._deliveries = asyncio.Semaphore(64)
        self.port: int | None = None

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{self.config.host}:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024**2)
        routes = [
            web.get("/ping", self._ping),
            web.get("/health", self._ping),
            web.get("/api/sessions", self._list_sessions),
            web.get("/api/sessions/{session}", self._get_session),
            web.post("/api/sessions/{session}/start", self._start_session),
            web.post("/api/sessions/{session}/stop", self._stop_session),
            web.get("/api/{session}/auth/qr", self._qr),
            *(web.post(path, self._send) for path in _SEND_PATHS),
            web.post("/api/sendSeen", self._chat_action),
            web.post("/api/startTyping", self._chat_action),
            web.post("/api/stopTyping", self._chat_action),
            web.get("/api/contacts/check-exists", self._check_exists),
            web.get("/_sim/sends", self._sim_sends),
            web.get("/_sim/stats", self._sim_stats),
            web.get("/_sim/webhooks", self._sim_webhooks),
            web.post("/_sim/faults", self._sim_faults),
            web.get("/_sim/faults", self._sim_faults),
            web.post("/_sim/sessions/{session}/status", self._sim_session_status),
            web.post("/_sim/inbound", self._sim_inbound),
            web.post("/_sim/reset", self._sim_reset),
        ]
        app.add_routes(routes)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = site._server
        assert server is not None and isinstance(server, asyncio.base_events.Server)
        self.port = int(server.sockets[0].getsockname()[1])
        if self.faults.flap_every_s > 0:
            self._spawn(self._flap_forever())
        log.info("waha_sim_started", url=self.url, engine=self.config.engine)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later(self, delay: float, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await fn(*args)

        self._spawn(run())

    # --- middleware ---------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            key = self.config.api_key
            if key is not None:
                given = request.headers.get("X-Api-Key") or request.query.get("x-api-key")
                if given != key:
                    self.stats["unauthorized"] += 1
                    return web.json_response(
                        {"message": "Unauthorized", "statusCode": 401}, status=401
                    )
            if self.faults.latency_ms > 0:
                await asyncio.sleep(self.faults.latency_ms / 1000 * self.rng.uniform(0.5, 1.5))
        return await handler(request)

    # --- sessions -----------------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {"id": self.config.me_id, "pushName": "Cobrança"}

    def _session_info(self, session: _Session) -> dict[str, Any]:
        working = session.status == "WORKING"
        return {
            "name": session.name,
            "status": session.status,
            "config": {"metadata": {}, "webhooks": self._webhook_config()},
            "me": self._me() if working else None,
            "engine": {"engine": self.config.engine},
            "presence": None,
            "timestamps": {"activity": session.history[-1][1]},
        }

    def _webhook_config(self) -> list[dict[str, Any]]:
        if self.config.webhook_url is None:
            return []
        return [
            {
                "url": self.config.webhook_url,
                "events": list(self.config.webhook_events),
                "retries": {
                    "policy": self.config.retry_policy,
                    "delaySeconds": self.config.retry_delay_s,
                    "attempts": self.config.retry_attempts,
                },
            }
        ]

    def _unknown_session(self, name: str) -> web.Response:
        return _nest_error(
            404,
            f"We didn't find a session with name '{name}'.\n"
            f"Please start it first by using POST /api/sessions/{name}/start request",
            "Not Found",
        )

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "pong"})

    async def _list_sessions(self, request: web.Request) -> web.Response:
        everything = request.query.get("all", "false").lower() == "true"
        return web.json_response(
            [
                self._session_info(s)
                for s in self.sessions.values()
                if everything or s.status != "STOPPED"
            ]
        )

    async def _get_session(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["session"])
        if session is None:
            return self._unknown_session(request.match_info["session"])
        return web.json_response(self._session_info(session))

    async def _start_session(self, request: web.Request) -> web.Response:
        name = request.match_info["session"]
        session = self.sessions.get(name)
        if session is None:
            return self._unknown_session(name)
        if session.status != "WORKING":
            self.set_status(name, "STARTING")
            self._later(0.2, self._async_status, name, "WORKING")
        return web.json_response(
            {"name": name, "status": session.status, "config": {"metadata": {}}}, status=201
        )

    async def _stop_session(self, request: web.Request) -> web.Response:
        name = request.match_info["session"]
        session = self.sessions.get(name)
        if session is None:
            return self._unknown_session(name)
        if session.status != "STOPPED":
            self.set_status(name, "STOPPED")
        return web.json_response(
            {"name": name, "status": session.status, "config": {"metadata": {}}}, status=201
        )

    async def _qr(self, request: web.Request) -> web.Response:
        """WAHA's QR for pairing: PNG bytes, base64 in JSON (`Accept: application/json`), or the
        raw value (`?format=raw`); only while the session waits for a scan."""
        name = request.match_info["session"]
        session = self.sessions.get(name)
        if session is None:
            return self._unknown_session(name)
        if session.status != "SCAN_QR_CODE":
            return _nest_error(
                422,
                "Can get QR code only in SCAN_QR_CODE status. "
                f"The current status is '{session.status}'",
                "Unprocessable Entity",
            )
        value = f"2@sim-{name}-{len(session.history)}"
        if request.query.get("format") == "raw":
            return web.json_response({"value": value})
        png = shapes.qr_png(value)
        if "application/json" in request.headers.get("Accept", ""):
            data = base64.b64encode(png).decode()
            return web.json_response({"mimetype": "image/png", "data": data})
        return web.Response(body=png, content_type="image/png")

    def set_status(self, name: str, status: str) -> None:
        """Change a session's status and emit `session.status`."""
        session = self.sessions.setdefault(name, _Session(name, status, []))
        session.status = status
        session.history.append((status, _now_ms()))
        del session.history[:-3]
        self.stats[f"status_{status}"] += 1
        payload = shapes.session_status_payload(name, status, session.history)
        self._emit("session.status", name, payload)

    async def _async_status(self, name: str, status: str) -> None:
        self.set_status(name, status)

    async def _flap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.faults.flap_every_s)
            for name in list(self.sessions):
                if self.sessions[name].status == "WORKING":
                    self.set_status(name, "FAILED")
            await asyncio.sleep(self.faults.flap_for_s)
            for name in list(self.sessions):
                if self.sessions[name].status == "FAILED":
                    self.set_status(name, "STARTING")
                    self.set_status(name, "WORKING")

    def _not_working(self, session: _Session) -> web.Response:
        return web.json_response(
            {
                "error": _NOT_WORKING,
                "session": session.name,
                "status": session.status,
                "expected": ["WORKING"],
            },
            status=422,
        )

    # --- sending ------------------------------------------------------------------------------

    async def _json_body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _nest_error(400, ["body must be JSON"], "Bad Request")
        if not isinstance(body, dict):
            return _nest_error(400, ["body must be a JSON object"], "Bad Request")
        problems = [
            f"{field} must be a string"
            for field in ("session", "chatId")
            if not isinstance(body.get(field), str) or not body.get(field)
        ]
        if problems:
            return _nest_error(400, problems, "Bad Request")
        return body

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        path = request.path
        problems = []
        text: str | None
        file_url: str | None = None
        if path == "/api/sendText":
            text = body.get("text")
            if not isinstance(text, str):
                problems.append("text must be a string")
        else:
            text = body.get("caption") if isinstance(body.get("caption"), str) else None
            file = body.get("file")
            if not isinstance(file, dict) or not isinstance(file.get("mimetype"), str):
                problems.append("file.mimetype must be a string")
            elif ("url" in file) == ("data" in file):
                problems.append("file must have exactly one of url and data")
            else:
                file_url = file.get("url")
        if problems:
            return _nest_error(400, problems, "Bad Request")
        session = self.sessions.get(body["session"])
        if session is None:
            return self._unknown_session(body["session"])
        if session.status != "WORKING":
            self.stats["sends_not_working"] += 1
            return self._not_working(session)
        if time.monotonic() < self.faults.fail_sends_until or (
            self.faults.error_rate > 0 and self.rng.random() < self.faults.error_rate
        ):
            self.stats["sends_failed"] += 1
            return self._internal_error(request, self.faults.fail_status)
        return self._accept(session.name, body["chatId"], path, text, file_url)

    def _internal_error(self, request: web.Request, status: int) -> web.Response:
        if status == 429:
            return web.json_response(
                {"message": "Too Many Requests", "statusCode": 429},
                status=429,
                headers={"Retry-After": "1"},
            )
        return web.json_response(
            {
                "statusCode": status,
                "timestamp": datetime.now(UTC).isoformat(),
                "exception": {
                    "message": "simulated engine failure",
                    "name": "Error",
                    "stack": "Error: simulated engine failure\n    at waha-sim",
                },
                "request": {"path": request.path, "method": request.method},
                "version": {"version": shapes.VERSION, "engine": self.config.engine},
            },
            status=status,
        )

    def _accept(
        self, session: str, chat_id: str, endpoint: str, text: str | None, file_url: str | None
    ) -> web.Response:
        engine = self.config.engine
        wa_id = shapes.new_wa_id(engine, self.rng)
        message_id = f"true_{chat_id}_{wa_id}"
        digits = chat_id.partition("@")[0]
        # The simulated WhatsApp delivers only to real account ids: the 9th-digit trap and
        # unregistered numbers get 201 and a SERVER ack, and nothing more (WAHA #238, #2120).
        delivered = directory_chat_id(digits, self.config.unregistered_suffix) == chat_id
        self.sends.append(
            AcceptedSend(
                message_id, session, chat_id, endpoint, text, file_url, time.time(), delivered
            )
        )
        self.stats["sends_accepted"] += 1
        self._schedule_acks(session, message_id, chat_id, wa_id, text or "", delivered)
        answer = shapes.send_response(
            engine,
            chat_id=chat_id,
            wa_id=wa_id,
            me=self.config.me_id,
            text=text,
            now_s=int(time.time()),
        )
        return web.json_response(answer, status=201)

    def _schedule_acks(
        self, session: str, message_id: str, chat_id: str, wa_id: str, body: str, delivered: bool
    ) -> None:
        server_s, device_s, read_s = self.config.ack_delays_s
        plan: list[tuple[float, Ack]] = [(server_s, Ack.SERVER)]
        read = delivered and self.rng.random() < self.config.read_rate
        if delivered:
            plan.append((device_s, Ack.DEVICE))
        if read:
            plan.append((read_s, Ack.READ))
            if self.faults.out_of_order_rate > 0 and self.rng.random() < (
                self.faults.out_of_order_rate
            ):
                # READ overtakes DEVICE, as WAHA's acks may (WAHA_API.md, Duplicates item 5).
                plan[1], plan[2] = (plan[2][0], Ack.DEVICE), (plan[1][0], Ack.READ)
                self.stats["acks_out_of_order"] += 1
        for delay, ack in plan:
            payload = shapes.ack_payload(
                self.config.engine,
                message_id=message_id,
                chat_id=chat_id,
                wa_id=wa_id,
                me=self.config.me_id,
                ack=ack,
                body=body,
            )
            self._later(delay, self._async_emit, "message.ack", session, payload)
        if read and self.rng.random() < self.config.reply_rate:
            self._later(
                read_s + self.config.reply_delay_s * self.rng.uniform(0.5, 1.5),
                self._reply,
                session,
                chat_id,
            )

    async def _reply(self, session: str, chat_id: str, text: str | None = None) -> None:
        if text is None:
            text = debtor_reply(self.rng, datetime.now(UTC).date()).text
        payload = shapes.inbound_payload(
            self.config.engine,
            chat_id=chat_id,
            wa_id=shapes.new_wa_id(self.config.engine, self.rng),
            me=self.config.me_id,
            text=text,
            push_name=self.rng.choice(_NAMES),
            now_s=int(time.time()),
        )
        self.stats["replies"] += 1
        self._emit("message", session, payload)

    async def _chat_action(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        session = self.sessions.get(body["session"])
        if session is None:
            return self._unknown_session(body["session"])
        if session.status != "WORKING":
            return self._not_working(session)
        self.stats[request.path.rsplit("/", 1)[-1]] += 1
        if request.path == "/api/sendSeen":
            return web.json_response({}, status=201)
        return web.Response(status=201)

    async def _check_exists(self, request: web.Request) -> web.Response:
        phone = request.query.get("phone", "")
        name = request.query.get("session", "default")
        session = self.sessions.get(name)
        if session is None:
            return self._unknown_session(name)
        if session.status != "WORKING":
            return self._not_working(session)
        digits = "".join(c for c in phone if c.isdigit())
        if not digits:
            return _nest_error(400, ["phone must be a phone number"], "Bad Request")
        self.stats["check_exists"] += 1
        chat_id = directory_chat_id(digits, self.config.unregistered_suffix)
        if chat_id is None:
            return web.json_response({"numberExists": False})
        return web.json_response({"numberExists": True, "chatId": chat_id})

    # --- webhooks -----------------------------------------------------------------------------

    async def _async_emit(self, event: str, session: str, payload: dict[str, Any]) -> None:
        self._emit(event, session, payload)

    def _emit(self, event: str, session: str, payload: dict[str, Any]) -> None:
        if event not in self.config.webhook_events and "*" not in self.config.webhook_events:
            return
        now = _now_ms()
        state = self.sessions.get(session)
        body = orjson.dumps(
            shapes.envelope(
                event_id=shapes.new_event_id(self.rng, now),
                event=event,
                session=session,
                engine=self.config.engine,
                payload=payload,
                me=self._me() if state is not None and state.status == "WORKING" else None,
                now_ms=now,
            )
        )
        self.webhook_log.append(body)
        self.stats[f"emitted_{event}"] += 1
        if self.config.webhook_url is None:
            return
        if self.faults.drop_rate > 0 and self.rng.random() < self.faults.drop_rate:
            self.stats["webhooks_dropped"] += 1
            return
        copies = 1
        if self.faults.duplicate_rate > 0 and self.rng.random() < self.faults.duplicate_rate:
            copies = 2
            self.stats["webhooks_duplicated"] += 1
        for _ in range(copies):
            self._spawn(self._deliver(body))

    async def _deliver(self, body: bytes) -> None:
        url = self.config.webhook_url
        assert url is not None
        delays = retry_delays(
            self.config.retry_policy,
            self.config.retry_delay_s,
            self.config.retry_attempts,
            self.rng,
        )
        for attempt in range(len(delays) + 1):
            if attempt:
                await asyncio.sleep(delays[attempt - 1])
                self.stats["webhook_retries"] += 1
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"WAHA/{shapes.VERSION}",
                "X-Webhook-Request-Id": shapes.new_event_id(self.rng).removeprefix("evt_"),
                "X-Webhook-Timestamp": str(_now_ms()),
            }
            if self.config.hmac_key:
                headers[SIGNATURE_HEADER] = sign_body(self.config.hmac_key, body)
                headers[ALGORITHM_HEADER] = ALGORITHM
            try:
                async with (
                    self._deliveries,
                    self._client().post(url, data=body, headers=headers) as answer,
                ):
                    await answer.read()
                    if 200 <= answer.status < 300:
                        self.stats["webhooks_delivered"] += 1
                        return
                    self.stats[f"webhook_http_{answer.status}"] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.stats["webhook_network_errors"] += 1
                log.debug("webhook_attempt_failed", error=str(exc))
        self.stats["webhooks_given_up"] += 1

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout_s)
            )
        return self._http

    # --- test control -------------------------------------------------------------------------

    async def _sim_sends(self, request: web.Request) -> web.Response:
        return web.json_response({"sends": [s.as_dict() for s in self.sends]})

    async def _sim_stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "stats": dict(self.stats),
                "sessions": {n: s.status for n, s in self.sessions.items()},
                "faults": self.faults.as_dict(time.monotonic()),
                "pending_tasks": len(self._tasks),
            }
        )

    async def _sim_webhooks(self, request: web.Request) -> web.Response:
        bodies = b",".join(self.webhook_log)
        return web.Response(body=b"[" + bodies + b"]", content_type="application/json")

    async def _sim_faults(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                values = orjson.loads(await request.read())
                if not isinstance(values, dict):
                    raise ValueError("expected a JSON object")
                self.faults.update(values, time.monotonic())
            except (ValueError, TypeError) as exc:
                return _nest_error(400, [str(exc)], "Bad Request")
        return web.json_response(self.faults.as_dict(time.monotonic()))

    async def _sim_session_status(self, request: web.Request) -> web.Response:
        name = request.match_info["session"]
        try:
            values = orjson.loads(await request.read())
            status = str(values["status"])
            for_s = float(values.get("for_s") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            return _nest_error(400, [f"expected {{status, for_s?}}: {exc}"], "Bad Request")
        previous = self.sessions[name].status if name in self.sessions else "WORKING"
        self.set_status(name, status)
        if for_s > 0:
            self._later(for_s, self._async_status, name, previous)
        return web.json_response({"name": name, "status": status})

    async def _sim_inbound(self, request: web.Request) -> web.Response:
        try:
            values = orjson.loads(await request.read())
            session = str(values.get("session") or "default")
            chat_id = str(values["chat_id"])
            text = values.get("text")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _nest_error(400, [f"expected {{session, chat_id, text?}}: {exc}"], "Bad Request")
        await self._reply(session, chat_id, text if isinstance(text, str) else None)
        return web.json_response({"ok": True}, status=201)

    async def _sim_reset(self, request: web.Request) -> web.Response:
        self.sends.clear()
        self.stats.clear()
        self.webhook_log.clear()
        self.faults.fail_sends_until = 0.0
        return web.json_response({"ok": True})
