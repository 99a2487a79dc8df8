"""Secrets at the API's edge: password hashes (argon2id), signed access tokens (ES256 JWTs with
a `kid`), and the random secrets of API keys, refresh tokens and invites.

Access tokens are signed with an asymmetric key so that other services can verify them with the
public half alone; the `kid` header names the key, so keys rotate without logging anyone out.
Only `ES256` is accepted when verifying: a token that names another algorithm (`none`, `HS256`
with the public key as secret) is refused before its signature is looked at.
"""

from __future__ import annotations

import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.api.errors import SigningKeysError

__all__ = [
    "ALGORITHM",
    "AUDIENCE",
    "ISSUER",
    "AccessClaims",
    "Passwords",
    "TokenRefused",
    "TokenSigner",
    "new_key_id",
    "new_secret",
    "write_signing_key",
]

ALGORITHM: Final = "ES256"
ISSUER: Final = "cobranca"
AUDIENCE: Final = "cobranca-api"
KEY_PREFIX: Final = "cbk_"


def new_secret(prefix: str = "") -> str:
    """256 random bits, URL-safe: API keys (`cbk_…`), refresh-token and invite secrets."""
    return prefix + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "key_" + uuid.uuid4().hex[:16]


class Passwords:
    """argon2id with the library's defaults (RFC 9106's second recommendation: 64 MiB, t=3)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # A login for an unknown email still pays one verification, so response times do not
        # tell which emails have accounts.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


class TokenRefused(Exception):
    """An access token that does not verify; the message says why (for the log, not the client)."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says."""

    user_id: str
    family_id: str
    expires_at: datetime


def write_signing_key(folder: Path, kid: str | None = None) -> str:
    """Make a new EC P-256 signing key `<kid>.pem` in `folder` (mode 0600); returns its kid."""
    folder.mkdir(parents=True, exist_ok=True)
    kid = kid or datetime.now(UTC).strftime("k%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / f"{kid}.pem"
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return kid


class TokenSigner:
    """Signs access tokens with the active key; verifies with any key of the folder."""

    def __init__(
        self, folder: Path, active_kid: str | None = None, cache_size: int = 10_000
    ) -> None:
        if not folder.is_dir():
            raise SigningKeysError(
                f"no signing-key folder at {folder}; make one with `cobranca api new-signing-key` "
                "or point COBRANCA_API_SIGNING_KEYS at one"
            )
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}
        for path in sorted(folder.glob("*.pem")):
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise SigningKeysError(
                    f"{path}: not an unencrypted PEM private key: {exc}"
                ) from exc
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise SigningKeysError(f"{path}: not an EC P-256 key (ES256 needs one)")
            self._private[path.stem] = key
        if not self._private:
            raise SigningKeysError(
                f"{folder} holds no <kid>.pem key; make one with `cobranca api new-signing-key`"
            )
        self.active_kid = active_kid or max(self._private)
        if self.active_kid not in self._private:
            raise SigningKeysError(
                f"COBRANCA_API_SIGNING_KID={self.active_kid!r} is not a key in {folder}; "
                f"keys: {', '.join(sorted(self._private))}"
            )
        self._public = {kid: key.public_key() for kid, key in self._private.items()}
        # A client sends the same token with every request for its lifetime, and checking an
        # ES256 signature costs ~300 µs of CPU. A token is immutable, so one that verified once
        # stays valid until it expires: remember it (bounded; the oldest are forgotten first).
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()
        self._cache_size = cache_size

    def sign(self, user_id: str, family_id: str, ttl: timedelta, now: datetime) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "sid": family_id,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims,
            self._private[self.active_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.active_kid},
        )

    def verify(self, token: str, now: datetime | None = None) -> AccessClaims:
        moment = now or datetime.now(UTC)
        known = self._verified.get(token)
        if known is not None:
            if moment >= known.expires_at:
                del self._verified[token]
                raise TokenRefused("expired")
            return known
        claims = self._check(token)
        self._verified[token] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return claims

    def _check(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"malformed token: {exc}") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRefused(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        key = self._public.get(str(header.get("kid")))
        if key is None:
            raise TokenRefused(f"unknown kid {header.get('kid')!r}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("expired") from None
        except jwt.PyJWTError as exc:
            raise TokenRefused(str(exc)) from None
        return AccessClaims(
            user_id=str(claims["sub"]),
            family_id=str(claims["sid"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
