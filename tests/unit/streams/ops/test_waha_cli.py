"""`cobranca waha normalize FILE...` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner, Result

from streams.ops.waha_cli import ROW_FIELDS, waha
from tests.unit.waha.envelopes import envelope, message, raw
from tests.unit.waha.shared_fixtures import fixtures_dir

CHAT = "11111111111@c.us"


def _row(event_type: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(event_type=event_type, session="default", **fields)
    return row


def _inbound(message_id: str, body: str | None, has_media: bool) -> dict[str, Any]:
    return _row(
        "InboundMessage",
        message_id=message_id,
        chat_id=CHAT,
        from_me=False,
        is_group=False,
        body=body,
        has_media=has_media,
    )


def _ack(message_id: str, ack: int, ack_name: str) -> dict[str, Any]:
    return _row(
        "DeliveryStatusChanged",
        message_id=message_id,
        chat_id=CHAT,
        from_me=True,
        is_group=False,
        ack=ack,
        ack_name=ack_name,
    )


EXPECTED_ROWS = {
    "01_message_text_inbound_webjs.json": _inbound(
        "false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Hi there!", False
    ),
    "03_message_image_inbound.json": _inbound(
        "false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Check this out (caption for the media)!",
        True,
    ),
    "04_message_document_pdf_inbound.json": _inbound(
        "false_11111111111@c.us_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", None, True
    ),
    "07_message_ack_device_gows.json": _ack(
        "true_11111111111@c.us_3333333333333333333333", 2, "DEVICE"
    ),
    "08_message_ack_read_gows.json": _ack(
        "true_11111111111@c.us_3333333333333333333333", 3, "READ"
    ),
    "11_message_ack_device_webjs.json": _ack("true_11111111111@c.us_AAA", 2, "DEVICE"),
    "12_message_ack_read_webjs.json": _ack("true_11111111111@c.us_AAA", 3, "READ"),
    "13_session_status_working.json": _row("SessionStatusChanged", status="WORKING"),
    "14_session_status_scan_qr_code.json": _row("SessionStatusChanged", status="SCAN_QR_CODE"),
    "16_message_reaction_webjs.json": _row("ignored"),
}


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(waha, ["normalize", *args], input=stdin)


def lines(result: Result) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_every_shared_fixture_prints_its_row_and_the_send_response_is_an_error() -> None:
    names = sorted(path.name for path in fixtures_dir().glob("*.json"))
    result = invoke(*(str(fixtures_dir() / name) for name in names))
    assert result.exit_code == 1
    webhooks = [name for name in names if name in EXPECTED_ROWS]
    assert lines(result) == [EXPECTED_ROWS[name] for name in webhooks]
    for row in lines(result):
        assert list(row) == list(ROW_FIELDS)  # exactly these keys, in this order
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("error: ")
    assert "18_sendtext_response_noweb.json: $: not a WAHA webhook envelope" in errors[0]
    assert errors[1] == f"1 of {len(names)} files failed"


def test_good_files_exit_zero_with_nothing_on_stderr() -> None:
    result = invoke(str(fixtures_dir() / "13_session_status_working.json"))
    assert result.exit_code == 0, result.stderr
    assert lines(result) == [EXPECTED_ROWS["13_session_status_working.json"]]
    assert result.stderr == ""


def test_bad_files_get_an_error_line_and_the_others_are_still_printed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"event": "message", "session": ')
    not_envelope = tmp_path / "array.json"
    not_envelope.write_bytes(b"[]")
    bad_payload = tmp_path / "bad_payload.json"
    bad_payload.write_bytes(raw(envelope("message", message(fromMe="no"))))
    good = tmp_path / "good.json"
    good.write_bytes(raw(envelope("message", message())))
    missing = tmp_path / "missing.json"

    result = invoke(*(str(p) for p in (broken, good, not_envelope, missing, bad_payload, good)))

    assert result.exit_code == 1
    assert [row["message_id"] for row in lines(result)] == ["false_5511988887777@c.us_3EB0AAAA"] * 2
    assert lines(result)[0]["body"] == "Vou pagar amanhã"
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"error: {broken}: $: not valid JSON")
    assert errors[1].startswith(f"error: {not_envelope}: $: expected a JSON object, got an array")
    assert errors[2] == f"error: {missing}: cannot read: No such file or directory"
    assert errors[3].startswith(f"error: {bad_payload}: $.payload.fromMe: expected a boolean")
    assert errors[4] == "4 of 6 files failed"


def test_a_dash_reads_standard_input() -> None:
    result = invoke("-", stdin=raw(envelope("message.ack", {"id": "true_1@c.us_A", "ack": None})))
    assert result.exit_code == 0, result.stderr
    row = dict.fromkeys(ROW_FIELDS)
    row.update(event_type="ignored", session="tenant-a")
    assert lines(result) == [row]


def test_at_least_one_file_is_required() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Missing argument 'FILES...'" in result.stderr


def test_help_names_every_output_key() -> None:
    result = CliRunner().invoke(waha, ["normalize", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for key in ROW_FIELDS:
        assert key in text
