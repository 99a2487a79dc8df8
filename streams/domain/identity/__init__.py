"""Identity rules of the HTTP API: roles and permissions, accounts, API keys, refresh-token
families, brute-force throttling, and the fold of the identity topic into lookups. Pure."""

from __future__ import annotations

from streams.domain.identity.access import (
    KEY_SCOPES,
    PLATFORM,
    ROLE_PERMISSIONS,
    Decision,
    Permission,
    Principal,
    Role,
    authorize,
    parse_roles,
    parse_scopes,
)
from streams.domain.identity.accounts import Account, Status, normalize_email, user_id_for
from streams.domain.identity.directory import IdentityDirectory, record_key
from streams.domain.identity.keys import ApiKey, key_hash
from streams.domain.identity.logins import RefreshCheck, RefreshFamily
from streams.domain.identity.throttle import ThrottlePolicy

__all__ = [
    "KEY_SCOPES",
    "PLATFORM",
    "ROLE_PERMISSIONS",
    "Account",
    "ApiKey",
    "Decision",
    "IdentityDirectory",
    "Permission",
    "Principal",
    "RefreshCheck",
    "RefreshFamily",
    "Role",
    "Status",
    "ThrottlePolicy",
    "authorize",
    "key_hash",
    "normalize_email",
    "parse_roles",
    "parse_scopes",
    "record_key",
    "user_id_for",
]
