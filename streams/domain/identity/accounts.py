"""User accounts: the rules for inviting, registering, roles, disabling and locking.

Each command takes the account as it stands (or None) and returns the `UserChanged` event that
records the account after the change; `Account.of(event)` is the fold. The events carry the
whole account because they live on a compacted topic. Passwords arrive here already hashed
(argon2id, in the API's adapter); only the length policy is checked on the plain text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from schemas.events import UserChanged, new_header
from streams.domain.errors import IdentityConflict, InvalidIdentity
from streams.domain.identity.access import PLATFORM, Role

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "Account",
    "Status",
    "accept_invite",
    "check_password",
    "create_platform_admin",
    "disable",
    "enable",
    "grant_role",
    "invite",
    "lock",
    "normalize_email",
    "revoke_role",
    "set_password",
    "user_id_for",
]

SOURCE: Final = "api.identity"
PASSWORD_MIN: Final = 12
PASSWORD_MAX: Final = 1024
"""argon2 hashes any length, but a megabyte password per login attempt is a cheap attack."""
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_IDS: Final = uuid.UUID("6f1c2a64-51c9-4c55-9d2f-4a1e3c0b7d21")


class Status:
    """Where an account stands."""

    INVITED: Final = "invited"
    ACTIVE: Final = "active"
    DISABLED: Final = "disabled"


def normalize_email(text: str) -> str:
    """The email as stored and looked up: trimmed, lowercase; InvalidIdentity if it is not one."""
    email = text.strip().lower()
    if len(email) > 254 or _EMAIL.fullmatch(email) is None:
        raise InvalidIdentity(f"{text[:80]!r} is not an email address", "email")
    return email


def user_id_for(email: str) -> str:
    """The account id of a normalized email: the same on every replica, so two replicas that
    invite one address at once write the same key and compaction keeps one account."""
    return str(uuid.uuid5(_IDS, email))


def check_password(password: str) -> None:
    """Refuse a password outside the length policy (InvalidIdentity, field `password`)."""
    if len(password) < PASSWORD_MIN:
        raise InvalidIdentity(f"a password needs at least {PASSWORD_MIN} characters", "password")
    if len(password) > PASSWORD_MAX:
        raise InvalidIdentity(f"a password has at most {PASSWORD_MAX} characters", "password")


@dataclass(frozen=True, slots=True)
class Account:
    """A user account as the identity topic last recorded it."""

    user_id: str
    email: str
    tenant: str | None
    roles: frozenset[Role]
    status: str
    version: int
    password_hash: str | None = None
    invite_hash: str | None = None
    invite_expires_at: datetime | None = None
    locked_until: datetime | None = None

    @classmethod
    def of(cls, event: UserChanged) -> Account:
        return cls(
            user_id=event.user_id,
            email=event.email,
            tenant=event.tenant,
            roles=frozenset(Role(name) for name in event.roles),
            status=event.status,
            version=event.version,
            password_hash=event.password_hash,
            invite_hash=event.invite_hash,
            invite_expires_at=event.invite_expires_at,
            locked_until=event.locked_until,
        )

    @property
    def active(self) -> bool:
        return self.status == Status.ACTIVE

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def _event(account: Account, change: str, actor: str, now: datetime) -> UserChanged:
    return UserChanged(
        header=new_header(
            "UserChanged",
            tenant_id=account.tenant or PLATFORM,
            correlation_id=account.user_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=now,
        ),
        user_id=account.user_id,
        change=change,
        email=account.email,
        version=account.version,
        actor=actor,
        roles=sorted(role.value for role in account.roles),
        tenant=account.tenant,
        status=account.status,
        password_hash=account.password_hash,
        invite_hash=account.invite_hash,
        invite_expires_at=account.invite_expires_at,
        locked_until=account.locked_until,
    )


def _check_roles(tenant: str | None, roles: Iterable[Role]) -> frozenset[Role]:
    held = frozenset(roles)
    if tenant is None and held != {Role.PLATFORM_ADMIN}:
        raise InvalidIdentity("a user without a tenant can only be a platform_admin", "roles")
    if tenant is not None and Role.PLATFORM_ADMIN in held:
        raise InvalidIdentity("platform_admin is not a role within a tenant", "roles")
    if not held:
        raise InvalidIdentity("a user needs at least one role", "roles")
    return held


def _next(
    account: Account, change: str, actor: str, now: datetime, **fields: object
) -> UserChanged:
    return _event(replace(account, version=account.version + 1, **fields), change, actor, now)  # type: ignore[arg-type]


def invite(
    email: str,
    tenant: str | None,
    roles: Iterable[Role],
    *,
    invite_hash: str,
    expires_at: datetime,
    actor: str,
    now: datetime,
    existing: Account | None,
) -> UserChanged:
    """A new account waiting for its first password, set with the invite token."""
    address = normalize_email(email)
    if existing is not None:
        raise IdentityConflict(f"{address} already has an account", "email")
    account = Account(
        user_id=user_id_for(address),
        email=address,
        tenant=tenant,
        roles=_check_roles(tenant, roles),
        status=Status.INVITED,
        version=1,
        invite_hash=invite_hash,
        invite_expires_at=expires_at,
    )
    return _event(account, "invited", actor, now)


def create_platform_admin(
    email: str, password_hash: str, *, actor: str, now: datetime, existing: Account | None
) -> UserChanged:
    """The first (or another) platform admin, active at once (`cobranca users create-admin`)."""
    address = normalize_email(email)
    if existing is not None:
        raise IdentityConflict(f"{address} already has an account", "email")
    account = Account(
        user_id=user_id_for(address),
        email=address,
        tenant=None,
        roles=frozenset({Role.PLATFORM_ADMIN}),
        status=Status.ACTIVE,
        version=1,
        password_hash=password_hash,
    )
    return _event(account, "registered", actor, now)


def accept_invite(account: Account, password_hash: str, *, now: datetime) -> UserChanged:
    """The invited user sets a first password: the account becomes active, the invite is spent.

    The caller has checked the presented token against `account.invite_hash`."""
    if account.status != Status.INVITED or account.invite_expires_at is None:
        raise IdentityConflict("this invite was already used", "token")
    if now >= account.invite_expires_at:
        raise IdentityConflict("this invite has expired; ask for a new one", "token")
    return _next(
        account,
        "registered",
        f"user:{account.user_id}",
        now,
        status=Status.ACTIVE,
        password_hash=password_hash,
        invite_hash=None,
        invite_expires_at=None,
    )


def set_password(account: Account, password_hash: str, *, actor: str, now: datetime) -> UserChanged:
    if account.status == Status.DISABLED:
        raise IdentityConflict(f"{account.email} is disabled", "user")
    return _next(account, "password_set", actor, now, password_hash=password_hash)


def grant_role(account: Account, role: Role, *, actor: str, now: datetime) -> UserChanged:
    if role in account.roles:
        raise IdentityConflict(f"{account.email} already holds {role.value}", "role")
    roles = _check_roles(account.tenant, account.roles | {role})
    return _next(account, "role_granted", actor, now, roles=roles)


def revoke_role(account: Account, role: Role, *, actor: str, now: datetime) -> UserChanged:
    if role not in account.roles:
        raise IdentityConflict(f"{account.email} does not hold {role.value}", "role")
    if account.roles == {role}:
        raise IdentityConflict(
            f"{role.value} is {account.email}'s only role; disable the user instead", "role"
        )
    return _next(account, "role_revoked", actor, now, roles=account.roles - {role})


def disable(account: Account, *, actor: str, now: datetime) -> UserChanged:
    if account.status == Status.DISABLED:
        raise IdentityConflict(f"{account.email} is already disabled", "user")
    if actor == f"user:{account.user_id}":
        raise IdentityConflict("nobody can disable their own account", "user")
    return _next(account, "disabled", actor, now, status=Status.DISABLED)


def enable(account: Account, *, actor: str, now: datetime) -> UserChanged:
    if account.status != Status.DISABLED:
        raise IdentityConflict(f"{account.email} is not disabled", "user")
    status = Status.ACTIVE if account.password_hash else Status.INVITED
    return _next(account, "enabled", actor, now, status=status)


def lock(account: Account, until: datetime, *, now: datetime) -> UserChanged:
    """Too many failed logins: refuse logins until `until` (streams/domain/identity/throttle.py)."""
    return _next(account, "locked", "system", now, locked_until=until)
