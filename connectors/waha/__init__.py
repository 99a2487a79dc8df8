"""WAHA (WhatsApp HTTP API): the wire format, webhook signatures and normalization.

`wire` is the only module that knows WAHA's JSON; `signatures` checks `X-Webhook-Hmac`;
`normalize` turns an envelope into the normalized values of streams/domain/normalized.py and
answers what the normalizer's rules ask of WAHA's format. All three are pure (no I/O).

The function `normalize.normalize` is deliberately not re-exported here: the name would shadow the
`connectors.waha.normalize` module. Import it from the module.
"""

from __future__ import annotations

from connectors.waha.errors import (  # calls to WAHA's API (client.py)
    InvalidSignature,
    ReceiverConfigError,
    SimulatorDidNotStart,
    WahaCallError,
    WahaError,
    WahaPermanentError,
    WahaRateLimited,
    WahaSessionNotWorking,
    WahaTransientError,
    WahaUnauthorized,
    WahaWireError,
)
from connectors.waha.normalize import dedup_keys, normalize_body
from connectors.waha.signatures import check_signature, sign_body, verify_signature
from connectors.waha.wire import (
    WebhookEnvelope,
    canonical_jid,
    decode_envelope,
    link_key,
    message_id_from_send_response,
    parse_message_id,
)

__all__ = [
    "InvalidSignature",
    "ReceiverConfigError",
    "SimulatorDidNotStart",
    "WahaCallError",
    "WahaError",
    "WahaPermanentError",
    "WahaRateLimited",
    "WahaSessionNotWorking",
    "WahaTransientError",
    "WahaUnauthorized",
    "WahaWireError",
    "WebhookEnvelope",
    "canonical_jid",
    "check_signature",
    "decode_envelope",
    "dedup_keys",
    "link_key",
    "message_id_from_send_response",
    "normalize_body",
    "parse_message_id",
    "sign_body",
    "verify_signature",
]
