"""The alert rules (infra/prometheus/rules): promtool accepts them, their promtool unit tests
pass, every alert has one, and every metric a rule reads is one the code registers, so renaming
a metric breaks this test instead of silencing an alert.

promtool comes with Prometheus (Debian's `prometheus` package; `infra/bootstrap.sh` installs it).
Without it the promtool tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "infra" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is not None:
        return found
    message = (
        "promtool is not installed: `apt-get install prometheus` (Debian/Ubuntu) or "
        "infra/bootstrap.sh installs it"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the alert rules must be checked)")
    pytest.skip(message)


def _run(*args: str) -> str:
    done = subprocess.run(
        [_promtool(), *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(group["rules"])
    return rules


def test_there_are_rules_and_tests() -> None:
    assert RULE_FILES and TEST_FILES
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_promtool_checks_the_rules() -> None:
    output = _run("check", "rules", *(str(p.relative_to(ROOT)) for p in RULE_FILES))
    assert "SUCCESS" in output


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    output = _run("test", "rules", *(str(p.relative_to(ROOT)) for p in TEST_FILES))
    assert "SUCCESS" in output


def test_every_alert_has_a_unit_test() -> None:
    tested = {
        case["alertname"]
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert alerts == tested, f"alerts without a firing test: {sorted(alerts - tested)}"


# -- the names rules read ----------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_:][\w:]*)\b(?!\s*\()")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_LABEL = re.compile(r'(\w+)\s*=~?\s*"([^"]*)"')


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (not functions, labels or keywords)."""
    text = _STRINGS.sub('""', _MATCHERS.sub("", expr))
    text = _GROUPING.sub("", _RANGES.sub("", text))
    return {
        name
        for name in _IDENTIFIER.findall(text)
        if name.lower() not in _KEYWORDS and not re.fullmatch(r"\d\w*", name)
    }


def test_metric_names_are_read_from_expressions() -> None:
    expr = (
        'sum by (job, topic) (deriv(cobranca_consumer_lag{topic="a"}[15m])) > 0 '
        'and on (job) up{job=~"worker|sink"} == 0 or max(x_total) unless y offset 5m'
    )
    assert metric_names(expr) == {"cobranca_consumer_lag", "up", "x_total", "y"}


def _registered() -> set[str]:
    """Every sample name the project's processes export: the worker's sensor, the sink, the
    API's imports, the webhook receiver (with its producer's counts)."""
    from connectors.clickhouse.sink import SinkMetrics
    from connectors.imports.server import ImportMetrics
    from connectors.waha.receiver import Receiver, ReceiverConfig
    from streams.ops.waha_receiver import ProducerCounts
    from streams.runtime.metrics import PrometheusSensor

    class Producer:
        flushes = records = renewals = 0

    receiver = Receiver(None, None, ReceiverConfig(), record_bytes=len)  # type: ignore[arg-type]
    receiver.registry.register(ProducerCounts(Producer()))  # type: ignore[arg-type]
    imports = CollectorRegistry()
    ImportMetrics(imports)
    registries = [
        PrometheusSensor().registry,
        SinkMetrics().registry,
        imports,
        receiver.registry,
    ]
    names = {"up"}  # Prometheus's own, per target
    for registry in registries:
        for family in registry.collect():
            suffixes = {
                "counter": ("_total", "_created"),
                "histogram": ("_bucket", "_sum", "_count", "_created"),
            }.get(family.type, ("",))
            names.update(family.name + suffix for suffix in suffixes)
    return names


def test_every_metric_a_rule_reads_is_registered_by_the_code() -> None:
    registered = _registered()
    for rule in _rules():
        missing = metric_names(str(rule["expr"])) - registered
        assert not missing, f"{rule.get('alert') or rule.get('record')} reads {sorted(missing)}"


def test_label_values_rules_match_are_ones_the_code_uses() -> None:
    from connectors.clickhouse.raw_tables import RAW_TABLES
    from streams.base.topics import CATALOGUE

    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    known = {
        "topic": {spec.name for spec in CATALOGUE},
        "table": set(RAW_TABLES.values()),
        "event_type": {"TokensCredited", "TokensDebited", "TokensRefunded", "BalanceLow"},
        "outcome": {"stored", "unavailable"},
        "status": {"503"},
        "job": {job["job_name"] for job in config["scrape_configs"]},
    }
    for rule in _rules():
        for label, value in _LABEL.findall(str(rule["expr"])):
            values = set(value.split("|")) if label == "job" else {value}
            assert values <= known[label], f"{rule['alert']}: {label}={value!r}"
