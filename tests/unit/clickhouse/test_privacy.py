"""What of an event may reach ClickHouse: every schema field classified, pseudonyms stable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from connectors.clickhouse.privacy import (
    DEV_PSEUDONYM_KEY,
    FIELD_POLICY,
    HEADER_FIELDS,
    Policy,
    Pseudonymizer,
    pseudonym_key,
)
from connectors.clickhouse.raw_tables import RowEncoder
from schemas.codec import encode
from tests import factories as f

AVRO = Path(__file__).resolve().parents[3] / "schemas" / "avro"


def schema_fields() -> dict[str, set[str]]:
    fields: dict[str, set[str]] = {}
    for path in sorted(AVRO.glob("*.avsc")):
        schema = json.loads(path.read_text())
        fields[schema["name"]] = {field["name"] for field in schema["fields"]} - {"header"}
    return fields


def test_every_field_of_every_schema_is_classified() -> None:
    """A new field fails here until someone decides whether analytics may see it."""
    fields = schema_fields()
    assert fields.pop("EventHeader") == HEADER_FIELDS
    unclassified = {
        f"{event}.{name}"
        for event, names in fields.items()
        for name in names
        if name not in FIELD_POLICY
    }
    assert not unclassified, f"classify these in connectors/clickhouse/privacy.py: {unclassified}"


def test_the_key_comes_from_the_environment_with_a_development_default() -> None:
    assert pseudonym_key({}) == DEV_PSEUDONYM_KEY
    assert pseudonym_key({"COBRANCA_PSEUDONYM_KEY": "s3cret"}) == b"s3cret"


def test_pseudonyms_are_keyed_stable_and_shaped() -> None:
    one, same, other = Pseudonymizer(b"k1"), Pseudonymizer(b"k1"), Pseudonymizer(b"k2")
    value = one.pseudonym("52998224725")
    assert value == same.pseudonym("52998224725")
    assert value != other.pseudonym("52998224725")
    assert value.startswith("p:") and len(value) == 26
    assert "52998224725" not in value


@pytest.mark.parametrize(
    "text", ["+5511987654321", "5511987654321@c.us", "5511987654321@s.whatsapp.net"]
)
def test_a_phone_and_its_chat_ids_share_one_pseudonym(text: str) -> None:
    privacy = Pseudonymizer(b"k")
    assert privacy.phone(text) == privacy.pseudonym("+5511987654321")


def test_group_and_lid_ids_get_a_pseudonym_of_their_own() -> None:
    privacy = Pseudonymizer(b"k")
    group = privacy.phone("120363025246125486@g.us")
    assert group == privacy.pseudonym("120363025246125486@g.us")
    assert privacy.phone("123456789@lid") == privacy.pseudonym("123456789@lid")


def test_correlation_ids_change_only_when_they_name_a_chat() -> None:
    privacy = Pseudonymizer(b"k")
    assert privacy.correlation("imp-2026-11") == "imp-2026-11"
    assert privacy.correlation("3f0c1a2e-uuid") == "3f0c1a2e-uuid"
    assert privacy.correlation("5511987654321@c.us") == privacy.phone("+5511987654321")


def test_redact_applies_each_policy_and_drops_unknown_fields() -> None:
    privacy = Pseudonymizer(b"k")
    out = privacy.redact(
        {
            "client_id": "c1",
            "phone_e164": "+5511987654321",
            "document": "52998224725",
            "name": "maria",
            "error": "phone +5511987654321 refused",
            "invoice_id": None,
            "brand_new_field": "?",
        }
    )
    assert out == {
        "client_id": "c1",
        "phone_e164": privacy.phone("+5511987654321"),
        "document": privacy.pseudonym("52998224725"),
        "error": "phone 55119****21 refused",
        "invoice_id": None,
    }
    assert {policy for policy in FIELD_POLICY.values()} == set(Policy)


def test_a_row_has_position_header_typed_fields_and_the_redacted_event() -> None:
    privacy = Pseudonymizer(b"k")
    event = f.client_imported("acme", 3, phone="+5511912345678")
    value = encode(event.to_representation())
    row = orjson.loads(RowEncoder(privacy).encode(4, 1200, value) or b"")
    schema_id = int.from_bytes(value[1:5], "big")
    assert (row["kafka_partition"], row["kafka_offset"], row["schema_id"]) == (4, 1200, schema_id)
    assert row["event_type"] == "ClientImported" and row["tenant_id"] == "acme"
    assert datetime.fromisoformat(row["occurred_at"]) == datetime(2026, 11, 20, 13, tzinfo=UTC)
    assert row["phone_e164"] == privacy.phone("+5511912345678")
    assert row["due_date"] == "2026-12-05"
    assert "name" not in row and "email" not in row and "pix_code" not in row
    assert row["payload"] == {k: v for k, v in row.items() if k in row["payload"]}
    assert set(row["payload"]) == {
        "import_id",
        "row",
        "client_id",
        "phone_e164",
        "document",
        "document_kind",
        "amount_centavos",
        "due_date",
        "invoice_id",
        "uf",
        "description",
        "boleto_line",
        "payment_url",
    } - {"description", "boleto_line", "payment_url"}


def test_records_that_are_not_events_have_no_row() -> None:
    encoder = RowEncoder(Pseudonymizer(b"k"))
    assert encoder.encode(0, 1, None) is None
    assert encoder.encode(0, 1, b"\x00\x00\x00\x00") is None
    assert encoder.encode(0, 1, b"plain text") is None
