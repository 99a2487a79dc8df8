"""`bench/pipeline_bench.py` at a tiny size: the whole loop (import → régua → ledger → dispatch →
WAHA simulator → receiver → normalizer → conversation → sink → ClickHouse) runs with the real
programs, every debtor's reminder is requested, decided and dispatched exactly once, and every
stage reports a figure. The goals are not asserted: 300 debtors say nothing about throughput.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEBTORS = 300


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_tiny_run_is_exactly_once_and_reports_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "pipeline_bench.py"),
            "--debtors",
            str(DEBTORS),
            "--workers",
            "1",
            "--reply-share",
            "0.2",
            "--timeout",
            "400",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = json.loads(out.read_text())["rounds"]

    assert run["exactly_once"] == {
        "debtors": DEBTORS,
        "debtors_without_one_request": 0,
        "requests_not_decided_once": 0,
        "approvals_not_dispatched_once": 0,
        "duplicate_event_ids": 0,
    }
    assert run["exactly_once_ok"] is True
    # Every debtor's reminder was sent and its delivered ack reached ClickHouse.
    assert run["sends"] == DEBTORS
    assert run["delivered"] == DEBTORS
    assert run["sends_per_s"] > 0
    # Replies came (a fifth of the debtors answer), were classified, and some were answered.
    assert run["replies"] > 0
    assert run["classified"] == run["replies"]
    assert run["answers"] > 0
    assert run["replies_per_s"] > 0
    for figure in ("import_to_sent_s", "answer_s", "arrival_answer_s", "clickhouse_s"):
        assert set(run[figure]) == {"p50", "p95", "p99", "n"}, figure
        assert 0 <= run[figure]["p50"] <= run[figure]["p99"], figure
    # The answers' time, split at each stage they go through.
    stages = run["answer_stages_s"]
    assert list(stages) == ["to the receiver", "to classified", "to approved", "to dispatched"]
    assert all(stage["n"] == run["answers"] for stage in stages.values()), stages
    # From the arrival at the receiver, the first stage (the simulator's webhook) is left out.
    assert run["arrival_answer_s"]["p50"] <= run["answer_s"]["p50"]
    for table in ("raw_clients", "raw_dispatches", "raw_conversations", "raw_intents"):
        assert table in run["clickhouse_by_table_p99_s"]
    assert {"broker", "clickhouse", "receiver", "simulator", "sink", "worker-1", "import"} <= set(
        run["cpu_ms_per_send"]
    )
    cpu = run["cpu_ms_per_send"]
    assert all(ms > 0 for name, ms in cpu.items() if name != "simulator"), cpu
    assert "exactly once         OK" in done.stdout
