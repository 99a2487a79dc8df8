"""The API's identity service: logins, refreshes and logouts, invitations, roles, API keys.

It turns requests into the pure rules' commands (streams/domain/identity), stores the events
they return on the log, and answers from the directory the log feeds. Every refusal is an
`ApiError` with its status; a login that fails says only that it failed, whatever the reason.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog

from connectors.api.credentials import (
    KEY_PREFIX,
    Passwords,
    TokenRefused,
    TokenSigner,
    new_key_id,
    new_secret,
)
from connectors.api.errors import ApiError
from connectors.api.ports import EventLog
from connectors.api.settings import ApiSettings
from schemas.events import AddressLocked, Event, UserChanged, new_header
from streams.domain.errors import IdentityConflict, IdentityError
from streams.domain.identity import (
    PLATFORM,
    Account,
    ApiKey,
    Decision,
    IdentityDirectory,
    Permission,
    Principal,
    Role,
    ThrottlePolicy,
    accounts,
    authorize,
    key_hash,
    keys,
    logins,
    normalize_email,
    record_key,
    throttle,
)
from streams.domain.identity.logins import RefreshCheck, secret_hash

__all__ = ["CatchUps", "IdentityService", "Issued", "Tokens"]

log = structlog.get_logger("cobranca.api")
_T = TypeVar("_T")

_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="cobranca"'}


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True, slots=True)
class Issued:
    """A new secret, shown once, and what it belongs to."""

    secret: str
    subject: Account | ApiKey


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_UNAUTHORIZED)


def refused(exc: IdentityError) -> ApiError:
    status = 409 if isinstance(exc, IdentityConflict) else 400
    details: dict[str, Any] = {"field": exc.field} if exc.field else {}
    return ApiError(status, exc.code, exc.message, **details)


def check(principal: Principal, permission: Permission, tenant: str | None = None) -> None:
    """Raise 403 unless `principal` may do `permission` on `tenant`."""
    decision = authorize(principal, permission, tenant)
    if decision is Decision.OTHER_TENANT:
        raise ApiError(403, "forbidden", f"this credential cannot act on tenant {tenant!r}")
    if decision is Decision.MISSING_PERMISSION:
        raise ApiError(403, "forbidden", f"this credential lacks {permission.value}")


class CatchUps:
    """Catch-ups of the identity topic after lookup misses, coalesced and spaced.

    A replica sees another replica's identity writes within a fetch, so a lookup that misses
    (a login right after an invite accepted elsewhere) asks the log to catch up and looks again,
    once. Misses must not each cost a broker round trip (anyone can send unknown emails), so at
    most one catch-up runs at a time; every miss that arrives before one begins shares it, and
    one begins at least `spacing_s` after the previous one ended. A catch-up that begins after a
    miss arrived covers it (it reads everything committed before it began). A miss waits at most
    `wait_s`, then answers as a miss.
    """

    def __init__(
        self, catch_up: Callable[[], Awaitable[bool]], *, spacing_s: float, wait_s: float
    ) -> None:
        self._catch_up = catch_up
        self.spacing_s = spacing_s
        self.wait_s = wait_s
        self._pending: asyncio.Future[bool] | None = None
        self._driver: asyncio.Task[None] | None = None
        self._ended_at = -math.inf
        self.runs = 0
        """Catch-ups asked of the log so far."""

    async def wait(self) -> bool:
        """Return once a catch-up that began after this call has ended (True: it read to the
        end), or after `wait_s` (False)."""
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
        pending = self._pending
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive(), name="identity catch-up")
        try:
            return await asyncio.wait_for(asyncio.shield(pending), self.wait_s)
        except TimeoutError:
            return False

    async def _drive(self) -> None:
        while self._pending is not None:
            delay = self._ended_at + self.spacing_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Every miss so far shares this one; a miss from now on waits for the next.
            waiting, self._pending = self._pending, None
            self.runs += 1
            try:
                ok = await self._catch_up()
            except Exception as exc:  # a lookup answers as a miss; the log says why
                log.warning("identity_catch_up_failed", error=repr(exc))
                ok = False
            finally:
                self._ended_at = time.monotonic()
            if not waiting.done():
                waiting.set_result(ok)


class IdentityService:
    def __init__(
        self,
        settings: ApiSettings,
        log: EventLog,
        signer: TokenSigner,
        passwords: Passwords | None = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.signer = signer
        self.passwords = passwords or Passwords()
        self._account_failures: dict[str, tuple[datetime, ...]] = defaultdict(tuple)
        self._address_failures: dict[str, tuple[datetime, ...]] = defaultdict(tuple)
        self.catch_ups = CatchUps(
            log.catch_up_identity,
            spacing_s=settings.catch_up_spacing.total_seconds(),
            wait_s=settings.catch_up_wait.total_seconds(),
        )

    async def _again(self, lookup: Callable[[], _T | None]) -> _T | None:
        """`lookup()`; when it misses, once more after the identity topic caught up (another
        replica may have written what is looked for a moment ago)."""
        found = lookup()
        if found is None and await self.catch_ups.wait():
            found = lookup()
        return found

    @property
    def directory(self) -> IdentityDirectory:
        return self.log.identity

    async def _store(self, *events: Event) -> None:
        await self.log.append([(event, record_key(event)) for event in events])

    async def _hash(self, password: str) -> str:
        # argon2 spends ~50 ms of CPU on purpose; off the event loop, other requests go on.
        try:
            accounts.check_password(password)
        except IdentityError as exc:
            raise refused(exc) from None
        return await asyncio.to_thread(self.passwords.hash, password)

    # --- who is calling -----------------------------------------------------------------

    async def principal(self, authorization: str | None, now: datetime) -> Principal:
        """The caller of a request from its `Authorization` header: an API key or an access JWT."""
        if not authorization:
            raise unauthorized("send an Authorization: Bearer <access token or API key> header")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise unauthorized("use the Bearer scheme: Authorization: Bearer <token>")
        if credential.startswith(KEY_PREFIX):
            hashed = key_hash(credential)
            key = await self._again(lambda: self.directory.key_by_hash(hashed))
            if key is None or key.revoked:
                raise unauthorized("this API key is unknown or revoked")
            return Principal.of_key(key.key_id, key.tenant, key.scopes)
        try:
            claims = self.signer.verify(credential)
        except TokenRefused as exc:
            raise unauthorized(f"the access token is not valid ({exc})") from None
        # A login made through another replica a moment ago: its family may not be here yet.
        family = await self._again(lambda: self.directory.family(claims.family_id))
        account = self.directory.account(claims.user_id)
        if account is None or not account.active:
            raise unauthorized("this account is disabled or gone")
        if family is None or family.revoked or family.user_id != account.user_id:
            raise unauthorized("this login has ended; log in again")
        return Principal.of_user(account.user_id, account.tenant, account.roles)

    # --- logins -------------------------------------------------------------------------

    async def _fail(self, email: str, address: str, now: datetime) -> ApiError:
        policy = ThrottlePolicy(
            self.settings.login_failures, self.settings.login_window, self.settings.login_lock
        )
        kept, until = throttle.failed(self._account_failures[email], now, policy)
        self._account_failures[email] = kept
        account = self.directory.account_by_email(email)
        if until is not None and account is not None:
            await self._store(accounts.lock(account, until, now=now))
        wide = ThrottlePolicy(
            self.settings.address_failures, self.settings.login_window, self.settings.login_lock
        )
        kept, until = throttle.failed(self._address_failures[address], now, wide)
        self._address_failures[address] = kept
        if until is not None:
            header = new_header(
                "AddressLocked",
                tenant_id=PLATFORM,
                correlation_id=address,
                causation_id=None,
                source=accounts.SOURCE,
                occurred_at=now,
            )
            failures = self.settings.address_failures
            await self._store(
                AddressLocked(header=header, address=address, locked_until=until, failures=failures)
            )
        return unauthorized("wrong email or password")

    def _locked(self, until: datetime, now: datetime) -> ApiError:
        wait = max(1, int((until - now).total_seconds()))
        return ApiError(
            429,
            "locked",
            "too many failed logins; try again later",
            headers={"Retry-After": str(wait)},
            retry_after_s=wait,
        )

    async def _open(self, account: Account, now: datetime) -> Tokens:
        family_id = uuid.uuid4().hex
        secret = new_secret()
        await self._store(
            logins.open_family(
                family_id,
                account.user_id,
                account.tenant or PLATFORM,
                secret_hash(secret),
                lifetime=self.settings.refresh_ttl,
                now=now,
            )
        )
        return self._tokens(account.user_id, family_id, secret, now)

    def _tokens(self, user_id: str, family_id: str, secret: str, now: datetime) -> Tokens:
        ttl = self.settings.access_ttl
        access = self.signer.sign(user_id, family_id, ttl, now)
        return Tokens(access, f"{family_id}.{secret}", int(ttl.total_seconds()))

    async def login(self, email: str, password: str, address: str, now: datetime) -> Tokens:
        locked = self.directory.address_locked_until(address)
        if locked is not None and now < locked:
            raise self._locked(locked, now)
        try:
            address_of = normalize_email(email)
        except IdentityError:
            address_of = email.strip().lower()[:254]
        account = await self._again(lambda: self.directory.account_by_email(address_of))
        if account is not None and account.locked_at(now):
            assert account.locked_until is not None
            raise self._locked(account.locked_until, now)
        stored = account.password_hash if account is not None else None
        good = await asyncio.to_thread(self.passwords.verify, stored, password)
        if not good and account is not None and await self.catch_ups.wait():
            # A password set or an invite accepted through another replica a moment ago.
            newer = self.directory.account_by_email(address_of)
            if newer is not None and newer.version != account.version:
                account = newer
                good = await asyncio.to_thread(self.passwords.verify, newer.password_hash, password)
        if not good or account is None or not account.active:
            raise await self._fail(address_of, address, now)
        self._account_failures.pop(address_of, None)
        return await self._open(account, now)

    async def refresh(self, token: str, now: datetime) -> Tokens:
        family_id, _, secret = token.partition(".")
        family = await self._again(lambda: self.directory.family(family_id)) if secret else None
        if family is None:
            raise unauthorized("this refresh token is unknown")
        verdict = logins.check_refresh(family, secret_hash(secret), now)
        if verdict is RefreshCheck.REUSED:
            await self._store(logins.revoke(family, "reuse", now=now))
            raise unauthorized("this refresh token was already used; the login is ended")
        if verdict is not RefreshCheck.CURRENT:
            raise unauthorized(f"this login has {verdict.value}; log in again")
        account = self.directory.account(family.user_id)
        if account is None or not account.active:
            await self._store(logins.revoke(family, "disabled", now=now))
            raise unauthorized("this account is disabled")
        fresh = new_secret()
        await self._store(logins.rotate(family, secret_hash(fresh), now=now))
        return self._tokens(account.user_id, family_id, fresh, now)

    async def logout(self, authorization: str | None, now: datetime) -> None:
        _, _, credential = (authorization or "").partition(" ")
        try:
            claims = self.signer.verify(credential.strip())
        except TokenRefused as exc:
            raise unauthorized(f"log out with a valid access token ({exc})") from None
        family = self.directory.family(claims.family_id)
        if family is not None and not family.revoked:
            await self._store(logins.revoke(family, "logout", now=now))

    async def change_password(
        self, principal: Principal, current: str, new: str, now: datetime
    ) -> None:
        """A user replaces their password; every other login of theirs ends."""
        account = self.directory.account(principal.actor.removeprefix("user:"))
        if account is None:
            raise unauthorized("this account is gone")
        if not await asyncio.to_thread(self.passwords.verify, account.password_hash, current):
            raise ApiError(
                400, "wrong_password", "the current password is wrong", field="current_password"
            )
        hashed = await self._hash(new)
        changed = await self.change(
            lambda: accounts.set_password(account, hashed, actor=principal.actor, now=now)
        )
        await self.revoke_logins(changed, now)

    # --- accounts -----------------------------------------------------------------------

    def account_in(self, principal: Principal, user_id: str) -> Account:
        """An account the principal may manage (404 for one of another tenant: not disclosed)."""
        account = self.directory.account(user_id)
        if account is None or not (principal.platform or account.tenant == principal.tenant):
            raise ApiError(404, "not_found", f"no user {user_id!r}")
        return account

    async def invite(
        self,
        principal: Principal,
        tenant: str | None,
        email: str,
        roles: frozenset[Role],
        now: datetime,
    ) -> Issued:
        if tenant is None and not principal.platform:
            raise ApiError(403, "forbidden", "only a platform admin invites platform admins")
        try:
            address = normalize_email(email)
            secret = new_secret()
            event = accounts.invite(
                address,
                tenant,
                roles,
                invite_hash=secret_hash(secret),
                expires_at=now + self.settings.invite_ttl,
                actor=principal.actor,
                now=now,
                existing=self.directory.account_by_email(address),
            )
        except IdentityError as exc:
            raise refused(exc) from None
        await self._store(event)
        account = self.directory.account(event.user_id) or accounts.Account.of(event)
        return Issued(f"{account.user_id}.{secret}", account)

    async def accept_invite(self, token: str, password: str, now: datetime) -> Tokens:
        user_id, _, secret = token.partition(".")
        presented = secret_hash(secret)

        def invited() -> Account | None:
            found = self.directory.account(user_id)
            return found if found is not None and found.invite_hash == presented else None

        # Unknown here, or invited again elsewhere a moment ago (a new invite, a new hash).
        account = await self._again(invited) if secret else None
        if account is None or account.invite_hash is None or account.invite_hash != presented:
            raise ApiError(400, "invalid_invite", "this invite token is not valid", field="token")
        hashed = await self._hash(password)
        try:
            event = accounts.accept_invite(account, hashed, now=now)
        except IdentityError as exc:
            raise refused(exc) from None
        await self._store(event)
        return await self._open(Account.of(event), now)

    async def change(self, event_of: Callable[[], UserChanged]) -> Account:
        try:
            event = event_of()
        except IdentityError as exc:
            raise refused(exc) from None
        await self._store(event)
        return Account.of(event)

    async def revoke_logins(self, account: Account, now: datetime) -> None:
        ended = [
            logins.revoke(family, "disabled", now=now)
            for family in self.directory.families_of(account.user_id)
            if not family.revoked
        ]
        if ended:
            await self._store(*ended)

    async def create_admin(self, email: str, password: str, now: datetime) -> Account:
        hashed = await self._hash(password)
        try:
            address = normalize_email(email)
            event = accounts.create_platform_admin(
                address,
                hashed,
                actor="cli",
                now=now,
                existing=self.directory.account_by_email(address),
            )
        except IdentityError as exc:
            raise refused(exc) from None
        await self._store(event)
        return Account.of(event)

    # --- API keys -----------------------------------------------------------------------

    async def issue_key(
        self,
        principal: Principal,
        tenant: str,
        name: str,
        scopes: frozenset[Permission],
        now: datetime,
    ) -> Issued:
        secret = new_secret(KEY_PREFIX)
        try:
            event = keys.issue_key(
                new_key_id(), tenant, name, scopes, key_hash(secret), actor=principal.actor, now=now
            )
        except IdentityError as exc:
            raise refused(exc) from None
        await self._store(event)
        return Issued(secret, ApiKey.of(event))

    def key_in(self, tenant: str, key_id: str) -> ApiKey:
        key = self.directory.key(key_id)
        if key is None or key.tenant != tenant:
            raise ApiError(404, "not_found", f"no API key {key_id!r} for tenant {tenant!r}")
        return key

    async def revoke_key(self, principal: Principal, key: ApiKey, now: datetime) -> ApiKey:
        try:
            event = keys.revoke_key(key, actor=principal.actor, now=now)
        except IdentityError as exc:
            raise refused(exc) from None
        await self._store(event)
        return ApiKey.of(event)


def utcnow() -> datetime:
    return datetime.now(UTC)
