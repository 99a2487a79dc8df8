"""Several workers in one consumer group while members are killed, added and stopped: every
input decided once, no approval or debit twice, decisions equal to the sequential rules, the
hash chain whole, the audit clean, and the group caught up soon after the last change
(docs/adr/0016-rebalances-settle-transactions.md).

A run starts its own broker, two workers, and a seeded random schedule of membership changes
(SIGKILL, SIGTERM, a new member) while send requests arrive in waves; then permanent and
retryable dispatch failures (some delivered twice) with more changes, whose refunds the last
wave of requests spends. Each phase is decided before the next starts: the ledger reads
requests and failures from different topics, whose order between them is not the order they
were produced in. Every output is then read read_committed and checked against the ledger's own
rules run in order per tenant.

`make test` runs one short run (two workers, 3,000 requests, 3 partitions). `make chaos` runs the
campaign: COBRANCA_CHAOS_RUNS runs (10) of COBRANCA_CHAOS_REQUESTS requests (20,000) on 6
partitions, three workers at the start and one to four during the run. A run prints
its seed; COBRANCA_CHAOS_SEED=N replays it. COBRANCA_CHAOS_REPORT=path appends each run's figures
(as JSON lines): the pause in deciding at each change, the catch-up after the last one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.events import DispatchFailed, Event, SendKind, SendRequested
from streams.agents.ledger import Outbox, decide, handle
from streams.base.settings import cache_home
from streams.base.topics import (
    CREDIT_REQUESTS,
    DISPATCHES,
    LEDGER,
    SEND_DECISIONS,
    SEND_REQUESTS,
)
from streams.domain.audit import audit_ledger
from streams.domain.ledger import LedgerBook, LedgerPolicy
from streams.domain.ledger_chain import verify
from streams.runtime.log_reader import Positioned, read_events
from streams.runtime.partitioning import partition_for
from streams.runtime.topic_admin import create_topics
from tests.factories import credit_requested, dispatch_failed, send_requested
from tests.kafka_helpers import WorkerProcess, produce_keyed, records_behind

INPUTS = (SEND_REQUESTS.name, CREDIT_REQUESTS.name, DISPATCHES.name)
CATCH_UP_S = 60.0
"""The group decides everything within this long after the last membership change."""


@dataclass(frozen=True)
class Campaign:
    """The size of a run."""

    requests: int
    partitions: int
    tenants: int
    changes: int
    """Membership changes while the requests arrive (more come with the refunds)."""
    waves: int
    workers: int
    """Members when the requests start."""
    max_workers: int


SHORT = Campaign(
    requests=3_000, partitions=3, tenants=6, changes=6, waves=12, workers=2, max_workers=3
)
LONG = Campaign(
    requests=int(os.environ.get("COBRANCA_CHAOS_REQUESTS", "20000")),
    partitions=6,
    tenants=10,
    changes=8,
    waves=40,
    workers=3,
    max_workers=4,
)


def _seeds(default: Sequence[int]) -> list[int]:
    seed = os.environ.get("COBRANCA_CHAOS_SEED")
    return [int(seed)] if seed else list(default)


_CHAOS_RUNS = int(os.environ.get("COBRANCA_CHAOS_RUNS", "10"))


@pytest.mark.integration
@pytest.mark.parametrize("seed", _seeds([int(time.time()) % 100_000]))
def test_a_short_run_with_six_membership_changes_decides_everything_once(
    tmp_path: Path, seed: int
) -> None:
    _run(SHORT, seed, tmp_path)


@pytest.mark.chaos
@pytest.mark.parametrize("seed", _seeds(range(7001, 7001 + _CHAOS_RUNS)))
def test_chaos_campaign(tmp_path: Path, seed: int) -> None:
    _run(LONG, seed, tmp_path)


@pytest.mark.integration
def test_a_fenced_producer_loses_its_partition_not_the_worker(tmp_path: Path) -> None:
    """Another producer takes the transactional id of one of the worker's partitions (as a
    member of a newer generation would): the worker gives that partition up until the group
    hands it out again, instead of crashing, and every request is still decided once."""
    rng = random.Random(11)
    with _broker(tmp_path, SHORT.partitions) as bootstrap:
        tenants = _tenants("fence", SHORT.partitions, SHORT.partitions)
        credits = {t: 10_000 for t in tenants}
        fleet = Fleet(bootstrap, tmp_path, f"fence-{uuid.uuid4().hex[:6]}", SHORT.partitions, 1)
        try:
            inputs: list[Event] = [credit_requested(t, n, f"cr-{t}") for t, n in credits.items()]
            _produce(bootstrap, inputs)
            (name,) = [fleet.start()]
            fleet.wait_decided(len(inputs), 180)
            first = _requests(tenants, 300, rng, "a")
            _produce(bootstrap, first)
            inputs += first
            fleet.wait_decided(len(inputs), 60)

            asyncio.run(_fence(bootstrap, fleet.app_id, partition=0))
            second = _requests(tenants, 300, rng, "b")
            _produce(bootstrap, second)
            inputs += second
            fleet.wait_decided(len(inputs), 90)
            fleet.check_alive()
            assert fleet.crashes() == []
            assert "fenced" in fleet.workers[name].log.read_text()
            _verify(asyncio.run(_read(bootstrap, tenants)), inputs)
        finally:
            fleet.stop_all()


async def _fence(bootstrap: str, app_id: str, *, partition: int) -> None:
    """Register the transactional ids a worker of `app_id` uses for `partition` (one per topic
    group Faust forms), fencing its producer there."""
    from aiokafka import AIOKafkaProducer

    for group in range(4):
        impostor = AIOKafkaProducer(
            bootstrap_servers=bootstrap, transactional_id=f"{app_id}-{group}-{partition}"
        )
        await impostor.start()
        await impostor.stop()


# --- a run ------------------------------------------------------------------------------------


def _run(campaign: Campaign, seed: int, work: Path) -> None:
    print(f"\nchaos run: seed {seed} (replay: COBRANCA_CHAOS_SEED={seed})", flush=True)
    rng = random.Random(seed)
    with _broker(work, campaign.partitions) as bootstrap:
        tenants = _tenants(f"mw{seed}", campaign.tenants, campaign.partitions)
        credits = {t: 400 + 170 * i for i, t in enumerate(tenants)}  # some run dry, some never
        fleet = Fleet(
            bootstrap,
            work,
            f"mw-{seed}-{uuid.uuid4().hex[:6]}",
            campaign.partitions,
            campaign.max_workers,
        )
        inputs: list[Event] = []
        try:
            # Credits twice each (the second changes nothing), decided by a stable group of two.
            credit_events = [credit_requested(t, n, f"cr-{t}") for t, n in credits.items()]
            _produce(bootstrap, credit_events * 2)
            inputs += credit_events * 2
            for _ in range(campaign.workers):
                fleet.start()
            fleet.wait_decided(len(inputs), 180)
            fleet.t0 = time.monotonic()

            requests = _requests(tenants, campaign.requests, rng, "req")
            inputs += requests
            span = max(8.0, campaign.waves * 0.5)
            fleet.run_changes(
                _schedule(rng, campaign.changes, span),
                rng,
                _Waves(bootstrap, requests, campaign.waves, span),
            )
            fleet.wait_decided(len(inputs), CATCH_UP_S + 60)

            # Each phase is decided before the next: the ledger reads requests and dispatch
            # failures from different topics, whose order between them is not the production's.
            failures = _failures(requests, rng, _approved(requests, credits, tenants))
            inputs += failures
            fleet.run_changes(_schedule(rng, 2, 5.0), rng, _Waves(bootstrap, failures, 6, 5.0))
            fleet.wait_decided(len(inputs), CATCH_UP_S + 60)

            tail = _requests(tenants, campaign.requests // 20, rng, "post")
            for k in range(0, len(tail), 25):  # retries of earlier ids: duplicates now
                tail[k] = _again(requests[k])
            inputs += tail
            fleet.run_changes(_schedule(rng, 2, 5.0), rng, _Waves(bootstrap, tail, 6, 5.0))
            caught_up = fleet.wait_decided(len(inputs), CATCH_UP_S + 60)
            fleet.check_alive()
            logs = asyncio.run(_read(bootstrap, tenants))
            report = _verify(logs, inputs)
            report.update(
                seed=seed,
                changes=fleet.changes,
                catch_up_s=round(caught_up - fleet.last_change, 1),
                pauses_s=_pauses(logs[0], fleet.changes),
            )
            _report(report)
            assert report["catch_up_s"] <= CATCH_UP_S, report
            assert fleet.crashes() == [], fleet.crashes()
            assert _cli_audit(bootstrap) == 0
        finally:
            fleet.stop_all()


@dataclass
class Fleet:
    """The workers of one consumer group, by name; every membership change is recorded."""

    bootstrap: str
    work: Path
    app_id: str
    partitions: int
    max_workers: int
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    changes: list[dict[str, Any]] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)
    last_change: float = 0.0
    _named: int = 0

    def start(self, name: str | None = None) -> str:
        if name is None:
            self._named += 1
            name = f"n{self._named}"
        worker = WorkerProcess(
            self.bootstrap,
            self.work / name,
            self.app_id,
            env={"COBRANCA_TOPIC_PARTITIONS": str(self.partitions)},
        )
        worker.start()
        self.workers[name] = worker
        return name

    def alive(self) -> list[str]:
        return [n for n, w in self.workers.items() if n not in self.down]

    def change(self, action: str, rng: random.Random) -> None:
        alive = self.alive()
        if action == "start":
            name = self.start()
        else:
            name = rng.choice(alive)
            self.down.add(name)
            worker = self.workers[name]
            if action == "kill":
                worker.kill()
            else:  # a graceful stop takes seconds: in the background, as an operator's would
                threading.Thread(target=worker.stop, daemon=True).start()
        self.last_change = time.monotonic()
        self.changes.append(
            {
                "t": round(self.last_change - self.t0, 2),
                "at": time.time(),
                "action": action,
                "worker": name,
            }
        )

    def run_changes(
        self, schedule: list[tuple[float, str]], rng: random.Random, production: _Waves
    ) -> None:
        began = time.monotonic()
        production.start()
        for at, action in schedule:
            while time.monotonic() - began < at:
                time.sleep(0.05)
            action = _feasible(action, len(self.alive()), self.max_workers)
            self.change(action, rng)
        production.join(120)
        assert not production.is_alive(), "producing the waves took over 120 s"
        if production.error is not None:
            raise production.error

    def wait_decided(self, inputs: int, timeout: float) -> float:
        """Until the group has committed past every input record (transaction markers aside);
        the time it got there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if asyncio.run(records_behind(self.bootstrap, self.app_id, INPUTS)) == 0:
                return time.monotonic()
            time.sleep(0.5)
        raise AssertionError(
            f"{inputs} inputs not all decided {timeout:.0f}s on; changes {self.changes}\n"
            + "\n".join(f"{n}: {w.log.read_text()[-2000:]}" for n, w in self.workers.items())
        )

    def check_alive(self) -> None:
        for name in self.alive():
            self.workers[name].assert_alive()

    def crashes(self) -> list[str]:
        """Workers that crashed (the log says so) or exited unasked."""
        found = []
        for name, worker in self.workers.items():
            text = worker.log.read_text()
            if re.search(r"Crashed reason|settling the transactions at a revocation failed", text):
                found.append(f"{name}: {text[-3000:]}")
            elif name not in self.down and worker.proc is not None and worker.proc.poll():
                found.append(f"{name} exited with {worker.proc.returncode}")
        return found

    def stop_all(self) -> None:
        for worker in self.workers.values():
            if worker.proc is not None and worker.proc.poll() is None:
                worker.kill()


def _feasible(action: str, alive: int, most: int) -> str:
    """The scheduled action, or the one that keeps one to `most` members alive."""
    if action != "start" and alive <= 1:
        return "start"
    if action == "start" and alive >= most:
        return "kill"
    return action


def _schedule(rng: random.Random, changes: int, span: float) -> list[tuple[float, str]]:
    """`changes` membership changes over `span` seconds: at least one of each kind, some close
    enough to land inside each other's rebalances."""
    kinds = ["kill", "start", "term", "start"] + [
        rng.choice(["kill", "start", "term"]) for _ in range(max(changes - 4, 0))
    ]
    rng.shuffle(kinds)
    times = sorted(rng.uniform(0.5, span) for _ in kinds[:changes])
    return list(zip(times, kinds[:changes], strict=True))


# --- inputs and the model ---------------------------------------------------------------------


def _tenants(prefix: str, n: int, partitions: int) -> list[str]:
    """`n` tenants spread over every partition, so every partition has work to move."""
    by_partition: dict[int, list[str]] = {}
    i = 0
    while sum(len(v) for v in by_partition.values()) < n:
        tenant = f"{prefix}-t{i}"
        i += 1
        p = partition_for(tenant.encode(), list(range(partitions)))
        if len(by_partition.get(p, [])) < -(-n // partitions):
            by_partition.setdefault(p, []).append(tenant)
    return sorted(t for ts in by_partition.values() for t in ts)


def _requests(tenants: list[str], n: int, rng: random.Random, prefix: str) -> list[SendRequested]:
    """Texts, files and batches; about 3 % retries of an earlier request id."""
    made: list[SendRequested] = []
    for i in range(n):
        tenant = rng.choice(tenants)
        mine = [r for r in made[-200:] if r.header.tenant_id == tenant]
        if mine and rng.random() < 0.03:
            made.append(_again(rng.choice(mine)))
            continue
        roll = rng.random()
        kind = SendKind.FILE if roll < 0.2 else SendKind.TEXT
        recipients = rng.randint(2, 4) if roll > 0.93 else 1
        made.append(
            _request(tenant, f"{prefix}-{i}", kind, recipients=recipients, phone=f"+55119{i:08d}")
        )
    return made


def _again(request: SendRequested) -> SendRequested:
    """The same request, sent again by its upstream (a new event, the same request id)."""
    return _request(
        request.header.tenant_id,
        request.request_id,
        request.kind,
        recipients=request.recipients,
        phone=request.phone_e164,
    )


def _request(
    tenant: str, request_id: str, kind: SendKind, *, recipients: int, phone: str
) -> SendRequested:
    """A send request; a file's carries its type and name: without them the workers'
    dispatcher fails the approval permanently at once and the ledger refunds it, interleaved
    with the requests in an order no model can know (the run's WAHA is unreachable, so no other
    send ever ends)."""
    is_file = kind is SendKind.FILE
    return send_requested(
        tenant,
        request_id,
        kind=kind,
        recipients=recipients,
        phone=phone,
        file_mimetype="application/pdf" if is_file else None,
        file_name="boleto.pdf" if is_file else None,
    )


def _approved(
    requests: list[SendRequested], credits: dict[str, int], tenants: list[str]
) -> list[SendRequested]:
    expected = _sequential([credit_requested(t, credits[t], f"cr-{t}") for t in tenants] + requests)
    return [r for r in requests if expected.get(r.header.event_id) == ("SendApproved", None)]


def _failures(
    requests: list[SendRequested], rng: random.Random, approved: list[SendRequested]
) -> list[DispatchFailed]:
    """Dispatch failures for some approved requests: retryable ones (no refund), permanent
    ones, and a third of the permanent ones delivered twice (refunded once)."""
    failures = []
    for k, request in enumerate(rng.sample(approved, min(len(approved), len(requests) // 60))):
        tenant, request_id = request.header.tenant_id, request.request_id
        failures.append(dispatch_failed(tenant, request_id, retryable=True))
        failures.append(dispatch_failed(tenant, request_id, retryable=k % 3 == 0))
        if k % 3 == 1:
            failures.append(dispatch_failed(tenant, request_id, retryable=False))
    return failures


def _sequential(inputs: Sequence[Event]) -> dict[str, tuple[str, str | None]]:
    """What the ledger must decide for each input (by event id), its rules run in order per
    tenant: (decision type, rejection reason)."""
    book = LedgerBook()  # tenants never share state: one book for all is the same fold
    now = datetime.now(UTC)
    expected: dict[str, tuple[str, str | None]] = {}
    for event in inputs:
        decision = decide(book, event, _default_policy, now=now)  # pure: what handle() emits
        handle(book, event, _default_policy, now, Outbox())  # ...applied to the book
        if decision is None:
            continue
        for out in decision.events:
            if out.header.event_type in ("SendApproved", "SendRejected"):
                reason = getattr(out, "reason", None)
                expected[event.header.event_id] = (
                    out.header.event_type,
                    None if reason is None else str(reason),
                )
    return expected


def _default_policy(tenant: str) -> LedgerPolicy:
    return LedgerPolicy()  # the tenants here are not configured: the worker uses the defaults


# --- checks -----------------------------------------------------------------------------------


def _verify(logs: Logs, inputs: list[Event]) -> dict[str, Any]:
    decisions, ledger, dispatches = logs
    requests = [e for e in inputs if isinstance(e, SendRequested)]
    decided = Counter(p.event.header.causation_id for p in decisions)
    twice = {cause: n for cause, n in decided.items() if n > 1}
    missing = [r.header.event_id for r in requests if decided[r.header.event_id] == 0]
    assert not twice, f"inputs decided more than once: {len(twice)}"
    assert not missing, f"{len(missing)} requests never decided"

    expected = _sequential(inputs)
    differing = [
        (
            p.event.request_id,
            f"{p.topic}[{p.partition}]@{p.offset}",
            p.event.header.event_type,
            expected.get(p.event.header.causation_id),
        )
        for p in decisions
        if expected.get(p.event.header.causation_id)
        != (
            p.event.header.event_type,
            None if getattr(p.event, "reason", None) is None else str(p.event.reason),
        )
    ]
    assert not differing, f"{len(differing)} decisions differ from the rules: {differing[:5]}"

    approvals = Counter(
        (p.event.header.tenant_id, p.event.request_id)
        for p in decisions
        if p.event.header.event_type == "SendApproved"
    )
    assert max(approvals.values(), default=0) <= 1, "a request approved twice"
    for kind in ("TokensDebited", "TokensRefunded"):
        counted = Counter(
            (p.event.header.tenant_id, p.event.request_id)
            for p in ledger
            if p.event.header.event_type == kind
        )
        assert max(counted.values(), default=0) <= 1, f"{kind} twice for one request"
    debits = sum(1 for p in ledger if p.event.header.event_type == "TokensDebited")
    assert debits == sum(approvals.values())
    assert verify([p.event for p in ledger]) == [], "the hash chain is broken"
    audit = audit_ledger(ledger, decisions, dispatches)
    assert audit.violations == [], [v.as_json() for v in audit.violations[:5]]
    refunds = sum(1 for p in ledger if p.event.header.event_type == "TokensRefunded")
    return {
        "inputs": len(inputs),
        "requests": len(requests),
        "approved": sum(approvals.values()),
        "refunds": refunds,
    }


Logs = tuple[list[Positioned], list[Positioned], list[Positioned]]
"""The run's tenants' decisions, ledger events and dispatch events, read_committed."""


async def _read(bootstrap: str, tenants: list[str]) -> Logs:
    mine = set(tenants)
    topics = await asyncio.gather(
        *(read_events(bootstrap, t) for t in (SEND_DECISIONS.name, LEDGER.name, DISPATCHES.name))
    )
    decisions, ledger, dispatches = (
        [p for p in events if p.event.header.tenant_id in mine] for events in topics
    )
    return decisions, ledger, dispatches


def _pauses(decisions: list[Positioned], changes: list[dict[str, Any]]) -> list[float]:
    """For each change, the longest stretch without a decision in the 20 s after it, while
    requests were waiting: how long deciding paused."""
    times = sorted({p.event.header.occurred_at.timestamp() for p in decisions})
    pauses = []
    for change in changes:
        began, window_end = change["at"], change["at"] + 20
        inside = [began] + [t for t in times if began < t <= window_end]
        later = [t for t in times if t > window_end]
        if later:
            inside.append(min(later[0], window_end))
        gaps = [b - a for a, b in itertools.pairwise(inside)]
        pauses.append(round(max(gaps, default=0.0), 2))
    return pauses


def _cli_audit(bootstrap: str) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", "audit", "ledger"],
        env={**os.environ, "COBRANCA_KAFKA_BOOTSTRAP": bootstrap, "COBRANCA_LOG_FORMAT": "json"},
        capture_output=True,
        timeout=300,
        check=False,
    )
    return done.returncode


def _report(report: dict[str, Any]) -> None:
    summary = {k: v for k, v in report.items() if k != "changes"}
    print("chaos run:", json.dumps(summary), flush=True)
    path = os.environ.get("COBRANCA_CHAOS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(report) + "\n")


# --- the broker and production ----------------------------------------------------------------


class _broker:
    """A broker of the run's own, on free loopback ports, stopped by PID at the end."""

    def __init__(self, work: Path, partitions: int) -> None:
        self.work, self.partitions = work, partitions

    def __enter__(self) -> str:
        from infra.kafka.broker import LocalBroker
        from infra.kafka.errors import BrokerError

        for attempt in range(3):
            # A free port can be taken by another process before the broker binds it.
            self.broker = LocalBroker.on_free_ports(
                cache=cache_home(),
                home=self.work / f"kafka{attempt}",
            )
            try:
                self.broker.start(timeout=90)
                break
            except BrokerError:
                self.broker.stop()
                if attempt == 2:
                    raise
        try:
            asyncio.run(create_topics(self.broker.bootstrap, self.partitions))
        except BaseException:
            self.broker.stop()
            raise
        return str(self.broker.bootstrap)

    def __exit__(self, *exc: object) -> None:
        self.broker.stop()


def _produce(bootstrap: str, events: Sequence[Event]) -> None:
    asyncio.run(produce_keyed(bootstrap, [(e, e.header.tenant_id) for e in events]))


class _Waves(threading.Thread):
    """Produces `events` in `waves` even waves over `span` seconds, in order."""

    def __init__(self, bootstrap: str, events: Sequence[Event], waves: int, span: float) -> None:
        super().__init__(daemon=True)
        size = -(-len(events) // waves)
        self.chunks = [events[i : i + size] for i in range(0, len(events), size)]
        self.bootstrap, self.span = bootstrap, span
        self.error: BaseException | None = None

    def run(self) -> None:
        began = time.monotonic()
        try:
            for i, chunk in enumerate(self.chunks):
                while time.monotonic() - began < i * self.span / len(self.chunks):
                    time.sleep(0.02)
                _produce(self.bootstrap, chunk)
        except BaseException as exc:
            self.error = exc
