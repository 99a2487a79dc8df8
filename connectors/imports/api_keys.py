"""Per-tenant API keys of the HTTP import endpoint: new keys, their hashes, the keys file.

Only hashes are stored. A key is 32 random bytes (``cbk_`` + URL-safe base64, 256 bits), so a
plain SHA-256 is the right hash: a slow password hash (bcrypt, scrypt) protects guessable
secrets and would only cost CPU on every request here, while nobody can enumerate 2**256 keys.
Looking a hash up in a dict leaks, at most, timing about the *hash* of the presented key, which
says nothing about any stored key.

The keys file is TOML, one line per key under ``[keys]``, hash -> tenant; a tenant may have
several keys (rotation: add the new line, move clients over, delete the old line):

    [keys]
    "sha256:9f2c...e1" = "acme"       # created 2026-12-04T16:55Z
    "sha256:41aa...07" = "acme"

`cobranca imports new-key TENANT` prints a new key once and the line to add. The server reads the
file again when its modification time changes, so adding or deleting a line needs no restart.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Final

from connectors.imports.errors import BadKeysFile, KeyRefused

__all__ = [
    "KEY_PREFIX",
    "ApiKeys",
    "BadKeysFile",
    "KeyRefused",
    "KeysFile",
    "bearer_key",
    "ensure_keys_file",
    "hash_key",
    "keys_line",
    "new_key",
    "parse_keys",
    "valid_tenant",
]

KEY_PREFIX: Final = "cbk_"
_HASH_PREFIX: Final = "sha256:"
_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_KEY = re.compile(r"[A-Za-z0-9_-]{16,256}")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


def valid_tenant(tenant: str) -> bool:
    """Whether `tenant` is usable as a tenant id (the importer's rule for Kafka keys)."""
    return _TENANT.fullmatch(tenant) is not None


def new_key() -> str:
    """A new random key: ``cbk_`` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What the keys file stores for `key`: ``sha256:`` and 64 lowercase hex digits."""
    return _HASH_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_line(key: str, tenant: str, *, now: datetime | None = None) -> str:
    """The line to add under ``[keys]`` for `key`, with its creation time as a comment."""
    created = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return f'"{hash_key(key)}" = "{tenant}"  # created {created}'


def bearer_key(authorization: str | None) -> str:
    """The key of an ``Authorization: Bearer <key>`` header; `KeyRefused` (401) says why not."""
    if authorization is None or not authorization.strip():
        raise KeyRefused(
            "no API key: send it as `Authorization: Bearer <key>` (a tenant's key comes from "
            "`cobranca imports new-key TENANT`)"
        )
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise KeyRefused(
            f"the Authorization header uses the {scheme!r} scheme; send `Bearer <key>`"
        )
    key = credentials.strip()
    if not _KEY.fullmatch(key):
        raise KeyRefused(
            "the Authorization header's key is empty or not a cobranca key "
            f"(expected {KEY_PREFIX}... with letters, digits, '-' and '_')"
        )
    return key


@dataclass(frozen=True, slots=True)
class ApiKeys:
    """Hash -> tenant, as read from the keys file."""

    tenants_by_hash: Mapping[str, str]

    def tenant_of(self, key: str) -> str | None:
        """The tenant `key` belongs to, or None for a key nobody issued (or one deleted)."""
        return self.tenants_by_hash.get(hash_key(key))

    def authorize(self, authorization: str | None, tenant: str) -> str:
        """Check a request's Authorization header for `tenant`; returns the tenant.

        Raises `KeyRefused`: 401 for a missing, malformed or unknown key; 403 for a key that
        belongs to another tenant (the caller is somebody, just not this tenant).
        """
        owner = self.tenant_of(bearer_key(authorization))
        if owner is None:
            raise KeyRefused("the API key is not valid (unknown, or revoked)")
        if owner != tenant:
            raise KeyRefused(
                f"the API key does not belong to tenant {tenant!r}; use that tenant's key",
                status=403,
            )
        return owner


def parse_keys(text: str, *, source: str = "<keys>") -> ApiKeys:
    """Parse the keys file's TOML text; `BadKeysFile` names the line that is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadKeysFile(f"{source}: not valid TOML: {exc}") from exc
    table = data.get("keys", {})
    unknown = sorted(set(data) - {"keys"})
    if unknown or not isinstance(table, dict):
        raise BadKeysFile(
            f'{source}: expected only a [keys] table of "sha256:<hex>" = "tenant" lines, '
            f"found {unknown or type(table).__name__}"
        )
    tenants: dict[str, str] = {}
    for digest, tenant in table.items():
        if not _HASH.fullmatch(digest):
            raise BadKeysFile(
                f"{source}: {digest!r} is not a key hash (sha256: and 64 lowercase hex digits); "
                "store the line `cobranca imports new-key` printed, never the key itself"
            )
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise BadKeysFile(f"{source}: the tenant of {digest[:19]}... is not a tenant id")
        tenants[digest] = tenant
    return ApiKeys(MappingProxyType(tenants))


EMPTY_KEYS_FILE: Final = """\
# API keys of cobranca's HTTP import endpoint: SHA-256 hashes only, one line per key,
# "sha256:<hex>" = "tenant". Add lines with `cobranca imports new-key TENANT [--append]`;
# the server reads this file again whenever it changes.
[keys]
"""


def ensure_keys_file(path: Path) -> bool:
    """Create an empty keys file (no key: every request gets 401) if there is none; True if it
    was created. For a fresh deployment volume; the server says so in its log."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as out:
        out.write(EMPTY_KEYS_FILE)
    return True


class KeysFile:
    """The keys file on disk, read again whenever its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keys = ApiKeys(MappingProxyType({}))

    def current(self) -> ApiKeys:
        """The keys in force. A missing or broken file raises `BadKeysFile` on every request
        until it is fixed (the server answers 500 and logs the reason), so an operator's typo is
        reported at once instead of looking like every tenant's key was revoked."""
        try:
            stat = self.path.stat()
        except FileNotFoundError as exc:
            raise BadKeysFile(
                f"{self.path}: the API keys file does not exist; create it with the lines "
                "`cobranca imports new-key TENANT` prints (COBRANCA_IMPORTS_KEYS_FILE)"
            ) from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                text = self.path.read_text(encoding="utf-8")
            except OSError as exc:
                raise BadKeysFile(f"{self.path}: cannot read it ({exc.strerror})") from exc
            self._keys = parse_keys(text, source=str(self.path))
            self._stamp = stamp
        return self._keys
