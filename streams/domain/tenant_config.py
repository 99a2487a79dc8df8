"""A tenant's configuration: the model, its file format (YAML or TOML) and its validation.

Pure: `cobranca tenants apply FILE` reads the file (streams/ops/tenant_files.py), validates its
text here and turns it into a TenantConfigured event; workers turn the event back into a
TenantConfig (`config_from_event`). Every problem in a file is reported at once, each with the
file, the key path and why:
``acme.yaml: regua.steps[1].template: line 2: unknown field {valor}; ...``.

The file (infra/tenants/acme-cobrancas.yaml is a commented example)::

    tenant: acme-cobrancas            # id: lowercase letters, digits, '.', '_' and '-'
    name: ACME Cobranças              # what debtors read ({company})
    waha:
      sessions:                       # at least one; a session belongs to one tenant only
        - name: acme-principal
          webhook_hmac_key: env:ACME_WAHA_HMAC_KEY   # where the key is, never the key
    prices: {text: 1, file: 2, per_extra_recipient: 1}   # tokens; these are the defaults
    low_balance_threshold: 100        # tokens; default 100
    allow_landlines: false            # default false
    imports:
      require_document: false         # reject rows without CPF/CNPJ; default false (optional)
    contact:
      state_holidays: false           # national holidays always close; default false
      windows:                        # default: the built-in rules
      (streams/domain/contact_windows.py)
        default: {weekdays: "08:00-20:00", saturday: "08:00-14:00"}
        RJ: {weekdays: "09:00-19:00"}  # a UF's week replaces the default; missing days: closed
    regua:
      send_at: "09:00"                # time of day steps are due (debtor's local time)
      steps:
        - when: D-3                   # D-N, D0, D+N: days relative to the due date
          at: "10:00"                 # optional: this step's own time of day
          template: "Olá, {first_name}! ..."

Times are quoted strings ("08:00"): unquoted, YAML reads 08:00 as the number 480.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from datetime import time as time_of_day
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, Final

import yaml

from schemas.events import (
    DailyContactWindow,
    ReguaStepConfig,
    TenantConfigured,
    TokenPrices,
    WahaSessionConfig,
    WeeklyContactWindows,
    new_header,
)
from streams.domain.brazil.states import UF_ZONES
from streams.domain.contact_windows import (
    ContactRules,
    WeeklyWindows,
    Window,
    format_minutes,
    parse_minutes,
)
from streams.domain.errors import ConfigProblem, TemplateError, TenantConfigError
from streams.domain.ledger import LedgerPolicy, PriceTable
from streams.domain.templates import Template, parse_template

SOURCE: Final = "streams.tenants"
TENANT_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
SESSION_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
KEY_REF: Final = re.compile(r"env:[A-Z_][A-Z0-9_]*")
STEP_LABEL: Final = re.compile(r"D(?:0|([+-])(\d{1,3}))")
DEFAULT_SEND_AT: Final = 9 * 60
MAX_LOW_BALANCE_THRESHOLD: Final = 10**12
"""The largest alert threshold a tenant may set, in tokens (the largest credit the API takes)."""


@dataclass(frozen=True, slots=True)
class WahaSession:
    name: str
    webhook_hmac_key_ref: str | None = None


@dataclass(frozen=True, slots=True)
class ReguaStep:
    """One step of the régua: due `offset_days` after the due date at `send_at` local time."""

    label: str
    offset_days: int
    send_at: int
    """Minutes after the debtor's local midnight."""
    template: Template


@dataclass(frozen=True, slots=True)
class TenantConfig:
    """Everything a tenant configures, validated."""

    tenant_id: str
    display_name: str
    sessions: tuple[WahaSession, ...]
    steps: tuple[ReguaStep, ...]
    """Ordered by offset_days."""
    prices: PriceTable = field(default_factory=PriceTable)
    low_balance_threshold: int = LedgerPolicy().low_balance_threshold
    allow_landlines: bool = False
    contact: ContactRules = field(default_factory=ContactRules)
    source_file: str | None = None
    require_document: bool = False
    """``imports.require_document``: an import rejects a row without CPF/CNPJ
    (``missing_field``). Off by default: many creditors keep no document (issue 15)."""

    @property
    def ledger_policy(self) -> LedgerPolicy:
        return LedgerPolicy(self.prices, self.low_balance_threshold)

    @property
    def digest(self) -> str:
        """Identifies the configuration's content: equal files give equal digests, whatever
        their comments, key order or file name."""
        canonical = json.dumps(_content(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- the file -------------------------------------------------------------------------------


def parse_tenant_text(text: str, *, source: str) -> TenantConfig:
    """Validate the text of a YAML (.yaml, .yml) or TOML (.toml) file named `source`."""
    suffix = file_format(source)
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f"line {where.line + 1}, column {where.column + 1}: " if where else ""
        raise _file_problem(
            source, f"not valid YAML: {at}{getattr(exc, 'problem', None) or exc}"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise _file_problem(source, f"not valid TOML: {exc}") from exc
    return parse_tenant_config(data, source=source)


def file_format(source: str) -> str:
    """The suffix of a configuration file's name, if it is one cobranca reads."""
    suffix = PurePath(source).suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise _file_problem(source, f"unknown file type {suffix!r}; use .yaml, .yml or .toml")
    return suffix


def unreadable(source: str, error: Exception) -> TenantConfigError:
    """The error for a configuration file that cannot be read."""
    return _file_problem(source, f"cannot read the file: {error}")


def _file_problem(source: str, message: str) -> TenantConfigError:
    return TenantConfigError([ConfigProblem(source, "", message)])


def parse_tenant_config(
    data: Any, *, source: str = "<config>", others: Mapping[str, TenantConfig] | None = None
) -> TenantConfig:
    """Validate parsed YAML/TOML/JSON data; raises TenantConfigError listing every problem.

    The one validation of a configuration: `cobranca tenants apply` (through
    `parse_tenant_text`) and the HTTP API's `PUT /v1/tenants/{t}/config` both call it. With
    `others` (every tenant's configuration in force), a WAHA session another tenant owns is a
    problem too (`session_conflicts`, which `apply_config` checks again against the topic).
    """
    problems = _Problems(source)
    top = problems.mapping(data, "")
    if top is None:
        raise TenantConfigError(problems.found)
    problems.known_keys(
        top,
        "",
        {
            "tenant",
            "name",
            "waha",
            "prices",
            "low_balance_threshold",
            "allow_landlines",
            "imports",
            "contact",
            "regua",
        },
    )
    tenant_id = problems.string(top.get("tenant"), "tenant", required=True)
    if tenant_id and not TENANT_ID.fullmatch(tenant_id):
        problems.add(
            "tenant",
            f"{tenant_id!r} is not a tenant id: lowercase letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 63 characters",
            f"{tenant_id!r} não é um id de cliente: letras minúsculas, dígitos, '.', '_' e '-', "
            "começando por letra ou dígito, no máximo 63 caracteres",
        )
    display_name = problems.string(top.get("name"), "name", required=True)
    sessions = _sessions(top.get("waha"), problems)
    prices = _prices(top.get("prices"), problems)
    threshold = problems.integer(
        top.get("low_balance_threshold", LedgerPolicy().low_balance_threshold),
        "low_balance_threshold",
        minimum=0,
    )
    allow_landlines = problems.boolean(top.get("allow_landlines", False), "allow_landlines")
    require_document = _imports(top.get("imports"), problems)
    contact = _contact(top.get("contact"), problems)
    steps = _steps(top.get("regua"), problems)
    if problems.found:
        raise TenantConfigError(problems.found)
    assert tenant_id and display_name and threshold is not None and allow_landlines is not None
    assert require_document is not None
    assert prices is not None and contact is not None
    config = TenantConfig(
        tenant_id=tenant_id,
        display_name=display_name,
        sessions=sessions,
        steps=steps,
        prices=prices,
        low_balance_threshold=threshold,
        allow_landlines=allow_landlines,
        contact=contact,
        source_file=source,
        require_document=require_document,
    )
    conflicts = [] if others is None else session_conflicts(config, others)
    if conflicts:
        raise TenantConfigError(conflicts)
    return config


def config_document(config: TenantConfig, *, with_key_refs: bool = True) -> dict[str, Any]:
    """`config` in the shape of a tenant file (what `parse_tenant_config` reads): JSON-ready,
    every default spelled out, each step with its own time, so that reading it back gives the
    same configuration (the same `digest`). Without `with_key_refs`, the sessions leave out
    where their webhook HMAC keys are."""

    def window(w: Window | None) -> str:
        return "closed" if w is None else str(w)

    def week(w: WeeklyWindows) -> dict[str, str]:
        return {"weekdays": window(w.weekdays), "saturday": window(w.saturday)}

    sessions: list[dict[str, str]] = []
    for session in config.sessions:
        entry = {"name": session.name}
        if with_key_refs and session.webhook_hmac_key_ref is not None:
            entry["webhook_hmac_key"] = session.webhook_hmac_key_ref
        sessions.append(entry)
    windows = {"default": week(config.contact.default)}
    windows |= {uf: week(w) for uf, w in sorted(config.contact.by_uf.items())}
    return {
        "tenant": config.tenant_id,
        "name": config.display_name,
        "waha": {"sessions": sessions},
        "prices": {
            "text": config.prices.text,
            "file": config.prices.file,
            "per_extra_recipient": config.prices.per_extra_recipient,
        },
        "low_balance_threshold": config.low_balance_threshold,
        "allow_landlines": config.allow_landlines,
        "imports": {"require_document": config.require_document},
        "contact": {"state_holidays": config.contact.state_holidays, "windows": windows},
        "regua": {
            "steps": [
                {"when": s.label, "at": format_minutes(s.send_at), "template": s.template.source}
                for s in config.steps
            ]
        },
    }


def _sessions(node: Any, problems: _Problems) -> tuple[WahaSession, ...]:
    waha = problems.mapping(node, "waha", required=True)
    if waha is None:
        return ()
    problems.known_keys(waha, "waha", {"sessions"})
    items = problems.sequence(waha.get("sessions"), "waha.sessions", required=True)
    if items is None:
        return ()
    if not items:
        problems.add(
            "waha.sessions",
            "list at least one WAHA session",
            "informe pelo menos uma sessão do WAHA",
        )
    sessions: list[WahaSession] = []
    for i, item in enumerate(items):
        path = f"waha.sessions[{i}]"
        entry = problems.mapping(item, path)
        if entry is None:
            continue
        problems.known_keys(entry, path, {"name", "webhook_hmac_key"})
        name = problems.string(entry.get("name"), f"{path}.name", required=True)
        if name and not SESSION_NAME.fullmatch(name):
            problems.add(
                f"{path}.name",
                f"{name!r}: a WAHA session name is letters, digits, _ and -",
                f"{name!r}: o nome de uma sessão do WAHA tem só letras, dígitos, _ e -",
            )
        elif name and any(s.name == name for s in sessions):
            problems.add(
                f"{path}.name",
                f"session {name!r} is listed twice",
                f"a sessão {name!r} aparece duas vezes",
            )
        ref = problems.string(entry.get("webhook_hmac_key"), f"{path}.webhook_hmac_key")
        if ref is not None and not KEY_REF.fullmatch(ref):
            problems.add(
                f"{path}.webhook_hmac_key",
                "write where the key is, as env:VARIABLE_NAME (secrets come from the "
                "environment, never from a configuration file)",
                "indique onde está a chave, como env:NOME_DA_VARIAVEL (segredos vêm do "
                "ambiente, nunca de um arquivo de configuração)",
            )
        if name:
            sessions.append(WahaSession(name, ref))
    return tuple(sessions)


def _prices(node: Any, problems: _Problems) -> PriceTable | None:
    defaults = PriceTable()
    if node is None:
        return defaults
    table = problems.mapping(node, "prices")
    if table is None:
        return None
    problems.known_keys(table, "prices", {"text", "file", "per_extra_recipient"})
    text = problems.integer(table.get("text", defaults.text), "prices.text", minimum=1)
    file = problems.integer(table.get("file", defaults.file), "prices.file", minimum=1)
    extra = problems.integer(
        table.get("per_extra_recipient", defaults.per_extra_recipient),
        "prices.per_extra_recipient",
        minimum=0,
    )
    if text is None or file is None or extra is None:
        return None
    return PriceTable(text, file, extra)


def _imports(node: Any, problems: _Problems) -> bool | None:
    """``imports``: how this tenant's imports are validated; returns `require_document`."""
    if node is None:
        return False
    imports = problems.mapping(node, "imports")
    if imports is None:
        return None
    problems.known_keys(imports, "imports", {"require_document"})
    return problems.boolean(imports.get("require_document", False), "imports.require_document")


def _contact(node: Any, problems: _Problems) -> ContactRules | None:
    defaults = ContactRules()
    if node is None:
        return defaults
    contact = problems.mapping(node, "contact")
    if contact is None:
        return None
    problems.known_keys(contact, "contact", {"state_holidays", "windows"})
    state_holidays = problems.boolean(
        contact.get("state_holidays", False), "contact.state_holidays"
    )
    default = defaults.default
    by_uf = dict(defaults.by_uf)
    windows_node = contact.get("windows")
    if windows_node is not None:
        windows = problems.mapping(windows_node, "contact.windows")
        for key, value in (windows or {}).items():
            path = f"contact.windows.{key}"
            if key != "default" and key not in UF_ZONES:
                problems.add(
                    path,
                    f"{key!r} is neither 'default' nor a UF ({', '.join(UF_ZONES)})",
                    f"{key!r} não é 'default' nem uma UF ({', '.join(UF_ZONES)})",
                )
                continue
            week = _week(value, path, problems)
            if week is None:
                continue
            if key == "default":
                default = week
            else:
                by_uf[key] = week
    if state_holidays is None:
        return None
    return ContactRules(default, MappingProxyType(by_uf), state_holidays)


def _week(node: Any, path: str, problems: _Problems) -> WeeklyWindows | None:
    days = problems.mapping(node, path)
    if days is None:
        return None
    if "sunday" in days:
        problems.add(
            f"{path}.sunday",
            "debtors are never contacted on Sundays",
            "devedores nunca são contatados aos domingos",
        )
    problems.known_keys(days, path, {"weekdays", "saturday", "sunday"})
    weekdays_ok, weekdays = _window(days.get("weekdays"), f"{path}.weekdays", problems)
    saturday_ok, saturday = _window(days.get("saturday"), f"{path}.saturday", problems)
    if not (weekdays_ok and saturday_ok):
        return None
    week = WeeklyWindows(weekdays, saturday)
    if not week.ever_open:
        problems.add(
            path,
            'no day opens: give weekdays or saturday a window like "08:00-20:00"',
            'nenhum dia abre: dê a weekdays ou saturday uma janela como "08:00-20:00"',
        )
        return None
    return week


def _window(node: Any, path: str, problems: _Problems) -> tuple[bool, Window | None]:
    """(valid, the window or None for closed); what is invalid is reported."""
    if node is None or node == "closed":
        return True, None
    if not isinstance(node, str):
        problems.add(
            path,
            f'expected "HH:MM-HH:MM" or closed, got {_shown(node)}',
            f'esperava "HH:MM-HH:MM" ou closed, veio {_shown(node)}',
        )
        return False, None
    opens_text, sep, closes_text = node.partition("-")
    try:
        if not sep:
            raise ValueError(f'{node!r} is not a window; write "08:00-20:00" or closed')
        return True, Window(parse_minutes(opens_text), parse_minutes(closes_text))
    except ValueError as exc:
        problems.add(
            path,
            str(exc),
            f'{node!r} não é uma janela válida; escreva "08:00-20:00" (abre antes de fechar, '
            "no mesmo dia) ou closed",
        )
        return False, None


def _steps(node: Any, problems: _Problems) -> tuple[ReguaStep, ...]:
    regua = problems.mapping(node, "regua", required=True)
    if regua is None:
        return ()
    problems.known_keys(regua, "regua", {"send_at", "steps"})
    send_at = problems.time(regua.get("send_at"), "regua.send_at")
    if send_at is None:
        send_at = DEFAULT_SEND_AT
    items = problems.sequence(regua.get("steps"), "regua.steps", required=True)
    if items is None:
        return ()
    if not items:
        problems.add(
            "regua.steps",
            "list at least one step, e.g. when: D0",
            "informe pelo menos uma etapa, por exemplo when: D0",
        )
    steps: list[ReguaStep] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        path = f"regua.steps[{i}]"
        entry = problems.mapping(item, path)
        if entry is None:
            continue
        problems.known_keys(entry, path, {"when", "at", "template"})
        when = problems.string(entry.get("when"), f"{path}.when", required=True)
        offset = None
        if when is not None:
            offset = parse_step_label(when)
            if offset is None:
                problems.add(
                    f"{path}.when",
                    f"{when!r}: write D-N, D0 or D+N (days from the due date)",
                    f"{when!r}: escreva D-N, D0 ou D+N (dias a partir do vencimento)",
                )
            elif offset in seen:
                problems.add(
                    f"{path}.when",
                    f"{step_label(offset)} is already a step",
                    f"{step_label(offset)} já é uma etapa",
                )
            else:
                seen.add(offset)
        at = problems.time(entry.get("at"), f"{path}.at")
        source = problems.string(entry.get("template"), f"{path}.template", required=True)
        template = None
        if source is not None:
            try:
                template = parse_template(source)
            except TemplateError as exc:
                problems.add(f"{path}.template", str(exc), exc.message_pt)
        if offset is not None and template is not None:
            steps.append(
                ReguaStep(step_label(offset), offset, send_at if at is None else at, template)
            )
    return tuple(sorted(steps, key=lambda s: s.offset_days))


def session_conflicts(
    config: TenantConfig, others: Mapping[str, TenantConfig]
) -> list[ConfigProblem]:
    """Sessions `config` lists that another tenant owns: a WAHA session belongs to one tenant,
    so one tenant's traffic can never debit or read another's."""
    owners = {
        session.name: tenant
        for tenant, other in others.items()
        if tenant != config.tenant_id
        for session in other.sessions
    }
    return [
        ConfigProblem(
            config.source_file or config.tenant_id,
            f"waha.sessions[{i}].name",
            f"session {session.name!r} belongs to tenant {owners[session.name]!r}",
            f"a sessão {session.name!r} pertence a outro cliente",
        )
        for i, session in enumerate(config.sessions)
        if session.name in owners
    ]


def parse_step_label(text: str) -> int | None:
    """``"D-3"`` → -3, ``"D0"`` → 0, ``"D+7"`` → 7; None when it is not a step label."""
    match = STEP_LABEL.fullmatch(text.strip().upper())
    if match is None:
        return None
    sign, days = match.groups()
    if sign is None:
        return 0
    return -int(days) if sign == "-" else int(days)


def step_label(offset_days: int) -> str:
    """The one spelling of a step: D-3, D0, D+7."""
    return "D0" if offset_days == 0 else f"D{offset_days:+d}"


def with_low_balance_threshold(config: TenantConfig, threshold: object) -> TenantConfig:
    """`config` with only its low-balance threshold changed (BalanceLow fires when a debit takes
    the balance below it); `TenantConfigError` unless it is a whole number of tokens from 0 to
    `MAX_LOW_BALANCE_THRESHOLD`. The result came from no file, so it names none."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int)
        or not 0 <= threshold <= MAX_LOW_BALANCE_THRESHOLD
    ):
        raise TenantConfigError(
            [
                ConfigProblem(
                    config.tenant_id,
                    "low_balance_threshold",
                    f"a whole number of tokens from 0 to {MAX_LOW_BALANCE_THRESHOLD}",
                )
            ]
        )
    return replace(config, low_balance_threshold=threshold, source_file=None)


# --- the event ------------------------------------------------------------------------------


def to_event(config: TenantConfig, *, now: datetime | None = None) -> TenantConfigured:
    """The TenantConfigured event that applies `config`."""
    return TenantConfigured(
        header=new_header(
            "TenantConfigured",
            tenant_id=config.tenant_id,
            correlation_id=f"tenant-config:{config.digest}",
            causation_id=None,
            source=SOURCE,
            occurred_at=now or datetime.now(UTC),
        ),
        display_name=config.display_name,
        sessions=[WahaSessionConfig(s.name, s.webhook_hmac_key_ref) for s in config.sessions],
        prices=TokenPrices(
            config.prices.text, config.prices.file, config.prices.per_extra_recipient
        ),
        low_balance_threshold=config.low_balance_threshold,
        allow_landlines=config.allow_landlines,
        state_holidays=config.contact.state_holidays,
        default_windows=_week_record(config.contact.default),
        uf_windows={uf: _week_record(week) for uf, week in sorted(config.contact.by_uf.items())},
        steps=[
            ReguaStepConfig(s.label, s.offset_days, s.send_at, s.template.source)
            for s in config.steps
        ],
        source_file=config.source_file,
        require_document=config.require_document,
    )


def config_from_event(event: TenantConfigured) -> TenantConfig:
    """The configuration a TenantConfigured event applies.

    The event was validated when applied; a step whose template no longer parses (a field
    renamed since) raises TenantConfigError, which the caller reports rather than sending.
    """
    source = f"TenantConfigured {event.header.event_id}"
    steps = []
    problems: list[ConfigProblem] = []
    for i, step in enumerate(event.steps):
        try:
            template = parse_template(step.template)
        except TemplateError as exc:
            problems.append(ConfigProblem(source, f"steps[{i}].template", str(exc)))
            continue
        steps.append(ReguaStep(step.step, step.offset_days, step.send_at_minute, template))
    if problems:
        raise TenantConfigError(problems)
    return TenantConfig(
        tenant_id=event.header.tenant_id,
        display_name=event.display_name,
        sessions=tuple(WahaSession(s.name, s.webhook_hmac_key_ref) for s in event.sessions),
        steps=tuple(steps),
        prices=PriceTable(event.prices.text, event.prices.file, event.prices.per_extra_recipient),
        low_balance_threshold=event.low_balance_threshold,
        allow_landlines=event.allow_landlines,
        contact=ContactRules(
            _week_from(event.default_windows),
            MappingProxyType({uf: _week_from(w) for uf, w in event.uf_windows.items()}),
            event.state_holidays,
        ),
        source_file=event.source_file,
        require_document=event.require_document,
    )


def _week_record(week: WeeklyWindows) -> WeeklyContactWindows:
    def day(window: Window | None) -> DailyContactWindow | None:
        return None if window is None else DailyContactWindow(window.opens, window.closes)

    return WeeklyContactWindows(weekdays=day(week.weekdays), saturday=day(week.saturday))


def _week_from(record: WeeklyContactWindows) -> WeeklyWindows:
    def day(window: DailyContactWindow | None) -> Window | None:
        return None if window is None else Window(window.opens_minute, window.closes_minute)

    return WeeklyWindows(day(record.weekdays), day(record.saturday))


def _content(config: TenantConfig) -> dict[str, Any]:
    def week(w: WeeklyWindows) -> list[str | None]:
        return [str(w.weekdays) if w.weekdays else None, str(w.saturday) if w.saturday else None]

    return {
        "tenant": config.tenant_id,
        "name": config.display_name,
        "sessions": [[s.name, s.webhook_hmac_key_ref] for s in config.sessions],
        "prices": [config.prices.text, config.prices.file, config.prices.per_extra_recipient],
        "low_balance_threshold": config.low_balance_threshold,
        "allow_landlines": config.allow_landlines,
        "state_holidays": config.contact.state_holidays,
        "windows": {"default": week(config.contact.default)}
        | {uf: week(w) for uf, w in config.contact.by_uf.items()},
        "steps": [[s.label, format_minutes(s.send_at), s.template.source] for s in config.steps],
        # Only when set: the digests of configurations from before the key stay the same.
        **({"imports": {"require_document": True}} if config.require_document else {}),
    }


# --- problem collection ---------------------------------------------------------------------


class _Problems:
    """Checks values where they are, and collects what is wrong instead of stopping at it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[ConfigProblem] = []

    def add(self, path: str, message: str, message_pt: str) -> None:
        self.found.append(ConfigProblem(self.source, path, message, message_pt))

    def known_keys(self, node: Mapping[str, Any], path: str, known: set[str]) -> None:
        for key in node:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                self.add(
                    where,
                    f"unknown key; expected one of: {', '.join(sorted(known))}",
                    f"chave desconhecida; as conhecidas são: {', '.join(sorted(known))}",
                )

    def mapping(self, node: Any, path: str, *, required: bool = False) -> Mapping[str, Any] | None:
        if node is None:
            if required or not path:
                if path:
                    self.add(path, "missing", "campo obrigatório")
                else:
                    self.add(path, "the file is empty", "a configuração está vazia")
            return None
        if not isinstance(node, Mapping):
            self.add(
                path,
                f"expected a table of keys, got {_shown(node)}",
                f"esperava um objeto com chaves, veio {_shown(node)}",
            )
            return None
        return node

    def sequence(self, node: Any, path: str, *, required: bool = False) -> list[Any] | None:
        if node is None:
            if required:
                self.add(path, "missing", "campo obrigatório")
            return None
        if not isinstance(node, list):
            self.add(
                path,
                f"expected a list, got {_shown(node)}",
                f"esperava uma lista, veio {_shown(node)}",
            )
            return None
        return node

    def string(self, node: Any, path: str, *, required: bool = False) -> str | None:
        if node is None:
            if required:
                self.add(path, "missing", "campo obrigatório")
            return None
        if not isinstance(node, str) or not node.strip():
            self.add(
                path,
                f"expected text, got {_shown(node)}",
                f"esperava um texto, veio {_shown(node)}",
            )
            return None
        return node.strip() if "\n" not in node else node

    def integer(self, node: Any, path: str, *, minimum: int) -> int | None:
        if isinstance(node, bool) or not isinstance(node, int):
            self.add(
                path,
                f"expected a whole number, got {_shown(node)}",
                f"esperava um número inteiro, veio {_shown(node)}",
            )
            return None
        if node < minimum:
            self.add(
                path,
                f"{node} is below the minimum, {minimum}",
                f"{node} é menor que o mínimo, {minimum}",
            )
            return None
        return node

    def boolean(self, node: Any, path: str) -> bool | None:
        if not isinstance(node, bool):
            self.add(
                path,
                f"expected true or false, got {_shown(node)}",
                f"esperava true ou false, veio {_shown(node)}",
            )
            return None
        return node

    def time(self, node: Any, path: str) -> int | None:
        if node is None:
            return None
        if isinstance(node, time_of_day):  # TOML's local time: 09:00:00
            if node.second or node.microsecond:
                self.add(
                    path,
                    f"{node.isoformat()}: give whole minutes",
                    f"{node.isoformat()}: use minutos inteiros",
                )
                return None
            return node.hour * 60 + node.minute
        if isinstance(node, int) and not isinstance(node, bool):
            self.add(
                path,
                f'got the number {node}: write times in quotes, e.g. "09:00" '
                "(YAML reads 09:00 unquoted as a number of minutes)",
                f'veio o número {node}: escreva horários entre aspas, por exemplo "09:00"',
            )
            return None
        if not isinstance(node, str):
            self.add(
                path,
                f'expected a time like "09:00", got {_shown(node)}',
                f'esperava um horário como "09:00", veio {_shown(node)}',
            )
            return None
        try:
            minutes = parse_minutes(node)
        except ValueError as exc:
            self.add(
                path, str(exc), f'{node!r} não é um horário; escreva HH:MM, por exemplo "09:00"'
            )
            return None
        if minutes >= 24 * 60:
            self.add(
                path,
                f"{node!r}: a step is due at a time before 24:00",
                f"{node!r}: uma etapa vence num horário antes de 24:00",
            )
            return None
        return minutes


def _shown(node: Any) -> str:
    kind = {dict: "a table", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    for python_type, name in kind.items():
        if type(node) is python_type:
            return f"{name} ({node!r})" if python_type is not dict else name
    return repr(node)
