"""The operator console in a real browser: Debian's chromium driven by Playwright for Python,
against a real `cobranca api serve` process on the real broker and ClickHouse (ADR 0027).

Without chromium (or Playwright, or the npm assets) the tests skip and say what to install,
except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.api.static import CONSOLE_DIR, VENDOR
from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
from connectors.clickhouse.raw_tables import RawTableWriter
from connectors.clickhouse.replay import refresh_views
from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.waha.simulator import SimulatorConfig, SimulatorThread
from streams.base.settings import Settings
from tests.api_process import serving_api

CHROMIUM = Path("/usr/bin/chromium")
AXE = CONSOLE_DIR / "node_modules/axe-core/axe.min.js"
PASSWORD = "a long enough password"
ACCESS_TTL_S = 4
"""Access tokens this short make every test cross an expiry: the console must refresh."""
WAHA_KEY = "console-sim-key"
SCREENSHOTS = Path(os.environ.get("COBRANCA_CONSOLE_SCREENSHOTS", "/tmp/cobranca-console-screens"))


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: the console's browser tests must run)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _missing(
            "chromium is not installed: `apt-get install -y chromium chromium-driver` "
            "(infra/bootstrap.sh does it as root)"
        )
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("playwright is not installed: run infra/bootstrap.sh (requirements.lock)")
    for name, path in [*((n, CONSOLE_DIR / p) for n, p in VENDOR.items()), ("axe-core", AXE)]:
        if not path.is_file():
            _missing(f"{name} is not installed: run infra/bootstrap.sh (npm ci in {CONSOLE_DIR})")
    return CHROMIUM


@dataclass
class Served:
    """A running `cobranca api serve`, its databases and its platform admin."""

    base: str
    admin_email: str
    bootstrap: str
    analytics: Settings
    waha_url: str

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = requests.request(method, self.base + path, json=body, headers=headers, timeout=30)
        assert answer.status_code < 400, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def login(self, email: str) -> str:
        body = {"email": email, "password": PASSWORD}
        return str(self.call("POST", "/v1/auth/login", body=body)["access_token"])

    def user(self, tenant: str, role: str) -> str:
        """A user of `tenant` with `role`, invited by the platform admin, password set."""
        email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant}.example.com"
        invited = self.call(
            "POST",
            f"/v1/tenants/{tenant}/users",
            self.login(self.admin_email),
            {"email": email, "roles": [role]},
        )
        self.call(
            "POST",
            "/v1/auth/invites/accept",
            body={"token": invited["invite_token"], "password": PASSWORD},
        )
        return email


@pytest.fixture(scope="module")
def served(
    kafka_bootstrap: str,
    clickhouse_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    chromium: Path,
) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("console-api")
    database = f"console_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    with SimulatorThread(SimulatorConfig(api_key=WAHA_KEY, sessions=())) as waha:
        env = {
            **os.environ,
            "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "COBRANCA_API_SIGNING_KEYS": str(home / "keys"),
            "COBRANCA_API_ACCESS_TTL_S": str(ACCESS_TTL_S),
            "COBRANCA_API_RATE_BURST": "100000",
            "COBRANCA_LOG_FORMAT": "json",
            "CLICKHOUSE_URL": clickhouse_settings.clickhouse_url,
            "CLICKHOUSE_DATABASE": database,
            "WAHA_URL": waha.url,
            "WAHA_API_KEY": WAHA_KEY,
        }
        email = f"console-{uuid.uuid4().hex[:6]}@example.com"
        with serving_api(env, home, email, PASSWORD) as base:
            analytics = replace(clickhouse_settings, clickhouse_database=database)
            yield Served(base, email, kafka_bootstrap, analytics, waha.url)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        locale="pt-BR", timezone_id="America/Sao_Paulo", viewport={"width": 1366, "height": 900}
    )
    # axe-core on every document from its start: an init script, which the console's CSP (no
    # inline script) does not apply to, as it would to an injected <script>.
    context.add_init_script(path=str(AXE))
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"errors in the page's scripts: {errors}"


def audit(page: Any, name: str) -> None:
    """axe-core on the page as it is: no serious or critical violation. And a screenshot of it
    under SCREENSHOTS (the README's pictures are copied from there)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    grave = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not grave, f"{name}: accessibility violations {grave}"


def run(coroutine: Any) -> Any:
    """An async helper (producing events, draining the sink) from a sync browser test, in a
    thread of its own: Playwright's sync API keeps an event loop running in the test's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def drain(served: Served, tenant: str) -> None:
    """What `cobranca sink` does all the time, done now: the log sunk into the API's ClickHouse
    database (one sink group per tenant, so a second drain goes on where the first stopped),
    then the views ClickHouse refreshes every 30 s refreshed (the funnel, the response times)."""
    database = served.analytics.clickhouse_database

    async def sink() -> None:
        config = SinkConfig(
            bootstrap=served.bootstrap, database=database, group_id=f"sink-{tenant}"
        )
        with connect(served.analytics) as client:
            await ClickHouseSink(config, client, RawTableWriter(DEV_PSEUDONYM_KEY)).run(drain=True)
            refresh_views(client, database)

    run(sink())


def copy_screenshots(into: Path) -> None:
    """Copy the run's screenshots into `into` (docs/console when refreshing the README's)."""
    into.mkdir(parents=True, exist_ok=True)
    for shot in SCREENSHOTS.glob("*.png"):
        shutil.copy(shot, into / shot.name)
