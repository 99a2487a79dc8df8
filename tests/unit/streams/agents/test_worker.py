"""The worker is built by `create_worker`, from the settings it is given, and by nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import faust

import streams.agents
from streams.agents.worker import create_worker
from streams.base.settings import Settings

AGENTS = {"regua", "ledger", "dispatch", "normalizer", "conversation"}


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
