"""What of an event may reach the analytics tables, field by field (LGPD).

Phone numbers and CPF/CNPJ never reach ClickHouse in clear: they are replaced by a keyed
pseudonym (HMAC-SHA256 with COBRANCA_PSEUDONYM_KEY), stable across batches, processes and
replays, so analysts can still count, join and trace per person without seeing who it is.
Everything that identifies a phone is pseudonymized the same way: a WhatsApp chat id
`5511987654321@c.us` gets the pseudonym of `+5511987654321`, so a chat joins to the debtor's
phone. Free-text diagnostics are masked (`streams.base.logs.mask`); names, e-mail addresses, message
texts and raw bodies are left out (the Kafka log keeps them for auditors). For the API's debtor
search, the sink also derives, from a ClientImported's name and phone, the keyed hashes of the
name's 3-letter pieces and the phone's last four digits (`raw_tables._DERIVED`, migration 0015);
the name and the phone themselves stay out as this policy says.

`FIELD_POLICY` classifies every field of every event schema; a test fails when a schema gains a
field nobody classified, and at run time an unclassified field is left out (fail closed).

The sink applies these rules in SQL, inside its inserts (`raw_tables.py`, ADR 0012), with the
same HMAC; `Pseudonymizer` is the reference the SQL is tested against, and what `cobranca trace`
uses to find a phone's pseudonym.

Pure: no I/O beyond reading the key from the environment.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from typing import Any, Final

from streams.base.logs import mask

__all__ = [
    "DEV_PSEUDONYM_KEY",
    "FIELD_POLICY",
    "HEADER_FIELDS",
    "Policy",
    "Pseudonymizer",
    "pseudonym_key",
]

DEV_PSEUDONYM_KEY: Final = b"cobranca-local-development-only"
_CACHE_LIMIT = 1_000_000


class Policy(enum.Enum):
    """What happens to one event field on its way into an analytics table."""

    KEEP = "keep"
    """Not personal: ids, amounts, dates, codes, counts."""
    PHONE = "phone"
    """A phone number or a WhatsApp id that contains one: pseudonym of the phone."""
    PSEUDONYM = "pseudonym"
    """Personal, or embeds a phone (a CPF/CNPJ, a WAHA message id): pseudonym of the value."""
    MASK = "mask"
    """Free-text diagnostics: phone- and document-looking runs masked (`streams.base.logs`)."""
    DROP = "drop"
    """Personal content analytics has no use for: left out."""


HEADER_FIELDS: Final = frozenset(
    {
        "event_id",
        "event_type",
        "schema_version",
        "tenant_id",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "source",
    }
)
"""The envelope's fields are kept as they are, except a correlation id that is a WhatsApp id
(a conversation's), which gets its phone's pseudonym: see `Pseudonymizer.correlation`."""

FIELD_POLICY: Final[Mapping[str, Policy]] = {
    # identities: pseudonymized
    "phone_e164": Policy.PHONE,
    "sender": Policy.PHONE,
    "chat_id": Policy.PHONE,
    "chat_key": Policy.PHONE,
    "document": Policy.PSEUDONYM,
    "waha_message_id": Policy.PSEUDONYM,
    # free-text diagnostics: masked
    "message": Policy.MASK,
    "detail": Policy.MASK,
    "error": Policy.MASK,
    "reference": Policy.MASK,
    # personal content: dropped
    "name": Policy.DROP,
    "email": Policy.DROP,
    "description": Policy.DROP,
    "pix_code": Policy.DROP,
    "boleto_line": Policy.DROP,
    "payment_url": Policy.DROP,
    "raw_row": Policy.DROP,
    "text": Policy.DROP,
    "body": Policy.DROP,
    "file_url": Policy.DROP,
    "file_name": Policy.DROP,
    "headers": Policy.DROP,
    "remote": Policy.DROP,
    "original": Policy.DROP,
    "key": Policy.DROP,
    "sessions": Policy.DROP,
    "source_file": Policy.DROP,
    "steps": Policy.DROP,
    "operator": Policy.DROP,
    "note": Policy.DROP,
    # secrets of the API's identity (only hashes, never useful to analytics) and client addresses
    "password_hash": Policy.DROP,
    "invite_hash": Policy.DROP,
    "token_hash": Policy.DROP,
    "key_hash": Policy.DROP,
    "address": Policy.DROP,
    # tenant webhooks: the signing secret, and URLs (they may carry a receiver's token)
    "secret": Policy.DROP,
    "url": Policy.DROP,
    # everything else the schemas carry: not personal
    **{
        name: Policy.KEEP
        for name in (
            "import_id",
            "row",
            "client_id",
            "document_kind",
            "amount_centavos",
            "due_date",
            "invoice_id",
            "uf",
            "reason",
            "field",
            "rows",
            "accepted",
            "rejected",
            "by_reason",
            "incomplete",
            "request_id",
            "kind",
            "file_mimetype",
            "batch_id",
            "recipients",
            "step",
            "session",
            "price_tokens",
            "balance_after",
            "until",
            "credit_id",
            "amount",
            "balance",
            "threshold",
            "attempt",
            "retryable",
            "status_code",
            "received_at",
            "is_group",
            "from_me",
            "has_media",
            "timestamp",
            "media_mimetype",
            "ack",
            "ack_name",
            "status",
            "previous",
            "waha_event_id",
            "label",
            "classified_label",
            "confidence",
            "model_version",
            "promised_date",
            "intent",
            "topic",
            "partition",
            "offset",
            "error_type",
            "hash",
            "prev_hash",
            "debt_key",
            "config_digest",
            "display_name",
            "allow_landlines",
            "require_document",
            "prices",
            "low_balance_threshold",
            "state_holidays",
            "default_windows",
            "uf_windows",
            "opted_out",
            "wrong_number",
            "open_handoff",
            "handoff_id",
            "resume",
            "user_id",
            "change",
            "version",
            "actor",
            "roles",
            "tenant",
            "invite_expires_at",
            "locked_until",
            "key_id",
            "scopes",
            "revoked",
            "family_id",
            "generation",
            "expires_at",
            "failures",
            "request_id",
            "operation",
            "method",
            "path",
            "target",
            "subscription_id",
            "kinds",
            "active",
            "source_event_id",
            "source_event_type",
            "delivered",
            "event_occurred_at",
            "next_attempt_at",
            "attempts",
        )
    },
}

# WhatsApp ids that are a phone number: `5511987654321@c.us`, `5511987654321@s.whatsapp.net`.
_PHONE_CHAT_RE = re.compile(r"^\+?(\d{8,15})(?:@(?:c\.us|s\.whatsapp\.net))?$")


def pseudonym_key(env: Mapping[str, str] | None = None) -> bytes:
    """The key for pseudonyms (COBRANCA_PSEUDONYM_KEY); a fixed development key when unset."""
    key = (os.environ if env is None else env).get("COBRANCA_PSEUDONYM_KEY")
    return key.encode() if key else DEV_PSEUDONYM_KEY


class Pseudonymizer:
    """Applies `FIELD_POLICY` to events, with the HMACs of recent values cached.

    Not thread-safe for concurrent writers of the cache; use one per thread or task.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._cache: dict[str, str] = {}
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def pseudonym(self, value: str) -> str:
        """`p:` and 24 hex digits of HMAC-SHA256(key, value)."""
        cached = self._cache.get(value)
        if cached is None:
            digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
            cached = f"p:{digest[:24]}"
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[value] = cached
        return cached

    def phone(self, value: str) -> str:
        """The pseudonym of the phone in `value` (E.164 or a one-to-one chat id); ids that hold
        no phone (groups, LIDs) get the pseudonym of the whole id."""
        match = _PHONE_CHAT_RE.match(value)
        return self.pseudonym(f"+{match.group(1)}" if match else value)

    def correlation(self, value: str) -> str:
        """A correlation id passes unchanged unless it is a WhatsApp id, which names a phone."""
        return self.phone(value) if "@" in value or value.startswith("+") else value

    def redact(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The event's own fields as analytics may store them (header excluded)."""
        names = tuple(fields)
        plan = self._plans.get(names)
        if plan is None:
            plan = self._plans[names] = _plan(names)
        drop, phones, pseudonyms, masked = plan
        out = dict(fields)
        for name in drop:
            del out[name]
        for name in phones:
            if out[name] is not None:
                out[name] = self.phone(out[name])
        for name in pseudonyms:
            if out[name] is not None:
                out[name] = self.pseudonym(out[name])
        for name in masked:
            if out[name] is not None:
                out[name] = mask(out[name])
        return out


_Plan = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _plan(names: tuple[str, ...]) -> _Plan:
    """For one shape of event (its field names): what to drop, pseudonymize and mask."""

    def having(policy: Policy) -> tuple[str, ...]:
        return tuple(n for n in names if FIELD_POLICY.get(n, Policy.DROP) is policy)

    return having(Policy.DROP), having(Policy.PHONE), having(Policy.PSEUDONYM), having(Policy.MASK)
