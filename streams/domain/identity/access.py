"""Who may do what: roles, the permissions each grants, API-key scopes, and the one check.

A *principal* is whoever makes a request: a user (logged in with a JWT) or a tenant's API key.
Users get permissions from their roles; keys from their scopes, which are a subset of what a
tenant's own systems may do (never user or key management). `authorize` is the only place a
request's right to act on a tenant is decided; the HTTP layer maps its answer to 401/403.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "KEY_SCOPES",
    "PLATFORM",
    "ROLE_PERMISSIONS",
    "Decision",
    "Permission",
    "Principal",
    "Role",
    "authorize",
    "parse_roles",
    "parse_scopes",
]

PLATFORM: Final = "_platform"
"""The header tenant of platform-wide identity events: no tenant id can start with `_`."""


class Role(enum.StrEnum):
    """A user's role; a user of a tenant holds tenant roles, a platform admin holds none."""

    PLATFORM_ADMIN = "platform_admin"
    TENANT_ADMIN = "tenant_admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    """One thing a principal may do; API-key scopes use the same names."""

    USERS_MANAGE = "users:manage"
    KEYS_MANAGE = "keys:manage"
    CONFIG_READ = "config:read"
    """The tenant's configuration in force (without where its secrets live, unless
    config:write too)."""
    CONFIG_WRITE = "config:write"
    IMPORTS_WRITE = "imports:write"
    IMPORTS_READ = "imports:read"
    SENDS_WRITE = "sends:write"
    SENDS_READ = "sends:read"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    REPORTS_READ = "reports:read"
    TOKENS_READ = "tokens:read"
    TOKENS_CREDIT = "tokens:credit"
    SESSIONS_READ = "sessions:read"
    SESSIONS_MANAGE = "sessions:manage"
    PERSONAL_DATA_READ = "personal_data:read"
    """Phones and CPF/CNPJ unmasked; without it they are masked in every answer."""
    WEBHOOKS_MANAGE = "webhooks:manage"
    """Subscribe URLs to the tenant's events, list and delete them; never a key scope (a
    subscription's URL receives events, so it is chosen by an administrator)."""


_READ: Final = frozenset(
    {
        Permission.IMPORTS_READ,
        Permission.SENDS_READ,
        Permission.REPORTS_READ,
        Permission.TOKENS_READ,
        Permission.SESSIONS_READ,
        Permission.CONFIG_READ,
    }
)
# Conversations are message texts, personal data: an operator's, not a viewer's (ADR 0026).
_OPERATE: Final = _READ | {
    Permission.CONVERSATIONS_READ,
    Permission.IMPORTS_WRITE,
    Permission.SENDS_WRITE,
    Permission.CONVERSATIONS_WRITE,
    Permission.PERSONAL_DATA_READ,
}
_ADMINISTER: Final = _OPERATE | {
    Permission.USERS_MANAGE,
    Permission.KEYS_MANAGE,
    Permission.CONFIG_WRITE,
    Permission.SESSIONS_MANAGE,
    Permission.WEBHOOKS_MANAGE,
}

ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = MappingProxyType(
    {
        Role.VIEWER: _READ,
        Role.OPERATOR: _OPERATE,
        Role.TENANT_ADMIN: _ADMINISTER,
        Role.PLATFORM_ADMIN: _ADMINISTER | {Permission.TOKENS_CREDIT},
    }
)

KEY_SCOPES: Final = frozenset(
    {
        Permission.IMPORTS_WRITE,
        Permission.IMPORTS_READ,
        Permission.SENDS_WRITE,
        Permission.SENDS_READ,
        Permission.REPORTS_READ,
        Permission.TOKENS_READ,
        Permission.CONVERSATIONS_READ,
        Permission.PERSONAL_DATA_READ,
    }
)
"""What a tenant's own systems may be allowed: never users, keys, configuration or credits."""


class Decision(enum.Enum):
    """The answer of `authorize`."""

    ALLOWED = "allowed"
    MISSING_PERMISSION = "missing_permission"
    OTHER_TENANT = "other_tenant"


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever makes a request, as far as access is concerned."""

    actor: str
    """`user:<id>` or `key:<id>`: what audit events and logs name."""
    tenant: str | None
    """The tenant it belongs to; None for a platform admin, who acts on every tenant."""
    permissions: frozenset[Permission]

    @property
    def platform(self) -> bool:
        return self.tenant is None

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @classmethod
    def of_user(cls, user_id: str, tenant: str | None, roles: Iterable[Role]) -> Principal:
        granted: frozenset[Permission] = frozenset()
        for role in roles:
            granted |= ROLE_PERMISSIONS[role]
        return cls(f"user:{user_id}", tenant, granted)

    @classmethod
    def of_key(cls, key_id: str, tenant: str, scopes: Iterable[Permission]) -> Principal:
        return cls(f"key:{key_id}", tenant, frozenset(scopes) & KEY_SCOPES)


def authorize(principal: Principal, permission: Permission, tenant: str | None = None) -> Decision:
    """May `principal` do `permission` on `tenant` (None: an action on no one tenant)?

    The permission is checked first, so a caller learns nothing about other tenants from a
    route it may not call at all.
    """
    if permission not in principal.permissions:
        return Decision.MISSING_PERMISSION
    if tenant is not None and not principal.platform and principal.tenant != tenant:
        return Decision.OTHER_TENANT
    return Decision.ALLOWED


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; raises ValueError naming the first unknown one."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise ValueError(f"unknown role {name!r}; known roles: {known}") from None
    return frozenset(roles)


def parse_scopes(names: Iterable[str]) -> frozenset[Permission]:
    """API-key scopes from their names; raises ValueError naming one that is unknown or that a
    key may not carry."""
    scopes = set()
    for name in names:
        try:
            scope = Permission(name)
        except ValueError:
            scope = None
        if scope is None or scope not in KEY_SCOPES:
            allowed = ", ".join(sorted(s.value for s in KEY_SCOPES))
            raise ValueError(f"{name!r} is not an API-key scope; scopes: {allowed}")
        scopes.add(scope)
    return frozenset(scopes)
