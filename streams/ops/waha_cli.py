"""`cobranca waha ...`: the WAHA commands, registered on the main group in streams/ops/cli.py.

`cobranca waha normalize FILE...` runs webhook bodies saved as files through the same functions the
normalization agent uses (connectors/waha/normalize.py), without Kafka, and prints one JSON
object per file.

`cobranca waha receive` serves WAHA's webhooks: the receiver (connectors/waha/receiver.py) on
Kafka, wired by streams/ops/waha_receiver.py, which the command imports only when it runs (it
loads aiokafka and the runtime).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import click
import orjson

from connectors.waha.errors import WahaError
from connectors.waha.normalize import normalize_body
from streams.domain.normalized import (
    Normalized,
    NormalizedDelivery,
    NormalizedInbound,
    NormalizedSessionStatus,
)

__all__ = ["ROW_FIELDS", "normalize_command", "normalized_row", "receive_command", "waha"]

#: The keys of every line `cobranca waha normalize` prints, in order.
ROW_FIELDS: Final = (
    "event_type",
    "session",
    "message_id",
    "chat_id",
    "from_me",
    "is_group",
    "body",
    "has_media",
    "ack",
    "ack_name",
    "status",
)


def normalized_row(result: Normalized) -> dict[str, Any]:
    """The CLI's view of a normalization result: `ROW_FIELDS`, null where a field does not apply.

    An inbound message has no ack (the one WAHA puts in the payload is the sender's side, and
    engine-dependent); an ack carries no body or media (only WEBJS repeats the message in it); an
    ignored webhook shows only its session.
    """
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row["event_type"] = result.event_type
    row["session"] = result.session
    if isinstance(result, NormalizedInbound):
        row.update(
            message_id=result.waha_message_id,
            chat_id=result.chat_id,
            from_me=result.from_me,
            is_group=result.is_group,
            body=result.body,
            has_media=result.has_media,
        )
    elif isinstance(result, NormalizedDelivery):
        row.update(
            message_id=result.waha_message_id,
            chat_id=result.chat_id,
            from_me=result.from_me,
            is_group=result.is_group,
            ack=result.ack,
            ack_name=result.ack_name,
        )
    elif isinstance(result, NormalizedSessionStatus):
        row["status"] = result.status
    return row


@click.group("waha")
def waha() -> None:
    """WAHA (WhatsApp HTTP API): webhook tools."""


@waha.command("normalize")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def normalize_command(files: tuple[Path, ...]) -> None:
    """Normalize WAHA webhook bodies saved as JSON files ('-' reads standard input).

    Prints one JSON object per file, in order, with the keys event_type (InboundMessage,
    DeliveryStatusChanged, SessionStatusChanged or ignored), session, message_id, chat_id,
    from_me, is_group, body, has_media, ack, ack_name and status; null where a key does not
    apply. A file that cannot be read or is not a WAHA webhook gets an error line on standard
    error instead; the others are still printed, and the exit code is 1.
    """
    failed = 0
    for path in files:
        name = str(path)
        try:
            raw = click.get_binary_stream("stdin").read() if name == "-" else path.read_bytes()
            result = normalize_body(raw, source=name)
        except OSError as exc:
            failed += 1
            click.echo(f"error: {name}: cannot read: {exc.strerror or exc}", err=True)
            continue
        except WahaError as exc:
            failed += 1
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(orjson.dumps(normalized_row(result)).decode())
    if failed:
        click.echo(f"{failed} of {len(files)} files failed", err=True)
        raise SystemExit(1)


@waha.command("receive")
@click.option(
    "--host", default=None, help="Address to bind (default COBRANCA_WEBHOOK_HOST or 127.0.0.1)."
)
@click.option(
    "--port", type=int, default=None, help="Port (default COBRANCA_WEBHOOK_PORT or 8080)."
)
@click.option(
    "--max-body-bytes",
    type=int,
    default=None,
    help="Larger bodies get 413 (default COBRANCA_WEBHOOK_MAX_BODY_BYTES or 1000000).",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Receiver processes on the port, SO_REUSEPORT (default COBRANCA_WEBHOOK_PROCESSES "
    "or 1; about one per core).",
)
@click.option("--reuse-port", is_flag=True, hidden=True)
def receive_command(
    host: str | None,
    port: int | None,
    max_body_bytes: int | None,
    processes: int | None,
    reuse_port: bool,
) -> None:
    """Serve WAHA's webhooks: POST /webhooks/waha, /healthz and /metrics, until Ctrl-C/SIGTERM.

    Each verified webhook is stored on Kafka as WahaCallbackReceived before it is answered 200;
    Kafka down answers 503 (WAHA retries). Session keys: see connectors/waha/receiver.py. With
    --processes N, N processes share the port (each its own producer; /metrics is the one
    process that answers the scrape).
    """
    import asyncio
    import contextlib
    import dataclasses
    import signal

    from connectors.waha.receiver import ReceiverConfig
    from streams.base.errors import CobrancaError
    from streams.base.settings import Settings
    from streams.ops.waha_receiver import child_command, serve, supervise

    try:
        config = ReceiverConfig.from_env()
    except CobrancaError as exc:
        raise click.ClickException(str(exc)) from exc
    config = dataclasses.replace(
        config,
        host=host or config.host,
        port=port or config.port,
        max_body_bytes=max_body_bytes or config.max_body_bytes,
        processes=processes or config.processes,
        reuse_port=reuse_port,
    )
    if config.processes > 1:
        raise SystemExit(supervise(config.processes, child_command()))
    settings = Settings.from_env()

    async def run() -> None:
        # SIGTERM (docker stop) and Ctrl-C close the server cleanly: in-flight requests finish.
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(settings.kafka_bootstrap, config)

    try:
        asyncio.run(run())
    except CobrancaError as exc:
        raise click.ClickException(str(exc)) from exc
