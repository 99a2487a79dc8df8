"""Webhook ingestion on loopback: the real receiver (HMAC check, Kafka acks=all) beside a bare
aiohttp handler that answers 200 without Kafka, in the same run.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/webhook_bench.py
    ~/.cache/cobranca/venv/bin/python bench/webhook_bench.py --requests 40000 --concurrency 128
    ~/.cache/cobranca/venv/bin/python bench/webhook_bench.py --processes 2 --bare-processes 2
    ~/.cache/cobranca/venv/bin/python bench/webhook_bench.py --rounds 1 --cprofile /tmp/r.prof

It starts a local Kafka broker (infra/kafka) on free loopback ports in a temporary directory,
creates the topics, configures a tenant owning the benchmark's session, and runs two servers,
each in its own process:

- ``bare``: an aiohttp app whose POST handler reads the body and answers 200;
- ``receiver``: `cobranca waha receive`, the production receiver: bounded read, envelope check,
  session lookup, HMAC-SHA512, WahaCallbackReceived produced with acks=all, 200 after the ack.

A load generator in this process posts signed WAHA webhook bodies (acks and inbound messages,
0.4 to 1.1 KB, distinct envelope ids) over keep-alive connections with a fixed number in flight,
alternating bare and receiver rounds so that both see the same machine load, and prints
requests/s and p50/p99 latency per server (best round) and the ratio receiver/bare, best to
best and the median over the paired rounds. The load
generator shares the machine with the servers, so both figures are lower bounds; the ratio is
the point. The broker is stopped by its PID at the end.

``--processes N`` runs the receiver as `cobranca waha receive --processes N` (N processes on one
port, SO_REUSEPORT); ``--bare-processes N`` runs the bare handler the same way, for a
like-for-like ratio. ``--cprofile FILE`` runs the (single-process) receiver under cProfile and
leaves its stats in FILE (`python -m pstats FILE`), since py-spy is not installed everywhere.
``--handler-only`` measures the two handlers' CPU per request in this process, on mocked
requests with a store that acknowledges at once: the receiver's own work, without the broker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import Call, Round, load, wait_healthy  # noqa: E402
from streams.base.ports import free_port  # noqa: E402

KEY = "bench-hmac-key"
SESSION = "bench-session"
TENANT = "bench"


def bodies(count: int) -> list[bytes]:
    """Webhook bodies shaped like WAHA's (an ack or an inbound message, 0.4 to 1.1 KB)."""
    import orjson

    out = []
    for n in range(count):
        chat = f"55119{n % 5000:08d}@c.us"
        if n % 3:
            payload: dict[str, object] = {
                "id": f"true_{chat}_3EB0{n:016X}",
                "from": chat,
                "to": None,
                "participant": None,
                "fromMe": True,
                "ack": 1 + n % 3,
                "ackName": ("SERVER", "DEVICE", "READ")[n % 3],
            }
            event = "message.ack"
        else:
            payload = {
                "id": f"false_{chat}_3EB0{n:016X}",
                "timestamp": 1764806400 + n,
                "from": chat,
                "fromMe": False,
                "to": "5511900000000@c.us",
                "body": "Bom dia, vou pagar o boleto amanhã sem falta, pode confirmar o valor?",
                "hasMedia": False,
                "ack": 1,
                "ackName": "SERVER",
                "_data": {"notifyName": "Maria", "type": "chat", "padding": "x" * 400},
            }
            event = "message"
        out.append(
            orjson.dumps(
                {
                    "id": f"evt_01jbench{n:018d}",
                    "timestamp": 1764806400000 + n,
                    "event": event,
                    "session": SESSION,
                    "metadata": {"tenant": TENANT},
                    "me": {"id": "5511900000000@c.us", "pushName": "Cobrança"},
                    "payload": payload,
                    "engine": "WEBJS",
                    "environment": {"version": "2026.7.1", "engine": "WEBJS", "tier": "CORE"},
                }
            )
        )
    return out


# --- the bare server ----------------------------------------------------------------------


def serve_bare(port: int, reuse_port: bool = False) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"stored": "bare"})

    app = web.Application(client_max_size=1_000_000)
    app.router.add_post("/webhooks/waha", handle)
    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, reuse_port=reuse_port
    )


# --- the handler alone --------------------------------------------------------------------


def handler_cost(count: int) -> None:
    """CPU per request of the receiver's handler and of the bare one, in this process, on
    mocked requests (no HTTP parsing, no sockets) with a store that acknowledges at once (no
    Kafka): what the receiver's own work costs, apart from the broker and the network."""
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from connectors.waha.receiver import Lane, Receiver, ReceiverConfig
    from connectors.waha.signatures import sign_body
    from streams.domain.tenant_config import parse_tenant_config
    from streams.runtime.kafka_limits import record_bytes

    config = parse_tenant_config(
        {
            "tenant": TENANT,
            "name": "Bench",
            "waha": {"sessions": [{"name": SESSION}]},
            "regua": {"steps": [{"when": "D0", "template": "Olá, {first_name}!"}]},
        }
    )

    class Owners:
        def owner_of(self, session: str) -> object:
            return config if session == SESSION else None

    class Stored:
        async def send(self, key: bytes, value: bytes, timeout_s: float, lane: Lane) -> None:
            return None

    receiver = Receiver(
        Owners(),  # type: ignore[arg-type]
        Stored(),
        ReceiverConfig(default_hmac_key=KEY),
        record_bytes=record_bytes,
        env={},
    )

    async def bare(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"stored": "bare"})

    signed = [
        (
            body,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                "X-Webhook-Hmac": sign_body(KEY, body),
                "X-Webhook-Hmac-Algorithm": "sha512",
            },
        )
        for body in bodies(2_000)
    ]

    async def per_request(handler: object) -> float:
        requests = []
        for n in range(count):
            body, headers = signed[n % len(signed)]
            request = make_mocked_request("POST", "/webhooks/waha", headers=headers)
            request._read_bytes = body  # what read() returns
            requests.append(request)
        began = time.perf_counter()
        for request in requests:
            answer = await handler(request)  # type: ignore[operator]
            assert answer.status == 200, answer.text
        return (time.perf_counter() - began) / count * 1e6

    async def rounds() -> None:
        for _ in range(3):
            for name, handler in (("bare", bare), ("receiver", receiver.webhook)):
                print(f"{name:9s} {await per_request(handler):6.1f} µs per request (handler only)")

    asyncio.run(rounds())


# --- load ---------------------------------------------------------------------------------


COUNTS = ("cobranca_webhook_produce_batches_total", "cobranca_webhook_records_stored_total")


def group_commit_line(url: str) -> str:
    """Mean records per produce request, from the receiver's own metrics."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in (
            "cobranca_webhook_produce_batches_total",
            "cobranca_webhook_records_stored_total",
        ):
            values[name] = float(value)
    batches = values.get("cobranca_webhook_produce_batches_total", 0.0)
    records = values.get("cobranca_webhook_records_stored_total", 0.0)
    return f"group commit: {records:,.0f} records in {batches:,.0f} produce requests " + (
        f"({records / batches:.1f} per request)" if batches else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per round")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per server")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="record the receiver with py-spy into FILE (collapsed stacks) to see where time goes",
    )
    parser.add_argument(
        "--cprofile",
        metavar="FILE",
        help="run the receiver under cProfile, stats into FILE (read with pstats) at the end",
    )
    parser.add_argument(
        "--compression", default="none", help="of the receiver's produce batches (none, gzip)"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="receiver processes (--processes of the command)"
    )
    parser.add_argument(
        "--bare-processes",
        type=int,
        default=1,
        help="bare server processes on one port (SO_REUSEPORT), for a like-for-like ratio",
    )
    parser.add_argument(
        "--handler-only",
        action="store_true",
        help="only the handlers' CPU per request, in process, without HTTP or Kafka",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.reuse_port)
        return
    if args.handler_only:
        handler_cost(args.requests)
        return

    from connectors.waha.signatures import sign_body
    from infra.kafka.broker import LocalBroker
    from streams.base.settings import cache_home
    from streams.domain.tenant_config import parse_tenant_config
    from streams.runtime.tenants import apply_config
    from streams.runtime.topic_admin import create_topics

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    signed = [
        (
            body,
            {
                "Content-Type": "application/json",
                "X-Webhook-Hmac": sign_body(KEY, body),
                "X-Webhook-Hmac-Algorithm": "sha512",
            },
        )
        for body in bodies(2_000)
    ]
    mean_size = statistics.mean(len(b) for b, _ in signed)
    print(f"bodies: {len(signed)} distinct, {mean_size:.0f} bytes on average")
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        home = Path(tmp)
        broker = LocalBroker.on_free_ports(cache=cache_home(), home=home / "kafka")
        broker.start(timeout=120)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            asyncio.run(create_topics(broker.bootstrap, 6))
            config = parse_tenant_config(
                {
                    "tenant": TENANT,
                    "name": "Bench",
                    "waha": {"sessions": [{"name": SESSION}]},
                    "regua": {"steps": [{"when": "D0", "template": "Olá, {first_name}!"}]},
                }
            )
            asyncio.run(apply_config(broker.bootstrap, config))
            bare_port, receiver_port = free_port(), free_port()
            log = (home / "servers.log").open("ab")
            env = {
                **os.environ,
                "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
                "COBRANCA_WEBHOOK_PORT": str(receiver_port),
                "WAHA_HMAC_KEY": KEY,
                "COBRANCA_WEBHOOK_COMPRESSION": args.compression,
                "COBRANCA_LOG_LEVEL": "WARNING",
                "COBRANCA_LOG_FORMAT": "json",
            }
            reuse = ["--reuse-port"] if args.bare_processes > 1 else []
            procs.extend(
                subprocess.Popen(
                    [sys.executable, __file__, "--serve-bare", str(bare_port), *reuse],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                for _ in range(args.bare_processes)
            )
            spy = ["py-spy", "record", "--format", "raw", "-o", args.py_spy, "--"]
            profile = ["-m", "cProfile", "-o", args.cprofile] if args.cprofile else []
            receive = [
                sys.executable,
                *profile,
                "-m",
                "streams.ops.cli",
                "waha",
                "receive",
                "--processes",
                str(args.processes),
            ]
            procs.append(
                subprocess.Popen(
                    [*(spy if args.py_spy else []), *receive],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
            bare_url = f"http://127.0.0.1:{bare_port}"
            receiver_url = f"http://127.0.0.1:{receiver_port}"
            wait_healthy(f"{bare_url}/healthz", procs[0])
            wait_healthy(f"{receiver_url}/healthz", procs[-1])
            for _ in range(20 if args.processes > 1 else 0):
                # Each check is a new connection, which the kernel hands to any of the
                # processes: twenty healthy answers in a row, and every one is up.
                wait_healthy(f"{receiver_url}/healthz", procs[-1])
            targets = {"bare": bare_url, "receiver": receiver_url}

            def posting(url: str) -> Callable[[int], Call]:
                def call(n: int) -> Call:
                    body, headers = signed[n % len(signed)]
                    return ("POST", f"{url}/webhooks/waha", headers, body)

                return call

            # One server process each (the default): its CPU per request is measured too.
            pids = {"bare": procs[0].pid if args.bare_processes == 1 else None}
            pids["receiver"] = procs[-1].pid if args.processes == 1 and not args.py_spy else None
            for name, url in targets.items():  # warm-up: connections, metadata, JIT-free caches
                asyncio.run(load(name, posting(url), 2_000, args.concurrency, 200))
            results: dict[str, list[Round]] = {"bare": [], "receiver": []}
            for _ in range(args.rounds):
                for name, url in targets.items():
                    result = asyncio.run(
                        load(
                            name,
                            posting(url),
                            args.requests,
                            args.concurrency,
                            200,
                            server_pid=pids[name],
                        )
                    )
                    results[name].append(result)
                    print("  round:", result.line())
            best = {name: max(rounds, key=lambda r: r.rate) for name, rounds in results.items()}
            print(
                f"concurrency {args.concurrency}, best of {args.rounds} rounds each "
                f"(receiver compression: {args.compression}, receiver processes "
                f"{args.processes}, bare processes {args.bare_processes}):"
            )
            for result in best.values():
                print(result.line())
            ratio = best["receiver"].rate / best["bare"].rate
            # Each receiver round right after a bare round: the pair saw about the same load.
            paired = sorted(
                r.rate / b.rate for b, r in zip(results["bare"], results["receiver"], strict=True)
            )
            print(
                f"ratio receiver/bare: {ratio:.2f} best to best, "
                f"{statistics.median(paired):.2f} median of {len(paired)} paired rounds "
                "(goal >= 0.60)"
            )
            print(
                group_commit_line(f"{receiver_url}/metrics"),
                "(one process's)" if args.processes > 1 else "",
            )
        finally:
            for proc in procs:
                # SIGINT: py-spy writes its profile on it, the servers stop cleanly.
                proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            broker.stop()


if __name__ == "__main__":
    main()
