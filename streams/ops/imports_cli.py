"""The file import command: `cobranca import`.

The operator's side of `connectors/imports/`: the connector reads, validates and sends the rows;
this command takes the settings, checks the tenant against the runtime's tenants directory, gives
the importer the runtime's producer and prints.

`cobranca import FILE --tenant T`: debtors from a file into Kafka, or only checked (--dry-run).
The command prints its progress and notes on stderr (a progress bar only when stderr is a
terminal) and, as the very last line on stdout, the summary as one JSON object:
``{"rows": N, "accepted": N, "rejected": N, "by_reason": {...}}``. Rejected rows are not an
error (exit 0); a file that cannot be read at all, or Kafka refusing the events, is (exit 1,
one message, no traceback).

Imports over HTTP are the API's (`cobranca api serve`, `connectors/api/routes/imports.py`).

Registered on the main group in `streams/ops/cli.py`; this module imports only click and the
settings at import time (the importer inside the command), so `cobranca --help` stays fast.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from streams.base.errors import CobrancaError
from streams.base.settings import Settings

if TYPE_CHECKING:
    from connectors.imports.importer import ImportRun, ImportSummary
    from connectors.imports.validation import Rejection
    from streams.domain.tenant_config import TenantConfig

__all__ = ["import_command"]


def _require_configured(settings: Settings, tenant: str, *, what: str) -> TenantConfig:
    """The tenant's configuration in force; refuse (`click.ClickException`) a tenant with no
    TenantConfigured on the tenants topic: its debtors would wait for a régua, prices and
    contact windows that do not exist."""
    from streams.runtime.tenants import read_configs

    try:
        configs = asyncio.run(read_configs(settings.kafka_bootstrap))
    except CobrancaError as exc:
        raise click.ClickException(
            f"cannot check that tenant {tenant!r} is configured: {exc}"
        ) from exc
    if tenant not in configs:
        raise click.ClickException(
            f"tenant {tenant!r} has no configuration (no TenantConfigured on cobranca.tenants at "
            f"{settings.kafka_bootstrap}), so nothing would remind its debtors. Apply one with "
            f"`cobranca tenants apply FILE` first, or pass --force to {what} anyway"
        )
    return configs[tenant]


# -- import: a file ----------------------------------------------------------------------------


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--tenant", required=True, help="Tenant the debtors belong to.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "ndjson", "csv", "xlsx", "xls", "ods"]),
    default=None,
    help="Source format (default: a workbook's extension, else detected from the first bytes).",
)
@click.option("--dry-run", is_flag=True, help="Validate and count; send nothing to Kafka.")
@click.option(
    "--rejects-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every rejected row here as NDJSON (row, field, reason, message).",
)
@click.option(
    "--allow-landlines", is_flag=True, help="Accept landline numbers (default: mobiles only)."
)
@click.option(
    "--require-document",
    is_flag=True,
    help="Reject rows without CPF/CNPJ (missing_field). Default: the tenant's "
    "imports.require_document, read with its configuration (not in a dry run or with --force, "
    "where the document is optional unless this flag is given).",
)
@click.option(
    "--import-id",
    default=None,
    help="Use this import id (default: a new UUID). Re-running a failed import with its id "
    "produces the same event ids, which consumers deduplicate.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Import even if the tenant has no configuration (no TenantConfigured yet).",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    file: Path,
    tenant: str,
    fmt: str | None,
    dry_run: bool,
    rejects_out: Path | None,
    allow_landlines: bool,
    require_document: bool,
    import_id: str | None,
    force: bool,
) -> None:
    """Import debtors from FILE (JSON array, NDJSON, CSV, or the first sheet of an .xlsx, .xls
    or .ods workbook): one event per row, then a summary.

    The tenant must have a configuration (`cobranca tenants apply`) unless --force; a dry run
    does not contact Kafka and does not check it."""
    from connectors.imports.formats import Format, format_of_name
    from connectors.imports.importer import import_rows

    settings: Settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    with ExitStack() as stack:
        stream = stack.enter_context(_open_source(file))
        try:
            run = import_rows(
                stream,
                tenant_id=tenant,
                import_id=import_id,
                fmt=Format(fmt) if fmt else format_of_name(file.name),
                allow_landlines=allow_landlines,
                name=str(file),
                gunzip=True,
                require_document=require_document,
            )
            if not dry_run and not force:  # after the file's own problems, which need no Kafka
                config = _require_configured(settings, tenant, what="import")
                if config.require_document and not run.require_document:
                    run.require_documents()  # the tenant's imports.require_document
        except CobrancaError as exc:
            raise click.ClickException(str(exc)) from exc
        rejects = stack.enter_context(_rejects_file(rejects_out)) if rejects_out else None
        mode = "dry run, nothing sent" if dry_run else f"to Kafka at {settings.kafka_bootstrap}"
        if run.require_document:
            mode += "; CPF/CNPJ required"
        click.echo(
            f"import {run.import_id}: {file} as {run.format.value} for tenant {tenant} ({mode})",
            err=True,
        )
        progress = stack.enter_context(_progress(stream, _size(file)))
        on_rejection = _rejects_writer(rejects) if rejects is not None else None
        on_progress = progress.update if progress is not None else None
        summary = _run(
            run, settings, dry_run=dry_run, on_rejection=on_rejection, on_progress=on_progress
        )
    if run.source.fallback_records:
        click.echo(
            f"note: {run.source.fallback_records} records were not valid UTF-8 and were read "
            "as Windows-1252 (Latin-1)",
            err=True,
        )
    if rejects_out is not None:
        click.echo(f"rejected rows written to {rejects_out}", err=True)
    click.echo(json.dumps(summary.as_dict(), ensure_ascii=False))


def _run(
    run: ImportRun,
    settings: Settings,
    *,
    dry_run: bool,
    on_rejection: Callable[[Rejection], None] | None,
    on_progress: Callable[[ImportSummary], None] | None,
) -> ImportSummary:
    from connectors.imports.importer import dry_run as run_dry
    from connectors.imports.importer import send_import
    from streams.runtime.producer import EventProducer

    if dry_run:
        try:
            return run_dry(run, on_rejection=on_rejection, on_progress=on_progress)
        except CobrancaError as exc:
            raise click.ClickException(
                f"{exc}\n(dry run: {run.summary.rows} rows were read before it)"
            ) from exc

    async def send() -> ImportSummary:
        async with EventProducer(settings.kafka_bootstrap) as producer:
            return await send_import(
                run, producer, on_rejection=on_rejection, on_progress=on_progress
            )

    try:
        return asyncio.run(send())
    except CobrancaError as exc:
        read = run.summary.rows
        if run.incomplete:  # the file stopped (a cut .gz): what was read is stored, and says so
            raise click.ClickException(
                f"{exc}\nimport {run.import_id} is incomplete: the {read} rows read before are "
                "stored and an ImportCompleted marked incomplete counts them. Fix the file and "
                f"run the same command with --import-id {run.import_id}: rows already stored get "
                "the same event ids, which consumers deduplicate."
            ) from exc
        raise click.ClickException(
            f"{exc}\nimport {run.import_id} stopped after reading {read} rows and is incomplete "
            f"(no ImportCompleted). Fix the cause and run the same command with "
            f"--import-id {run.import_id}: rows already stored get the same event ids, which "
            "consumers deduplicate."
        ) from exc


@contextmanager
def _open_source(file: Path) -> Iterator[IO[bytes]]:
    try:
        stream = file.open("rb")
    except FileNotFoundError:
        raise click.ClickException(f"{file}: no such file") from None
    except IsADirectoryError:
        raise click.ClickException(f"{file}: is a directory, not a file") from None
    except PermissionError:
        raise click.ClickException(f"{file}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise click.ClickException(f"{file}: cannot open it ({exc.strerror})") from None
    with stream:
        yield stream


@contextmanager
def _rejects_file(path: Path) -> Iterator[IO[bytes]]:
    try:
        out = path.open("wb")
    except OSError as exc:
        raise click.ClickException(
            f"--rejects-out {path}: cannot write it ({exc.strerror})"
        ) from None
    with out:
        yield out


def _size(file: Path) -> int | None:
    try:
        size = file.stat().st_size
    except OSError:
        return None
    return size or None


class _Progress:
    """A rich progress bar over the bytes read, updated as the import reports progress."""

    def __init__(self, stream: IO[bytes], total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._stream = stream
        self._progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("import", total=total, rows=0)

    def __enter__(self) -> _Progress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, summary: ImportSummary) -> None:
        self._progress.update(self._task, completed=self._stream.tell(), rows=summary.rows)


@contextmanager
def _progress(stream: IO[bytes], total: int | None) -> Iterator[_Progress | None]:
    if not sys.stderr.isatty():
        yield None
        return
    with _Progress(stream, total) as bar:
        yield bar


def _rejects_writer(rejects: IO[bytes]) -> Callable[[Rejection], None]:
    """What writes each rejection to the --rejects-out file, as an NDJSON line."""

    def write(rejection: Rejection) -> None:
        line = {
            "row": rejection.row,
            "field": rejection.field,
            "reason": rejection.reason.value,
            "message": rejection.message,
        }
        rejects.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")

    return write
