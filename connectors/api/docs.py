"""`/v1/docs`: the OpenAPI document as one readable HTML page, rendered here with no script and
nothing fetched from elsewhere (the API works offline, and its CSP allows no outside source)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

__all__ = ["render"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b}h2{border-bottom:1px solid #ddd;margin-top:2.5rem}"
    ".op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}"
    ".m{font-weight:700;font-family:monospace;margin-right:.5rem}code,pre{background:#f5f5f5}"
    "pre{padding:.5rem;overflow:auto}.who{color:#555}"
)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    who = op.get("x-access", "")
    parts = [
        f'<div class="op" id="{escape(op.get("operationId", ""))}">',
        f'<p><span class="m">{method.upper()}</span><code>{escape(path)}</code></p>',
        f"<p><b>{escape(op.get('summary', ''))}</b></p>",
        f'<p class="who">Quem pode chamar: {escape(str(who))}</p>',
    ]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    body = op.get("requestBody", {}).get("content", {})
    for kind, media in body.items():
        schema = json.dumps(media.get("schema", {}), indent=2, ensure_ascii=False)
        parts.append(f"<p>Corpo ({escape(kind)}):</p><pre>{escape(schema)}</pre>")
    answers = ", ".join(escape(code) for code in op.get("responses", {}))
    parts.append(f"<p>Respostas: {answers}</p></div>")
    return "".join(parts)


def render(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    sections: dict[str, list[str]] = {}
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                tag = (op.get("tags") or ["other"])[0]
                sections.setdefault(tag, []).append(_operation(path, method, op))
    body = "".join(f"<h2>{escape(tag)}</h2>{''.join(ops)}" for tag, ops in sections.items())
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}")
    intro = escape(info.get("description", ""))
    return (
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1><p>{intro}</p>"
        f'<p>Documento: <a href="/v1/openapi.json">/v1/openapi.json</a></p>{body}</body></html>'
    )
