"""`cobranca waha-sim`: run the WAHA simulator until interrupted.

Mounted in streams/ops/cli.py with `main.add_command(waha_sim)`.
"""

from __future__ import annotations

import asyncio
import signal

import click

from connectors.waha.simulator.config import DEFAULT_API_KEY, Faults, SimulatorConfig
from connectors.waha.simulator.server import Simulator
from connectors.waha.simulator.shapes import ENGINES

__all__ = ["waha_sim"]


def _delays(value: str) -> tuple[float, float, float]:
    parts = [float(p) for p in value.split(",")]
    if len(parts) != 3:
        raise click.BadParameter("expected three seconds: SERVER,DEVICE,READ (e.g. 0.05,0.4,1.5)")
    return parts[0], parts[1], parts[2]


@click.command("waha-sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, help="0 picks a free port.")
@click.option(
    "--api-key",
    envvar="WAHA_API_KEY",
    default=DEFAULT_API_KEY,
    show_default=True,
    help="Required X-Api-Key (WAHA_API_KEY).",
)
@click.option("--no-api-key", is_flag=True, help="Accept calls without a key.")
@click.option("--engine", type=click.Choice(ENGINES), default="WEBJS", show_default=True)
@click.option("--session", "sessions", multiple=True, help="A WORKING session (repeatable).")
@click.option("--webhook-url", help="Where webhooks go; none are sent without it.")
@click.option("--hmac-key", envvar="WAHA_SIM_HMAC_KEY", help="Signs webhooks (WAHA_SIM_HMAC_KEY).")
@click.option(
    "--retry-policy",
    type=click.Choice(["constant", "linear", "exponential"]),
    default="exponential",
    show_default=True,
)
@click.option("--retry-delay", default=2.0, show_default=True, help="Seconds (WAHA's base).")
@click.option("--retry-attempts", default=15, show_default=True)
@click.option(
    "--ack-delays",
    default="0.05,0.4,1.5",
    show_default=True,
    callback=lambda c, p, v: _delays(v),
    help="SERVER,DEVICE,READ seconds after a send.",
)
@click.option("--read-rate", default=0.8, show_default=True)
@click.option("--reply-rate", default=0.5, show_default=True)
@click.option("--reply-delay", default=2.0, show_default=True)
@click.option("--seed", type=int, help="Makes ids, replies and faults repeatable.")
@click.option("--error-rate", default=0.0, show_default=True, help="Sends answered 500.")
@click.option("--latency-ms", default=0.0, show_default=True)
@click.option("--drop-rate", default=0.0, show_default=True, help="Webhooks never sent.")
@click.option("--duplicate-rate", default=0.0, show_default=True, help="Webhooks sent twice.")
@click.option("--out-of-order-rate", default=0.0, show_default=True, help="READ before DEVICE.")
@click.option("--flap-every", default=0.0, show_default=True, help="Sessions go FAILED every N s.")
@click.option("--flap-for", default=5.0, show_default=True, help="... for this many seconds.")
def waha_sim(
    host: str,
    port: int,
    api_key: str,
    no_api_key: bool,
    engine: str,
    sessions: tuple[str, ...],
    webhook_url: str | None,
    hmac_key: str | None,
    retry_policy: str,
    retry_delay: float,
    retry_attempts: int,
    ack_delays: tuple[float, float, float],
    read_rate: float,
    reply_rate: float,
    reply_delay: float,
    seed: int | None,
    error_rate: float,
    latency_ms: float,
    drop_rate: float,
    duplicate_rate: float,
    out_of_order_rate: float,
    flap_every: float,
    flap_for: float,
) -> None:
    """Run a WAHA simulator: WAHA's API, webhooks, debtors who answer in Portuguese, faults.

    Test control endpoints live under /_sim (sends, stats, faults, session status, inbound).
    """
    config = SimulatorConfig(
        host=host,
        port=port,
        api_key=None if no_api_key else api_key,
        engine=engine,
        sessions=sessions or ("default",),
        webhook_url=webhook_url,
        hmac_key=hmac_key,
        retry_policy=retry_policy,
        retry_delay_s=retry_delay,
        retry_attempts=retry_attempts,
        ack_delays_s=ack_delays,
        read_rate=read_rate,
        reply_rate=reply_rate,
        reply_delay_s=reply_delay,
        seed=seed,
        faults=Faults(
            error_rate=error_rate,
            latency_ms=latency_ms,
            drop_rate=drop_rate,
            duplicate_rate=duplicate_rate,
            out_of_order_rate=out_of_order_rate,
            flap_every_s=flap_every,
            flap_for_s=flap_for,
        ),
    )
    asyncio.run(_serve(config))


async def _serve(config: SimulatorConfig) -> None:
    simulator = Simulator(config)
    await simulator.start()
    click.echo(f"waha-sim listening on {simulator.url} (engine {config.engine})", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await simulator.stop()
