"""`cobranca api serve|new-signing-key|import-keys` and `cobranca users create-admin`.

Registered on the main group in `streams/ops/cli.py`; aiohttp, argon2 and the Kafka client are
imported inside the commands, so `cobranca --help` stays fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
import signal
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import click

from streams.base.settings import Settings
from streams.ops.cli_errors import friendly_errors

__all__ = ["api_group", "read_imports_keys_file", "users_group"]

_OLD_HASH: Final = re.compile(r"sha256:[0-9a-f]{64}")
_OLD_TENANT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


def read_imports_keys_file(text: str, *, source: str = "<keys>") -> dict[str, str]:
    """Key hash -> tenant of an old imports keys file (what the retired `cobranca imports
    new-key` wrote): TOML, one ``"sha256:<hex>" = "tenant"`` line per key under ``[keys]``.
    `BadKeysFile` names what is wrong."""
    from connectors.imports.errors import BadKeysFile

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
        if not _OLD_HASH.fullmatch(digest):
            raise BadKeysFile(
                f"{source}: {digest!r} is not a key hash (sha256: and 64 lowercase hex digits); "
                "an imports keys file holds hashes, never the keys themselves"
            )
        if not isinstance(tenant, str) or not _OLD_TENANT.fullmatch(tenant):
            raise BadKeysFile(f"{source}: the tenant of {digest[:19]}... is not a tenant id")
        tenants[digest] = tenant
    return tenants


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()


@click.group("api")
def api_group() -> None:
    """The HTTP API (/v1): serve it, make its token-signing keys, migrate old import keys."""


@api_group.command("serve")
@click.option("--host", default=None, help="Address to bind (COBRANCA_API_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (COBRANCA_API_PORT, 8080).")
@click.pass_context
@friendly_errors
def serve_command(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the API until SIGTERM/SIGINT."""
    from connectors.api.settings import ApiSettings
    from streams.ops.api_server import serve

    settings = _settings(ctx)
    api = ApiSettings.from_env()
    api = dataclasses.replace(api, host=host or api.host, port=port or api.port)
    if not any(api.signing_keys.glob("*.pem")):
        from connectors.api.credentials import write_signing_key

        kid = write_signing_key(api.signing_keys)
        click.echo(
            f"no signing key in {api.signing_keys}: made {kid}.pem (replicas must share the "
            "folder; see `cobranca api new-signing-key`)",
            err=True,
        )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, api, stop)

    asyncio.run(run())


@api_group.command("new-signing-key")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of signing keys (COBRANCA_API_SIGNING_KEYS).",
)
def new_signing_key_command(folder: Path | None) -> None:
    """Make a new ES256 key; the newest name signs, every key in the folder verifies."""
    from connectors.api.credentials import write_signing_key
    from connectors.api.settings import ApiSettings

    target = folder or ApiSettings.from_env().signing_keys
    kid = write_signing_key(target)
    click.echo(f"{target / (kid + '.pem')}  kid={kid}")


@api_group.command("import-keys")
@click.argument("keys_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@friendly_errors
def import_keys_command(ctx: click.Context, keys_file: Path) -> None:
    """Migrate an old imports keys file to API keys; clients keep their keys.

    Each hash of KEYS_FILE (what the retired `cobranca imports new-key` wrote) becomes an API key
    of its tenant with the imports:write and imports:read scopes; keys already there are
    skipped."""
    from connectors.api.credentials import new_key_id
    from streams.domain.identity import Permission, record_key
    from streams.domain.identity.keys import issue_key
    from streams.domain.tenant_config import TENANT_ID
    from streams.ops.api_server import KafkaApiLog

    settings = _settings(ctx)
    hashes = read_imports_keys_file(keys_file.read_text("utf-8"), source=str(keys_file))
    # The API's tenant ids are stricter than the old file's (lowercase, no '@'): a key of a
    # tenant no API path can name would be dead; say so instead of storing it.
    unroutable = sorted({t for t in hashes.values() if TENANT_ID.fullmatch(t) is None})
    if unroutable:
        click.echo(
            f"skipped the keys of {', '.join(map(repr, unroutable))}: not an API tenant id "
            "(lowercase letters, digits, '.', '_', '-')",
            err=True,
        )
        hashes = {h: t for h, t in hashes.items() if t not in unroutable}
    scopes = {Permission.IMPORTS_WRITE, Permission.IMPORTS_READ}

    async def run() -> tuple[int, int]:
        log = KafkaApiLog(settings.kafka_bootstrap)
        await log.start(settings.topic_partitions)
        try:
            now = datetime.now(UTC)
            known = {key.key_hash for key in log.identity.api_keys()}
            events = [
                issue_key(
                    new_key_id(),
                    tenant,
                    "imports keys file",
                    scopes,
                    hashed,
                    actor="migration",
                    now=now,
                )
                for hashed, tenant in hashes.items()
                if hashed not in known
            ]
            await log.append([(e, record_key(e)) for e in events])
            return len(events), len(hashes) - len(events)
        finally:
            await log.stop()

    added, kept = asyncio.run(run())
    click.echo(f"{added} key(s) migrated, {kept} already present")


@click.group("users")
def users_group() -> None:
    """Users of the HTTP API."""


@users_group.command("create-admin")
@click.argument("email")
@click.pass_context
@friendly_errors
def create_admin_command(ctx: click.Context, email: str) -> None:
    """Create a platform admin. The password is read from stdin when it is not a terminal;
    otherwise a strong one is generated and printed once."""
    from connectors.api.credentials import Passwords
    from streams.domain.errors import IdentityError
    from streams.domain.identity import accounts, normalize_email, record_key
    from streams.ops.api_server import KafkaApiLog

    settings = _settings(ctx)
    generated = sys.stdin is None or sys.stdin.isatty()
    password = secrets.token_urlsafe(18) if generated else sys.stdin.readline().rstrip("\r\n")

    async def run() -> str:
        log = KafkaApiLog(settings.kafka_bootstrap)
        await log.start(settings.topic_partitions)
        try:
            accounts.check_password(password)
            address = normalize_email(email)
            hashed = await asyncio.to_thread(Passwords().hash, password)
            event = accounts.create_platform_admin(
                address,
                hashed,
                actor="cli",
                now=datetime.now(UTC),
                existing=log.identity.account_by_email(address),
            )
            await log.append([(event, record_key(event))])
            return event.user_id
        finally:
            await log.stop()

    try:
        user_id = asyncio.run(run())
    except IdentityError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"platform admin {email} created (user {user_id})")
    if generated:
        click.echo(f"password (shown once; change it with POST /v1/auth/password): {password}")
