"""Logins that last: refresh-token families, rotated on every use, revoked as a whole on reuse.

A login opens a *family*. Its refresh token is `<family_id>.<secret>`; only the SHA-256 of the
current secret is recorded. Each refresh spends the token and records the next one, so a token
works once. A token that was already spent means it was copied: the thief or the user has the
other copy, and nobody can tell which, so the whole family is revoked and both must log in
again (the OAuth 2.0 Security BCP's refresh-token rotation).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from schemas.events import RefreshFamilyChanged, new_header

__all__ = [
    "RefreshCheck",
    "RefreshFamily",
    "check_refresh",
    "open_family",
    "revoke",
    "rotate",
    "secret_hash",
]

SOURCE: Final = "api.identity"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class RefreshCheck(enum.Enum):
    """What a presented refresh token is worth."""

    CURRENT = "current"
    REUSED = "reused"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class RefreshFamily:
    """A login's chain of refresh tokens as the identity topic last recorded it."""

    family_id: str
    user_id: str
    tenant: str
    token_hash: str
    generation: int
    expires_at: datetime
    revoked: bool
    reason: str | None

    @classmethod
    def of(cls, event: RefreshFamilyChanged) -> RefreshFamily:
        return cls(
            family_id=event.family_id,
            user_id=event.user_id,
            tenant=event.header.tenant_id,
            token_hash=event.token_hash,
            generation=event.generation,
            expires_at=event.expires_at,
            revoked=event.revoked,
            reason=event.reason,
        )


def _event(family: RefreshFamily, change: str, now: datetime) -> RefreshFamilyChanged:
    return RefreshFamilyChanged(
        header=new_header(
            "RefreshFamilyChanged",
            tenant_id=family.tenant,
            correlation_id=family.family_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=now,
        ),
        family_id=family.family_id,
        change=change,
        user_id=family.user_id,
        token_hash=family.token_hash,
        generation=family.generation,
        expires_at=family.expires_at,
        revoked=family.revoked,
        reason=family.reason,
    )


def open_family(
    family_id: str, user_id: str, tenant: str, hashed: str, *, lifetime: timedelta, now: datetime
) -> RefreshFamilyChanged:
    """A new login: the first refresh token of a family that lives `lifetime` at most."""
    family = RefreshFamily(family_id, user_id, tenant, hashed, 0, now + lifetime, False, None)
    return _event(family, "issued", now)


def check_refresh(family: RefreshFamily, presented_hash: str, now: datetime) -> RefreshCheck:
    """Whether the presented secret is the family's current one, and the family still usable."""
    if family.revoked:
        return RefreshCheck.REVOKED
    if not hmac.compare_digest(family.token_hash, presented_hash):
        return RefreshCheck.REUSED
    if now >= family.expires_at:
        return RefreshCheck.EXPIRED
    return RefreshCheck.CURRENT


def rotate(family: RefreshFamily, next_hash: str, *, now: datetime) -> RefreshFamilyChanged:
    """Spend the current token; `next_hash` is the one the client gets back."""
    nxt = RefreshFamily(
        family.family_id,
        family.user_id,
        family.tenant,
        next_hash,
        family.generation + 1,
        family.expires_at,
        False,
        None,
    )
    return _event(nxt, "rotated", now)


def revoke(family: RefreshFamily, reason: str, *, now: datetime) -> RefreshFamilyChanged:
    """End the family: `logout`, `reuse` (a spent token came back) or `disabled`."""
    ended = RefreshFamily(
        family.family_id,
        family.user_id,
        family.tenant,
        family.token_hash,
        family.generation + 1,
        family.expires_at,
        True,
        reason,
    )
    return _event(ended, "revoked", now)
