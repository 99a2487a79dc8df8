"""schemathesis against `cobranca api serve` (a real process on the real broker): every operation
of the OpenAPI document, called with generated inputs as a platform admin, never answers 5xx and
always answers as the document says (status, content type, body schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connectors.api.app import openapi_document
from connectors.clickhouse import apply_migrations, connect
from streams.base.settings import Settings
from tests.api_process import serving_api

pytestmark = pytest.mark.integration

PASSWORD = "a long enough password"
schema = schemathesis.openapi.from_dict(openapi_document())


@schemathesis.serializer("application/x-ndjson", "text/csv")
def _as_text(ctx: object, value: object) -> bytes:
    # The import bodies are documented as strings; send whatever was generated as its text.
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def served(
    kafka_bootstrap: str, clickhouse_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    home = tmp_path_factory.mktemp("api")
    database = f"contract_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    env = {
        **os.environ,
        "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "COBRANCA_API_SIGNING_KEYS": str(home / "keys"),
        "COBRANCA_API_RATE_BURST": "100000",
        "COBRANCA_LOG_FORMAT": "json",
        "CLICKHOUSE_URL": clickhouse_settings.clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
    }
    email = f"contract-{uuid.uuid4().hex[:6]}@example.com"
    with serving_api(env, home, email, PASSWORD) as base:
        login = requests.post(
            base + "/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
        )
        assert login.status_code == 200, login.text
        yield base, login.json()["access_token"]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, served: tuple[str, str]
) -> None:
    base, token = served
    if case.operation.path == "/v1/auth/logout":
        return  # would end the login every other case uses; covered in test_api.py
    case.call_and_validate(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        timeout=30,
    )
