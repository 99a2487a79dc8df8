"""LGPD: phones and CPF/CNPJ never reach a log line in clear."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from streams.base import logs
from streams.domain.brazil.documents import CNPJ_VALUES, CNPJ_WEIGHTS, normalize_document
from streams.domain.brazil.errors import InvalidValue


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+5511987654321", "55119****21"),
        ("5511987654321", "55119****21"),
        ("cpf 529.982.247-25", "cpf 52998****25"),
        ("cnpj 11.222.333/0001-81", "cnpj 11222****81"),
        ("(11) 98765-4321", "11987****21"),
        ("ligar para +55 (21) 3456-7890 hoje", "ligar para 55213****90 hoje"),
        ("true_5511988887777@c.us_3EB0A1", "true_55119****77@c.us_3EB0A1"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert logs.mask(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("cnpj 12.ABC.345/01DE-35 inválido", "cnpj 12ABC****35 inválido"),
        ("12ABC34501DE35", "12ABC****35"),
        ("12abc.345/01de35", "12abc****35"),
        ("1234567890AB04", "12345****04"),
        ("a;12ABC34501DE35,A1B2C3D4E5F668 x", "a;12ABC****35,A1B2C****68 x"),
        # Bounded like the numbers: not the middle of a longer id, nor a letter in a DV's place.
        ("12ABC34501DE355", "12ABC34501DE355"),
        ("x12ABC34501DE35", "x12ABC34501DE35"),
        ("12ABC34501DE3A", "12ABC34501DE3A"),
    ],
)
def test_mask_alphanumeric_cnpjs(text: str, masked: str) -> None:
    assert logs.mask(text) == masked


@given(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12, max_size=12))
def test_every_cnpj_the_importer_takes_is_masked_in_logs(base: str) -> None:
    # The base keeps its own pattern (it may not import the domain): every spelling the
    # domain's rule accepts must be one the pattern finds.
    for case in (str.upper, str.lower):
        for marks in ("", ".", "/", "-", "./-"):
            text = case(f"{base[:2]}.{base[2:5]}.{base[5:8]}/{base[8:]}-00")
            text = "".join(c for c in text if c.isalnum() or c in marks)
            cnpj = text[:-2] + _check_digits(text)
            try:
                normalize_document(cnpj)
            except InvalidValue:  # all digits equal
                continue
            typed = "".join(c for c in cnpj if c.isalnum())  # the case as typed
            assert logs.mask(f"doc {cnpj}.") == f"doc {typed[:5]}****{typed[-2:]}."


def _check_digits(text: str) -> str:
    values = [CNPJ_VALUES[c.upper()] for c in text if c.isalnum()][:12]
    for weights in (CNPJ_WEIGHTS[1:], CNPJ_WEIGHTS):
        remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
        values.append(0 if remainder < 2 else 11 - remainder)
    return f"{values[12]}{values[13]}"


def test_mask_leaves_short_numbers_and_dates_alone() -> None:
    text = "row 12 of 2026-11-22, offset 4031, amount 1234"
    assert logs.mask(text) == text


def test_json_logs_mask_values(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(json_output=True, level="INFO")
    try:
        structlog.get_logger("test").info("sent", phone="+5511987654321", detail="to 5511987654321")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    assert line["phone"] == "55119****21"
    assert line["detail"] == "to 55119****21"
    assert line["event"] == "sent"
    assert line["level"] == "info"


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeat_filter_lets_a_library_line_through_once_per_window_and_counts_the_rest() -> None:
    now = [0.0]
    repeats = logs.RepeatFilter(window_s=10, clock=lambda: now[0])
    line = ("aiokafka", "Unable connect to node with id %s", 1)
    assert repeats.filter(_record(*line))
    assert [repeats.filter(_record(*line)) for _ in range(500)] == [False] * 500
    # Another message, and our own loggers, are never held back.
    assert repeats.filter(_record("aiokafka.consumer.fetcher", "Failed fetch messages"))
    assert all(repeats.filter(_record("streams.ledger", "decided")) for _ in range(3))
    now[0] = 10.5
    again = _record(*line)
    assert repeats.filter(again)
    assert again.getMessage() == "Unable connect to node with id 1 (500 more like this left out)"
    plain = _record(*line)
    now[0] = 21.0
    assert repeats.filter(plain) and plain.getMessage() == "Unable connect to node with id 1"


def _render(capsys: pytest.CaptureFixture[str], json_output: bool, log: Any) -> str:
    logs.configure(json_output=json_output, level="INFO")
    try:
        log(structlog.get_logger("test"))
        return capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


def test_nested_values_are_masked_and_the_callers_objects_untouched(
    capsys: pytest.CaptureFixture[str],
) -> None:
    debtor = {
        "phones": ["+5511987654321", ("21 3456-7890",)],
        "documents": {"cpf": "529.982.247-25", "cnpj": {"529.982.247-25"}},
        "contacts": {"5511988887777": 3},
        "waha": {"api_key": "k-123", "session": {"hmac_key": "s3cr3t", "name": "acme"}},
        "rows": 12,
    }
    original = copy.deepcopy(debtor)
    line = json.loads(
        _render(capsys, True, lambda log: log.info("imported", debtor=debtor, token="t-1"))
    )
    assert debtor == original
    assert line["token"] == logs.REDACTED
    assert line["debtor"] == {
        "phones": ["55119****21", ["21345****90"]],
        "documents": {"cpf": "52998****25", "cnpj": "{'52998****25'}"},
        "contacts": {"55119****77": 3},
        "waha": {"api_key": logs.REDACTED, "session": {"hmac_key": logs.REDACTED, "name": "acme"}},
        "rows": 12,
    }


def test_values_deeper_than_the_walk_are_masked_whole(capsys: pytest.CaptureFixture[str]) -> None:
    deep: list[Any] = ["5511987654321"]
    for _ in range(20):
        deep = [deep]
    out = _render(capsys, True, lambda log: log.info("deep", value=deep))
    assert "5511987654321" not in out and "55119****21" in out


@pytest.mark.parametrize("json_output", [True, False])
def test_tracebacks_and_logged_exceptions_are_masked(
    capsys: pytest.CaptureFixture[str], json_output: bool
) -> None:
    def fail(log: Any) -> None:
        try:
            raise ValueError("no debtor for +5511987654321 (cpf 529.982.247-25)")
        except ValueError as error:
            log.exception("lookup failed")
            log.warning("lookup failed", error=error)
            logging.getLogger("aiokafka.x").error("foreign", exc_info=True)

    out = _render(capsys, json_output, fail)
    assert "ValueError" in out and "Traceback" in out
    assert out.count("55119****21") >= 3 and out.count("52998****25") >= 3
    for clear in ("987654321", "5511987654321", "529.982.247-25", "52998224725"):
        assert clear not in out


def test_the_masker_allocates_nothing_for_an_event_without_numbers() -> None:
    nested = {"tenant": "acme", "stage": ["d-3", "d0"], "ok": True, "n": 5}
    event = {"event": "sent", "tenant": "acme", "detail": nested, "offset": 4031}
    masked = logs._mask_values(None, "info", dict(event))
    assert masked == event and masked["detail"] is nested
