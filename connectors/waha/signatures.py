"""WAHA webhook signatures: HMAC-SHA512 over the raw request body.

With `"hmac": {"key": ...}` in a session's webhook config (or `WHATSAPP_HOOK_HMAC_KEY`), WAHA sends

    X-Webhook-Hmac: hex(HMAC-SHA512(key, raw body bytes))
    X-Webhook-Hmac-Algorithm: sha512

The signature covers the body only, not `X-Webhook-Timestamp`, so it proves who sent the body but
not when: replays are stopped by deduplication on the envelope id, not here. Verify the exact
bytes received, before any JSON parsing; a re-serialised body does not match.

Pure: no I/O. The receiver maps `InvalidSignature` to 401; `WahaCallbackReceived.headers` can be
checked again later with the same function.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

from connectors.waha.errors import InvalidSignature

__all__ = [
    "ALGORITHM",
    "ALGORITHM_HEADER",
    "SIGNATURE_HEADER",
    "check_signature",
    "sign_body",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "X-Webhook-Hmac"
ALGORITHM_HEADER: Final = "X-Webhook-Hmac-Algorithm"
#: The only algorithm WAHA uses; the algorithm header, when present, must name it.
ALGORITHM: Final = "sha512"


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def sign_body(key: str | bytes, raw_body: bytes) -> str:
    """The `X-Webhook-Hmac` value WAHA sends for `raw_body`: lowercase hex HMAC-SHA512."""
    # hmac.digest is the one-shot C path: several times cheaper than an HMAC object per call.
    return hmac.digest(_key_bytes(key), raw_body, hashlib.sha512).hex()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, ignoring case (aiohttp headers do; a dict of stored headers may not)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def check_signature(key: str | bytes, raw_body: bytes, headers: Mapping[str, str]) -> None:
    """Raise `InvalidSignature` unless `headers` carry a valid WAHA signature of `raw_body`.

    The comparison takes constant time. A missing algorithm header is accepted (sha512 is the
    only one WAHA has); any other algorithm is refused. Upper-case hex is accepted.
    """
    algorithm = _header(headers, ALGORITHM_HEADER)
    if algorithm is not None and algorithm.strip().lower() != ALGORITHM:
        raise InvalidSignature(
            f"{ALGORITHM_HEADER} is {algorithm!r}; only {ALGORITHM!r} is supported"
        )
    signature = _header(headers, SIGNATURE_HEADER)
    if signature is None or not signature.strip():
        raise InvalidSignature(
            f"no {SIGNATURE_HEADER} header (is HMAC configured on the session's webhook?)"
        )
    provided = signature.strip().lower()
    expected = sign_body(key, raw_body)
    # compare_digest refuses non-ASCII str; such a header cannot be a hex digest anyway.
    if not provided.isascii() or not hmac.compare_digest(expected, provided):
        raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the body")


def verify_signature(key: str | bytes, raw_body: bytes, headers: Mapping[str, str]) -> bool:
    """True when `headers` carry a valid WAHA signature of `raw_body` (see `check_signature`)."""
    try:
        check_signature(key, raw_body, headers)
    except InvalidSignature:
        return False
    return True
