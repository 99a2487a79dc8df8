"""The console's files as `cobranca api serve` serves them (connectors/api/static.py): the page
with its CSP, its own files by extension only, the vendored ECharts at its stable path, nothing
else of the folder; and its pure JavaScript (pt-BR formats, the overview's figures) run by node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.api.app import SETTINGS, _envelope
from connectors.api.settings import ApiSettings
from connectors.api.static import CONSOLE_DIR, VENDOR, add_console


def _app() -> web.Application:
    app = web.Application(middlewares=[_envelope])
    app[SETTINGS] = ApiSettings(Path("/nonexistent"))
    add_console(app)
    return app


async def test_the_page_its_files_and_nothing_else() -> None:
    async with TestClient(TestServer(_app())) as client:
        page = await client.get("/")
        assert page.status == 200 and page.content_type == "text/html"
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-eval" not in csp
        assert '<script type="module" src="/console/app.js">' in await page.text()
        script = await client.get("/console/pages/overview.js")
        assert script.status == 200 and script.content_type == "text/javascript"
        for refused in (
            "/console/package.json",
            "/console/package-lock.json",
            "/console/node_modules/echarts/dist/echarts.min.js",
            "/console/node_modules/axe-core/axe.min.js",
            "/console/../static.py",
            "/console/%2e%2e/static.py",
            "/console/vendor/axe.min.js",
        ):
            answer = await client.get(refused)
            assert answer.status == 404, refused
            assert set((await answer.json())["error"]) == {"code", "message", "details"}
        vendored = await client.get("/console/vendor/echarts.min.js")
        if (CONSOLE_DIR / VENDOR["echarts.min.js"]).is_file():
            assert vendored.status == 200 and vendored.content_type == "text/javascript"
        else:
            body = await vendored.json()
            assert vendored.status == 404 and body["error"]["code"] == "not_installed"


_SCRIPT = """
import * as f from './format.js';
import { figures } from './pages/overview.js';
const range = ['2026-12-05', '2026-12-06', '2026-12-07'];
const views = {
  funnel: [{day: '2026-12-06', dispatched: 3, delivered: 2, read: 2, replied: 1},
           {day: '2026-12-07', dispatched: 2, delivered: 2, read: 1, replied: 1}],
  intents: [{day: '2026-12-07', label: 'other', classified: 1},
            {day: '2026-12-06', label: 'negotiate', classified: 2},
            {day: '2026-12-07', label: 'negotiate', classified: 1}],
  promises: [{day: '2026-12-07', promises: 2, promised_centavos: 20050, followed_by_a_claim: 1}],
  response_times: [{day: '2026-12-06', replied: 1, read_to_reply_s: [120, 300, 400]},
                   {day: '2026-12-07', replied: 0, read_to_reply_s: [0, 0, 0]}],
  billing: [{day: '2026-12-05', credited: 10, debited: 0, refunded: 0},
            {day: '2026-12-06', credited: 0, debited: 4, refunded: 1},
            {day: '2026-12-07', credited: 0, debited: 3, refunded: 0}],
};
const fig = figures(views, 3, range);
console.log(JSON.stringify({
  brl: [f.brl(123456), f.brl(5), f.brl(-250), f.brl(0)],
  count: f.count(1234567),
  day: f.day('2026-12-07'),
  parsed: [f.parseDay('07/12/2026'), f.parseDay('31/02/2026'), f.parseDay('2026-12-07')],
  dateTime: f.dateTime('2026-12-07T15:04:00Z'),
  duration: [f.duration(42), f.duration(300), f.duration(3900)],
  sent: fig.sent, byIntent: fig.byIntent, promises: fig.promises, used: fig.used,
  history: fig.history, daysLeft: fig.daysLeft, medianReply: fig.medianReply,
}));
"""


def test_the_pure_javascript_formats_and_figures() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node is not installed (CI=true: the console's scripts must be checked)")
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, "--input-type=module", "-e", _SCRIPT],
        cwd=CONSOLE_DIR,
        env={**os.environ, "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    nbsp = "\xa0"
    assert out["brl"] == [f"R${nbsp}1.234,56", f"R${nbsp}0,05", f"-R${nbsp}2,50", f"R${nbsp}0,00"]
    assert out["count"] == "1.234.567" and out["day"] == "07/12/2026"
    assert out["parsed"] == ["2026-12-07", None, None]
    assert out["dateTime"] == "07/12/2026 12:04"  # São Paulo, UTC-3, whatever the machine's zone
    assert out["duration"] == ["42 s", "5 min 00 s", "1 h 05 min"]
    assert out["sent"] == {"dispatched": 5, "delivered": 4, "read": 3, "replied": 2}
    assert out["byIntent"] == [["negotiate", 3], ["other", 1]]
    assert out["promises"] == {"made": 2, "kept": 1, "centavos": 20050}
    assert out["used"] == [0, 3, 3]
    # Walked back from the balance of 3 today: 6 at the end of the 6th, 9 at the end of the 5th.
    assert out["history"] == [9, 6, 3]
    assert out["daysLeft"] == 1  # 6 tokens over 3 days: 2 a day, 3 tokens last 1 day
    assert out["medianReply"] == {"seconds": 120, "day": "2026-12-06"}
