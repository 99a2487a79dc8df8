"""Dispatch throughput against the WAHA simulator, beside a bare aiohttp loop, in sends/s.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/dispatch_bench.py                # 5,000 sends
    ~/.cache/cobranca/venv/bin/python bench/dispatch_bench.py --sends 20000 --engine NOWEB
    ~/.cache/cobranca/venv/bin/python bench/dispatch_bench.py --kafka        # + the real worker

It starts the simulator (`cobranca waha-sim`, no webhooks) as a child process on a free loopback
port, so client and server do not share an event loop, and measures against it, one send at a
time as the dispatcher used to send, and with as many in flight as the worker keeps:

- ``bare``: an aiohttp loop: POST /api/sendText, read the JSON answer; nothing else; one at a
  time (the baseline of issue 16's figures);
- ``bare-N``: the same loop with N = min(--batch, --per-session) sends in flight: the fair
  baseline for the concurrent dispatcher (one session, so at most --per-session in flight);
- ``dispatch``: `connectors.waha.dispatcher.Dispatcher` with the rate limit off: chat-id
  resolution (a quarter of the numbers have DDD 31, so check-exists once each), breaker and
  session checks, the client's error mapping and the engine-specific message id, one order
  at a time;
- ``many``: `Dispatcher.dispatch_many` in batches of --batch, as the worker calls it (one lane
  per chat, at most --per-session in flight);
- ``worker`` (with ``--kafka``): approvals produced to cobranca.sends.decided on a local broker
  (started in a temp directory, stopped by PID) and dispatched by the real `cobranca worker`
  (exactly-once: each outcome commits in the approval's transaction): MessageDispatched/s from
  the first to the last outcome, counted by a read_committed consumer that does not decode them
  (--batch and --per-session set COBRANCA_DISPATCH_BATCH and _PER_SESSION; --profile-worker
  runs it under cProfile).

It prints one line per phase and the ratios to ``bare`` and ``bare-N`` measured in the same
run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from connectors.waha.client import WahaClient  # noqa: E402
from connectors.waha.dispatcher import Dispatcher, DispatchPolicy, SendOrder  # noqa: E402
from connectors.waha.simulator import start_simulator_process  # noqa: E402

KEY = "bench-key"


def _phone(i: int) -> str:
    return f"+55{31 if i % 4 == 0 else 11}98{i % 1_000_000:06d}1"


def _line(name: str, count: int, seconds: float, latencies: list[float]) -> float:
    rate = count / seconds
    extra = ""
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        extra = f"  p50 {statistics.median(ordered) * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms"
    print(f"{name:<9} {count:>7} sends in {seconds:7.2f} s = {rate:8.0f} sends/s{extra}")
    return rate


async def bare(url: str, n: int) -> float:
    latencies = []
    async with aiohttp.ClientSession(headers={"X-Api-Key": KEY}) as http:
        began = time.perf_counter()
        for i in range(n):
            body = {"session": "default", "chatId": f"{_phone(i)[1:]}@c.us", "text": f"bare {i}"}
            start = time.perf_counter()
            async with http.post(f"{url}/api/sendText", json=body) as answer:
                orjson.loads(await answer.read())
                assert answer.status == 201, answer.status
            latencies.append(time.perf_counter() - start)
        return _line("bare", n, time.perf_counter() - began, latencies)


async def bare_concurrent(url: str, n: int, concurrency: int) -> float:
    """The bare loop with `concurrency` sends in flight (the fair baseline for a worker that
    keeps that many in flight)."""
    latencies = []
    counter = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers={"X-Api-Key": KEY}, connector=connector) as http:

        async def one() -> None:
            for i in counter:
                body = {"session": "default", "chatId": f"{_phone(i)[1:]}@c.us", "text": f"b {i}"}
                start = time.perf_counter()
                async with http.post(f"{url}/api/sendText", json=body) as answer:
                    orjson.loads(await answer.read())
                    assert answer.status == 201, answer.status
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return _line(f"bare-{concurrency}", n, time.perf_counter() - began, latencies)


async def dispatch_many(url: str, n: int, batch: int, per_session: int) -> float:
    """`Dispatcher.dispatch_many` in batches of `batch`, as the worker calls it."""
    async with WahaClient(url, KEY) as client:
        dispatcher = Dispatcher(client, DispatchPolicy(rate_per_s=0, per_session=per_session))
        began = time.perf_counter()
        for first in range(0, n, batch):
            orders = [
                SendOrder("bench", f"m{i}", "default", _phone(i), f"many {i}")
                for i in range(first, min(first + batch, n))
            ]
            outcomes = await dispatcher.dispatch_many(orders)
            assert all(o is not None and o.sent is not None for o in outcomes), outcomes
        return _line("many", n, time.perf_counter() - began, [])


async def dispatch(url: str, n: int) -> float:
    latencies = []
    async with WahaClient(url, KEY) as client:
        dispatcher = Dispatcher(client, DispatchPolicy(rate_per_s=0))
        began = time.perf_counter()
        for i in range(n):
            order = SendOrder("bench", f"r{i}", "default", _phone(i), f"dispatch {i}")
            start = time.perf_counter()
            outcome = await dispatcher.dispatch(order)
            assert outcome is not None and outcome.sent is not None, outcome
            latencies.append(time.perf_counter() - start)
        return _line("dispatch", n, time.perf_counter() - began, latencies)


async def watch_outcomes(bootstrap: str, topic: str, n: int, began: float) -> float:
    """Count records as they commit on `topic` (read_committed, not decoded: the bench shares
    the machine with the worker, and decoding the whole topic on every poll cost it CPU), and
    return the outcomes per second from the first to the `n`-th."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        while not partitions:
            await asyncio.sleep(0.1)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        seen, first = 0, 0.0
        while seen < n:
            if time.perf_counter() - began > 600:
                raise TimeoutError(f"{seen} of {n} outcomes after 600 s")
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                if records and not seen:
                    first = time.perf_counter()
                seen += len(records)
        return (n - 1) / (time.perf_counter() - first)
    finally:
        await consumer.stop()


def worker(
    url: str, n: int, home: Path, batch: int, per_session: int, profile: str | None
) -> float:
    from infra.kafka.broker import LocalBroker
    from schemas.events import SendApproved, SendKind, new_header
    from streams.base.settings import cache_home
    from streams.base.topics import DISPATCHES
    from streams.runtime.producer import EventProducer
    from streams.runtime.topic_admin import create_topics
    from tests.kafka_helpers import WorkerProcess

    broker = LocalBroker.on_free_ports(cache=cache_home(), home=home / "kafka")
    broker.start(timeout=120)
    try:
        bootstrap = broker.bootstrap
        asyncio.run(create_topics(bootstrap, 3))
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        approvals = [
            SendApproved(
                header=new_header(
                    "SendApproved",
                    tenant_id=tenant,
                    correlation_id=f"r{i}",
                    causation_id=None,
                    source="bench",
                ),
                request_id=f"r{i}",
                client_id=f"c{i}",
                phone_e164=_phone(i),
                kind=SendKind.TEXT,
                price_tokens=1,
                balance_after=0,
                text=f"worker {i}",
            )
            for i in range(n)
        ]

        async def produce() -> None:
            async with EventProducer(bootstrap) as producer:
                await producer.send_many((a, tenant) for a in approvals)

        asyncio.run(produce())
        process = WorkerProcess(
            bootstrap,
            home / "worker",
            app_id=f"bench-{tenant}",
            env={
                "WAHA_URL": url,
                "WAHA_API_KEY": KEY,
                "COBRANCA_DISPATCH_RATE": "0",
                "COBRANCA_DISPATCH_BATCH": str(batch),
                "COBRANCA_DISPATCH_PER_SESSION": str(per_session),
            },
        )
        with process.log.open("ab") as out:
            command = ["-m", "cProfile", "-o", profile] if profile else []
            process.proc = subprocess.Popen(
                [sys.executable, *command, "-m", "streams.ops.cli", "worker"],
                env=process.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            rate = asyncio.run(watch_outcomes(bootstrap, DISPATCHES.name, n, time.perf_counter()))
            process.assert_alive()
            print(f"worker   {n:>8} outcomes committed           = {rate:8.0f} sends/s")
            return rate
        finally:
            process.stop(timeout=60)
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sends", type=int, default=5_000)
    parser.add_argument("--engine", default="WEBJS", choices=["WEBJS", "NOWEB", "GOWS"])
    parser.add_argument("--kafka", action="store_true", help="also measure the real worker")
    parser.add_argument(
        "--batch", type=int, default=256, help="approvals in flight (COBRANCA_DISPATCH_BATCH)"
    )
    parser.add_argument(
        "--profile-worker", metavar="FILE", help="run the worker under cProfile, stats into FILE"
    )
    parser.add_argument(
        "--per-session",
        type=int,
        default=16,
        help="sends of one session in flight (COBRANCA_DISPATCH_PER_SESSION)",
    )
    args = parser.parse_args()
    print(
        f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, "
        f"engine {args.engine}, {args.sends} sends per phase"
    )
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
        home = Path(tmp)
        sim = start_simulator_process(
            api_key=KEY,
            engine=args.engine,
            extra_args=["--read-rate", "0", "--ack-delays", "0,0,0"],
            log_path=home / "sim.log",
        )
        try:
            baseline = asyncio.run(bare(sim.url, args.sends))
            wide = min(args.batch, args.per_session)
            concurrent = asyncio.run(bare_concurrent(sim.url, args.sends, wide))
            rates: dict[str, Any] = {
                "dispatch": asyncio.run(dispatch(sim.url, args.sends)),
                "many": asyncio.run(
                    dispatch_many(sim.url, args.sends, args.batch, args.per_session)
                ),
            }
            if args.kafka:
                rates["worker"] = worker(
                    sim.url, args.sends, home, args.batch, args.per_session, args.profile_worker
                )
        finally:
            sim.stop()
    for name, rate in rates.items():
        print(
            f"ratio {name}/bare: {rate / baseline:.2f}   "
            f"{name}/bare-{wide}: {rate / concurrent:.2f}"
        )


if __name__ == "__main__":
    main()
