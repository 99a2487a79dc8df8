"""Tenant configuration files: YAML and TOML, defaults, every problem with file and key path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.codec import decode, encode
from schemas.events import TenantConfigured
from streams.domain.contact_windows import DEFAULT_WINDOWS, RJ_WINDOWS, WeeklyWindows, Window
from streams.domain.errors import TenantConfigError
from streams.domain.ledger import LedgerPolicy, PriceTable
from streams.domain.tenant_config import (
    config_from_event,
    parse_step_label,
    parse_tenant_config,
    step_label,
    to_event,
)
from streams.ops.tenant_files import load_tenant_file

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "infra" / "tenants" / "acme-cobrancas.yaml"


def minimal() -> dict[str, Any]:
    return {
        "tenant": "loja-1",
        "name": "Loja Um",
        "waha": {"sessions": [{"name": "loja-1"}]},
        "regua": {"steps": [{"when": "D0", "template": "Olá, {first_name}: {amount}."}]},
    }


def problems_of(data: Any) -> list[str]:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenant_config(data, source="t.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_example_tenant_loads() -> None:
    config = load_tenant_file(EXAMPLE)

    assert config.tenant_id == "acme-cobrancas"
    assert [s.label for s in config.steps] == ["D-3", "D0", "D+3", "D+7"]
    assert [s.send_at for s in config.steps] == [540, 540, 600, 600]
    assert config.sessions[0].webhook_hmac_key_ref == "env:ACME_WAHA_HMAC_KEY"
    assert config.ledger_policy == LedgerPolicy(PriceTable(1, 2, 1), 500)
    assert config.contact.state_holidays is True
    assert config.contact.week_for("RJ") == WeeklyWindows(Window(540, 1140))


def test_defaults_fill_what_a_minimal_file_leaves_out() -> None:
    config = parse_tenant_config(minimal())

    assert config.prices == PriceTable(text=1, file=2, per_extra_recipient=1)
    assert config.low_balance_threshold == LedgerPolicy().low_balance_threshold
    assert config.allow_landlines is False
    assert config.contact.default == DEFAULT_WINDOWS
    assert config.contact.week_for("RJ") == RJ_WINDOWS
    assert config.contact.week_for("BA") == DEFAULT_WINDOWS
    assert config.steps[0].send_at == 9 * 60


def test_toml_and_yaml_of_the_same_configuration_have_the_same_digest(tmp_path: Path) -> None:
    toml = tmp_path / "acme.toml"
    toml.write_text(
        textwrap.dedent(
            """
            tenant = "loja-1"
            name = "Loja Um"
            [waha]
            sessions = [{name = "loja-1"}]
            [contact.windows]
            default = {weekdays = "08:00-20:00", saturday = "08:00-14:00"}
            [regua]
            send_at = 09:00:00
            [[regua.steps]]
            when = "D0"
            template = "Olá, {first_name}: {amount}."
            """
        ),
        encoding="utf-8",
    )
    yml = tmp_path / "acme.yml"
    yml.write_text("# comments do not count\n" + yaml.safe_dump(minimal()), encoding="utf-8")

    assert load_tenant_file(toml).digest == load_tenant_file(yml).digest
    assert load_tenant_file(yml).source_file == str(yml)


def test_the_event_round_trips_through_avro_to_the_same_configuration() -> None:
    config = load_tenant_file(EXAMPLE)
    event = to_event(config)

    decoded = TenantConfigured.from_data(decode(encode(event.to_representation())))
    again = config_from_event(decoded)

    assert again.digest == config.digest
    assert again.contact == config.contact
    assert [s.template.render({}) for s in again.steps] == [
        s.template.render({}) for s in config.steps
    ]
    assert decoded.header.tenant_id == "acme-cobrancas"
    assert decoded.header.correlation_id == f"tenant-config:{config.digest}"


def test_every_problem_is_reported_with_file_and_key_path() -> None:
    data = minimal() | {
        "tenant": "Loja 1",
        "prices": {"text": 0, "files": 2},
        "low_balance_threshold": "cem",
        "allow_landlines": "sim",
        "contact": {
            "windows": {
                "SP": {"weekdays": "8h-20h", "sunday": "08:00-12:00"},
                "XY": {"weekdays": "08:00-20:00"},
                "MG": {"weekdays": "closed"},
                "BA": {"weekdays": 480},
            }
        },
        "regua": {
            "send_at": 540,
            "steps": [
                {"when": "D0", "template": "Olá {nome}"},
                {"when": "D+0", "template": "{amount}"},
                {"when": "amanhã", "template": "{amount}", "extra": 1},
                {"when": "D+3", "at": "25:00"},
            ],
        },
        "waha": {"sessions": [{"name": "a b", "webhook_hmac_key": "s3cr3t"}, {"name": "ok"}]},
    }

    found = problems_of(data)

    expected = [
        "t.yaml: tenant: 'Loja 1' is not a tenant id",
        "t.yaml: waha.sessions[0].name: 'a b': a WAHA session name is letters",
        "t.yaml: waha.sessions[0].webhook_hmac_key: write where the key is, as env:VARIABLE_NAME",
        "t.yaml: prices.files: unknown key; expected one of: file, per_extra_recipient, text",
        "t.yaml: prices.text: 0 is below the minimum, 1",
        "t.yaml: low_balance_threshold: expected a whole number, got 'cem'",
        "t.yaml: allow_landlines: expected true or false, got 'sim'",
        "t.yaml: contact.windows.SP.sunday: debtors are never contacted on Sundays",
        "t.yaml: contact.windows.SP.weekdays: '8h' is not a time of day",
        "t.yaml: contact.windows.XY: 'XY' is neither 'default' nor a UF",
        "t.yaml: contact.windows.MG: no day opens",
        't.yaml: contact.windows.BA.weekdays: expected "HH:MM-HH:MM" or closed, got a number',
        "t.yaml: regua.send_at: got the number 540: write times in quotes",
        "t.yaml: regua.steps[0].template: line 1: unknown field {nome}",
        "t.yaml: regua.steps[1].when: D0 is already a step",
        "t.yaml: regua.steps[2].extra: unknown key",
        "t.yaml: regua.steps[2].when: 'amanhã': write D-N, D0 or D+N",
        "t.yaml: regua.steps[3].at: '25:00' is not a time of day",
        "t.yaml: regua.steps[3].template: missing",
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in found), (start, found)
    assert len(found) == len(expected), found


def test_missing_sections_and_wrong_shapes() -> None:
    assert problems_of(None) == ["t.yaml: (top level): the file is empty"]
    assert problems_of(["a"]) == [
        "t.yaml: (top level): expected a table of keys, got a list (['a'])"
    ]
    found = problems_of(
        {"tenant": "x", "name": "X", "waha": {"sessions": []}, "regua": {"steps": "D0"}}
    )
    assert found == [
        "t.yaml: waha.sessions: list at least one WAHA session",
        "t.yaml: regua.steps: expected a list, got 'D0'",
    ]
    assert problems_of({"tenant": "x"}) == [
        "t.yaml: name: missing",
        "t.yaml: waha: missing",
        "t.yaml: regua: missing",
    ]


def test_a_session_listed_twice_is_refused() -> None:
    data = minimal() | {"waha": {"sessions": [{"name": "s1"}, {"name": "s1"}]}}
    assert problems_of(data) == ["t.yaml: waha.sessions[1].name: session 's1' is listed twice"]


def test_file_level_errors_name_the_file(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("tenant: x\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(
        TenantConfigError, match=r"bad\.yaml: \(top level\): not valid YAML: line 2"
    ):
        load_tenant_file(bad_yaml)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("tenant = \n", encoding="utf-8")
    with pytest.raises(TenantConfigError, match=r"bad\.toml: \(top level\): not valid TOML"):
        load_tenant_file(bad_toml)
    with pytest.raises(TenantConfigError, match=r"unknown file type '\.json'"):
        load_tenant_file(tmp_path / "x.json")
    with pytest.raises(TenantConfigError, match="cannot read the file"):
        load_tenant_file(tmp_path / "missing.yaml")


def test_step_labels_have_one_spelling() -> None:
    assert [parse_step_label(t) for t in ("D-3", "d0", "D+7", "D+0", "D-0", " D+15 ")] == [
        -3,
        0,
        7,
        0,
        0,
        15,
    ]
    assert [parse_step_label(t) for t in ("D", "D3", "D+", "3", "D-1000")] == [None] * 5
    assert [step_label(n) for n in (-3, 0, 7)] == ["D-3", "D0", "D+7"]


def test_the_digest_ignores_key_order_and_follows_content() -> None:
    a = parse_tenant_config(minimal())
    reordered = dict(reversed(list(minimal().items())))
    assert parse_tenant_config(reordered).digest == a.digest
    changed = minimal() | {"low_balance_threshold": 7}
    assert parse_tenant_config(changed).digest != a.digest


# --- imports.require_document (issue 15) ---------------------------------------------------


def test_the_document_is_optional_unless_the_tenant_requires_it() -> None:
    assert parse_tenant_config(minimal()).require_document is False
    assert load_tenant_file(EXAMPLE).require_document is False
    required = parse_tenant_config(minimal() | {"imports": {"require_document": True}})
    assert required.require_document is True
    assert parse_tenant_config(minimal() | {"imports": {}}).require_document is False


def test_a_wrong_imports_section_is_reported_with_its_key_path() -> None:
    assert problems_of(minimal() | {"imports": {"require_document": "sim"}}) == [
        "t.yaml: imports.require_document: expected true or false, got 'sim'"
    ]
    assert problems_of(minimal() | {"imports": {"require_cpf": True}}) == [
        "t.yaml: imports.require_cpf: unknown key; expected one of: require_document"
    ]
    assert problems_of(minimal() | {"imports": True}) == [
        "t.yaml: imports: expected a table of keys, got a boolean (True)"
    ]


def test_require_document_round_trips_and_keeps_older_digests() -> None:
    plain = parse_tenant_config(minimal())
    required = parse_tenant_config(minimal() | {"imports": {"require_document": True}})
    explicit_default = parse_tenant_config(minimal() | {"imports": {"require_document": False}})

    decoded = TenantConfigured.from_data(decode(encode(to_event(required).to_representation())))

    assert decoded.require_document is True
    assert config_from_event(decoded).require_document is True
    assert config_from_event(decoded).digest == required.digest
    # the key changes the digest only when set: configurations applied before it keep theirs
    assert required.digest != plain.digest
    assert explicit_default.digest == plain.digest


def test_the_document_of_a_configuration_reads_back_as_the_same_configuration() -> None:
    from streams.domain.tenant_config import config_document

    config = load_tenant_file(EXAMPLE)
    document = config_document(config)

    again = parse_tenant_config(document, source="PUT")
    assert again.digest == config.digest
    assert document["waha"]["sessions"][0]["webhook_hmac_key"] == "env:ACME_WAHA_HMAC_KEY"
    hidden = config_document(config, with_key_refs=False)
    assert hidden["waha"]["sessions"] == [{"name": s.name} for s in config.sessions]
    # JSON on the wire: what json gives back is what was answered.
    import json

    assert json.loads(json.dumps(document)) == document


def test_every_problem_has_a_portuguese_message_too() -> None:
    broken = {
        "tenant": "Loja 1",
        "name": 7,
        "extra": 1,
        "waha": {"sessions": [{"name": "a b", "webhook_hmac_key": "segredo"}, {"name": "a b"}]},
        "prices": {"text": 0, "file": "2"},
        "low_balance_threshold": -1,
        "allow_landlines": "sim",
        "imports": {"require_document": 1},
        "contact": {
            "state_holidays": 1,
            "windows": {
                "XX": {},
                "SP": {"weekdays": "20:00-08:00", "sunday": "08:00-12:00"},
                "RJ": {"weekdays": 8},
                "MG": {"weekdays": "closed"},
            },
        },
        "regua": {
            "send_at": 540,
            "steps": [
                {"when": "D+x", "template": "Olá {nome}"},
                {"when": "D0", "at": "25:00", "template": "{pix_code}"},
                {"when": "D0", "template": ""},
                "D+3",
            ],
        },
    }
    with pytest.raises(TenantConfigError) as caught:
        parse_tenant_config(broken, source="t.yaml")
    problems = caught.value.problems
    assert len(problems) >= 20
    for problem in problems:
        assert problem.message_pt and problem.message_pt != problem.message, problem


def test_a_session_another_tenant_owns_is_a_problem_when_the_others_are_given() -> None:
    other = parse_tenant_config(minimal() | {"tenant": "loja-2"}, source="loja-2.yaml")

    parse_tenant_config(minimal(), source="t.yaml", others={})
    with pytest.raises(TenantConfigError) as caught:
        parse_tenant_config(minimal(), source="t.yaml", others={"loja-2": other})
    [problem] = caught.value.problems
    assert problem.path == "waha.sessions[0].name" and "loja-2" in problem.message
    assert problem.message_pt == "a sessão 'loja-1' pertence a outro cliente"
