"""`cobranca imports serve|new-key`: the HTTP import endpoint and its per-tenant API keys.

Mounted on the main group in `streams/ops/cli.py`; the server's modules (aiohttp, the importer) are
imported inside the commands, so `cobranca --help` stays fast.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from streams.base.errors import CobrancaError
from streams.base.settings import Settings

__all__ = ["imports_group"]


def _service_settings(keys_file: Path | None, **overrides: object) -> object:
    import dataclasses

    from connectors.imports.server import ServiceSettings

    service = ServiceSettings.from_env()
    changes = {k: v for k, v in overrides.items() if v is not None}
    if keys_file is not None:
        changes["keys_file"] = keys_file
    return dataclasses.replace(service, **changes)  # type: ignore[arg-type]


@click.group("imports")
def imports_group() -> None:
    """The HTTP import endpoint (POST /v1/tenants/{tenant}/imports) and its API keys."""


@imports_group.command("serve")
@click.option("--host", default=None, help="Address to bind (COBRANCA_IMPORTS_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (COBRANCA_IMPORTS_PORT, 8081).")
@click.option(
    "--keys-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file of key hashes (COBRANCA_IMPORTS_KEYS_FILE).",
)
@click.option(
    "--max-bytes", type=int, default=None, help="Largest body (COBRANCA_IMPORTS_MAX_BYTES)."
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    keys_file: Path | None,
    max_bytes: int | None,
) -> None:
    """Serve the import endpoint until SIGTERM/SIGINT."""
    from connectors.imports.server import ServiceSettings, serve

    settings: Settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    service = _service_settings(keys_file, host=host, port=port, max_bytes=max_bytes)
    assert isinstance(service, ServiceSettings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, service, stop)

    try:
        asyncio.run(run())
    except CobrancaError as exc:
        raise click.ClickException(str(exc)) from exc


@imports_group.command("new-key")
@click.argument("tenant")
@click.option(
    "--keys-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The keys file the line is meant for (COBRANCA_IMPORTS_KEYS_FILE).",
)
@click.option("--append", is_flag=True, help="Append the line to the keys file as well.")
@click.option(
    "--force",
    is_flag=True,
    help="Make the key even if the tenant has no configuration (no TenantConfigured yet).",
)
@click.pass_context
def new_key_command(
    ctx: click.Context, tenant: str, keys_file: Path | None, append: bool, force: bool
) -> None:
    """Make a new API key for TENANT: print it once, and the line for the keys file.

    The tenant must have a configuration (`cobranca tenants apply`) unless --force."""
    from connectors.imports.api_keys import ensure_keys_file, keys_line, new_key, valid_tenant
    from connectors.imports.cli import require_configured
    from connectors.imports.server import ServiceSettings

    if not valid_tenant(tenant):
        raise click.ClickException(
            f"{tenant!r} is not a tenant id: 1-128 letters, digits, '.', '_', '@' or '-'"
        )
    if not force:
        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
        require_configured(settings, tenant, what="make a key")
    service = _service_settings(keys_file)
    assert isinstance(service, ServiceSettings)
    path = service.keys_file
    key = new_key()
    line = keys_line(key, tenant)
    click.echo(f"API key for tenant {tenant} (shown only now; only its hash is stored):")
    click.echo(f"  {key}")
    if append:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            ensure_keys_file(path)
            with path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            raise click.ClickException(f"{path}: cannot append to it ({exc.strerror})") from exc
        click.echo(f"Added under [keys] in {path}:")
    else:
        click.echo(f"Add this line under [keys] in {path} (COBRANCA_IMPORTS_KEYS_FILE):")
    click.echo(f"  {line}")
