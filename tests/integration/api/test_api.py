"""The HTTP API served on the real broker (`streams/ops/api_server.py`): logins and their
attacks, the authorization matrix over every route, tenant isolation, the error shape, the audit
trail, and a restart that keeps users and keys."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.api.credentials import Passwords, write_signing_key
from connectors.api.routes import ROUTES
from connectors.api.settings import ApiSettings
from connectors.clickhouse import apply_migrations, connect
from connectors.waha.simulator import SimulatorConfig, SimulatorThread
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.base.topics import API_AUDIT
from streams.domain.identity import accounts, record_key
from streams.ops.api_server import KafkaApiLog, running_api
from tests.kafka_helpers import read_committed

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    base: str
    session: aiohttp.ClientSession
    settings: ApiSettings

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.session.request(method, self.base + path, json=body, headers=sent) as r:
            text = await r.text()
            try:
                data = json.loads(text) if text else None
            except ValueError:
                data = text
            return r.status, data, r.headers

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        status, body, _ = await self.call(
            "POST", "/v1/auth/login", body={"email": email, "password": password}
        )
        assert status == 200, body
        return dict(body)


@pytest.fixture(scope="module")
def analytics(clickhouse_settings: Settings) -> Settings:
    """The session's local ClickHouse, with a migrated database of this module's own."""
    database = f"api_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    return replace(clickhouse_settings, clickhouse_database=database)


@pytest.fixture(scope="module")
def waha() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(api_key="sim-key", sessions=())) as simulator:
        yield simulator


def _settings(
    bootstrap: str, analytics: Settings, waha_url: str = "http://127.0.0.1:9"
) -> Settings:
    return replace(analytics, kafka_bootstrap=bootstrap, waha_url=waha_url, waha_api_key="sim-key")


async def _create_admin(bootstrap: str, email: str) -> None:
    log = KafkaApiLog(bootstrap)
    await log.start(3)
    try:
        hashed = await asyncio.to_thread(Passwords().hash, PASSWORD)
        event = accounts.create_platform_admin(
            email,
            hashed,
            actor="cli",
            now=datetime.now(UTC),
            existing=log.identity.account_by_email(email),
        )
        await log.append([(event, record_key(event))])
    finally:
        await log.stop()


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signing")
    write_signing_key(folder, "k1")
    return folder


@pytest.fixture(scope="module")
def admin_email() -> str:
    return f"admin-{uuid.uuid4().hex[:6]}@example.com"


async def _running(
    bootstrap: str,
    analytics: Settings,
    signing_keys: Path,
    waha_url: str = "http://127.0.0.1:9",
    **options: Any,
) -> AsyncIterator[Api]:
    api_settings = replace(ApiSettings(signing_keys), port=free_port(), **options)
    settings = _settings(bootstrap, analytics, waha_url)
    async with running_api(settings, api_settings), aiohttp.ClientSession() as session:
        yield Api(f"http://127.0.0.1:{api_settings.port}", session, api_settings)


@pytest.fixture(scope="module")
async def api(
    kafka_bootstrap: str,
    analytics: Settings,
    signing_keys: Path,
    admin_email: str,
    waha: SimulatorThread,
) -> AsyncIterator[Api]:
    await _create_admin(kafka_bootstrap, admin_email)
    async for running in _running(
        kafka_bootstrap, analytics, signing_keys, waha.url, rate_burst=10_000, rate_per_s=10_000.0
    ):
        yield running


@dataclass
class Tenant:
    name: str
    admin: str
    operator: str
    viewer: str
    key: str


async def _user(api: Api, admin_token: str, tenant: str, role: str) -> str:
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant}.example.com"
    status, body, _ = await api.call(
        "POST", f"/v1/tenants/{tenant}/users", admin_token, {"email": email, "roles": [role]}
    )
    assert status == 201, body
    status, tokens, _ = await api.call(
        "POST",
        "/v1/auth/invites/accept",
        body={"token": body["invite_token"], "password": PASSWORD},
    )
    assert status == 200, tokens
    return str(tokens["access_token"])


async def _tenant(api: Api, platform: str) -> Tenant:
    name = f"t{uuid.uuid4().hex[:6]}"
    admin = await _user(api, platform, name, "tenant_admin")
    operator = await _user(api, admin, name, "operator")
    viewer = await _user(api, admin, name, "viewer")
    scopes = ["imports:write", "imports:read", "sends:write", "reports:read", "tokens:read"]
    status, body, _ = await api.call(
        "POST", f"/v1/tenants/{name}/keys", admin, {"name": "erp", "scopes": scopes}
    )
    assert status == 201, body
    return Tenant(name, admin, operator, viewer, str(body["key"]))


# --- logins --------------------------------------------------------------------------------


async def test_login_me_refresh_and_logout(api: Api, admin_email: str) -> None:
    tokens = await api.login(admin_email.upper())
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    status, me, _ = await api.call("GET", "/v1/auth/me", tokens["access_token"])
    assert status == 200 and me["email"] == admin_email and me["tenant"] is None
    assert "tokens:credit" in me["permissions"]

    status, fresh, _ = await api.call(
        "POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]}
    )
    assert status == 200 and fresh["refresh_token"] != tokens["refresh_token"]
    status, _, _ = await api.call("POST", "/v1/auth/logout", fresh["access_token"])
    assert status == 204
    for token in (fresh["access_token"], tokens["access_token"]):
        status, body, headers = await api.call("GET", "/v1/auth/me", token)
        assert status == 401 and body["error"]["code"] == "unauthorized"
        assert headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = await api.call(
        "POST", "/v1/auth/refresh", body={"refresh_token": fresh["refresh_token"]}
    )
    assert status == 401


async def test_a_refresh_token_used_twice_ends_the_whole_login(api: Api, admin_email: str) -> None:
    tokens = await api.login(admin_email)
    status, rotated, _ = await api.call(
        "POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]}
    )
    assert status == 200
    status, body, _ = await api.call(
        "POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]}
    )
    assert status == 401 and "already used" in body["error"]["message"]
    # The thief's copy and the user's newer one both stop working.
    status, _, _ = await api.call(
        "POST", "/v1/auth/refresh", body={"refresh_token": rotated["refresh_token"]}
    )
    assert status == 401
    status, _, _ = await api.call("GET", "/v1/auth/me", rotated["access_token"])
    assert status == 401


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_tokens_are_refused(
    api: Api, admin_email: str, signing_keys: Path, tmp_path: Path
) -> None:
    from connectors.api.credentials import TokenSigner

    tokens = await api.login(admin_email)
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))

    tampered = f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}"
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{payload}."
    wrong_kid = f"{_b64({'alg': 'ES256', 'typ': 'JWT', 'kid': 'k9'})}.{payload}.{signature}"
    write_signing_key(tmp_path, "k1")  # same kid, another key: a signature nobody here made
    stranger = TokenSigner(tmp_path).sign(
        claims["sub"], claims["sid"], timedelta(minutes=5), datetime.now(UTC)
    )
    expired = TokenSigner(signing_keys).sign(
        claims["sub"], claims["sid"], timedelta(minutes=15), datetime.now(UTC) - timedelta(hours=1)
    )
    hs256 = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{payload}.{signature}"
    for name, token in {
        "tampered": tampered,
        "alg none": alg_none,
        "wrong kid": wrong_kid,
        "foreign key": stranger,
        "expired": expired,
        "HS256": hs256,
        "garbage": "not.a.token",
    }.items():
        status, body, _ = await api.call("GET", "/v1/auth/me", token)
        assert status == 401, name
        assert body["error"]["code"] == "unauthorized", name
    status, _, _ = await api.call("GET", "/v1/auth/me", tokens["access_token"])
    assert status == 200


async def test_failed_logins_lock_the_account(api: Api, admin_email: str) -> None:
    platform = (await api.login(admin_email))["access_token"]
    tenant = f"t{uuid.uuid4().hex[:6]}"
    email = f"victim-{uuid.uuid4().hex[:6]}@example.com"
    status, body, _ = await api.call(
        "POST", f"/v1/tenants/{tenant}/users", platform, {"email": email, "roles": ["viewer"]}
    )
    assert status == 201
    await api.call(
        "POST",
        "/v1/auth/invites/accept",
        body={"token": body["invite_token"], "password": PASSWORD},
    )
    for _ in range(api.settings.login_failures):
        status, body, _ = await api.call(
            "POST", "/v1/auth/login", body={"email": email, "password": "wrong password!"}
        )
        assert status == 401 and body["error"]["message"] == "wrong email or password"
    status, body, headers = await api.call(
        "POST", "/v1/auth/login", body={"email": email, "password": PASSWORD}
    )
    assert status == 429 and body["error"]["code"] == "locked" and int(headers["Retry-After"]) > 0
    status, users, _ = await api.call("GET", f"/v1/tenants/{tenant}/users", platform)
    assert [u["locked_until"] is not None for u in users["users"]] == [True]


# --- who may call what ---------------------------------------------------------------------

# Independent of the code's tables: what the issue says each role may do.
_ADMIN_OPS = {
    "getPairingQr",
    "startSession",
    "stopSession",
    "listUsers",
    "inviteUser",
    "grantRole",
    "revokeRole",
    "disableUser",
    "enableUser",
    "listKeys",
    "issueKey",
    "revokeKey",
    "listWebhooks",
    "createWebhook",
    "deleteWebhook",
    "putTenantConfig",
    "previewTemplate",
    "setLowBalanceThreshold",
}
_READERS = {
    "getImport",
    "getImportRejected",
    "getBalance",
    "listLedger",
    "getUsage",
    "getAnalytics",
    "listSessions",
    "getTenantConfig",
    "searchDebtors",
    "getDebtorTimeline",
    "getLowBalanceThreshold",
}
# Conversations are message texts: operators and admins, never viewers, nor the matrix's key.
_CONVERSATION_OPS = {
    "listConversations",
    "getConversation",
    "correctIntent",
    "replyToConversation",
    "listHandoffs",
    "resolveHandoff",
}
_OPERATORS = _READERS | _CONVERSATION_OPS | {"createImport", "sendMessages", "getMessage"}
_ALLOWED = {
    "platform": _ADMIN_OPS | _OPERATORS | {"creditTokens"},
    "admin": _ADMIN_OPS | _OPERATORS,
    "operator": _OPERATORS,
    "viewer": _READERS | {"getMessage"},
    # The matrix's key has imports:write, imports:read, sends:write, reports:read, tokens:read.
    "key": _READERS - {"listSessions", "getTenantConfig"} | {"createImport", "sendMessages"},
}
_BODIES: dict[str, Any] = {
    "inviteUser": lambda: {"email": f"m-{uuid.uuid4().hex[:8]}@example.com", "roles": ["viewer"]},
    "grantRole": lambda: {"role": "operator"},
    "issueKey": lambda: {"name": "matrix", "scopes": ["reports:read"]},
    "creditTokens": lambda: {"amount": 1, "reference": "matrix"},
    "sendMessages": lambda: {"to": "+5511987654321", "text": "matrix"},
    "createWebhook": lambda: {"url": "https://hooks.example.com/in", "events": ["balance.low"]},
    "putTenantConfig": lambda: {"name": "matrix"},  # refused as invalid (422) when allowed
    "previewTemplate": lambda: {"template": "Olá, {first_name}"},  # no debtor: 404
    "correctIntent": lambda: {"message_id": "unknown-message", "label": "other"},
    "replyToConversation": lambda: {"text": "matrix"},
    "resolveHandoff": lambda: {"label": "other"},
    "setLowBalanceThreshold": lambda: {"threshold_tokens": 50},
}


def _path(template: str, tenant: str) -> str:
    if template.endswith("/debtors"):
        template += "?q=maria"  # a real search, answered 200 to whoever may make it
    return (
        template.replace("{tenant}", tenant)
        .replace("{user_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{role}", "viewer")
        .replace("{key_id}", "key_unknown")
        .replace("{import_id}", "unknown-import")
        .replace("{request_id}", "unknown-request")
        .replace("{view}", "funnel")
        .replace("{session}", "unknown-session")
        .replace("{subscription_id}", "whs_unknown")
        .replace("{chat}", "5511900000000")
        .replace("{handoff_id}", "unknown-handoff")
        .replace("{client_id}", "c-unknown")
    )


async def test_the_authorization_matrix_over_every_tenant_route(api: Api, admin_email: str) -> None:
    platform = (await api.login(admin_email))["access_token"]
    own, other = await _tenant(api, platform), await _tenant(api, platform)
    callers = {
        "platform": platform,
        "admin": own.admin,
        "operator": own.operator,
        "viewer": own.viewer,
        "key": own.key,
    }
    tenant_routes = [r for r in ROUTES if "{tenant}" in r.path]
    assert {r.operation for r in tenant_routes} == set().union(*_ALLOWED.values())
    wrong = []
    for route in tenant_routes:
        for who, token in callers.items():
            for tenant in (own.name, other.name):
                body = _BODIES.get(route.operation, lambda: None)()
                status, answer, _ = await api.call(
                    route.method, _path(route.path, tenant), token, body
                )
                allowed = route.operation in _ALLOWED[who] and (
                    tenant == own.name or who == "platform"
                )
                if allowed == (status in (401, 403)) or status >= 500:
                    wrong.append((route.operation, who, tenant == own.name, status, answer))
            status, _, _ = await api.call(route.method, _path(route.path, own.name), None)
            if status != 401:
                wrong.append((route.operation, "nobody", True, status, None))
    assert wrong == []


async def test_keys_and_users_routes_refuse_the_wrong_kind_of_caller(
    api: Api, admin_email: str
) -> None:
    platform = (await api.login(admin_email))["access_token"]
    tenant = await _tenant(api, platform)
    status, me, _ = await api.call("GET", "/v1/auth/me", tenant.key)
    assert status == 200 and me["tenant"] == tenant.name and "users:manage" not in me["permissions"]
    status, body, _ = await api.call("POST", "/v1/auth/logout", tenant.key)
    assert status == 403 and body["error"]["code"] == "forbidden"
    # A tenant admin cannot make anyone a platform admin, nor invite one.
    status, body, _ = await api.call(
        "POST",
        f"/v1/tenants/{tenant.name}/users",
        tenant.admin,
        {"email": "x@example.com", "roles": ["platform_admin"]},
    )
    assert status == 400 and body["error"]["details"]["field"] == "roles"


async def test_a_revoked_key_and_a_disabled_user_stop_at_once(api: Api, admin_email: str) -> None:
    platform = (await api.login(admin_email))["access_token"]
    tenant = await _tenant(api, platform)
    status, keys, _ = await api.call("GET", f"/v1/tenants/{tenant.name}/keys", tenant.admin)
    key_id = keys["keys"][0]["key_id"]
    assert "key" not in keys["keys"][0]  # shown once, at issue
    status, _, _ = await api.call(
        "DELETE", f"/v1/tenants/{tenant.name}/keys/{key_id}", tenant.admin
    )
    assert status == 200
    status, _, _ = await api.call("GET", "/v1/auth/me", tenant.key)
    assert status == 401
    status, users, _ = await api.call("GET", f"/v1/tenants/{tenant.name}/users", tenant.admin)
    viewer = next(u for u in users["users"] if u["roles"] == ["viewer"])
    status, body, _ = await api.call(
        "POST", f"/v1/tenants/{tenant.name}/users/{viewer['user_id']}/disable", tenant.admin
    )
    assert status == 200 and body["status"] == "disabled"
    status, _, _ = await api.call("GET", "/v1/auth/me", tenant.viewer)
    assert status == 401


# --- the envelope --------------------------------------------------------------------------


async def test_errors_have_one_shape_and_answers_carry_security_headers(api: Api) -> None:
    for method, path, body, expected in (
        ("GET", "/v1/nothing-here", None, 404),
        ("PUT", "/v1/auth/login", None, 405),
        ("POST", "/v1/auth/login", {"email": 1}, 400),
    ):
        status, answer, headers = await api.call(method, path, body=body)
        assert status == expected
        assert set(answer["error"]) == {"code", "message", "details"}
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Request-Id"]
    status, answer, headers = await api.call("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
    assert status == 200 and headers["X-Request-Id"] == "abc-123"
    status, answer, headers = await api.call(
        "GET", "/v1/auth/me", headers={"X-Request-Id": "x" * 500}
    )
    assert status == 401 and headers["X-Request-Id"] != "x" * 500
    async with api.session.post(
        api.base + "/v1/auth/login", data=b"{" * 10, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"
    async with api.session.post(
        api.base + "/v1/auth/login",
        data=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    ) as r:
        assert r.status == 413 and (await r.json())["error"]["code"] == "body_too_large"


async def test_the_openapi_document_and_docs_page_are_served(api: Api) -> None:
    status, document, _ = await api.call("GET", "/v1/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    async with api.session.get(api.base + "/v1/docs") as r:
        page = await r.text()
        assert r.status == 200 and "inviteUser" in page and "<script" not in page


async def test_state_changes_are_audited_on_the_log(
    api: Api, admin_email: str, kafka_bootstrap: str
) -> None:
    platform = (await api.login(admin_email))["access_token"]
    tenant = f"t{uuid.uuid4().hex[:6]}"
    status, _, headers = await api.call(
        "POST",
        f"/v1/tenants/{tenant}/users",
        platform,
        {"email": f"a-{tenant}@example.com", "roles": ["operator"]},
    )
    assert status == 201
    request_id = headers["X-Request-Id"]
    for _ in range(50):
        records = await read_committed(kafka_bootstrap, API_AUDIT.name)
        audited = [e for _, e in records if e["request_id"] == request_id]
        if audited:
            break
        await asyncio.sleep(0.1)
    assert len(audited) == 1
    record = audited[0]
    assert record["operation"] == "inviteUser" and record["status"] == 201
    assert record["actor"].startswith("user:") and record["header"]["tenant_id"] == tenant
    assert record["address"] == "127.0.0.1"


async def test_rate_limit_answers_429_with_retry_after(
    kafka_bootstrap: str, analytics: Settings, signing_keys: Path
) -> None:
    async for api in _running(
        kafka_bootstrap, analytics, signing_keys, rate_burst=5, rate_per_s=1.0
    ):
        statuses = [(await api.call("GET", "/v1/auth/me", "cbk_unknown"))[0] for _ in range(5)]
        assert statuses == [401] * 5
        status, body, headers = await api.call(
            "POST", "/v1/auth/login", body={"email": "a@b.co", "password": "x"}
        )
        assert (
            status == 429
            and body["error"]["code"] == "rate_limited"
            and int(headers["Retry-After"]) >= 1
        )


async def test_a_restarted_api_still_knows_users_keys_and_logins(
    kafka_bootstrap: str, analytics: Settings, signing_keys: Path, admin_email: str
) -> None:
    async for first in _running(kafka_bootstrap, analytics, signing_keys):
        platform = await first.login(admin_email)
        tenant = await _tenant(first, platform["access_token"])
    async for second in _running(kafka_bootstrap, analytics, signing_keys):
        status, me, _ = await second.call("GET", "/v1/auth/me", tenant.key)
        assert status == 200 and me["tenant"] == tenant.name
        status, me, _ = await second.call("GET", "/v1/auth/me", tenant.operator)
        assert status == 200 and me["roles"] == ["operator"]
        status, _, _ = await second.call(
            "POST", "/v1/auth/refresh", body={"refresh_token": platform["refresh_token"]}
        )
        assert status == 200


async def test_an_import_through_the_api_with_a_tenant_key(api: Api, admin_email: str) -> None:
    from tests.unit.imports.sample import EXPECTED_SUMMARY, MIXED

    platform = (await api.login(admin_email))["access_token"]
    tenant = await _tenant(api, platform)
    async with api.session.post(
        f"{api.base}/v1/tenants/{tenant.name}/imports",
        data=MIXED.encode(),
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "text/csv"},
    ) as r:
        assert r.status == 202, await r.text()
        location = r.headers["Location"]
    for _ in range(100):
        status, body, _ = await api.call("GET", location, tenant.viewer)
        if body["state"] != "running":
            break
        await asyncio.sleep(0.1)
    assert status == 200 and body["state"] == "completed"
    assert {k: body[k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    # The viewer reads it; the viewer cannot import, and an empty body is a 400 in the one shape.
    status, _, _ = await api.call("POST", f"/v1/tenants/{tenant.name}/imports", tenant.viewer)
    assert status == 403
    async with api.session.post(
        f"{api.base}/v1/tenants/{tenant.name}/imports",
        data=b"",
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "text/csv"},
    ) as r:
        error = await r.json()
        assert r.status == 400 and set(error["error"]) == {"code", "message", "details"}


async def test_tokens_balance_ledger_credit_and_usage(
    api: Api, admin_email: str, kafka_bootstrap: str, analytics: Settings
) -> None:
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import RawTableWriter
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
    from streams.base.topics import CREDIT_REQUESTS
    from tests import factories as f
    from tests.kafka_helpers import produce

    platform = (await api.login(admin_email))["access_token"]
    tenant = await _tenant(api, platform)
    # What the ledger agent writes: 3 movements (it is not running in this test).
    movements = [
        f.tokens_credited(tenant.name, 100, balance_after=100),
        f.tokens_debited(tenant.name, "r1", 3, balance_after=97),
        f.tokens_refunded(tenant.name, "r1", 3, balance_after=100),
        f.balance_low(tenant.name),
    ]
    await produce(kafka_bootstrap, movements, tenant.name)
    for _ in range(100):
        status, balance, _ = await api.call(
            "GET", f"/v1/tenants/{tenant.name}/tokens", tenant.viewer
        )
        if balance["movements"] == 3:
            break
        await asyncio.sleep(0.05)
    assert balance == {"tenant": tenant.name, "balance": 100, "movements": 3}

    config = SinkConfig(
        bootstrap=kafka_bootstrap,
        database=analytics.clickhouse_database,
        group_id=f"sink-{uuid.uuid4().hex[:6]}",
    )
    with connect(analytics) as client:
        await ClickHouseSink(config, client, RawTableWriter(DEV_PSEUDONYM_KEY)).run(drain=True)
    path = f"/v1/tenants/{tenant.name}/tokens/ledger?limit=3"
    status, page, _ = await api.call("GET", path, tenant.key)
    assert status == 200 and len(page["entries"]) == 3 and page["next"]
    newest = page["entries"][0]
    assert newest["event_type"] == "BalanceLow" and newest["position"].startswith(
        "cobranca.ledger["
    )
    status, rest, _ = await api.call("GET", page["next"], tenant.key)
    assert [e["event_type"] for e in rest["entries"]] == ["TokensCredited"] and rest["next"] is None
    assert rest["entries"][0]["offset"] < page["entries"][-1]["offset"]

    status, usage, _ = await api.call(
        "GET", f"/v1/tenants/{tenant.name}/tokens/usage", tenant.viewer
    )
    assert status == 200 and sum(d["credited"] for d in usage["rows"]) == 100
    async with api.session.get(
        f"{api.base}/v1/tenants/{tenant.name}/tokens/usage?format=csv",
        headers={"Authorization": f"Bearer {tenant.viewer}"},
    ) as r:
        text = await r.text()
        assert r.status == 200 and r.content_type == "text/csv"
        assert text.splitlines()[0] == "day,credited,debited,refunded,sends,send_tokens"
        assert text.splitlines()[1].split(",")[1:4] == ["100", "3", "3"]

    for name in (
        "billing",
        "sends",
        "funnel",
        "response_times",
        "intents",
        "handoffs",
        "promises",
        "events",
    ):
        status, view, _ = await api.call(
            "GET", f"/v1/tenants/{tenant.name}/analytics/{name}", tenant.viewer
        )
        assert status == 200 and view["view"] == name, view
    status, billing, _ = await api.call(
        "GET", f"/v1/tenants/{tenant.name}/analytics/billing", tenant.viewer
    )
    assert [(r["credited"], r["debited"], r["refunded"]) for r in billing["rows"]] == [(100, 3, 3)]
    status, _, _ = await api.call(
        "GET", f"/v1/tenants/{tenant.name}/analytics/nothing", tenant.viewer
    )
    assert status == 404
    status, _, _ = await api.call(
        "GET", f"/v1/tenants/{tenant.name}/analytics/billing?from=2026-13-01", tenant.viewer
    )
    assert status == 400

    # Credits are the platform admin's; a retry with the same Idempotency-Key is the same credit.
    body = {"amount": 50, "reference": "pix 42"}
    credit = f"/v1/tenants/{tenant.name}/tokens/credits"
    status, _, _ = await api.call("POST", credit, tenant.admin, body)
    assert status == 403
    answers = [
        await api.call("POST", credit, platform, body, headers={"Idempotency-Key": "order-42"})
        for _ in range(2)
    ]
    assert [a[0] for a in answers] == [202, 202]
    assert answers[0][1]["credit_id"] == answers[1][1]["credit_id"]
    stored = [
        e
        for _, e in await read_committed(kafka_bootstrap, CREDIT_REQUESTS.name)
        if e["header"]["tenant_id"] == tenant.name
    ]
    assert {e["credit_id"] for e in stored} == {answers[0][1]["credit_id"]} and stored[0][
        "amount"
    ] == 50
    for bad in ({"amount": 0}, {"amount": 1.5}, {"amount": True}, {"amount": 5, "reference": 7}):
        status, error, _ = await api.call("POST", credit, platform, bad)
        assert status == 400 and error["error"]["details"]["field"] in ("amount", "reference")


async def test_sends_through_the_api_are_idempotent_and_report_their_status(
    api: Api, admin_email: str, kafka_bootstrap: str, analytics: Settings
) -> None:
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import RawTableWriter
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
    from streams.base.topics import SEND_REQUESTS
    from tests import factories as f
    from tests.kafka_helpers import produce

    platform = (await api.login(admin_email))["access_token"]
    tenant = await _tenant(api, platform)
    path = f"/v1/tenants/{tenant.name}/messages"
    batch = {
        "messages": [
            {"to": "(11) 98765-4321", "text": "Olá, Ana"},
            {
                "to": "+5521987654321",
                "file": {"url": "https://files.example/boleto.pdf", "name": "boleto.pdf"},
            },
        ]
    }
    first = await api.call("POST", path, tenant.key, batch, headers={"Idempotency-Key": "lote-7"})
    again = await api.call("POST", path, tenant.key, batch, headers={"Idempotency-Key": "lote-7"})
    assert first[0] == again[0] == 202
    ids = [r["request_id"] for r in first[1]["requests"]]
    assert ids == [r["request_id"] for r in again[1]["requests"]] and len(set(ids)) == 2
    assert first[1]["requests"][0]["to"] != "+5511987654321"  # the key may not read phones
    status, body, _ = await api.call("POST", path, tenant.viewer, batch)
    assert status == 403
    status, body, _ = await api.call("POST", path, tenant.operator, {"to": "123", "text": "x"})
    assert (
        status == 400
        and body["error"]["code"] == "invalid_message"
        and "message.to" in body["error"]["message"]
    )

    stored = [
        e
        for _, e in await read_committed(kafka_bootstrap, SEND_REQUESTS.name)
        if e["header"]["tenant_id"] == tenant.name
    ]
    assert sorted({e["request_id"] for e in stored}) == sorted(ids) and len(stored) == 4
    assert {e["step"] for e in stored} == {"api"} and {e["kind"] for e in stored} == {
        "TEXT",
        "FILE",
    }

    # What the ledger, the dispatcher and WAHA say next (not running here), then the sink.
    await produce(
        kafka_bootstrap,
        [
            f.send_approved(tenant.name, ids[0]),
            f.message_dispatched(tenant.name, ids[0], message_id="wamid-1"),
            f.delivery_status_changed(tenant.name, ack=2, message_id="wamid-1", request_id=ids[0]),
        ],
        tenant.name,
    )
    config = SinkConfig(
        bootstrap=kafka_bootstrap,
        database=analytics.clickhouse_database,
        group_id=f"sink-{uuid.uuid4().hex[:6]}",
    )
    with connect(analytics) as client:
        await ClickHouseSink(config, client, RawTableWriter(DEV_PSEUDONYM_KEY)).run(drain=True)
    status, sent, _ = await api.call("GET", f"{path}/{ids[0]}", tenant.viewer)
    assert status == 200 and sent["status"] == "delivered"
    assert [e["event_type"] for e in sent["events"]][:1] == ["SendRequested"]
    status, waiting, _ = await api.call("GET", f"{path}/{ids[1]}", tenant.operator)
    assert status == 200 and waiting["status"] == "requested"
    status, _, _ = await api.call("GET", f"{path}/{ids[1]}", tenant.key)
    assert status == 403  # this key may send but not read sends (no sends:read)
    status, _, _ = await api.call("GET", f"{path}/unknown-request", tenant.operator)
    assert status == 404


async def test_whatsapp_sessions_status_qr_start_and_stop(
    api: Api, admin_email: str, kafka_bootstrap: str, waha: SimulatorThread
) -> None:
    from streams.runtime.tenants import apply_config
    from tests.kafka_helpers import tenant_config

    platform = (await api.login(admin_email))["access_token"]
    tenant, other = await _tenant(api, platform), await _tenant(api, platform)
    session = f"{tenant.name}-waha"
    await apply_config(kafka_bootstrap, tenant_config(tenant.name))
    await apply_config(kafka_bootstrap, tenant_config(other.name))
    sim = aiohttp.ClientSession(headers={"X-Api-Key": "sim-key"})

    async def set_status(status: str) -> None:
        async with sim.post(
            f"{waha.url}/_sim/sessions/{session}/status", json={"status": status}
        ) as r:
            assert r.status == 200

    await set_status("WORKING")
    path = f"/v1/tenants/{tenant.name}/whatsapp/sessions"
    for _ in range(50):  # the API follows the tenants topic
        status, listed, _ = await api.call("GET", path, tenant.viewer)
        if listed["sessions"]:
            break
        await asyncio.sleep(0.1)
    assert listed["sessions"] == [{"name": session, "status": "WORKING", "engine": "WEBJS"}]

    status, body, _ = await api.call("GET", f"{path}/{session}/qr", tenant.admin)
    assert status == 409 and body["error"]["code"] == "session_not_pairing"
    await set_status("SCAN_QR_CODE")
    status, qr, _ = await api.call("GET", f"{path}/{session}/qr", tenant.admin)
    assert status == 200 and qr["mimetype"] == "image/png"
    assert base64.b64decode(qr["data"]).startswith(b"\x89PNG\r\n\x1a\n")
    status, _, _ = await api.call("GET", f"{path}/{session}/qr", tenant.operator)
    assert status == 403  # pairing a number is the tenant admin's

    status, stopped, _ = await api.call("POST", f"{path}/{session}/stop", tenant.admin)
    assert status == 200 and stopped["status"] == "STOPPED"
    status, started, _ = await api.call("POST", f"{path}/{session}/start", tenant.admin)
    assert status == 200 and started["name"] == session
    # Another tenant's session is not there for this tenant, even for its admin.
    status, _, _ = await api.call(
        "POST", f"/v1/tenants/{other.name}/whatsapp/sessions/{session}/stop", platform
    )
    assert status == 404
    await sim.close()
