"""API keys: a tenant's own systems act with a key that carries scopes.

A key's secret is 256 random bits (made in the API's adapter), so a plain SHA-256 identifies
it: nobody can enumerate the space, and a slow password hash would only cost CPU per request.
Only the hash is ever recorded. Keys of the old imports keys file (`sha256:<hex>` lines) are the
same hashes, so migrating them keeps every client's key working.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from schemas.events import ApiKeyChanged, new_header
from streams.domain.errors import IdentityConflict, InvalidIdentity
from streams.domain.identity.access import Permission

__all__ = ["HASH_PREFIX", "ApiKey", "issue_key", "key_hash", "revoke_key"]

SOURCE: Final = "api.identity"
HASH_PREFIX: Final = "sha256:"


def key_hash(secret: str) -> str:
    """`sha256:<hex>` of a presented key: what is stored, and what a request is looked up by."""
    return HASH_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as the identity topic last recorded it."""

    key_id: str
    tenant: str
    name: str
    key_hash: str
    scopes: frozenset[Permission]
    revoked: bool

    @classmethod
    def of(cls, event: ApiKeyChanged) -> ApiKey:
        return cls(
            key_id=event.key_id,
            tenant=event.tenant,
            name=event.name,
            key_hash=event.key_hash,
            scopes=frozenset(Permission(name) for name in event.scopes),
            revoked=event.revoked,
        )


def _event(key: ApiKey, change: str, actor: str, now: datetime) -> ApiKeyChanged:
    return ApiKeyChanged(
        header=new_header(
            "ApiKeyChanged",
            tenant_id=key.tenant,
            correlation_id=key.key_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=now,
        ),
        key_id=key.key_id,
        change=change,
        tenant=key.tenant,
        name=key.name,
        key_hash=key.key_hash,
        actor=actor,
        scopes=sorted(scope.value for scope in key.scopes),
        revoked=key.revoked,
    )


def issue_key(
    key_id: str,
    tenant: str,
    name: str,
    scopes: Iterable[Permission],
    hashed: str,
    *,
    actor: str,
    now: datetime,
) -> ApiKeyChanged:
    """A new key for `tenant`; `scopes` were parsed with `access.parse_scopes`."""
    granted = frozenset(scopes)
    if not granted:
        raise InvalidIdentity("a key needs at least one scope", "scopes")
    label = name.strip()
    if not label or len(label) > 200:
        raise InvalidIdentity("a key needs a name of 1 to 200 characters", "name")
    return _event(ApiKey(key_id, tenant, label, hashed, granted, False), "issued", actor, now)


def revoke_key(key: ApiKey, *, actor: str, now: datetime) -> ApiKeyChanged:
    if key.revoked:
        raise IdentityConflict(f"key {key.key_id} is already revoked", "key")
    return _event(
        ApiKey(key.key_id, key.tenant, key.name, key.key_hash, key.scopes, True),
        "revoked",
        actor,
        now,
    )
