"""`cobranca handoffs list|resolve` and `cobranca model export-corrections` (mounted in the
model group by streams/ops/cli.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from streams.base.cli_output import progress
from streams.base.errors import CobrancaError
from streams.base.logs import mask
from streams.base.settings import Settings
from streams.domain.intent import LABELS

__all__ = ["export_corrections_command", "handoffs"]


@click.group()
def handoffs() -> None:
    """Conversations handed off to a person: list them, resolve them."""


@handoffs.command("list")
@click.option("--tenant", help="Only this tenant's hand-offs.")
@click.option("--all", "include_resolved", is_flag=True, help="Resolved ones too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def list_command(
    settings: Settings, tenant: str | None, include_resolved: bool, as_json: bool
) -> None:
    """Open hand-offs, oldest first: id, when, why, the client and what the debtor wrote."""
    from streams.ops.handoffs import read_handoffs

    try:
        with progress("records") as track:
            found = asyncio.run(
                read_handoffs(
                    settings.kafka_bootstrap,
                    tenant=tenant,
                    include_resolved=include_resolved,
                    track=track,
                )
            )
    except CobrancaError as exc:
        raise click.ClickException(str(exc)) from exc
    for h in found:
        row = {
            "handoff_id": h.handoff_id,
            "tenant": h.tenant_id,
            "opened_at": h.opened_at.isoformat(),
            "reason": h.request.reason,
            "intent": h.request.intent,
            "client_id": h.request.client_id,
            "chat": mask(h.request.chat_id),
            "text": h.text,
            "resolved_as": h.resolution.label if h.resolution is not None else None,
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            status = f"resolved as {row['resolved_as']}" if h.resolution is not None else "open"
            click.echo(
                f"{row['handoff_id']}  {row['tenant']}  {row['opened_at']}  {row['reason']}  "
                f"client {row['client_id'] or '-'}  {row['chat']}  {status}\n    {h.text or ''}"
            )
    if not as_json:
        click.echo(f"{len(found)} hand-offs", err=True)


@handoffs.command("resolve")
@click.argument("handoff_id")
@click.option(
    "--label", required=True, type=click.Choice(LABELS), help="What the message really meant."
)
@click.option("--keep-paused", is_flag=True, help="Keep the client's automated reminders paused.")
@click.option("--operator", help="Who resolves it.")
@click.option("--note", help="A note for the record.")
@click.pass_obj
def resolve_command(
    settings: Settings,
    handoff_id: str,
    label: str,
    keep_paused: bool,
    operator: str | None,
    note: str | None,
) -> None:
    """Close HANDOFF_ID with the right label; the client's reminders resume unless kept paused."""
    from streams.ops.handoffs import resolve

    try:
        with progress("records") as track:
            resolution = asyncio.run(
                resolve(
                    settings.kafka_bootstrap,
                    handoff_id,
                    label=label,
                    resume=not keep_paused,
                    operator=operator,
                    note=note,
                    track=track,
                )
            )
    except CobrancaError as exc:
        raise click.ClickException(str(exc)) from exc
    after = "stay paused" if keep_paused else "resume"
    click.echo(
        f"hand-off {handoff_id} resolved as {label} (event {resolution.header.event_id}); "
        f"reminders {after} once the worker applies it"
    )


@click.command("export-corrections")
@click.option("--tenant", help="Only this tenant's corrections.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSONL here (default: standard output).",
)
@click.pass_obj
def export_corrections_command(settings: Settings, tenant: str | None, output: Path | None) -> None:
    """Operators' resolutions of hand-offs and corrections of labels (the API's IntentCorrected)
    as training rows: JSONL {"text", "label"}."""
    from streams.ops.handoffs import export_corrections

    try:
        with progress("records") as track:
            rows = asyncio.run(
                export_corrections(settings.kafka_bootstrap, tenant=tenant, track=track)
            )
    except CobrancaError as exc:
        raise click.ClickException(str(exc)) from exc
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if output is None:
        sys.stdout.write(lines)
    else:
        output.write_text(lines, encoding="utf-8")
    click.echo(f"{len(rows)} corrections", err=True)
