"""The whole loop in one run (issue 16 §1, §3): debtors imported → régua → ledger → dispatch →
WAHA simulator (acks, and replies at a set share) → webhook receiver → normalizer →
conversation (the real classifier) → sink → ClickHouse.

Run on demand (not a test; tests/integration/bench/test_pipeline_bench.py runs a tiny one):

    ~/.cache/cobranca/venv/bin/python bench/pipeline_bench.py                    # 20,000 debtors
    ~/.cache/cobranca/venv/bin/python bench/pipeline_bench.py --debtors 2000 --reply-share 0.1
    ~/.cache/cobranca/venv/bin/python bench/pipeline_bench.py --workers 1,2,3    # §3, side by side

Each worker count gets a stack of its own, wired as `make demo` wires the local one
(streams/ops/demo.py), every piece the real program: a broker on free ports
(`LocalBroker.on_free_ports`), `cobranca db serve` (chDB over HTTP) on a free port, then
`cobranca topics create`, `db migrate`, `tenants apply` (a tenant whose contact windows are open
all day, one régua step due at import), `tokens credit`, `cobranca waha receive`, `cobranca
waha-sim` (webhooks signed to the receiver; debtors read --read-rate of what is delivered and
answer reply-share / read-rate of what they read, so reply-share of the debtors answer),
N x `cobranca worker` (one consumer group; dispatch pacing off; COBRANCA_CLOCK_START set to the
next open contact window at noon in São Paulo, or now when they are open, so the run works any
day), and `cobranca sink`. A few warm-up debtors go through first (the group is formed, the
sessions resolved); then `cobranca import` of --debtors rows (CSV) starts the clock. The run ends
when every debtor's reminder has its delivered ack (DEVICE) in ClickHouse, every reply is
classified and every bot's answer dispatched, and nothing new arrives for a few seconds. Every
process is stopped by its PID; the data lives in a temporary directory, removed afterwards.

The figures, all read from ClickHouse's raw tables after the run (one row per Kafka record, so
they are what an analyst would see):

- sends/s end to end: the debtors' reminders that have a delivered ack (DEVICE, or READ, which
  implies it) in raw_conversations, divided by the time from the start of `cobranca import` to
  the last reminder's first such ack's `ingested_at` (the sink's insert time, DEFAULT now64(3)).
- replies handled/s: debtors' messages (InboundMessage, not from_me) that were classified,
  divided by the time from the first reply's occurred_at to the last IntentClassified's.
- import → sent: ClientImported.occurred_at (written by `cobranca import`) to the
  MessageDispatched.occurred_at of the debtor's reminder (joined by client_id through
  SendRequested.request_id).
- reply → bot's answer sent: from the reply's arrival at the receiver
  (WahaCallbackReceived.received_at), which is what the goal measures ("after the reply
  arrives"), and, printed beside it, from InboundMessage.occurred_at (WAHA's webhook timestamp,
  i.e. when the simulator sent the reply: its own queue of webhooks is WAHA's, not cobranca's),
  to the MessageDispatched.occurred_at of the answer; the chain is
  InboundMessage.event_id = IntentClassified.causation_id, IntentClassified.event_id =
  SendRequested.causation_id (the answer's), SendRequested.request_id = MessageDispatched's.
  Replies that get no answer (a hand-off, an opt-out, "other") are not in it.
- event → ClickHouse row: a row's `ingested_at` minus its header's occurred_at, over every raw
  table's rows of the run except the régua's own events (RemindersScheduled, SendRequested and
  SendDeferred from the régua carry the simulated clock's time, not the wall clock's).
  occurred_at and ingested_at are both wall clocks of the same machine, so no skew.
- CPU per send, for each process (in milliseconds): /proc/<pid>/stat (bench.harness.cpu_seconds)
  read after the warm-up and at the end, divided by the sends; `cobranca import` (a child that
  exits) is measured by getrusage(RUSAGE_CHILDREN) around it, the bench's own polling by
  getrusage(RUSAGE_SELF).
- exactly once: in ClickHouse, every imported debtor has exactly one SendRequested, every
  request_id is decided once (one SendApproved or SendRejected), every approval is dispatched
  once (one MessageDispatched), and no event_id appears twice in any raw table.

It prints each figure beside issue 16's goals (met or not), one block per worker count and a
table of them all; --json PATH writes the same as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import cpu_seconds, wait_healthy  # noqa: E402
from streams.base.ports import free_port  # noqa: E402

TENANT = "bench-cobrancas"
SESSION = "bench-principal"
HMAC_VARIABLE = "BENCH_WAHA_HMAC_KEY"
HMAC_KEY = "pipeline-bench-webhook-key"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DEFAULT_DEBTORS = 5_000
"""About 2-3 minutes on 2 idle cores (issue 16 suggested 20,000, which the measured rate,
tens of sends/s, would take a quarter of an hour to get through)."""
PARTITIONS = 6
"""Topic partitions: room for 3 workers to share every agent's input."""
POLL_S = 1.0
"""How often the bench counts rows in ClickHouse while it waits (its CPU is reported apart)."""
QUIET_S = 5.0
"""Nothing new in ClickHouse for this long, with every count complete: the run is settled."""
WARM_UP = 12
"""Debtors that go through before the measured import (spread over the partitions); each then
writes one message, so every worker has loaded its classifier before the clock starts."""
WARM_UP_FIRST = 9_000_000
WARM_UP_TEXT = "Oi, pode me mandar o pix de novo?"
READ_RATE = 0.5
"""Share of delivered messages the simulated debtors read; they answer only what they read."""
DELIVERED = "('DEVICE', 'READ')"
"""Acks that say a message was delivered: READ too, since the normalizer drops a DEVICE ack that
arrives after the READ one (a status never goes back), and webhooks race."""
ANSWER_STAGES = ("to the receiver", "to classified", "to approved", "to dispatched")
"""Where a bot's answer spends its time: the debtor's webhook on its way to the receiver; the
receiver to IntentClassified (the normalizer's queue and the conversation agent's, and the
classifier); to SendApproved (the ledger's queue); to MessageDispatched (dispatch's queue and
WAHA)."""
GOALS = {
    "sends_per_s": 1000.0,
    "answer_p95_s": 2.0,
    "clickhouse_p99_s": 5.0,
}
TENANT_FILE = f"""\
tenant: {TENANT}
name: Bench Cobranças
waha:
  sessions:
    - name: {SESSION}
      webhook_hmac_key: env:{HMAC_VARIABLE}
imports:
  require_document: false
contact:
  state_holidays: false
  windows:
    default: {{weekdays: "00:00-24:00", saturday: "00:00-24:00"}}
regua:
  steps:
    - when: D0
      at: "00:00"
      template: |
        Olá, {{first_name}}! {{amount}} vencem hoje, {{due_date}}.
        Pix copia e cola: {{pix_code}}
"""
RAW_TABLES = (
    "raw_clients",
    "raw_sends_requested",
    "raw_credits_requested",
    "raw_sends_decided",
    "raw_ledger",
    "raw_dispatches",
    "raw_waha_callbacks",
    "raw_waha_messages",
    "raw_conversations",
    "raw_intents",
    "raw_actions",
)


@dataclass
class Round:
    """One worker count's figures."""

    workers: int
    debtors: int
    seconds: float = 0.0
    sends: int = 0
    delivered: int = 0
    sends_per_s: float = 0.0
    replies: int = 0
    classified: int = 0
    answers: int = 0
    replies_per_s: float = 0.0
    import_to_sent_s: dict[str, float] = field(default_factory=dict)
    answer_s: dict[str, float] = field(default_factory=dict)
    """A debtor's reply → the bot's answer dispatched, from the simulator's webhook (WAHA's
    side: its own queue of webhooks included)."""
    arrival_answer_s: dict[str, float] = field(default_factory=dict)
    """The same from the reply's arrival at the receiver: what the goal measures ("the bot's
    answer p95 under 2 s after the reply arrives")."""
    answer_stages_s: dict[str, dict[str, float]] = field(default_factory=dict)
    """`answer_s` split at each stage the answer goes through (`ANSWER_STAGES`)."""
    clickhouse_s: dict[str, float] = field(default_factory=dict)
    clickhouse_by_table_p99_s: dict[str, float] = field(default_factory=dict)
    clickhouse_rows: int = 0
    """Rows the sink wrote into the raw tables during the measured part (what a send costs it)."""
    cpu_ms_per_send: dict[str, float] = field(default_factory=dict)
    bench_cpu_ms_per_send: float = 0.0
    """The bench's own polling of ClickHouse (its queries' cost shows in clickhouse's CPU)."""
    exactly_once: dict[str, int] = field(default_factory=dict)

    @property
    def exactly_once_ok(self) -> bool:
        return all(v == 0 for k, v in self.exactly_once.items() if k != "debtors")

    def goals(self) -> dict[str, bool]:
        return {
            "sends_per_s": self.sends_per_s >= GOALS["sends_per_s"] and self.exactly_once_ok,
            "answer_p95_s": bool(self.arrival_answer_s)
            and self.arrival_answer_s["p95"] < GOALS["answer_p95_s"],
            "clickhouse_p99_s": bool(self.clickhouse_s)
            and self.clickhouse_s["p99"] < GOALS["clickhouse_p99_s"],
        }


# --- the stack ---------------------------------------------------------------------------------


class Stack:
    """One round's processes, each the real program, each stopped by its PID."""

    def __init__(self, home: Path, workers: int, clock_start: datetime) -> None:
        self.home = home
        self.workers = workers
        self.clock_start = clock_start
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.pids: dict[str, int] = {}
        self.broker: Any = None
        self.clickhouse: Any = None
        self.env: dict[str, str] = {}

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        from connectors.clickhouse.server import LocalClickHouse
        from infra.kafka.broker import LocalBroker
        from streams.base.settings import Settings, cache_home
        from streams.ops.clickhouse_cli import DB_SERVE

        self.broker = LocalBroker.on_free_ports(cache=cache_home(), home=self.home / "kafka")
        status = self.broker.start()
        self.pids["broker"] = int(status.pid)
        clickhouse_url = f"http://127.0.0.1:{free_port()}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "COBRANCA_KAFKA_BOOTSTRAP": status.bootstrap,
            "CLICKHOUSE_URL": clickhouse_url,
            "COBRANCA_DATA_DIR": str(self.home / "data"),
            "COBRANCA_TOPIC_PARTITIONS": str(PARTITIONS),
            "COBRANCA_APP_ID": "pipeline-bench",
            "COBRANCA_LOG_FORMAT": "json",
            "COBRANCA_LOG_LEVEL": "WARNING",
            HMAC_VARIABLE: HMAC_KEY,
        }
        self.clickhouse = LocalClickHouse.from_settings(Settings.from_env(self.env))
        served = self.clickhouse.start(DB_SERVE, timeout=120)
        self.pids["clickhouse"] = int(served.pid)
        tenant_file = self.home / f"{TENANT}.yaml"
        tenant_file.write_text(TENANT_FILE, encoding="utf-8")
        self.cli("topics", "create")
        self.cli("db", "migrate")
        self.cli("tenants", "apply", str(tenant_file))

        port = free_port()
        self.spawn("receiver", "waha", "receive", "--port", str(port))
        wait_healthy(f"http://127.0.0.1:{port}/healthz", self.procs["receiver"])
        self.start_simulator(f"http://127.0.0.1:{port}/webhooks/waha")
        for n in range(self.workers):
            self.spawn(f"worker-{n + 1}", "worker", env=self.worker_env())
        self.spawn("sink", "sink")

    def start_simulator(self, webhook_url: str) -> None:
        from connectors.waha.simulator.runner import start_simulator_process

        share = float(self.env.get("BENCH_REPLY_SHARE", "0.1"))
        sim = start_simulator_process(
            webhook_url=webhook_url,
            hmac_key=HMAC_KEY,
            sessions=(SESSION,),
            extra_args=[
                "--read-rate",
                str(READ_RATE),
                "--reply-rate",
                str(min(1.0, share / READ_RATE)),
                "--reply-delay",
                "0.5",
                "--ack-delays",
                "0.05,0.3,0.8",
                "--seed",
                "16",
            ],
            log_path=self.logs / "waha-sim.log",
        )
        self.procs["simulator"] = sim.proc
        self.pids["simulator"] = sim.pid
        self.sim_url, self.sim_key = sim.url, sim.api_key or ""

    def worker_env(self) -> dict[str, str]:
        return {
            "WAHA_URL": self.sim_url,
            "WAHA_API_KEY": self.sim_key,
            "WAHA_SESSION": SESSION,
            "COBRANCA_DISPATCH_RATE": "0",
            "COBRANCA_DISPATCH_TYPING_S": "0",
            "COBRANCA_CLOCK_INTERVAL_S": "1",
            "COBRANCA_CLOCK_START": self.clock_start.isoformat(),
        }

    def inbound(self, chats: Sequence[str]) -> None:
        """Debtors write first (the simulator's /_sim/inbound): a webhook each, as a reply."""
        import urllib.request

        for chat in chats:
            body = json.dumps({"session": SESSION, "chat_id": chat, "text": WARM_UP_TEXT})
            call = urllib.request.Request(
                f"{self.sim_url}/_sim/inbound",
                data=body.encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(call, timeout=10) as answer:
                answer.read()

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "streams.ops.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cobranca {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streams.ops.cli", *args],
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        self.pids[name] = proc.pid

    def assert_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self.logs / f"{name}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) or 0.0 for name, pid in self.pids.items()}

    def __exit__(self, *exc: object) -> None:
        for name in sorted(self.procs, key=lambda n: n != "sink"):
            _stop(self.procs[name])
        if self.clickhouse is not None:
            with contextlib.suppress(Exception):
                self.clickhouse.stop()
        if self.broker is not None:
            with contextlib.suppress(Exception):
                self.broker.stop()


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the debtors -------------------------------------------------------------------------------


def clock_start(now: datetime) -> datetime:
    """Noon in São Paulo of the next day the bench tenant's windows open (Monday to Saturday,
    no national holiday), or now when they are open now."""
    from streams.ops.demo import demo_clock_start

    return demo_clock_start(now) or now


def _phone(n: int) -> str:
    return f"55119{n:07d}1"


def _chat(n: int) -> str:
    return f"{_phone(n)}@c.us"


def write_debtors(path: Path, first: int, count: int, due: datetime) -> None:
    """`count` debtors as the CSV a collection team exports, numbered from `first`; phones are
    unique mobiles (none ends in 0000, which the simulator treats as unregistered)."""
    day = due.astimezone(SAO_PAULO).strftime("%d/%m/%Y")
    rng = random.Random(first)
    with path.open("w", encoding="utf-8") as out:
        out.write("codigo;nome;celular;valor;vencimento;fatura;uf;pix\n")
        for n in range(first, first + count):
            reais = 150 + rng.randrange(2000)
            out.write(
                f"cli-{n:07d};Maria {n} Souza;+{_phone(n)};{reais},00;{day};NF-{n};SP;"
                f"00020126580014br.gov.bcb.pix0136{uuid.UUID(int=n)}\n"
            )


# --- ClickHouse --------------------------------------------------------------------------------


class Reader:
    """Queries against the round's ClickHouse."""

    def __init__(self, env: dict[str, str]) -> None:
        from connectors.clickhouse import connect
        from streams.base.settings import Settings

        self.settings = Settings.from_env(env)
        self.client = connect(self.settings)
        self.db = self.settings.clickhouse_database

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.client.query(sql.format(db=self.db)).result_rows]

    def one(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def progress(self, import_id: str) -> dict[str, int]:
        (row,) = self.rows(
            "SELECT "
            "(SELECT count() FROM {db}.raw_clients WHERE event_type = 'ClientImported' "
            f"  AND import_id = '{import_id}'), "
            "(SELECT count() FROM {db}.raw_dispatches WHERE event_type = 'MessageDispatched'), "
            "(SELECT uniqExact(waha_message_id) FROM {db}.raw_conversations WHERE event_type = "
            f"  'DeliveryStatusChanged' AND ack_name IN {DELIVERED}), "
            "(SELECT count() FROM {db}.raw_conversations WHERE event_type = 'InboundMessage' "
            "  AND NOT from_me), "
            "(SELECT count() FROM {db}.raw_intents), "
            "(SELECT count() FROM {db}.raw_sends_decided WHERE event_type = 'SendApproved'), "
            "(SELECT count() FROM {db}.raw_sends_requested WHERE event_type = 'SendRequested' "
            "  AND step IS NOT NULL)"
        )
        keys = ("imported", "dispatched", "delivered", "replies", "classified", "approved")
        return dict(zip((*keys, "reminders"), (int(v) for v in row), strict=True))

    def close(self) -> None:
        self.client.close()


def _pcts(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": len(ordered)}


def measure(reader: Reader, import_id: str, began: datetime, result: Round) -> None:
    """Every figure of `result` from ClickHouse's raw tables (see the module docstring)."""
    ours = f"import_id = '{import_id}' AND event_type = 'ClientImported'"
    since = f"toDateTime64('{began:%Y-%m-%d %H:%M:%S.%f}', 3, 'UTC')"
    reminders = (
        "SELECT r.request_id AS request_id, c.occurred_at AS imported_at "
        "FROM {db}.raw_sends_requested AS r "
        "INNER JOIN (SELECT client_id, occurred_at FROM {db}.raw_clients "
        f"  WHERE {ours}) AS c ON r.client_id = c.client_id "
        "WHERE r.event_type = 'SendRequested' AND r.step IS NOT NULL"
    )
    sent = reader.rows(
        "SELECT dateDiff('millisecond', m.imported_at, d.occurred_at) / 1000, d.waha_message_id "
        f"FROM ({reminders}) AS m INNER JOIN {{db}}.raw_dispatches AS d "
        "ON d.request_id = m.request_id WHERE d.event_type = 'MessageDispatched'"
    )
    result.sends = len(sent)
    result.import_to_sent_s = _pcts([float(r[0]) for r in sent])
    delivered = reader.rows(
        "SELECT count(), max(first) FROM (SELECT waha_message_id, min(ingested_at) AS first "
        "FROM {db}.raw_conversations WHERE event_type = 'DeliveryStatusChanged' "
        f"AND ack_name IN {DELIVERED} AND waha_message_id IN (SELECT d.waha_message_id "
        f"FROM ({reminders}) AS m INNER JOIN {{db}}.raw_dispatches AS d "
        "ON d.request_id = m.request_id WHERE d.event_type = 'MessageDispatched') "
        "GROUP BY waha_message_id)"
    )
    result.delivered = int(delivered[0][0])
    if result.delivered:
        last = delivered[0][1].replace(tzinfo=UTC)
        result.seconds = round((last - began).total_seconds(), 3)
        result.sends_per_s = round(result.delivered / result.seconds, 1)

    replies = f"event_type = 'InboundMessage' AND NOT from_me AND occurred_at >= {since}"
    result.replies = int(
        reader.one(f"SELECT count() FROM {{db}}.raw_conversations WHERE {replies}")
    )
    classified = reader.rows(
        "SELECT count(), min(i.occurred_at), max(i.occurred_at), min(m.occurred_at) "
        "FROM {db}.raw_intents AS i INNER JOIN "
        f"(SELECT event_id, occurred_at FROM {{db}}.raw_conversations WHERE {replies}) AS m "
        "ON i.causation_id = m.event_id"
    )
    result.classified = int(classified[0][0])
    if result.classified:
        span = (classified[0][2] - classified[0][3]).total_seconds()
        result.replies_per_s = round(result.classified / max(span, 1e-3), 1)
    # Each answer's way, stage by stage, from the times its events carry: the simulator's
    # webhook (InboundMessage), the receiver's (WahaCallbackReceived.received_at), the
    # conversation agent's (IntentClassified), the ledger's (SendApproved) and dispatch's
    # (MessageDispatched, after WAHA answered).
    answers = reader.rows(
        "SELECT dateDiff('millisecond', m.occurred_at, d.occurred_at) / 1000, "
        "dateDiff('millisecond', m.occurred_at, w.received_at) / 1000, "
        "dateDiff('millisecond', w.received_at, i.occurred_at) / 1000, "
        "dateDiff('millisecond', i.occurred_at, a.occurred_at) / 1000, "
        "dateDiff('millisecond', a.occurred_at, d.occurred_at) / 1000, "
        "dateDiff('millisecond', w.received_at, d.occurred_at) / 1000 "
        "FROM (SELECT event_id, causation_id, occurred_at FROM {db}.raw_conversations "
        f"WHERE {replies}) AS m "
        "INNER JOIN {db}.raw_waha_messages AS w ON w.event_id = m.causation_id "
        "INNER JOIN {db}.raw_intents AS i ON i.causation_id = m.event_id "
        "INNER JOIN {db}.raw_sends_requested AS r ON r.causation_id = i.event_id "
        "INNER JOIN {db}.raw_sends_decided AS a ON a.request_id = r.request_id "
        "INNER JOIN {db}.raw_dispatches AS d ON d.request_id = r.request_id "
        "WHERE r.event_type = 'SendRequested' AND a.event_type = 'SendApproved' "
        "AND d.event_type = 'MessageDispatched'"
    )
    result.answers = len(answers)
    result.answer_s = _pcts([float(r[0]) for r in answers])
    result.arrival_answer_s = _pcts([float(r[len(ANSWER_STAGES) + 1]) for r in answers])
    result.answer_stages_s = {
        stage: _pcts([float(r[column]) for r in answers])
        for column, stage in enumerate(ANSWER_STAGES, 1)
    }

    lags: list[float] = []
    result.clickhouse_rows = sum(
        int(reader.one(f"SELECT count() FROM {{db}}.{table} WHERE ingested_at >= {since}"))
        for table in RAW_TABLES
    )
    for table in RAW_TABLES:
        rows = reader.rows(
            "SELECT dateDiff('millisecond', occurred_at, ingested_at) / 1000 "
            f"FROM {{db}}.{table} WHERE ingested_at >= {since} AND source != 'streams.regua'"
        )
        values = [float(r[0]) for r in rows]
        if values:
            result.clickhouse_by_table_p99_s[table] = _pcts(values)["p99"]
        lags.extend(values)
    result.clickhouse_s = _pcts(lags)

    result.exactly_once = {
        "debtors": int(reader.one(f"SELECT count() FROM {{db}}.raw_clients WHERE {ours}")),
        "debtors_without_one_request": int(
            reader.one(
                "SELECT count() FROM (SELECT c.client_id, countIf(r.request_id != '') AS n "
                "FROM {db}.raw_clients AS c LEFT JOIN (SELECT client_id, request_id FROM "
                "{db}.raw_sends_requested WHERE event_type = 'SendRequested' AND step IS NOT "
                "NULL) AS r ON r.client_id = c.client_id "
                f"WHERE c.import_id = '{import_id}' AND c.event_type = 'ClientImported' "
                "GROUP BY c.client_id) WHERE n != 1"
            )
        ),
        "requests_not_decided_once": int(
            reader.one(
                "SELECT count() FROM (SELECT r.request_id, countIf(d.request_id != '') AS n "
                "FROM {db}.raw_sends_requested AS r LEFT JOIN (SELECT request_id FROM "
                "{db}.raw_sends_decided WHERE event_type IN ('SendApproved', 'SendRejected')) "
                "AS d ON d.request_id = r.request_id WHERE r.event_type = 'SendRequested' "
                "GROUP BY r.request_id) WHERE n != 1"
            )
        ),
        "approvals_not_dispatched_once": int(
            reader.one(
                "SELECT count() FROM (SELECT a.request_id, countIf(d.request_id != '') AS n "
                "FROM {db}.raw_sends_decided AS a LEFT JOIN (SELECT request_id FROM "
                "{db}.raw_dispatches WHERE event_type = 'MessageDispatched') AS d "
                "ON d.request_id = a.request_id WHERE a.event_type = 'SendApproved' "
                "GROUP BY a.request_id) WHERE n != 1"
            )
        ),
        "duplicate_event_ids": sum(
            int(reader.one(f"SELECT count() - uniqExact(event_id) FROM {{db}}.{table}"))
            for table in RAW_TABLES
        ),
    }


# --- one round ---------------------------------------------------------------------------------


def run_round(debtors: int, workers: int, reply_share: float, timeout: float) -> Round:
    result = Round(workers=workers, debtors=debtors)
    home = Path(tempfile.mkdtemp(prefix=f"pipeline-bench-{workers}w-"))
    os.environ["BENCH_REPLY_SHARE"] = str(reply_share)
    start = clock_start(datetime.now(UTC))
    t0 = time.monotonic()
    try:
        with Stack(home, workers, start) as stack:
            reader = Reader(stack.env)
            try:
                warm = home / "warm-up.csv"
                write_debtors(warm, WARM_UP_FIRST, WARM_UP, start)
                stack.cli("tokens", "credit", TENANT, str(10 * (debtors + WARM_UP)))
                stack.cli("import", str(warm), "--tenant", TENANT, "--import-id", "warm-up")
                _wait(stack, reader, "warm-up", WARM_UP, WARM_UP, timeout, quiet_s=1.0)
                warm_replies = reader.progress("warm-up")["replies"] + WARM_UP
                stack.inbound([_chat(n) for n in range(WARM_UP_FIRST, WARM_UP_FIRST + WARM_UP)])
                _wait(stack, reader, "warm-up", WARM_UP, WARM_UP, timeout, 1.0, warm_replies)
                print(
                    f"  {workers} worker(s): stack up and warmed in {time.monotonic() - t0:.0f} s "
                    f"(regua clock starts at {start.astimezone(SAO_PAULO):%a %d/%m/%Y %H:%M} São "
                    f"Paulo); importing {debtors:,} debtors",
                    flush=True,
                )

                file = home / "debtors.csv"
                write_debtors(file, 1, debtors, start)
                import_id = f"bench-{uuid.uuid4().hex[:8]}"
                cpu_before = stack.cpu()
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                itself = resource.getrusage(resource.RUSAGE_SELF)
                began = datetime.now(UTC)
                stack.cli("import", str(file), "--tenant", TENANT, "--import-id", import_id)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                _wait(stack, reader, import_id, debtors, debtors + WARM_UP, timeout=timeout)
                cpu_after = stack.cpu()
                polled = resource.getrusage(resource.RUSAGE_SELF)
                measure(reader, import_id, began, result)
                per_send = max(result.sends, 1)
                result.cpu_ms_per_send = {
                    name: round((cpu_after[name] - cpu_before[name]) / per_send * 1e3, 3)
                    for name in cpu_after
                }
                result.cpu_ms_per_send["import"] = round(
                    (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
                    / per_send
                    * 1e3,
                    3,
                )
                result.bench_cpu_ms_per_send = round(
                    (polled.ru_utime + polled.ru_stime - itself.ru_utime - itself.ru_stime)
                    / per_send
                    * 1e3,
                    3,
                )
            finally:
                reader.close()
    except BaseException:
        print(f"  the round failed; its logs and data stay in {home}", file=sys.stderr)
        raise
    shutil.rmtree(home, ignore_errors=True)
    return result


def _wait(
    stack: Stack,
    reader: Reader,
    import_id: str,
    imported: int,
    reminders: int,
    timeout: float,
    quiet_s: float = QUIET_S,
    replies: int = 0,
) -> None:
    """Until ClickHouse has the import's `imported` rows and `reminders` reminders in all, every
    approval dispatched and delivered, every reply classified, and nothing new for `quiet_s`."""
    deadline = time.monotonic() + timeout
    last: dict[str, int] = {}
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        stack.assert_alive()
        seen = reader.progress(import_id)
        done = (
            seen["imported"] >= imported
            and seen["reminders"] >= reminders
            and seen["dispatched"] >= seen["approved"]
            and seen["delivered"] >= seen["dispatched"]
            and seen["classified"] >= seen["replies"] >= replies
        )
        if seen != last:
            last, quiet_since = seen, time.monotonic()
        elif done and time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(POLL_S)
    raise RuntimeError(f"{import_id}: not settled in {timeout:.0f} s: {last}; logs: {stack.logs}")


# --- the report --------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(result: Round) -> str:
    goals = result.goals()
    lat = result.import_to_sent_s
    ans = result.answer_s
    arrival = result.arrival_answer_s
    ch = result.clickhouse_s
    lines = [
        f"== {result.workers} worker(s), {result.debtors:,} debtors",
        f"sends/s end to end   {result.sends_per_s:9,.1f}  ({result.delivered:,} delivered acks in "
        f"ClickHouse {result.seconds:.1f} s after the import began)   goal ≥ "
        f"{GOALS['sends_per_s']:,.0f} exactly once: {_mark(goals['sends_per_s'])}",
        f"replies handled/s    {result.replies_per_s:9,.1f}  ({result.classified:,} of "
        f"{result.replies:,} replies classified; {result.answers:,} answered by the bot)",
        f"import → sent        p50 {lat.get('p50', 0):7.3f} s   p99 {lat.get('p99', 0):7.3f} s",
        f"reply → answer sent  p50 {arrival.get('p50', 0):7.3f} s   "
        f"p95 {arrival.get('p95', 0):7.3f} s   p99 {arrival.get('p99', 0):7.3f} s   from its "
        f"arrival at the receiver; goal p95 < {GOALS['answer_p95_s']:.0f} s: "
        f"{_mark(goals['answer_p95_s'])}",
        f"  from the simulator's webhook: p50 {ans.get('p50', 0):.3f} s   p95 "
        f"{ans.get('p95', 0):.3f} s   p99 {ans.get('p99', 0):.3f} s",
        "  of which, p50 / p95: "
        + ", ".join(
            f"{stage} {pcts.get('p50', 0):.3f} / {pcts.get('p95', 0):.3f} s"
            for stage, pcts in result.answer_stages_s.items()
        ),
        f"event → ClickHouse   p50 {ch.get('p50', 0):7.3f} s   p99 {ch.get('p99', 0):7.3f} s   "
        f"goal p99 < {GOALS['clickhouse_p99_s']:.0f} s: {_mark(goals['clickhouse_p99_s'])}",
        f"  {result.clickhouse_rows:,} raw rows "
        f"({result.clickhouse_rows / max(result.sends, 1):.1f} per send); p99 by table: "
        + ", ".join(f"{t[4:]} {v:.2f}" for t, v in result.clickhouse_by_table_p99_s.items()),
        "CPU ms per send      "
        + ", ".join(f"{name} {ms:.3f}" for name, ms in sorted(result.cpu_ms_per_send.items()))
        + f"   (total {sum(result.cpu_ms_per_send.values()):.3f}; the bench's polling "
        f"{result.bench_cpu_ms_per_send:.3f})",
        "exactly once         "
        + ("OK" if result.exactly_once_ok else "VIOLATED")
        + "  ("
        + ", ".join(f"{k} {v:,}" for k, v in result.exactly_once.items())
        + ")",
    ]
    return "\n".join(lines)


def summary(results: Sequence[Round]) -> str:
    head = (
        f"{'workers':>7} {'sends/s':>9} {'replies/s':>9} {'sent p50':>9} {'sent p99':>9} "
        f"{'ans p95':>8} {'CH p99':>7} {'CPU ms/send':>11} {'once':>5}"
    )
    rows = [head]
    for r in results:
        rows.append(
            f"{r.workers:>7} {r.sends_per_s:>9,.1f} {r.replies_per_s:>9,.1f} "
            f"{r.import_to_sent_s.get('p50', 0):>9.3f} {r.import_to_sent_s.get('p99', 0):>9.3f} "
            f"{r.arrival_answer_s.get('p95', 0):>8.3f} {r.clickhouse_s.get('p99', 0):>7.3f} "
            f"{sum(r.cpu_ms_per_send.values()):>11.3f} {'OK' if r.exactly_once_ok else 'NO':>5}"
        )
    return "\n".join(rows)


def _worker_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or any(n < 1 or n > PARTITIONS for n in counts):
        raise argparse.ArgumentTypeError(f"worker counts between 1 and {PARTITIONS}, e.g. 1,2,3")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--debtors", type=int, default=DEFAULT_DEBTORS)
    parser.add_argument("--reply-share", type=float, default=0.1, help="of the debtors")
    parser.add_argument("--workers", type=_worker_counts, default=[1], help="e.g. 1,2,3")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per round")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(
        f"pipeline bench: {args.debtors:,} debtors, reply share {args.reply_share}, workers "
        f"{','.join(map(str, args.workers))}; {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    results: list[Round] = []
    for workers in args.workers:
        result = run_round(args.debtors, workers, args.reply_share, args.timeout)
        print(report(result), flush=True)
        results.append(result)
    if len(results) > 1:
        print(summary(results))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "load_average": load,
                    "goals": GOALS,
                    "rounds": [
                        {**asdict(r), "exactly_once_ok": r.exactly_once_ok, "goals": r.goals()}
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    return 0 if all(r.exactly_once_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
