"""Ledger decisions per second on one worker, exactly-once, on a real broker.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/ledger_bench.py                 # 50,000 requests
    ~/.cache/cobranca/venv/bin/python bench/ledger_bench.py --requests 10000 --tenants 5

It starts a local Kafka broker (infra/kafka) on free loopback ports in a temporary directory,
credits every tenant enough tokens, produces the send requests (texts, files and batches, some
request ids repeated), then measures:

- ``rules``: the ledger agent's own work per request in this process, no Kafka: decide, seal
  the ledger events into the hash chain, apply them to the book, Avro-encode every output
  (`streams.ledger_agent.handle`, in batches of the agent's size) — the baseline, the most a
  worker could do;
- ``worker``: one `cobranca worker` (exactly-once, commit interval as configured) deciding
  them: decisions per second from its first committed decision to its last, as a
  read_committed consumer sees them.

To see where the worker's time goes, attach py-spy to it while it decides (it is the
``streams.cli worker`` child of this script; it starts deciding once it has loaded its model):
``py-spy record --pid PID -f raw -o /tmp/worker.txt -d 15 --nonblocking``.

The rules are measured before and after the worker, and the ratio worker/rules is taken against
their mean: on a shared machine the load moves during a run, and a baseline taken at one end
only can flatter or sink the ratio. Both phases also report CPU µs per decision (the rules'
process time; the worker's user + system time from /proc between its first and last committed
decisions), and their ratio: CPU per decision moves less with the machine's load than a rate
does. The broker is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from schemas.events import CreditRequested, SendKind, SendRequested, new_header  # noqa: E402
from streams import ledger_agent  # noqa: E402
from streams.ledger import LedgerBook, LedgerPolicy  # noqa: E402


def requests(tenants: list[str], n: int, seed: int = 7) -> list[SendRequested]:
    rng = random.Random(seed)
    out: list[SendRequested] = []
    for i in range(n):
        if out and rng.random() < 0.02:
            out.append(rng.choice(out))  # an upstream retry
            continue
        tenant = tenants[i % len(tenants)]
        kind = SendKind.FILE if rng.random() < 0.2 else SendKind.TEXT
        out.append(
            SendRequested(
                header=new_header(
                    "SendRequested",
                    tenant_id=tenant,
                    correlation_id=f"c-{i}",
                    causation_id=None,
                    source="bench",
                ),
                request_id=f"req-{i}",
                client_id=f"cli-{i}",
                phone_e164=f"+55119{i:08d}",
                kind=kind,
                text="Olá! Sua fatura vence amanhã." if kind is SendKind.TEXT else None,
                file_url="https://example.com/boleto.pdf" if kind is SendKind.FILE else None,
                file_mimetype="application/pdf" if kind is SendKind.FILE else None,
                file_name="boleto.pdf" if kind is SendKind.FILE else None,
                recipients=rng.randint(2, 4) if rng.random() < 0.05 else 1,
                session="default",
            )
        )
    return out


def credit(tenant: str, amount: int) -> CreditRequested:
    return CreditRequested(
        header=new_header(
            "CreditRequested",
            tenant_id=tenant,
            correlation_id="bench",
            causation_id=None,
            source="bench",
        ),
        credit_id=f"bench-{tenant}",
        amount=amount,
        reference="bench",
    )


def phase_rules(batch: list[SendRequested], tenants: list[str], tokens: int) -> tuple[float, float]:
    """The agent's own per-event work (`ledger_agent.handle`), batch after batch, no Kafka:
    (decisions per second, CPU seconds per decision)."""
    book = LedgerBook()
    for tenant in tenants:
        book.balances[tenant] = tokens
    policy = LedgerPolicy()
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(batch), ledger_agent.BATCH_MAX):
        now = ledger_agent.millis(datetime.now(UTC))
        outbox = ledger_agent.Outbox()
        for request in batch[start : start + ledger_agent.BATCH_MAX]:
            ledger_agent.handle(book, request, lambda tenant: policy, now, outbox)
    return (
        len(batch) / (time.perf_counter() - began),
        (time.process_time() - cpu) / len(batch),
    )


async def produce(bootstrap: str, events: list[tuple[object, str]]) -> None:
    from streams.producer import EventProducer

    async with EventProducer(bootstrap) as producer:
        await producer.send_many(events)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Watched:
    """When the first committed decisions and the total-th were seen, and the worker's CPU
    seconds then (None where /proc is not there)."""

    first: float
    last: float
    seen_first: int
    cpu_first: float | None
    cpu_last: float | None

    def cpu_per_decision(self, total: int) -> float | None:
        if self.cpu_first is None or self.cpu_last is None or total <= self.seen_first:
            return None
        return (self.cpu_last - self.cpu_first) / (total - self.seen_first)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def watch_decisions(
    bootstrap: str, total: int, patience: float, worker: subprocess.Popen[bytes]
) -> Watched:
    """The first committed decisions and the total-th, read_committed, and the worker's CPU."""
    from streams.topics import SEND_DECISIONS

    consumer = AIOKafkaConsumer(
        SEND_DECISIONS.name,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        seen, first, seen_first, cpu_first = 0, None, 0, None
        deadline = time.monotonic() + patience
        while seen < total:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited ({worker.returncode}); see worker.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {seen:,} of {total:,} decisions after {patience:.0f}s")
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            count = sum(len(records) for records in batch.values())
            if count and first is None:
                first, seen_first, cpu_first = time.perf_counter(), count, cpu_seconds(worker.pid)
            seen += count
        assert first is not None
        return Watched(first, time.perf_counter(), seen_first, cpu_first, cpu_seconds(worker.pid))
    finally:
        await consumer.stop()


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker: SIGTERM, then SIGKILL if it is not gone within a minute (its dispatcher
    may be waiting on the WAHA the bench does not run)."""
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--commit-interval", type=float, default=0.5)
    args = parser.parse_args()

    from infra.kafka.broker import LocalBroker
    from streams.settings import cache_home
    from streams.topic_admin import create_topics

    tenants = [f"bench-{uuid.uuid4().hex[:6]}-{i}" for i in range(args.tenants)]
    tokens = 10 * args.requests
    batch = requests(tenants, args.requests)
    rules_before, rules_cpu_before = phase_rules(batch, tenants, tokens)
    print(
        f"rules   {rules_before:>10,.0f} decisions/s  {rules_cpu_before * 1e6:6.0f} µs CPU each"
        "  (ledger_agent.handle, no Kafka: before)"
    )

    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker.for_bootstrap(
            f"127.0.0.1:{_free_port_pair()}", cache=cache_home(), home=work / "kafka"
        )
        broker.start(timeout=120)
        print(f"broker {broker.bootstrap} (pid {broker.pid()}), {args.partitions} partitions")
        worker = None
        try:
            asyncio.run(create_topics(broker.bootstrap, args.partitions))
            asyncio.run(produce(broker.bootstrap, [(credit(t, tokens), t) for t in tenants]))
            asyncio.run(produce(broker.bootstrap, [(r, r.header.tenant_id) for r in batch]))
            env = {
                **os.environ,
                "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
                "COBRANCA_DATA_DIR": str(work / "worker"),
                "COBRANCA_APP_ID": "ledger-bench",
                "COBRANCA_TOPIC_PARTITIONS": str(args.partitions),
                "COBRANCA_COMMIT_INTERVAL_S": str(args.commit_interval),
                "COBRANCA_LOG_LEVEL": "WARNING",
                "COBRANCA_LOG_FORMAT": "json",
            }
            (work / "worker").mkdir()
            with (work / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "streams.cli", "worker"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            try:
                watched = asyncio.run(watch_decisions(broker.bootstrap, len(batch), 900, worker))
            except (RuntimeError, TimeoutError):
                tail = (work / "worker.log").read_text(errors="replace").splitlines()[-80:]
                print("\n".join(["worker.log (last lines):", *tail]), file=sys.stderr)
                raise
            rate = len(batch) / (watched.last - watched.first)
            worker_cpu = watched.cpu_per_decision(len(batch))
            cpu_text = f"{worker_cpu * 1e6:6.0f} µs CPU each" if worker_cpu else " " * 17
            print(
                f"worker  {rate:>10,.0f} decisions/s  {cpu_text}  ({len(batch):,} requests, "
                f"{args.tenants} tenants, exactly-once, commit every {args.commit_interval}s)"
            )
            _stop(worker)  # the rules' second measurement gets the CPU the worker had
            rules_after, rules_cpu_after = phase_rules(batch, tenants, tokens)
            print(
                f"rules   {rules_after:>10,.0f} decisions/s  {rules_cpu_after * 1e6:6.0f} µs CPU "
                "each  (the same, after the worker)"
            )
            rules = (rules_before + rules_after) / 2
            print(f"ratio worker/rules: {rate / rules:.2f}  (decisions/s, against the rules' mean)")
            if worker_cpu:
                # CPU per decision moves less with the machine's load than a rate does.
                rules_cpu = (rules_cpu_before + rules_cpu_after) / 2
                print(f"ratio rules/worker CPU per decision: {rules_cpu / worker_cpu:.2f}")
        finally:
            if worker is not None:
                _stop(worker)
            broker.stop()


if __name__ == "__main__":
    main()
