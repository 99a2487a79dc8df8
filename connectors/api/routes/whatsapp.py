"""A tenant's WhatsApp sessions, from WAHA's own API: status, the QR code to pair a number,
start and stop."""

from __future__ import annotations

from aiohttp import web

from connectors.api.http import WHATSAPP, Route, answer
from streams.domain.identity import Permission

__all__ = ["ROUTES"]

_SESSION = "/v1/tenants/{tenant}/whatsapp/sessions/{session}"


async def list_sessions(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    sessions = await request.app[WHATSAPP].sessions(tenant)
    return answer({"tenant": tenant, "sessions": sessions})


async def pairing_qr(request: web.Request) -> web.Response:
    tenant, session = request.match_info["tenant"], request.match_info["session"]
    mimetype, data = await request.app[WHATSAPP].pairing_qr(tenant, session)
    return answer({"session": session, "mimetype": mimetype, "data": data})


async def start_session(request: web.Request) -> web.Response:
    tenant, session = request.match_info["tenant"], request.match_info["session"]
    return answer(await request.app[WHATSAPP].start(tenant, session))


async def stop_session(request: web.Request) -> web.Response:
    tenant, session = request.match_info["tenant"], request.match_info["session"]
    return answer(await request.app[WHATSAPP].stop(tenant, session))


ROUTES = (
    Route(
        "GET",
        "/v1/tenants/{tenant}/whatsapp/sessions",
        "listSessions",
        list_sessions,
        permission=Permission.SESSIONS_READ,
    ),
    Route(
        "GET", f"{_SESSION}/qr", "getPairingQr", pairing_qr, permission=Permission.SESSIONS_MANAGE
    ),
    Route(
        "POST",
        f"{_SESSION}/start",
        "startSession",
        start_session,
        permission=Permission.SESSIONS_MANAGE,
        changes_state=True,
        target="session",
    ),
    Route(
        "POST",
        f"{_SESSION}/stop",
        "stopSession",
        stop_session,
        permission=Permission.SESSIONS_MANAGE,
        changes_state=True,
        target="session",
    ),
)
