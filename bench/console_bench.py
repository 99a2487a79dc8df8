"""The operator console's pages: the server's time to answer what each page asks for on its
first render, with a small tenant and with about a million debtors' worth of events.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/console_bench.py
    ~/.cache/cobranca/venv/bin/python bench/console_bench.py --rows 2000000 --debtors 200000

It starts, in a temporary directory and on free loopback ports, a Kafka broker, the local
ClickHouse (`cobranca db serve`, migrated) and `cobranca api serve`, makes a platform admin, and
configures two tenants. Then, for each size:

- ``small``: the tenant as a demo leaves it: 300 debtors imported by `cobranca import` and
  sunk by `cobranca sink --drain`;
- ``large``: ClickHouse filled inside the engine (INSERT ... SELECT, every view fed as the sink
  feeds it) with `--rows` raw rows spread over ten tenants and the 119 days up to yesterday (the
  event mix of bench/clickhouse_bench.py) and `--debtors` imported debtors of the measured tenant.

Chromium (Debian's, driven by Playwright) logs in and opens every page in the navigation,
`--repeat` times. For each page it reads the browser's Resource Timing of the page's calls to
/v1: the slowest call's request-to-response time is the server time of the page's first render
(the calls run in parallel), printed as the median and maximum over the repeats, beside the
page's number of calls. Goal (issue 14): under 300 ms for every page. The servers are stopped by
PID at the end.
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
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.clickhouse_bench import GENERATE_SQL  # noqa: E402
from bench.harness import wait_healthy  # noqa: E402
from bench.pipeline_bench import write_debtors  # noqa: E402
from streams.base.ports import free_port  # noqa: E402

SMALL_DEBTORS = 300
TENANT = "tenant-3"  # one of GENERATE_SQL's ten tenants
PASSWORD = "bench password 1234"
ADMIN = "bench@example.com"
GOAL_MS = 300.0
CHROMIUM = Path("/usr/bin/chromium")


def _call(url: str, body: object, token: str | None = None, method: str = "POST") -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


def _small_tenant(bootstrap: str) -> None:
    """A configured tenant: every page renders, analytics answer over near-empty tables."""
    from streams.domain.tenant_config import parse_tenant_config
    from streams.runtime.tenants import apply_config

    config = parse_tenant_config(
        {
            "tenant": TENANT,
            "name": "Bench Cobranças",
            "waha": {"sessions": [{"name": "bench"}]},
            "regua": {
                "steps": [{"when": "D-3", "template": "Olá, {first_name}! Vence dia {due_date}."}]
            },
        }
    )
    asyncio.run(apply_config(bootstrap, config))


def _fill(client: Any, database: str, rows: int, debtors: int) -> float:
    """`rows` raw rows over ten tenants and 120 days ending now, and `debtors` imported debtors
    of TENANT, generated inside ClickHouse."""
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import name_gram_keys, name_grams_sql
    from connectors.clickhouse.replay import refresh_views

    began = time.perf_counter()
    start = datetime.now(UTC) - timedelta(days=120)
    sends = max(rows * 100 // 515, 1)
    # Ending a day ago: the tenant's latest import stays the real one of the small size, whose
    # events are in the log (generated rows name positions the log does not have).
    seconds = int(timedelta(days=119).total_seconds())
    # GENERATE_SQL spaces sends one second apart; spread them over the 120 days instead.
    t0 = f"toDateTime64('{start:%Y-%m-%d %H:%M:%S}', 3, 'UTC')"
    for sql in GENERATE_SQL:
        spread = sql.replace("{t0} + number", f"{{t0}} + intDiv(number * {seconds}, {sends})")
        client.command(
            spread.format(db=database, sends=sends, t0=t0), settings={"max_insert_threads": 2}
        )
    k0, k1 = name_gram_keys(DEV_PSEUDONYM_KEY)
    name = "concat(['ana','bruno','carla','diego'][number % 4 + 1], ' silva ', toString(number))"
    client.command(
        f"""
        INSERT INTO {database}.raw_clients
          (kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version,
           tenant_id, occurred_at, correlation_id, source, import_id, `row`, client_id,
           phone_e164, document, document_kind, name_grams, phone_last4,
           amount_centavos, due_date, payload)
        SELECT number % 6, 2000000000 + number, 1, toString(generateUUIDv4()), 'ClientImported',
               2, '{TENANT}', {t0} + intDiv(number * {seconds}, {max(debtors, 1)}), 'imp',
               'bench', concat('imp-', toString(intDiv(number, 50000))), number,
               concat('c', toString(number)), concat('p:', hex(cityHash64(number))),
               concat('p:', hex(cityHash64(number, 1))), 'CPF', {name_grams_sql(name)},
               leftPad(toString(number % 10000), 4, '0'), 10000 + number % 100000,
               toDate(now()) + number % 60, '{{}}'
        FROM numbers({debtors})
        """,
        parameters={"name_key0": k0, "name_key1": k1},
    )
    refresh_views(client, database)
    return time.perf_counter() - began


Visit = tuple[float, int, str]
"""A page's first render: its slowest /v1 call (ms), how many calls it made, the slowest's path."""


def _measure(base: str, token: str, refresh: str, repeat: int) -> dict[str, list[Visit]]:
    """Per page of the navigation, each of its `repeat` visits."""
    from playwright.sync_api import sync_playwright

    found: dict[str, list[Visit]] = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page()
            page.goto(base + "/")
            # Logged in as the console keeps a login (sessionStorage), on the measured tenant.
            page.evaluate(
                """([access, refresh, tenant]) => {
                    sessionStorage.setItem('cobranca.session',
                        JSON.stringify({access: access, refresh: refresh}));
                    sessionStorage.setItem('cobranca.tenant', tenant);
                }""",
                [token, refresh, TENANT],
            )
            page.goto(base + "/#/")
            page.wait_for_selector("nav a", timeout=30_000)
            links: list[str] = page.eval_on_selector_all(
                "nav a", "links => links.map(a => a.getAttribute('href'))"
            )
            for _ in range(repeat):
                for href in links:
                    page.goto("about:blank")
                    page.goto(base + "/" + href)
                    page.wait_for_load_state("networkidle", timeout=60_000)
                    timings: list[tuple[float, str]] = page.evaluate(
                        """() => performance.getEntriesByType('resource')
                            .filter(e => new URL(e.name).pathname.startsWith('/v1/'))
                            .map(e => [e.responseEnd - e.requestStart, new URL(e.name).pathname])"""
                    )
                    ms, path = max(timings, default=(0.0, "-"))
                    found.setdefault(href, []).append((ms, len(timings), path))
        finally:
            browser.close()
    return found


def _report(size: str, pages: dict[str, list[Visit]]) -> list[str]:
    lines = []
    for href, visits in pages.items():
        slowest = [ms for ms, _, _ in visits]
        calls = max(n for _, n, _ in visits)
        path = max(visits)[2].rsplit("/", 2)[-2:]
        median = statistics.median(slowest)
        verdict = "ok" if median < GOAL_MS else "OVER"
        lines.append(
            f"  {size:5s} {href:22s} {calls:2d} calls   median {median:7.1f} ms   "
            f"max {max(slowest):7.1f} ms   {verdict}   (slowest: {'/'.join(path)})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="raw rows, ten tenants")
    parser.add_argument("--debtors", type=int, default=1_000_000, help="of the measured tenant")
    parser.add_argument("--repeat", type=int, default=5, help="visits of each page")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium (infra/bootstrap.sh does)")

    from connectors.clickhouse import connect
    from connectors.clickhouse.server import LocalClickHouse
    from infra.kafka.broker import LocalBroker
    from streams.base.settings import Settings, cache_home
    from streams.ops.clickhouse_cli import DB_SERVE
    from streams.runtime.topic_admin import create_topics

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker.on_free_ports(cache=cache_home(), home=work / "kafka")
        env = {
            **os.environ,
            "COBRANCA_DATA_DIR": str(work),
            "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
            "CLICKHOUSE_URL": f"http://127.0.0.1:{free_port()}",
            "CLICKHOUSE_DATABASE": "bench_console",
            "COBRANCA_API_PORT": str(free_port()),
            "COBRANCA_API_SIGNING_KEYS": str(work / "keys"),
            "COBRANCA_LOG_LEVEL": "WARNING",
            "COBRANCA_LOG_FORMAT": "json",
        }
        settings = Settings.from_env(env)
        server = LocalClickHouse.from_settings(settings)
        api: subprocess.Popen[bytes] | None = None
        try:
            broker.start(timeout=120)
            server.start(DB_SERVE, timeout=120)
            asyncio.run(create_topics(broker.bootstrap, 6))
            cli = [sys.executable, "-m", "streams.ops.cli"]
            subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
            subprocess.run(
                [*cli, "users", "create-admin", ADMIN],
                input=PASSWORD.encode(),
                env=env,
                check=True,
                capture_output=True,
            )
            _small_tenant(broker.bootstrap)
            # Real debtors, imported and sunk as in production: the pages that read a debtor
            # back from the log (the régua's preview, a timeline) do their real work.
            debtors = work / "debtors.csv"
            write_debtors(debtors, 1, SMALL_DEBTORS, datetime.now(UTC) + timedelta(days=3))
            subprocess.run(
                [*cli, "import", str(debtors), "--tenant", TENANT],
                env=env,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [*cli, "sink", "--drain", "--max-wait", "0.2"],
                env=env,
                check=True,
                capture_output=True,
            )
            log = (work / "api.log").open("ab")
            api = subprocess.Popen(
                [*cli, "api", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
            base = f"http://127.0.0.1:{env['COBRANCA_API_PORT']}"
            wait_healthy(f"{base}/healthz", api)
            login = _call(f"{base}/v1/auth/login", {"email": ADMIN, "password": PASSWORD})
            token, refresh = login["access_token"], login["refresh_token"]
            lines = _report("small", _measure(base, token, refresh, args.repeat))
            client = connect(settings)
            seconds = _fill(client, "bench_console", args.rows, args.debtors)
            raw = int(
                client.query(
                    "SELECT sum(rows) FROM system.parts WHERE active "
                    "AND database = 'bench_console' AND table LIKE 'raw_%'"
                ).result_rows[0][0]
            )
            client.close()
            print(
                f"large: {raw:,} raw rows ({args.debtors:,} debtors of {TENANT}) in {seconds:.0f} s"
            )
            login = _call(f"{base}/v1/auth/login", {"email": ADMIN, "password": PASSWORD})
            token, refresh = login["access_token"], login["refresh_token"]
            lines += _report("large", _measure(base, token, refresh, args.repeat))
            print(
                f"server time of each page's first render (slowest /v1 call, {args.repeat} visits; "
                f"goal < {GOAL_MS:.0f} ms):"
            )
            print("\n".join(lines))
            print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        finally:
            if api is not None:
                api.send_signal(signal.SIGINT)
                try:
                    api.wait(30)
                except subprocess.TimeoutExpired:
                    api.kill()
            server.stop()
            broker.stop()


if __name__ == "__main__":
    main()
