"""The login `cobranca demo` prints: made once on the identity topic (an invite and its
acceptance), a tenant admin of the demo tenant who logs in to the API with the printed password."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from connectors.api.credentials import write_signing_key
from connectors.api.settings import ApiSettings
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.api_server import running_api
from streams.ops.demo import DEMO_EMAIL, DEMO_PASSWORD, TENANT, ensure_demo_login
from tests.integration.api.test_api import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_the_demo_login_is_made_once_and_logs_in(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = replace(Settings.from_env({}), kafka_bootstrap=kafka_bootstrap)
    assert await ensure_demo_login(settings) is True
    assert await ensure_demo_login(settings) is False  # a second run keeps it
    keys = tmp_path_factory.mktemp("signing")
    write_signing_key(keys, "k1")
    api_settings = replace(ApiSettings(keys), port=free_port())
    async with running_api(settings, api_settings), aiohttp.ClientSession() as session:
        api = Api(f"http://127.0.0.1:{api_settings.port}", session, api_settings)
        tokens = await api.login(DEMO_EMAIL, DEMO_PASSWORD)
        status, me, _ = await api.call("GET", "/v1/auth/me", tokens["access_token"])
    assert status == 200 and me["tenant"] == TENANT and me["roles"] == ["tenant_admin"]
    assert "config:write" in me["permissions"] and "conversations:read" in me["permissions"]
