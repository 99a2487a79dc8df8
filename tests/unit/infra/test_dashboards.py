"""The Prometheus side of the provisioned dashboards: every metric a panel reads is one the code
registers, and every job it names is one Prometheus scrapes (the ClickHouse side runs for real
in tests/integration/clickhouse/test_dashboards.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.unit.infra.test_alert_rules import _registered, metric_names

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "infra" / "grafana" / "dashboards").glob("*.json"))


def prometheus_queries() -> list[tuple[str, str, str]]:
    found = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == "prometheus":
                    found.append((path.name, panel["title"], target["expr"]))
    return found


def test_dashboards_read_registered_metrics_of_scraped_jobs() -> None:
    queries = prometheus_queries()
    assert queries
    registered = _registered()
    config = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    for name, title, expr in queries:
        missing = metric_names(expr) - registered
        assert not missing, f"{name} / {title} reads {sorted(missing)}"
        for match in re.finditer(r'job=~?"([^"]*)"', expr):
            named = set(match.group(1).split("|"))
            assert named <= jobs, f"{name} / {title}: jobs {sorted(named - jobs)} are not scraped"


def test_the_overview_shows_every_long_running_process() -> None:
    overview = [q for q in prometheus_queries() if q[0] == "cobranca-overview.json"]
    up = next(expr for _, title, expr in overview if title == "Targets up")
    assert up == 'up{job=~"worker|sink|webhooks|imports"}'
