"""`cobranca webhooks deliver`: the tenant webhooks' delivery agent (`webhook_delivery.py`).

Registered on the main group in `streams/ops/cli.py`; aiohttp and the Kafka client are imported
inside the command, so `cobranca --help` stays fast.
"""

from __future__ import annotations

import asyncio
import signal

import click

from streams.base.settings import Settings
from streams.ops.cli_errors import friendly_errors

__all__ = ["webhooks_group"]


@click.group("webhooks")
def webhooks_group() -> None:
    """Tenants' webhooks: POST their events, signed, to the URLs they subscribed."""


@webhooks_group.command("deliver")
@click.pass_context
@friendly_errors
def deliver_command(ctx: click.Context) -> None:
    """Deliver events to webhook subscriptions until SIGTERM/SIGINT: first attempts as events
    arrive, retries (COBRANCA_WEBHOOKS_BACKOFF_S) for COBRANCA_WEBHOOKS_WINDOW_S after each
    event, every attempt recorded on cobranca.webhooks.deliveries. Run one replica."""
    from streams.ops.webhook_delivery import DeliverySettings, deliver

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    delivery = DeliverySettings.from_env()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await deliver(settings, delivery, stop)

    asyncio.run(run())
