"""Ledger decisions per second on one worker or several, exactly-once, on a real broker.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/ledger_bench.py                 # 50,000 requests
    ~/.cache/cobranca/venv/bin/python bench/ledger_bench.py --requests 10000 --tenants 5
    ~/.cache/cobranca/venv/bin/python bench/ledger_bench.py --workers 1,2   # side by side

It starts a local Kafka broker (infra/kafka) on free loopback ports in a temporary directory,
credits every tenant enough tokens, produces the send requests (texts, files and batches, some
request ids repeated), then measures:

- ``rules``: the ledger agent's own work per request in this process, no Kafka: decide, seal
  the ledger events into the hash chain, apply them to the book, Avro-encode every output
  (`streams.agents.ledger.handle`, in batches of the agent's size) — the baseline, the most a
  worker could do;
- ``worker``: one `cobranca worker` (exactly-once, commit interval as configured) deciding
  them: decisions per second from its first committed decision to its last, as a
  read_committed consumer sees them;
- with ``--workers 1,2`` (any list), the same for each count of workers in one consumer group,
  one after the other, each on a broker of its own: the workers join first and the requests
  are produced once the group is stable, so no member starts with the whole backlog. The last
  line gives each count's rate against the first's.

To see where the worker's time goes, attach py-spy to it while it decides (it is the
``streams.ops.cli worker`` child of this script; it starts deciding once it has loaded its model):
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
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import cpu_seconds  # noqa: E402
from schemas.events import CreditRequested, SendKind, SendRequested, new_header  # noqa: E402
from streams.agents import ledger as ledger_agent  # noqa: E402
from streams.domain.ledger import LedgerBook, LedgerPolicy  # noqa: E402


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
    from streams.runtime.producer import EventProducer

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


async def watch_decisions(
    bootstrap: str,
    total: int,
    patience: float,
    workers: list[subprocess.Popen[bytes]],
    production: Coroutine[Any, Any, None],
) -> Watched:
    """Run `production`, and watch the first committed decisions and the total-th,
    read_committed, with the workers' CPU then."""
    from streams.base.topics import SEND_DECISIONS

    def cpu() -> float | None:
        seconds = [cpu_seconds(worker.pid) for worker in workers]
        return None if None in seconds else sum(s for s in seconds if s is not None)

    consumer = AIOKafkaConsumer(
        SEND_DECISIONS.name,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    producing = asyncio.create_task(production)
    try:
        seen, first, seen_first, cpu_first = 0, None, 0, None
        deadline = time.monotonic() + patience
        while seen < total:
            for worker in workers:
                if worker.poll() is not None:
                    raise RuntimeError(f"a worker exited ({worker.returncode}); see its log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {seen:,} of {total:,} decisions after {patience:.0f}s")
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            count = sum(len(records) for records in batch.values())
            if count and first is None:
                first, seen_first, cpu_first = time.perf_counter(), count, cpu()
            seen += count
        assert first is not None
        await producing
        return Watched(first, time.perf_counter(), seen_first, cpu_first, cpu())
    finally:
        producing.cancel()
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


def _group_stable(bootstrap: str, group: str, members: int, timeout: float) -> None:
    """Until `group` is Stable with `members` members."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def state() -> tuple[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            (response,) = await admin.describe_consumer_groups([group])
            # (error code, group id, state, protocol type, protocol, members[, operations])
            described = response.groups[0]
            return str(described[2]), len(described[5])
        finally:
            await admin.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if asyncio.run(state()) == ("Stable", members):
                return
        except KafkaError:
            pass  # the group's coordinator is not known yet
        time.sleep(0.5)
    raise TimeoutError(f"group {group} not stable with {members} members in {timeout:.0f}s")


def measure(
    workers: int,
    batch: list[SendRequested],
    tenants: list[str],
    tokens: int,
    args: argparse.Namespace,
) -> tuple[float, float | None]:
    """Decisions/s and worker CPU seconds per decision of `workers` workers on `batch`."""
    from infra.kafka.broker import LocalBroker
    from streams.base.settings import cache_home
    from streams.runtime.topic_admin import create_topics

    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker.on_free_ports(cache=cache_home(), home=work / "kafka")
        broker.start(timeout=120)
        print(f"broker {broker.bootstrap} (pid {broker.pid()}), {args.partitions} partitions")
        running: list[subprocess.Popen[bytes]] = []
        try:
            asyncio.run(create_topics(broker.bootstrap, args.partitions))
            asyncio.run(produce(broker.bootstrap, [(credit(t, tokens), t) for t in tenants]))
            env = {
                **os.environ,
                "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
                "COBRANCA_APP_ID": "ledger-bench",
                "COBRANCA_TOPIC_PARTITIONS": str(args.partitions),
                "COBRANCA_COMMIT_INTERVAL_S": str(args.commit_interval),
                "COBRANCA_LOG_LEVEL": "WARNING",
                "COBRANCA_LOG_FORMAT": "json",
            }
            for i in range(workers):
                data = work / f"worker{i}"
                data.mkdir()
                with (work / f"worker{i}.log").open("wb") as log:
                    running.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "streams.ops.cli", "worker"],
                            env={**env, "COBRANCA_DATA_DIR": str(data)},
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            cwd=ROOT,
                        )
                    )
            if workers > 1:
                _group_stable(broker.bootstrap, "ledger-bench", workers, 180)
                time.sleep(2)  # the members build their books on their first batch
            try:
                watched = asyncio.run(
                    watch_decisions(
                        broker.bootstrap,
                        len(batch),
                        900,
                        running,
                        produce(broker.bootstrap, [(r, r.header.tenant_id) for r in batch]),
                    )
                )
            except (RuntimeError, TimeoutError):
                for i in range(workers):
                    log_lines = (work / f"worker{i}.log").read_text(errors="replace").splitlines()
                    print("\n".join([f"worker{i}.log (last lines):", *log_lines[-80:]]))
                raise
            rate = len(batch) / (watched.last - watched.first)
            worker_cpu = watched.cpu_per_decision(len(batch))
            cpu_text = f"{worker_cpu * 1e6:6.0f} µs CPU each" if worker_cpu else " " * 17
            print(
                f"worker  {rate:>10,.0f} decisions/s  {cpu_text}  ({workers} worker"
                f"{'s' if workers > 1 else ''}, {len(batch):,} requests, {args.tenants} tenants,"
                f" exactly-once, commit every {args.commit_interval}s)"
            )
            return rate, worker_cpu
        finally:
            for worker in running:
                _stop(worker)
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--commit-interval", type=float, default=0.5)
    parser.add_argument(
        "--workers", default="1", help="workers in the group; a list (1,2) measures each"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    tenants = [f"bench-{uuid.uuid4().hex[:6]}-{i}" for i in range(args.tenants)]
    tokens = 10 * args.requests
    batch = requests(tenants, args.requests)
    rules_before, rules_cpu_before = phase_rules(batch, tenants, tokens)
    print(
        f"rules   {rules_before:>10,.0f} decisions/s  {rules_cpu_before * 1e6:6.0f} µs CPU each"
        "  (ledger_agent.handle, no Kafka: before)"
    )
    results = [measure(n, batch, tenants, tokens, args) for n in counts]
    rules_after, rules_cpu_after = phase_rules(batch, tenants, tokens)
    print(
        f"rules   {rules_after:>10,.0f} decisions/s  {rules_cpu_after * 1e6:6.0f} µs CPU "
        "each  (the same, after the workers)"
    )
    rules = (rules_before + rules_after) / 2
    rules_cpu = (rules_cpu_before + rules_cpu_after) / 2
    for n, (rate, worker_cpu) in zip(counts, results, strict=True):
        line = f"{n} worker(s): ratio worker/rules {rate / rules:.2f} (decisions/s, rules' mean)"
        if worker_cpu:
            # CPU per decision moves less with the machine's load than a rate does.
            line += f", rules/worker CPU per decision {rules_cpu / worker_cpu:.2f}"
        print(line)
    if len(counts) > 1:
        base = results[0][0]
        print(
            "rates against "
            + f"{counts[0]} worker(s): "
            + ", ".join(
                f"{n}: {rate / base:.2f}x" for n, (rate, _) in zip(counts, results, strict=True)
            )
        )


if __name__ == "__main__":
    main()
