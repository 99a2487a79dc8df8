"""`cobranca classify`: the JSON-lines contract, with the real model in a real process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models.cli import classify_lines, parse_line
from models.dataset import LABELS

ROOT = Path(__file__).resolve().parents[3]


def run_classify(stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("COBRANCA_ENCODER", None)
    return subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", "classify"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )


def test_the_real_command_answers_every_line_in_order(onnx_dir: Path) -> None:
    lines = [
        {"text": "pago sexta sem falta", "ref_time": "2026-03-13T10:00:00-03:00"},
        {"text": "já paguei os R$ 150,00 ontem, para de mandar mensagem"},
        "this is not json",
        {"text": "me manda o pix", "ref_time": "2026-03-13T10:00:00-03:00"},
        {"ref_time": "2026-03-13T10:00:00-03:00"},
        {"text": "amanhã eu pago duzentos reais", "ref_time": "2026-03-31T22:00:00-03:00"},
        {"text": "número errado, não conheço esse João", "ref_time": "2026-03-13"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    result = run_classify(stdin + "\n\n")
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines)

    assert rows[0]["intent"] == "promise_to_pay"
    assert rows[0]["promised_date"] == "2026-03-20"  # the next Friday after Friday the 13th
    assert rows[0]["amount_brl"] is None
    assert rows[1]["intent"] == "already_paid"
    assert rows[1]["amount_brl"] == 150.0
    assert rows[1]["promised_date"] is None
    assert rows[2] == {"error": rows[2]["error"]} and rows[2]["error"].startswith(
        "line 3: not JSON"
    )
    assert rows[3]["intent"] == "request_payment_info"
    assert rows[4]["error"].startswith('line 5: "text" must be a string')
    assert rows[5]["intent"] == "promise_to_pay"
    assert rows[5]["promised_date"] == "2026-04-01"  # month rollover
    assert rows[5]["amount_brl"] == 200.0
    assert rows[6]["error"].startswith("line 7:") and "UTC offset" in rows[6]["error"]

    for row in rows:
        if "intent" in row:
            assert set(row) == {"intent", "confidence", "promised_date", "amount_brl"}
            assert row["intent"] in LABELS
            assert 0.0 <= row["confidence"] <= 1.0
    assert "line 3" in result.stderr and "line 5" in result.stderr and "line 7" in result.stderr


def test_empty_input_prints_nothing_and_exits_zero() -> None:
    empty = run_classify("\n\n")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == ""


def fake_classify(texts: list[str]) -> list[tuple[str, float]]:
    return [("promise_to_pay" if "pago" in t else "other", 0.9) for t in texts]


def test_chunks_keep_order_and_errors_in_place() -> None:
    raw = [b'{"text": "pago hoje"}', b"", b"[1]", b'{"text": "oi"}', b'{"text": "pago amanha"}']
    out, err = io.BytesIO(), io.StringIO()
    now = datetime(2026, 3, 13, 13, 0, tzinfo=UTC)
    bad = classify_lines(raw, fake_classify, out, err, now=now, chunk_size=2)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert bad == 1
    assert [r.get("intent") for r in rows] == ["promise_to_pay", None, "other", "promise_to_pay"]
    assert rows[0]["promised_date"] == "2026-03-13"  # default ref_time: now
    assert rows[3]["promised_date"] == "2026-03-14"
    assert rows[1]["error"] == "line 3: expected a JSON object with a text field"
    assert "line 3" in err.getvalue()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"text": 5}', '"text" must be a string, got int'),
        ('{"text": "x", "ref_time": 5}', '"ref_time" must be an ISO 8601 string'),
        ('{"text": "x", "ref_time": "amanhã"}', "is not ISO 8601"),
        ('{"text": "x", "ref_time": "2026-03-13T10:00:00"}', "has no UTC offset"),
    ],
)
def test_bad_fields_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_line(1, raw, datetime.now(UTC))
