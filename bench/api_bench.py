"""The HTTP API under load on loopback: authenticated `GET balance` and `POST messages` beside a
bare aiohttp handler, in the same run; and what verifying a JWT costs.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/api_bench.py
    ~/.cache/cobranca/venv/bin/python bench/api_bench.py --requests 20000 --concurrency 64

It starts a local Kafka broker (infra/kafka) on free loopback ports in a temporary directory,
creates the topics, makes a platform admin (`cobranca users create-admin`, password on stdin),
and runs two servers, each in its own process:

- ``bare``: an aiohttp app whose GET answers a small JSON and whose POST reads the JSON body and
  answers 202, with no authentication and no Kafka; its `POST /bare/stored` also stores the body
  on a topic of its own (`BARE_TOPIC`, which nothing reads) with a plain aiokafka producer
  (acks=all, idempotent, no linger) before answering: the least a POST that must not lose an
  accepted send can do, so "POST messages / bare POST stored" is what the API's own layers
  cost beside the durable write;
- ``api``: `cobranca api serve`, the production API: request id, security headers, credential
  check, tenant authorization, rate limit, and for POST the SendRequested produced with acks=all
  and an ApiRequestAudited, 202 after both are acknowledged.

A load generator in this process alternates bare and API rounds so both see the same machine
load, and prints requests/s and p50/p99 per round kind (best round), and the ratios API/bare.
The load generator shares the 2 cores with the servers, so every rate is a lower bound; the
ratios are the point. Those closed-loop rounds keep `--concurrency` requests in flight, so their
p99 is the queue at saturation. The goal "2,000 sends/s with p99 under 50 ms" is a latency at an
offered rate, measured last by paced rounds (`bench.harness.paced`): `--paced-sends` sends/s
offered open loop for `--paced-seconds`, as POSTs of each size in `--paced-batches`, each
latency counted from when its POST was due. JWT verification is timed alone (ES256, the API's
own `TokenSigner`). The broker and the servers are stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import Call, Round, load, paced, wait_healthy  # noqa: E402
from streams.base.ports import free_port  # noqa: E402

TENANT = "bench"
BATCH = 50
PASSWORD = "bench password 1234"
BARE_TOPIC = "bench.bare-stored"
"""Where the bare POST stores its bodies: as a send requests topic is made, not one the API reads
(its records are no events)."""


def serve_bare(port: int) -> None:
    from aiohttp import web
    from aiokafka import AIOKafkaProducer

    producers: list[AIOKafkaProducer] = []

    async def start_producer(app: web.Application) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=os.environ["COBRANCA_KAFKA_BOOTSTRAP"],
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
        )
        await producer.start()
        producers.append(producer)

    async def stop_producer(app: web.Application) -> None:
        for producer in producers:
            await producer.stop()

    async def post_stored(request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw)
        await producers[0].send_and_wait(BARE_TOPIC, raw, key=TENANT.encode())
        return web.json_response(
            {"requests": [{"to": body.get("to"), "status": "requested"}]}, status=202
        )

    async def get(request: web.Request) -> web.Response:
        return web.json_response({"tenant": TENANT, "balance": 0, "movements": 0})

    async def post(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"requests": [{"to": body.get("to"), "status": "requested"}]}, status=202
        )

    app = web.Application()
    app.on_startup.append(start_producer)
    app.on_cleanup.append(stop_producer)
    app.router.add_get("/bare", get)
    app.router.add_post("/bare", post)
    app.router.add_post("/bare/stored", post_stored)
    app.router.add_get("/healthz", get)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def call(method: str, url: str, token: str | None, body: object) -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        result: dict[str, object] = json.loads(answer.read())
        return result


def jwt_cost(folder: Path, count: int = 5_000) -> tuple[float, float, float]:
    """Microseconds to sign one access token, to verify a token seen for the first time, and to
    verify one seen before (the signer's cache), with the API's own signer."""
    from connectors.api.credentials import TokenSigner

    signer = TokenSigner(folder)
    now = datetime.now(UTC)
    started = time.perf_counter()
    tokens = [signer.sign(f"user-{n}", "family", timedelta(minutes=15), now) for n in range(count)]
    signing = (time.perf_counter() - started) / count * 1e6
    timings = []
    for _ in range(2):  # first: every signature checked; second: every token known
        started = time.perf_counter()
        for token in tokens:
            signer.verify(token)
        timings.append((time.perf_counter() - started) / count * 1e6)
    return signing, timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="per round")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per kind")
    parser.add_argument(
        "--paced-sends", type=int, default=2_000, help="sends/s offered open loop (0: none)"
    )
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument(
        "--paced-batches", default="1,10,50", help="messages per POST in the paced rounds"
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return

    from infra.kafka.broker import LocalBroker
    from streams.base.settings import cache_home
    from streams.base.topics import TopicKind, TopicSpec
    from streams.runtime.topic_admin import create_topics

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        home = Path(tmp)
        broker = LocalBroker.on_free_ports(cache=cache_home(), home=home / "kafka")
        broker.start(timeout=120)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            asyncio.run(create_topics(broker.bootstrap, 6))
            bare_topic = TopicSpec(BARE_TOPIC, TopicKind.AUDIT, "tenant_id", (), "bench only")
            asyncio.run(create_topics(broker.bootstrap, 6, (bare_topic,)))
            bare_port, api_port = free_port(), free_port()
            env = {
                **os.environ,
                "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
                "COBRANCA_API_PORT": str(api_port),
                "COBRANCA_API_SIGNING_KEYS": str(home / "keys"),
                "COBRANCA_API_RATE_BURST": "100000000",
                "COBRANCA_API_RATE_PER_S": "100000000",
                "COBRANCA_LOG_LEVEL": "WARNING",
                "COBRANCA_LOG_FORMAT": "json",
            }
            admin = "bench@example.com"
            cli = [sys.executable, "-m", "streams.ops.cli"]
            subprocess.run(
                [*cli, "users", "create-admin", admin],
                input=PASSWORD.encode(),
                env=env,
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            log = (home / "servers.log").open("ab")
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--serve-bare", str(bare_port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            procs.append(
                subprocess.Popen(
                    [*cli, "api", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
                )
            )
            bare, api = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{api_port}"
            wait_healthy(f"{bare}/healthz", procs[0])
            wait_healthy(f"{api}/healthz", procs[1])
            token = str(
                call("POST", f"{api}/v1/auth/login", None, {"email": admin, "password": PASSWORD})[
                    "access_token"
                ]
            )
            key = str(
                call(
                    "POST",
                    f"{api}/v1/tenants/{TENANT}/keys",
                    token,
                    {"name": "bench", "scopes": ["sends:write", "tokens:read"]},
                )["key"]
            )

            def message(n: int) -> bytes:
                return json.dumps(
                    {"to": f"+55119{n % 100_000_000:08d}", "text": f"Olá, cliente {n}"}
                ).encode()

            def batch_of(size: int) -> Callable[[int], bytes]:
                def batch(n: int) -> bytes:
                    return json.dumps(
                        {
                            "messages": [
                                {"to": f"+55119{(n * size + i) % 100_000_000:08d}", "text": "Olá!"}
                                for i in range(size)
                            ]
                        }
                    ).encode()

                return batch

            batch = batch_of(BATCH)

            as_json = {"Content-Type": "application/json"}
            kinds = {
                "bare GET": ("GET", f"{bare}/bare", {}, None, 200),
                "GET balance JWT": (
                    "GET",
                    f"{api}/v1/tenants/{TENANT}/tokens",
                    {"Authorization": f"Bearer {token}"},
                    None,
                    200,
                ),
                "GET balance key": (
                    "GET",
                    f"{api}/v1/tenants/{TENANT}/tokens",
                    {"Authorization": f"Bearer {key}"},
                    None,
                    200,
                ),
                "bare POST": ("POST", f"{bare}/bare", as_json, message, 202),
                "bare POST stored": ("POST", f"{bare}/bare/stored", as_json, message, 202),
                "POST messages": (
                    "POST",
                    f"{api}/v1/tenants/{TENANT}/messages",
                    {**as_json, "Authorization": f"Bearer {key}"},
                    message,
                    202,
                ),
                f"POST {BATCH} messages": (
                    "POST",
                    f"{api}/v1/tenants/{TENANT}/messages",
                    {**as_json, "Authorization": f"Bearer {key}"},
                    batch,
                    202,
                ),
            }

            def caller(
                method: str, url: str, headers: dict[str, str], body: Callable[[int], bytes] | None
            ) -> Callable[[int], Call]:
                return lambda n: (method, url, headers, body(n) if body else None)

            servers = {"bare": procs[0].pid, "api": procs[1].pid}
            for name, (method, url, headers, body, ok) in kinds.items():  # warm-up
                asyncio.run(
                    load(name, caller(method, url, headers, body), 1_000, args.concurrency, ok)
                )
            results: dict[str, list[Round]] = {name: [] for name in kinds}
            for _ in range(args.rounds):
                for name, (method, url, headers, body, ok) in kinds.items():
                    pid = servers["bare" if name.startswith("bare") else "api"]
                    result = asyncio.run(
                        load(
                            name,
                            caller(method, url, headers, body),
                            args.requests,
                            args.concurrency,
                            ok,
                            server_pid=pid,
                        )
                    )
                    results[name].append(result)
                    print("  round:", result.line())
            best = {name: max(rounds, key=lambda r: r.rate) for name, rounds in results.items()}
            print(f"concurrency {args.concurrency}, best of {args.rounds} rounds each:")
            for result in best.values():
                print(result.line())
            for api_kind, bare_kind in (
                ("GET balance JWT", "bare GET"),
                ("GET balance key", "bare GET"),
                ("POST messages", "bare POST"),
                ("POST messages", "bare POST stored"),
            ):
                paired = [
                    a.rate / b.rate
                    for a, b in zip(results[api_kind], results[bare_kind], strict=True)
                ]
                ratio = best[api_kind].rate / best[bare_kind].rate
                print(
                    f"ratio {api_kind} / {bare_kind}: {ratio:.2f} "
                    f"best to best, {statistics.median(paired):.2f} median of {len(paired)} rounds "
                    + ("(goal >= 0.50)" if bare_kind != "bare POST stored" else "(no goal)")
                )
                cpu = [
                    (b.cpu_us_per_request, a.cpu_us_per_request)
                    for a, b in zip(results[api_kind], results[bare_kind], strict=True)
                    if a.cpu_us_per_request and b.cpu_us_per_request
                ]
                if cpu:
                    bare_us = statistics.median(b for b, _ in cpu)
                    api_us = statistics.median(a for _, a in cpu)
                    print(
                        f"  server CPU per request: {api_us:.0f} µs against {bare_us:.0f} µs "
                        f"bare, ratio {bare_us / api_us:.2f} (the rate ratio on an idle core)"
                    )
            posted, batched = best["POST messages"], best[f"POST {BATCH} messages"]
            print(
                f"accepted sends: {posted.rate:,.0f}/s one per request, p99 "
                f"{posted.pct(0.99):.1f} ms; {batched.rate * BATCH:,.0f}/s in batches of {BATCH}, "
                f"p99 {batched.pct(0.99):.1f} ms (goal >= 2,000/s with p99 < 50 ms)"
            )
            sends_url = f"{api}/v1/tenants/{TENANT}/messages"
            sends_headers = {**as_json, "Authorization": f"Bearer {key}"}
            for size in (int(b) for b in args.paced_batches.split(",") if args.paced_sends):
                rate = args.paced_sends / size
                count = max(1, int(rate * args.paced_seconds))
                body = message if size == 1 else batch_of(size)
                result = asyncio.run(
                    paced(
                        f"paced {size}/POST",
                        caller("POST", sends_url, sends_headers, body),
                        count,
                        rate,
                        202,
                        server_pid=servers["api"],
                    )
                )
                verdict = (
                    "met"
                    if result.errors == 0
                    and result.rate * size >= 0.98 * args.paced_sends
                    and result.pct(0.99) < 50
                    else "NOT met"
                )
                print(
                    f"offered {args.paced_sends:,} sends/s open loop as {rate:,.0f} POSTs/s of "
                    f"{size}: {result.rate * size:,.0f} sends/s accepted, p50 "
                    f"{result.pct(0.50):.1f} ms, p99 {result.pct(0.99):.1f} ms from each POST's "
                    f"due time, server CPU {(result.cpu_us_per_request or 0) / size:.0f} µs/send, "
                    f"{result.errors} failed, load {os.getloadavg()[0]:.1f} "
                    f"(goal >= 2,000/s with p99 < 50 ms: {verdict})"
                )
            sign, first, again = jwt_cost(home / "keys")
            print(
                f"JWT (ES256), per token on one core: sign {sign:.0f} µs, verify {first:.0f} µs "
                f"the first time, {again:.1f} µs when seen before"
            )
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            broker.stop()


if __name__ == "__main__":
    main()
