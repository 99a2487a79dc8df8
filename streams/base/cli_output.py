"""What a `cobranca` command prints besides its human text: `--json` documents and progress bars.

One helper for each, shared by every command group (streams/ops, models/cli.py), so that every
`--json` speaks the same dialect and every long command shows progress the same way:

- `--json` prints ONE document (an object or an array) on stdout: snake_case keys, integers for
  money and tokens, times in ISO-8601 UTC. Personal data is masked by the command exactly as
  in its human output, before it gets here.
- Progress goes to stderr, and only when stderr is a terminal: a pipe, a test or a program
  reading `--json` sees no bar and no escape codes.

Lives in the base (not in streams/ops) because `models/cli.py`, below the domain, prints too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import click

Advance = Callable[[int, int | None], None]
"""`advance(done, total)`: how far a task is (`total` None while unknown)."""

_Command = TypeVar("_Command", bound=Callable[..., Any])


def json_option(command: _Command) -> _Command:
    """The `--json` flag, spelled and explained the same on every command (`as_json: bool`)."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print one JSON document on stdout instead of the text for people.",
    )(command)


def json_value(value: Any) -> Any:
    """`json.dumps`'s fallback: times as ISO-8601 (UTC when they know their zone), decimals and
    ids as strings, paths as text, sets and tuples as arrays."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID | Path):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def echo_json(document: dict[str, Any] | list[Any]) -> None:
    """Print `document` as one JSON document on stdout (UTF-8 as is, not `\\u` escapes)."""
    click.echo(json.dumps(document, ensure_ascii=False, default=json_value))


def _ignore(done: int, total: int | None) -> None:
    """What a task reports into when nobody watches: nothing to draw, nothing to pay."""


@contextmanager
def progress(unit: str) -> Iterator[Callable[[str], Advance]]:
    """Progress bars on stderr while the block runs: yields `task(description) -> advance`.

    On anything but a terminal the tasks report into nothing, so the same code runs quietly in
    pipes, cron jobs and tests. The bars are transient: once done, the terminal keeps only
    the command's own output.
    """
    if not sys.stderr.isatty():
        yield lambda description: _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        SpinnerColumn(),
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        unit,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bars:

        def task(description: str) -> Advance:
            task_id = bars.add_task(description, total=None)

            def advance(done: int, total: int | None) -> None:
                bars.update(task_id, completed=done, total=total)

            return advance

        yield task
