"""`cobranca import` refuses a tenant with no configuration unless forced (issue 18 §5): its
debtors would be imported for a régua that does not exist."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.base.settings import Settings
from streams.ops.imports_cli import import_command
from tests.kafka_helpers import configure_tenant
from tests.unit.imports.sample import EXPECTED_SUMMARY, MIXED

pytestmark = pytest.mark.integration


def test_import_refuses_an_unconfigured_tenant_unless_forced(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = tmp_path / "clientes.csv"
    path.write_text(MIXED, encoding="utf-8")
    settings = Settings.from_env({"COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap})
    runner = CliRunner()
    tenant = f"t-{uuid.uuid4().hex[:8]}"

    refused = runner.invoke(import_command, [str(path), "--tenant", tenant], obj=settings)
    assert refused.exit_code == 1
    assert f"tenant {tenant!r} has no configuration" in refused.stderr
    assert "cobranca tenants apply" in refused.stderr and "--force" in refused.stderr

    forced = runner.invoke(import_command, [str(path), "--tenant", tenant, "--force"], obj=settings)
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout.splitlines()[-1]) == EXPECTED_SUMMARY

    configure_tenant(kafka_bootstrap, tenant)
    done = runner.invoke(import_command, [str(path), "--tenant", tenant], obj=settings)
    assert done.exit_code == 0, done.output
