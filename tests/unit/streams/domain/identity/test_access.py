"""Who may do what: roles, key scopes, and tenant boundaries."""

from __future__ import annotations

import pytest

from streams.domain.identity import (
    Decision,
    Permission,
    Principal,
    Role,
    authorize,
    parse_roles,
    parse_scopes,
)


def test_a_viewer_reads_but_never_writes_nor_sees_personal_data() -> None:
    viewer = Principal.of_user("u", "acme", [Role.VIEWER])
    assert authorize(viewer, Permission.REPORTS_READ, "acme") is Decision.ALLOWED
    for permission in (
        Permission.SENDS_WRITE,
        Permission.IMPORTS_WRITE,
        Permission.USERS_MANAGE,
        Permission.PERSONAL_DATA_READ,
        Permission.CONVERSATIONS_READ,  # message texts are personal data
    ):
        assert authorize(viewer, permission, "acme") is Decision.MISSING_PERMISSION


def test_an_operator_works_conversations_but_manages_no_one() -> None:
    operator = Principal.of_user("u", "acme", [Role.OPERATOR])
    assert authorize(operator, Permission.CONVERSATIONS_WRITE, "acme") is Decision.ALLOWED
    assert authorize(operator, Permission.USERS_MANAGE, "acme") is Decision.MISSING_PERMISSION
    assert authorize(operator, Permission.KEYS_MANAGE, "acme") is Decision.MISSING_PERMISSION


def test_tenant_roles_stop_at_their_tenant_and_only_the_platform_admin_credits() -> None:
    admin = Principal.of_user("u", "acme", [Role.TENANT_ADMIN])
    assert authorize(admin, Permission.USERS_MANAGE, "acme") is Decision.ALLOWED
    assert authorize(admin, Permission.USERS_MANAGE, "beta") is Decision.OTHER_TENANT
    assert authorize(admin, Permission.TOKENS_CREDIT, "acme") is Decision.MISSING_PERMISSION
    platform = Principal.of_user("p", None, [Role.PLATFORM_ADMIN])
    assert authorize(platform, Permission.TOKENS_CREDIT, "beta") is Decision.ALLOWED
    assert authorize(platform, Permission.USERS_MANAGE, "anyone") is Decision.ALLOWED


def test_a_missing_permission_is_reported_before_the_tenant() -> None:
    viewer = Principal.of_user("u", "acme", [Role.VIEWER])
    assert authorize(viewer, Permission.USERS_MANAGE, "beta") is Decision.MISSING_PERMISSION


def test_a_key_holds_only_its_scopes_and_never_management() -> None:
    key = Principal.of_key(
        "k", "acme", [Permission.IMPORTS_WRITE, Permission.USERS_MANAGE, Permission.TOKENS_CREDIT]
    )
    assert key.permissions == {Permission.IMPORTS_WRITE}
    assert key.actor == "key:k"


def test_names_are_parsed_with_clear_refusals() -> None:
    assert parse_roles(["viewer", "operator"]) == {Role.VIEWER, Role.OPERATOR}
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        parse_roles(["owner"])
    assert parse_scopes(["imports:write"]) == {Permission.IMPORTS_WRITE}
    with pytest.raises(ValueError, match="'users:manage' is not an API-key scope"):
        parse_scopes(["users:manage"])
    with pytest.raises(ValueError, match="'nonsense' is not an API-key scope"):
        parse_scopes(["nonsense"])
