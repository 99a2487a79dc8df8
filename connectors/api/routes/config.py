"""A tenant's configuration: read it, replace it, preview a régua message.

The body of `GET` and `PUT` is the tenant file `cobranca tenants apply` takes (YAML or TOML
there, JSON here), validated by the same rule (`streams.domain.tenant_config.
parse_tenant_config`); each problem is answered with its key path and a Portuguese message a
console can show beside the field. The `ETag` is the configuration's digest: a `PUT` with
`If-Match` replaces only the configuration the caller read (412 otherwise).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any, Final

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import LOG, REPORTS, Route, answer, now_of, principal_of
from streams.domain.errors import ConfigProblem, TemplateError, TenantConfigError
from streams.domain.identity import Permission
from streams.domain.regua import preview
from streams.domain.templates import Template, parse_template
from streams.domain.tenant_config import (
    TenantConfig,
    config_document,
    parse_step_label,
    parse_tenant_config,
    to_event,
)

__all__ = ["CONFIG_LOCKS", "MAX_CONFIG_BYTES", "ROUTES", "config_locks"]

MAX_CONFIG_BYTES: Final = 256 * 1024
"""A configuration is a few kilobytes; régua templates are at most 4 KiB each."""
CONFIG_LOCKS: Final = web.AppKey("config_locks", defaultdict)
"""One lock per tenant: two PUTs through one replica check `If-Match` one after the other."""
_PATH: Final = "/v1/tenants/{tenant}/config"


def _etag(config: TenantConfig) -> str:
    return f'"{config.digest}"'


def _config_in_force(request: web.Request, tenant: str) -> TenantConfig:
    config = request.app[LOG].tenants.get(tenant)
    if config is None:
        raise ApiError(
            404,
            "not_found",
            f"o cliente {tenant!r} ainda não tem configuração; envie uma com PUT {_PATH}",
            tenant=tenant,
        )
    return config


def _problems(problems: list[ConfigProblem]) -> list[dict[str, str]]:
    return [{"field": p.path, "message": p.text_pt, "message_en": p.message} for p in problems]


def _invalid(code: str, problems: list[ConfigProblem]) -> ApiError:
    count = len(problems)
    noun = "problema" if count == 1 else "problemas"
    return ApiError(
        422,
        code,
        f"{count} {noun} na configuração; cada um em details.errors, com o campo",
        errors=_problems(problems),
    )


async def _body(request: web.Request) -> Any:
    """The JSON body, at most MAX_CONFIG_BYTES."""
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the configuration as JSON with Content-Type: application/json",
            content_type=request.content_type,
        )
    too_large = ApiError(
        413,
        "body_too_large",
        f"a configuration has at most {MAX_CONFIG_BYTES} bytes",
        limit_bytes=MAX_CONFIG_BYTES,
    )
    if request.content_length is not None and request.content_length > MAX_CONFIG_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_CONFIG_BYTES:
            raise too_large
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


async def get_config(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    config = _config_in_force(request, tenant)
    # Where the webhook HMAC keys live is for those who may change it.
    document = config_document(
        config, with_key_refs=principal_of(request).may(Permission.CONFIG_WRITE)
    )
    return answer(document, ETag=_etag(config))


async def put_config(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    data = await _body(request)
    log = request.app[LOG]
    async with request.app[CONFIG_LOCKS][tenant]:
        current = log.tenants.get(tenant)
        expected = request.headers.get("If-Match")
        if expected is not None and (
            current is None or expected.strip() not in ("*", _etag(current))
        ):
            raise ApiError(
                412,
                "precondition_failed",
                "a configuração mudou desde que foi lida; leia de novo (GET) e reaplique",
                current=None if current is None else _etag(current),
                if_match=expected[:80],
            )
        source = f"PUT {_PATH.replace('{tenant}', tenant)}"
        problems: list[ConfigProblem] = []
        if isinstance(data, dict) and data.get("tenant") not in (None, tenant):
            problems.append(
                ConfigProblem(
                    source,
                    "tenant",
                    f"this is the configuration of {tenant!r}, as the path says",
                    f"esta é a configuração de {tenant!r}, como diz o caminho",
                )
            )
        try:
            config = parse_tenant_config(data, source=source, others=log.tenants.configs)
        except TenantConfigError as exc:
            raise _invalid("invalid_config", problems + exc.problems) from None
        if problems:
            raise _invalid("invalid_config", problems)
        if current is not None and current.digest == config.digest:
            return answer(config_document(config), ETag=_etag(config))
        event = to_event(config, now=now_of(request))
        await log.append([(event, tenant)])
    return answer(config_document(config), ETag=_etag(config))


def _template_of(body: dict[str, Any], config: TenantConfig | None) -> tuple[Template, str | None]:
    step, text = body.get("step"), body.get("template")
    if (step is None) == (text is None):
        raise ApiError(
            400,
            "invalid_field",
            "send either 'step' (a step of the régua in force, e.g. D-3) or 'template' (a text)",
            field="step",
        )
    if text is not None:
        if not isinstance(text, str):
            raise ApiError(400, "invalid_field", "'template' is a string", field="template")
        try:
            return parse_template(text), None
        except TemplateError as exc:
            problem = ConfigProblem("template", "template", str(exc), exc.message_pt)
            raise _invalid("invalid_template", [problem]) from None
    offset = parse_step_label(step) if isinstance(step, str) else None
    found = (
        None if config is None else next((s for s in config.steps if s.offset_days == offset), None)
    )
    if found is None:
        steps = ", ".join(s.label for s in config.steps) if config else "nenhuma"
        raise ApiError(
            422,
            "unknown_step",
            f"a régua em vigor não tem a etapa {step!r}; etapas: {steps}",
            errors=[{"field": "step", "message": f"etapas da régua: {steps}"}],
        )
    return found.template, found.label


async def preview_template(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    body = await _body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    client_id = body.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= 200):
        raise ApiError(400, "invalid_field", "'client_id' is a non-empty string", field="client_id")
    config = request.app[LOG].tenants.get(tenant)
    template, step = _template_of(body, config)
    client = await request.app[REPORTS].imported_client(tenant, client_id)
    if client is None:
        which = "nenhum devedor importado" if client_id is None else f"nenhum devedor {client_id!r}"
        raise ApiError(
            404,
            "no_debtor",
            f"o cliente {tenant!r} tem {which}; importe devedores para pré-visualizar",
            tenant=tenant,
        )
    shown = config or TenantConfig(tenant_id=tenant, display_name=tenant, sessions=(), steps=())
    return answer(
        {
            "text": preview(template, client, shown, step=step, now=now_of(request)),
            "step": step,
            "client_id": client.client_id,
            "import_id": client.import_id,
        }
    )


def config_locks() -> defaultdict[str, asyncio.Lock]:
    """The value of CONFIG_LOCKS in a new application."""
    return defaultdict(asyncio.Lock)


ROUTES = (
    Route("GET", _PATH, "getTenantConfig", get_config, permission=Permission.CONFIG_READ),
    Route(
        "PUT",
        _PATH,
        "putTenantConfig",
        put_config,
        permission=Permission.CONFIG_WRITE,
        changes_state=True,
    ),
    Route(
        "POST",
        f"{_PATH}/preview",
        "previewTemplate",
        preview_template,
        permission=Permission.CONFIG_WRITE,
    ),
)
