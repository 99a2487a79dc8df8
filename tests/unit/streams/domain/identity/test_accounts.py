"""Accounts as given events → command → expected event, with no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.domain.errors import IdentityConflict, InvalidIdentity
from streams.domain.identity import (
    Account,
    IdentityDirectory,
    Role,
    Status,
    accounts,
    keys,
    logins,
    user_id_for,
)
from streams.domain.identity.access import Permission
from streams.domain.identity.logins import RefreshCheck
from streams.domain.identity.throttle import ThrottlePolicy, failed

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _invited(email: str = "Ana@Example.COM ", tenant: str = "acme") -> Account:
    event = accounts.invite(
        email,
        tenant,
        [Role.OPERATOR],
        invite_hash="h",
        expires_at=NOW + timedelta(days=7),
        actor="user:admin",
        now=NOW,
        existing=None,
    )
    return Account.of(event)


def test_an_invite_normalizes_the_email_and_derives_a_stable_id() -> None:
    account = _invited()
    assert account.email == "ana@example.com"
    assert account.user_id == user_id_for("ana@example.com")
    assert account.status == Status.INVITED and account.version == 1
    assert account.roles == {Role.OPERATOR}


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "a b@c.com", "x" * 300 + "@a.com"])
def test_a_bad_email_is_refused_naming_the_field(email: str) -> None:
    with pytest.raises(InvalidIdentity) as refused:
        accounts.normalize_email(email)
    assert refused.value.field == "email"


def test_role_rules_for_tenants_and_the_platform() -> None:
    with pytest.raises(InvalidIdentity, match="platform_admin is not a role within a tenant"):
        accounts.invite(
            "a@b.co",
            "acme",
            [Role.PLATFORM_ADMIN],
            invite_hash="h",
            expires_at=NOW,
            actor="x",
            now=NOW,
            existing=None,
        )
    with pytest.raises(InvalidIdentity, match="only be a platform_admin"):
        accounts.invite(
            "a@b.co",
            None,
            [Role.VIEWER],
            invite_hash="h",
            expires_at=NOW,
            actor="x",
            now=NOW,
            existing=None,
        )
    with pytest.raises(InvalidIdentity, match="at least one role"):
        accounts.invite(
            "a@b.co",
            "acme",
            [],
            invite_hash="h",
            expires_at=NOW,
            actor="x",
            now=NOW,
            existing=None,
        )
    with pytest.raises(IdentityConflict, match="already has an account"):
        accounts.invite(
            "a@b.co",
            "acme",
            [Role.VIEWER],
            invite_hash="h",
            expires_at=NOW,
            actor="x",
            now=NOW,
            existing=_invited("a@b.co"),
        )


def test_accepting_an_invite_activates_once_and_not_after_it_expires() -> None:
    account = _invited()
    active = Account.of(accounts.accept_invite(account, "argon2-hash", now=NOW))
    assert active.active and active.invite_hash is None and active.version == 2
    with pytest.raises(IdentityConflict, match="already used"):
        accounts.accept_invite(active, "again", now=NOW)
    with pytest.raises(IdentityConflict, match="expired"):
        accounts.accept_invite(account, "late", now=NOW + timedelta(days=8))


def test_grant_revoke_disable_enable() -> None:
    account = Account.of(accounts.accept_invite(_invited(), "hash", now=NOW))
    granted = Account.of(accounts.grant_role(account, Role.VIEWER, actor="a", now=NOW))
    assert granted.roles == {Role.OPERATOR, Role.VIEWER}
    with pytest.raises(IdentityConflict, match="already holds"):
        accounts.grant_role(granted, Role.VIEWER, actor="a", now=NOW)
    revoked = Account.of(accounts.revoke_role(granted, Role.OPERATOR, actor="a", now=NOW))
    with pytest.raises(IdentityConflict, match="only role"):
        accounts.revoke_role(revoked, Role.VIEWER, actor="a", now=NOW)
    disabled = Account.of(accounts.disable(revoked, actor="a", now=NOW))
    assert disabled.status == Status.DISABLED
    with pytest.raises(IdentityConflict, match="own account"):
        accounts.disable(revoked, actor=f"user:{revoked.user_id}", now=NOW)
    assert Account.of(accounts.enable(disabled, actor="a", now=NOW)).active


def test_passwords_have_a_length_policy() -> None:
    with pytest.raises(InvalidIdentity, match="at least 12"):
        accounts.check_password("short")
    with pytest.raises(InvalidIdentity, match="at most 1024"):
        accounts.check_password("x" * 1025)
    accounts.check_password("twelve chars")


def test_the_directory_keeps_the_newest_version_whatever_the_order() -> None:
    first = accounts.invite(
        "a@b.co",
        "acme",
        [Role.VIEWER],
        invite_hash="h",
        expires_at=NOW + timedelta(days=1),
        actor="x",
        now=NOW,
        existing=None,
    )
    second = accounts.accept_invite(Account.of(first), "hash", now=NOW)
    directory = IdentityDirectory()
    for event in (second, first, second):  # a replica reading back its own older write
        directory.apply(event)
    held = directory.account_by_email("a@b.co")
    assert held is not None and held.active and held.version == 2


def test_a_revoked_key_stays_revoked() -> None:
    issued = keys.issue_key(
        "k1",
        "acme",
        " erp ",
        [Permission.IMPORTS_WRITE],
        keys.key_hash("cbk_x"),
        actor="a",
        now=NOW,
    )
    key = keys.ApiKey.of(issued)
    assert key.name == "erp"
    revoked = keys.revoke_key(key, actor="a", now=NOW)
    directory = IdentityDirectory()
    for event in (issued, revoked, issued):
        directory.apply(event)
    found = directory.key_by_hash(keys.key_hash("cbk_x"))
    assert found is not None and found.revoked
    with pytest.raises(IdentityConflict):
        keys.revoke_key(keys.ApiKey.of(revoked), actor="a", now=NOW)
    with pytest.raises(InvalidIdentity, match="scope"):
        keys.issue_key("k2", "acme", "x", [], "h", actor="a", now=NOW)


def test_a_refresh_family_rotates_and_a_reused_token_is_detected() -> None:
    opened = logins.open_family("f", "u", "acme", "h0", lifetime=timedelta(days=1), now=NOW)
    family = logins.RefreshFamily.of(opened)
    assert logins.check_refresh(family, "h0", NOW) is RefreshCheck.CURRENT
    rotated = logins.RefreshFamily.of(logins.rotate(family, "h1", now=NOW))
    assert rotated.generation == 1
    assert logins.check_refresh(rotated, "h0", NOW) is RefreshCheck.REUSED
    assert logins.check_refresh(rotated, "h1", NOW + timedelta(days=2)) is RefreshCheck.EXPIRED
    ended = logins.RefreshFamily.of(logins.revoke(rotated, "reuse", now=NOW))
    assert logins.check_refresh(ended, "h1", NOW) is RefreshCheck.REVOKED
    directory = IdentityDirectory()
    for event in (logins.revoke(rotated, "reuse", now=NOW), logins.rotate(family, "h1", now=NOW)):
        directory.apply(event)
    held = directory.family("f")
    assert held is not None and held.revoked and held.reason == "reuse"


def test_the_throttle_locks_at_the_limit_within_the_window_only() -> None:
    policy = ThrottlePolicy(3, timedelta(minutes=15), timedelta(minutes=10))
    history: tuple[datetime, ...] = ()
    history, until = failed(history, NOW, policy)
    history, until = failed(history, NOW + timedelta(minutes=20), policy)  # the first expired
    assert until is None and len(history) == 1
    history, until = failed(history, NOW + timedelta(minutes=21), policy)
    history, until = failed(history, NOW + timedelta(minutes=22), policy)
    assert until == NOW + timedelta(minutes=32) and history == ()
