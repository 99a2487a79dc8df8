"""The worker is built by `create_worker`, from the settings it is given, and by nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import faust

import streams.agents
from streams.agents.worker import create_worker
from streams.base.settings import Settings

AGENTS = {"regua", "ledger", "dispatch", "normalizer", "messages", "conversation"}


def settings(tmp_path: Path, app_id: str) -> Settings:
    return Settings.from_env(
        {
            "COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "COBRANCA_DATA_DIR": str(tmp_path),
            "COBRANCA_APP_ID": app_id,
        }
    )


def test_importing_the_agents_builds_no_app() -> None:
    for module in pkgutil.iter_modules(streams.agents.__path__, "streams.agents."):
        loaded = importlib.import_module(module.name)
        built = [name for name, value in vars(loaded).items() if isinstance(value, faust.App)]
        assert built == [], f"{module.name} builds {built} at import time"


def test_each_worker_has_its_own_app_with_every_agent(tmp_path: Path) -> None:
    one = create_worker(settings(tmp_path, "cobranca-one"))
    two = create_worker(settings(tmp_path, "cobranca-two"))

    assert one.app is not two.app
    assert {agent.name for agent in one.app.agents.values()} == AGENTS
    assert {agent.name for agent in two.app.agents.values()} == AGENTS
    assert one.app.conf.id == "cobranca-one"
    assert two.app.conf.processing_guarantee.value == "exactly_once"


def test_a_waha_circuit_change_reaches_the_worker_metrics(tmp_path: Path) -> None:
    from connectors.waha.dispatch import BreakerState
    from streams.agents.dispatch import DispatchAgent
    from streams.runtime.app import create_app
    from streams.runtime.channels import Channels
    from streams.runtime.metrics import PrometheusSensor

    configured = settings(tmp_path, "cobranca-metrics")
    app = create_app(configured)
    sensor = PrometheusSensor()
    app.sensors.add(sensor)
    agent = DispatchAgent(app, configured, Channels(app))
    assert agent.dispatcher.on_circuit_change is not None
    agent.dispatcher.on_circuit_change("acme-1", BreakerState.OPEN)
    value = sensor.registry.get_sample_value
    assert value("cobranca_waha_circuit_open", {"session": "acme-1"}) == 1
    assert value("cobranca_waha_circuit_opened_total", {"session": "acme-1"}) == 1
    agent.dispatcher.on_circuit_change("acme-1", BreakerState.CLOSED)
    assert value("cobranca_waha_circuit_open", {"session": "acme-1"}) == 0
