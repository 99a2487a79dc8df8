"""The CLI's one JSON helper and one progress helper."""

from __future__ import annotations

import io
import json
import os
import pty
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from streams.base.cli_output import echo_json, json_option, json_value, progress


def test_json_value_writes_times_in_utc_and_the_rest_as_text() -> None:
    são_paulo = timezone(timedelta(hours=-3))
    assert (
        json_value(datetime(2026, 12, 6, 21, 30, tzinfo=são_paulo)) == "2026-12-07T00:30:00+00:00"
    )
    assert json_value(date(2026, 12, 6)) == "2026-12-06"
    assert json_value(Decimal("12.50")) == "12.50"
    assert json_value(Path("/tmp/x")) == "/tmp/x"
    assert json_value((1, 2)) == [1, 2]
    with pytest.raises(TypeError):
        json_value(object())


def test_a_json_option_command_prints_one_document() -> None:
    @click.command()
    @json_option
    def command(as_json: bool) -> None:
        if as_json:
            echo_json({"city": "São Paulo", "at": datetime(2026, 1, 1, tzinfo=UTC)})
        else:
            click.echo("text")

    result = CliRunner().invoke(command, ["--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"city": "São Paulo", "at": "2026-01-01T00:00:00+00:00"}
    assert "São Paulo" in result.output  # as is, not \u escapes
    assert CliRunner().invoke(command, []).output == "text\n"


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with progress("records") as task:
        advance = task("reading cobranca.ledger")
        advance(5, 10)
        advance(10, 10)
    assert stderr.getvalue() == ""


def test_progress_draws_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    controller, terminal = pty.openpty()
    with os.fdopen(terminal, "w") as stderr:
        monkeypatch.setattr(sys, "stderr", stderr)
        with progress("records") as task:
            advance = task("reading cobranca.ledger")
            advance(7, 10)
        stderr.flush()
    drawn = b""
    while chunk := _read_ready(controller):
        drawn += chunk
    os.close(controller)
    assert b"reading cobranca.ledger" in drawn
    assert b"records" in drawn


def _read_ready(fd: int) -> bytes:
    import select

    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal side is closed
        return b""
