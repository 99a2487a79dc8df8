"""The API service's settings, from the environment (defaults suit a developer's machine)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from streams.base.settings import cache_home

__all__ = ["DEFAULT_PORT", "ApiSettings"]

DEFAULT_PORT: Final = 8080


def _origins(text: str) -> frozenset[str]:
    return frozenset(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())


@dataclass(frozen=True, slots=True)
class ApiSettings:
    signing_keys: Path
    """Folder of EC P-256 private keys, `<kid>.pem` (COBRANCA_API_SIGNING_KEYS). Every key in it
    verifies tokens; the active one signs."""
    active_kid: str | None = None
    """The key that signs new tokens (COBRANCA_API_SIGNING_KID); default: the last by name, so a
    new key named later than the others takes over (rotation: add it, wait one access-token
    lifetime, remove the old one)."""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    access_ttl: timedelta = timedelta(minutes=15)
    """Lifetime of an access JWT (COBRANCA_API_ACCESS_TTL_S)."""
    refresh_ttl: timedelta = timedelta(days=30)
    """How long a login can be refreshed before logging in again (COBRANCA_API_REFRESH_TTL_S)."""
    invite_ttl: timedelta = timedelta(days=7)
    cors_origins: frozenset[str] = frozenset()
    """Origins allowed to call from a browser (COBRANCA_API_CORS_ORIGINS, comma-separated)."""
    max_json_bytes: int = 1024 * 1024
    """Largest JSON body (COBRANCA_API_MAX_JSON_BYTES); imports have their own limit."""
    rate_per_s: float = 50.0
    """Requests a second per API key or user, sustained (COBRANCA_API_RATE_PER_S)."""
    rate_burst: int = 200
    """Requests a key or user may make at once before the rate applies (COBRANCA_API_RATE_BURST)."""
    login_failures: int = 5
    """Failed logins of one account within `login_window` that lock it for `login_lock`."""
    address_failures: int = 20
    """Failed logins from one client address within `login_window` that lock the address."""
    login_window: timedelta = timedelta(minutes=15)
    login_lock: timedelta = timedelta(minutes=15)
    catch_up_spacing: timedelta = timedelta(milliseconds=50)
    """Least time between two catch-ups of the identity topic after lookup misses (an unknown
    email, invite, refresh token or key): misses meanwhile share the next one."""
    catch_up_wait: timedelta = timedelta(seconds=2)
    """Longest a request whose lookup missed waits for the catch-up before answering as a miss."""
    webhook_loopback_http: bool = False
    """Accept webhook URLs on 127.0.0.1/localhost over http (COBRANCA_API_WEBHOOK_LOOPBACK_HTTP=1):
    development and tests only; production subscriptions must be public https URLs."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ApiSettings:
        env = dict(os.environ if env is None else env)
        keys = env.get("COBRANCA_API_SIGNING_KEYS") or str(cache_home() / "api-signing-keys")
        return cls(
            signing_keys=Path(keys).expanduser(),
            active_kid=env.get("COBRANCA_API_SIGNING_KID") or None,
            host=env.get("COBRANCA_API_HOST") or "127.0.0.1",
            port=int(env.get("COBRANCA_API_PORT") or DEFAULT_PORT),
            access_ttl=timedelta(seconds=int(env.get("COBRANCA_API_ACCESS_TTL_S") or 900)),
            refresh_ttl=timedelta(seconds=int(env.get("COBRANCA_API_REFRESH_TTL_S") or 2592000)),
            cors_origins=_origins(env.get("COBRANCA_API_CORS_ORIGINS", "")),
            max_json_bytes=int(env.get("COBRANCA_API_MAX_JSON_BYTES") or 1024 * 1024),
            rate_per_s=float(env.get("COBRANCA_API_RATE_PER_S") or 50.0),
            rate_burst=int(env.get("COBRANCA_API_RATE_BURST") or 200),
            webhook_loopback_http=env.get("COBRANCA_API_WEBHOOK_LOOPBACK_HTTP") == "1",
        )
