"""`cobranca tenants apply` against the real broker, and the worker's directory following it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from streams.base.topics import TENANTS
from streams.ops.tenant_files import load_tenant_file
from streams.runtime.tenants import TenantDirectory, apply_config, read_configs
from tests.cli import cobranca
from tests.kafka_helpers import for_tenant, read_committed

pytestmark = pytest.mark.integration


def _cobranca(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cobranca(
        *args, env={"COBRANCA_KAFKA_BOOTSTRAP": bootstrap, "COBRANCA_LOG_FORMAT": "json"}
    )


ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "infra" / "tenants" / "acme-cobrancas.yaml"


def _tenant_file(
    tmp_path: Path, tenant: str, session: str | None = None, **changes: object
) -> Path:
    """The example tenant under another id and session, so tests do not share state."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["tenant"] = tenant
    data["waha"]["sessions"][0]["name"] = session or f"{tenant}-waha"
    data.update(changes)
    path = tmp_path / f"{tenant}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_apply_writes_the_configuration_keyed_by_tenant(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    path = _tenant_file(tmp_path, tenant)
    expected = load_tenant_file(path)

    done = _cobranca(kafka_bootstrap, "tenants", "apply", str(path))

    assert done.returncode == 0, done.stderr
    assert f"tenant {tenant} (ACME Cobranças): configuration {expected.digest}" in done.stdout
    records = [
        (key, value)
        for key, value in asyncio.run(read_committed(kafka_bootstrap, TENANTS.name))
        if value["header"]["tenant_id"] == tenant
    ]
    assert [key for key, _ in records] == [tenant.encode()]
    ((_, event),) = records
    assert [s["step"] for s in event["steps"]] == ["D-3", "D0", "D+3", "D+7"]
    assert event["prices"] == {"text": 1, "file": 2, "per_extra_recipient": 1}
    assert event["source_file"] == str(path)
    configs = asyncio.run(read_configs(kafka_bootstrap))
    assert configs[tenant].digest == expected.digest

    listing = _cobranca(kafka_bootstrap, "tenants", "list")
    assert listing.returncode == 0, listing.stderr
    assert tenant in listing.stdout and expected.digest in listing.stdout

    as_json = _cobranca(kafka_bootstrap, "tenants", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    (entry,) = [t for t in json.loads(as_json.stdout) if t["tenant"] == tenant]
    assert entry == {
        "tenant": tenant,
        "display_name": "ACME Cobranças",
        "configuration": expected.digest,
        "sessions": [f"{tenant}-waha"],
        "steps": ["D-3", "D0", "D+3", "D+7"],
        "prices": {"text": 1, "file": 2, "per_extra_recipient": 1},
        "allow_landlines": expected.allow_landlines,
        "require_document": False,
    }
    assert event["require_document"] is False


def test_an_invalid_file_is_refused_with_every_problem_and_writes_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    path = _tenant_file(
        tmp_path,
        tenant,
        regua={"steps": [{"when": "D0", "template": "Olá {nome}, pague {valor}"}]},
        low_balance_threshold=-1,
    )

    done = _cobranca(kafka_bootstrap, "tenants", "apply", str(path))

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{path}: regua.steps[0].template: line 1: unknown field {{nome}}" in done.stderr
    assert f"{path}: low_balance_threshold: -1 is below the minimum, 0" in done.stderr
    assert "2 problems" in done.stderr
    assert for_tenant(asyncio.run(read_committed(kafka_bootstrap, TENANTS.name)), tenant) == []


def test_a_session_belongs_to_one_tenant(kafka_bootstrap: str, tmp_path: Path) -> None:
    owner, intruder = _tenant(), _tenant()
    session = f"shared-{owner}"
    assert (
        _cobranca(
            kafka_bootstrap, "tenants", "apply", str(_tenant_file(tmp_path, owner, session))
        ).returncode
        == 0
    )

    done = _cobranca(
        kafka_bootstrap, "tenants", "apply", str(_tenant_file(tmp_path, intruder, session))
    )

    assert done.returncode == 1
    assert f"waha.sessions[0].name: session '{session}' belongs to tenant '{owner}'" in done.stderr
    # The owner may re-apply its own configuration.
    again = _cobranca(
        kafka_bootstrap, "tenants", "apply", str(_tenant_file(tmp_path, owner, session))
    )
    assert again.returncode == 0, again.stderr


def test_the_directory_reads_everything_then_follows_changes(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    first = load_tenant_file(_tenant_file(tmp_path, tenant))
    second = load_tenant_file(_tenant_file(tmp_path, tenant, low_balance_threshold=7))

    async def scenario() -> None:
        await apply_config(kafka_bootstrap, first)
        directory = TenantDirectory(kafka_bootstrap)
        running = asyncio.create_task(directory.run())
        try:
            await asyncio.wait_for(directory.ready.wait(), 30)
            config = directory.get(tenant)
            assert config is not None and config.digest == first.digest
            await apply_config(kafka_bootstrap, second)
            for _ in range(100):
                config = directory.get(tenant)
                if config is not None and config.digest == second.digest:
                    break
                await asyncio.sleep(0.1)
            assert config is not None and config.low_balance_threshold == 7
        finally:
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running

    asyncio.run(scenario())
