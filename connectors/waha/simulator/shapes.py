"""What the simulated WAHA writes: send answers per engine, webhook envelopes and payloads.

Pure functions over plain values. The shapes follow shared/waha (WAHA_API.md and the fixtures):
a send answers with the engine's raw object (WEBJS `id._serialized`, NOWEB Baileys `key`, GOWS
`id` string); acks are the whole message on WEBJS and the minimum on NOWEB/GOWS, whose `from` is
the chat; envelopes carry `id` (`evt_` + ULID), `timestamp` (ms), `me`, `engine`, `environment`.
The tests read every envelope back through `connectors.waha.wire`, so the simulator cannot drift
from the parser the product uses.
"""

from __future__ import annotations

import hashlib
import random
import struct
import time
import zlib
from typing import Any, Final

from streams.domain.normalized import Ack

__all__ = [
    "ENGINES",
    "VERSION",
    "ack_payload",
    "envelope",
    "inbound_payload",
    "new_event_id",
    "new_wa_id",
    "send_response",
    "session_status_payload",
    "whatsapp_jid",
]

VERSION: Final = "2026.7.1"
ENGINES: Final = ("WEBJS", "NOWEB", "GOWS")
_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"
_BROWSERS: Final = {"WEBJS": "/usr/bin/chromium", "NOWEB": None, "GOWS": None}


def new_event_id(rng: random.Random, now_ms: int | None = None) -> str:
    """`evt_` + a lowercase ULID: 48 bits of milliseconds, 80 random bits, Crockford base32."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "evt_" + "".join(reversed(chars))


def new_wa_id(engine: str, rng: random.Random) -> str:
    """A WhatsApp message id in the style the engine shows (upper-case hex)."""
    if engine == "GOWS":
        return f"{rng.getrandbits(128):032X}"
    return "3EB0" + f"{rng.getrandbits(72):018X}"


def whatsapp_jid(chat_id: str) -> str:
    """`<digits>@c.us` as WhatsApp itself writes it (NOWEB/GOWS `_data`): `@s.whatsapp.net`."""
    user, _, server = chat_id.partition("@")
    return f"{user}@s.whatsapp.net" if server == "c.us" else chat_id


def send_response(
    engine: str, *, chat_id: str, wa_id: str, me: str, text: str | None, now_s: int
) -> dict[str, Any]:
    """The 201 body of sendText/sendImage/sendFile for `engine`."""
    serialized = f"true_{chat_id}_{wa_id}"
    if engine == "NOWEB":
        return {
            "key": {"remoteJid": whatsapp_jid(chat_id), "fromMe": True, "id": wa_id},
            "message": {"extendedTextMessage": {"text": text or ""}},
            "messageTimestamp": str(now_s),
            "status": "PENDING",
        }
    if engine == "GOWS":
        return {
            "id": serialized,
            "_data": {
                "Info": {
                    "Chat": whatsapp_jid(chat_id),
                    "Sender": whatsapp_jid(me),
                    "IsFromMe": True,
                    "ID": wa_id,
                    "Timestamp": now_s,
                }
            },
        }
    return {
        "id": {"fromMe": True, "remote": chat_id, "id": wa_id, "_serialized": serialized},
        "ack": int(Ack.PENDING),
        "body": text or "",
        "from": me,
        "to": chat_id,
        "fromMe": True,
        "timestamp": now_s,
        "hasMedia": False,
        "_data": {"id": {"fromMe": True, "remote": chat_id, "id": wa_id}, "ack": 0},
    }


def ack_payload(
    engine: str, *, message_id: str, chat_id: str, wa_id: str, me: str, ack: Ack, body: str
) -> dict[str, Any]:
    """The payload of `message.ack` for one of our sends (fixtures 07, 08, 11, 12)."""
    if engine == "WEBJS":
        return {
            "id": message_id,
            "from": me,
            "fromMe": True,
            "source": "api",
            "to": chat_id,
            "body": body,
            "hasMedia": False,
            "media": None,
            "ack": int(ack),
            "ackName": ack.name,
            "vCards": [],
            "_data": {
                "id": {"fromMe": True, "remote": chat_id, "id": wa_id, "_serialized": message_id},
                "from": me,
                "to": chat_id,
                "author": me,
                "ack": int(ack),
            },
        }
    data: dict[str, Any] = {
        "Chat": whatsapp_jid(chat_id),
        "Sender": whatsapp_jid(chat_id),
        "IsFromMe": False,
        "IsGroup": False,
        "MessageIDs": [wa_id],
        "Type": "read" if ack >= Ack.READ else "",
    }
    if engine == "NOWEB":
        data = {
            "key": {"remoteJid": whatsapp_jid(chat_id), "fromMe": True, "id": wa_id},
            "update": {"status": int(ack) + 1},
        }
    return {
        "id": message_id,
        "from": chat_id,
        "to": None,
        "participant": None,
        "fromMe": True,
        "ack": int(ack),
        "ackName": ack.name,
        "_data": data,
    }


def inbound_payload(
    engine: str,
    *,
    chat_id: str,
    wa_id: str,
    me: str,
    text: str,
    push_name: str,
    now_s: int,
) -> dict[str, Any]:
    """The payload of `message` for a text a contact wrote (fixture 01)."""
    message_id = f"false_{chat_id}_{wa_id}"
    if engine == "WEBJS":
        data: dict[str, Any] = {
            "id": {"fromMe": False, "remote": chat_id, "id": wa_id, "_serialized": message_id},
            "body": text,
            "type": "chat",
            "t": now_s,
            "notifyName": push_name,
            "from": chat_id,
            "to": me,
            "self": "in",
            "ack": 1,
            "isNewMsg": True,
        }
        to: str | None = me
    elif engine == "NOWEB":
        data = {
            "key": {"remoteJid": whatsapp_jid(chat_id), "fromMe": False, "id": wa_id},
            "message": {"conversation": text},
            "messageTimestamp": now_s,
            "pushName": push_name,
        }
        to = me
    else:
        data = {
            "Info": {
                "Chat": whatsapp_jid(chat_id),
                "Sender": whatsapp_jid(chat_id),
                "IsFromMe": False,
                "IsGroup": False,
                "ID": wa_id,
                "PushName": push_name,
                "Timestamp": now_s,
            },
            "Message": {"conversation": text},
        }
        to = None
    return {
        "id": message_id,
        "timestamp": now_s,
        "from": chat_id,
        "fromMe": False,
        "source": "app",
        "to": to,
        "participant": None,
        "body": text,
        "hasMedia": False,
        "media": None,
        "ack": int(Ack.DEVICE) if engine != "WEBJS" else int(Ack.SERVER),
        "ackName": Ack.DEVICE.name if engine != "WEBJS" else Ack.SERVER.name,
        "vCards": [] if engine == "WEBJS" else None,
        "replyTo": None,
        "_data": data,
    }


def session_status_payload(
    name: str, status: str, history: list[tuple[str, int]]
) -> dict[str, Any]:
    """`session.status`: the status and the last three points of its history (ms)."""
    return {
        "name": name,
        "status": status,
        "statuses": [{"status": s, "timestamp": ms} for s, ms in history[-3:]],
        "data": None,
    }


def envelope(
    *,
    event_id: str,
    event: str,
    session: str,
    engine: str,
    payload: dict[str, Any],
    me: dict[str, Any] | None,
    now_ms: int,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A webhook body around `payload`, as WAHA sends it (WAHA_API.md, section 6: Envelope)."""
    return {
        "id": event_id,
        "timestamp": now_ms,
        "event": event,
        "session": session,
        "metadata": metadata or {},
        "me": me,
        "payload": payload,
        "engine": engine,
        "environment": {
            "version": VERSION,
            "engine": engine,
            "tier": "CORE",
            "browser": _BROWSERS.get(engine),
            "worker": {"id": "waha-sim"},
        },
    }


def qr_png(value: str) -> bytes:
    """A small grayscale PNG standing for a pairing QR: one row per byte of `value`'s SHA-256,
    each pixel a bit. Not a scannable QR code; it is a real PNG the console can show."""
    digest = hashlib.sha256(value.encode()).digest()
    rows = b"".join(
        b"\x00" + bytes(255 if byte >> bit & 1 else 0 for bit in range(8)) for byte in digest
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 8, len(digest), 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
