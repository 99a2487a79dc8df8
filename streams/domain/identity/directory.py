"""The identity topic folded into lookups: accounts by id and email, keys by hash, login
families, locked addresses.

Every API replica holds one, fed by its own writes and by everything it reads back from
`cobranca.identity`. Each event carries its entity whole, so applying one replaces the entity;
an event older than what is held (a replica reading back its own write after a newer one from
another replica) is ignored. Applying an event twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from schemas.events import (
    AddressLocked,
    ApiKeyChanged,
    Event,
    RefreshFamilyChanged,
    UserChanged,
)
from streams.domain.identity.accounts import Account
from streams.domain.identity.keys import ApiKey
from streams.domain.identity.logins import RefreshFamily

__all__ = ["IdentityDirectory", "record_key"]


def record_key(event: Event) -> str:
    """The identity topic's key for an event: one key per entity, which compaction keeps."""
    if isinstance(event, UserChanged):
        return f"user:{event.user_id}"
    if isinstance(event, ApiKeyChanged):
        return f"key:{event.key_id}"
    if isinstance(event, RefreshFamilyChanged):
        return f"refresh:{event.family_id}"
    if isinstance(event, AddressLocked):
        return f"address:{event.address}"
    raise TypeError(f"{type(event).__name__} is not an identity event")


class IdentityDirectory:
    """Lookups over the identity topic; `apply` is the fold."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._by_email: dict[str, str] = {}
        self._keys: dict[str, ApiKey] = {}
        self._by_hash: dict[str, str] = {}
        self._families: dict[str, RefreshFamily] = {}
        self._addresses: dict[str, datetime] = {}

    def apply(self, event: Event) -> None:
        if isinstance(event, UserChanged):
            held = self._accounts.get(event.user_id)
            if held is None or event.version > held.version:
                account = Account.of(event)
                self._accounts[account.user_id] = account
                self._by_email[account.email] = account.user_id
        elif isinstance(event, ApiKeyChanged):
            kept = self._keys.get(event.key_id)
            if kept is None or not kept.revoked:
                key = ApiKey.of(event)
                self._keys[key.key_id] = key
                self._by_hash[key.key_hash] = key.key_id
        elif isinstance(event, RefreshFamilyChanged):
            family = self._families.get(event.family_id)
            if family is None or (not family.revoked and event.generation > family.generation):
                self._families[event.family_id] = RefreshFamily.of(event)
        elif isinstance(event, AddressLocked):
            until = self._addresses.get(event.address)
            if until is None or event.locked_until > until:
                self._addresses[event.address] = event.locked_until

    def account(self, user_id: str) -> Account | None:
        return self._accounts.get(user_id)

    def account_by_email(self, email: str) -> Account | None:
        user_id = self._by_email.get(email)
        return None if user_id is None else self._accounts.get(user_id)

    def accounts(self, tenant: str | None = None) -> Iterator[Account]:
        """Every account, or a tenant's, ordered by email."""
        for account in sorted(self._accounts.values(), key=lambda a: a.email):
            if tenant is None or account.tenant == tenant:
                yield account

    def key(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    def key_by_hash(self, hashed: str) -> ApiKey | None:
        key_id = self._by_hash.get(hashed)
        return None if key_id is None else self._keys.get(key_id)

    def api_keys(self, tenant: str | None = None) -> Iterator[ApiKey]:
        for key in sorted(self._keys.values(), key=lambda k: k.key_id):
            if tenant is None or key.tenant == tenant:
                yield key

    def family(self, family_id: str) -> RefreshFamily | None:
        return self._families.get(family_id)

    def families_of(self, user_id: str) -> Iterator[RefreshFamily]:
        return (f for f in self._families.values() if f.user_id == user_id)

    def address_locked_until(self, address: str) -> datetime | None:
        return self._addresses.get(address)

    def platform_admins(self) -> int:
        return sum(1 for a in self._accounts.values() if a.tenant is None and a.active)
