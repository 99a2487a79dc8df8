"""What of an event may reach ClickHouse: every schema field classified, pseudonyms stable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from connectors.clickhouse.privacy import (
    DEV_PSEUDONYM_KEY,
    FIELD_POLICY,
    HEADER_FIELDS,
    Policy,
    Pseudonymizer,
    pseudonym_key,
)
from connectors.clickhouse.raw_tables import (
    RawTableWriter,
    frame_schema,
    hmac_pads,
    insert_statement,
    schema_registry_base,
)
from schemas.binary import long_bytes
from schemas.codec import encode
from schemas.registry import default_registry
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


def test_a_frame_is_the_record_with_its_schema_id_and_offset_in_front() -> None:
    event = f.client_imported("acme", 3, phone="+5511912345678")
    value = encode(event.to_representation())
    frame = RawTableWriter(b"k").frame(1200, value)
    assert frame is not None
    schema_id = int.from_bytes(value[1:5], "big")
    # Confluent prefix kept, then the frame's own fields (zigzag schema id, offset), then the body.
    assert frame[:5] == value[:5]
    assert frame[5 : -len(value) + 5] == long_bytes(schema_id) + (1200).to_bytes(8, "little")
    assert frame.endswith(value[5:])


def test_records_that_are_not_events_have_no_frame() -> None:
    writer = RawTableWriter(b"k")
    assert writer.frame(1, None) is None
    assert writer.frame(1, b"\x00\x00\x00\x00") is None
    assert writer.frame(1, b"plain text") is None
    assert writer.frame(1, b"\x00\x00\x00\xff\xffbody") is None  # schema id not pinned


def test_the_sql_pads_compute_the_same_hmac_as_the_pseudonymizer() -> None:
    for key in (b"k", DEV_PSEUDONYM_KEY, b"x" * 100):
        inner, outer = (bytes.fromhex(pad) for pad in hmac_pads(key))
        for value in ("+5511987654321", "52998224725"):
            digest = hashlib.sha256(outer + hashlib.sha256(inner + value.encode()).digest())
            assert f"p:{digest.hexdigest()[:24]}" == Pseudonymizer(key).pseudonym(value)


def test_the_insert_reads_no_dropped_field_and_never_holds_the_key() -> None:
    registry = default_registry()
    schemas = [v for s in registry.subjects() for v in registry.versions(s)]
    requested = [v for v in schemas if v.subject.endswith((".SendRequested", ".SendDeferred"))]
    sql = insert_statement(
        "db.raw_sends_requested", ["kafka_offset", "phone_e164", "step", "payload"], requested
    )
    assert sql.startswith("INSERT INTO db.raw_sends_requested (`kafka_offset`, `phone_e164`")
    assert sql.endswith("FORMAT AvroConfluent")
    assert "`text`" not in sql and "file_url" not in sql  # dropped: not even decoded
    assert "{hmac_inner:String}" in sql and DEV_PSEUDONYM_KEY.hex() not in sql


def test_a_frame_schema_is_the_event_schema_with_its_position_first() -> None:
    registry = default_registry()
    schema = registry.latest("cobranca.events.SendRequested")
    assert schema is not None
    framed = frame_schema(schema)
    names = [field["name"] for field in framed["fields"]]
    assert names[:3] == ["schema_id", "kafka_offset", "header"]
    assert framed["fields"][2:] == schema.schema["fields"]


def test_the_schema_registry_url_comes_from_the_environment_or_the_client() -> None:
    assert schema_registry_base({}) is None
    assert (
        schema_registry_base({"CLICKHOUSE_SCHEMA_REGISTRY_URL": "http://r@127.0.0.1:8123/"})
        == "http://r@127.0.0.1:8123"
    )
