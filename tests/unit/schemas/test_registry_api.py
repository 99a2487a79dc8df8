"""The pinned registry answers like Confluent's registry (schemas/registry_api.py)."""

from __future__ import annotations

import json

import pytest

from schemas import registry_api
from schemas.registry import default_registry

REGISTRY = default_registry()
SUBJECT = "cobranca.events.BalanceLow"  # two versions: ids 1 and 27


def test_an_id_answers_its_writer_schema_expanded() -> None:
    answer = registry_api.schema_by_id(REGISTRY, 1)
    assert answer.status == 200
    assert set(answer.body) == {"schema"}
    schema = json.loads(answer.body["schema"])
    assert schema == REGISTRY.by_id(1).schema  # type: ignore[union-attr]
    assert "cobranca.events.EventHeader" not in answer.body["schema"].replace(
        '"name":"EventHeader"', ""
    ), "the header is inlined, not referenced"


def test_every_pinned_id_is_served_and_parses() -> None:
    import fastavro

    for subject in REGISTRY.subjects():
        for entry in REGISTRY.versions(subject):
            body = registry_api.schema_by_id(REGISTRY, entry.schema_id).body
            fastavro.parse_schema(json.loads(body["schema"]))


def test_unknown_things_answer_confluents_error_codes() -> None:
    assert registry_api.schema_by_id(REGISTRY, 999_999) == registry_api.Answer(
        404, {"error_code": 40403, "message": "Schema not found"}
    )
    missing = registry_api.subject_versions(REGISTRY, "cobranca.events.Nope")
    assert (missing.status, missing.body["error_code"]) == (404, 40401)
    missing = registry_api.subject_version(REGISTRY, "cobranca.events.Nope", "1")
    assert (missing.status, missing.body["error_code"]) == (404, 40401)
    missing = registry_api.subject_version(REGISTRY, SUBJECT, "9")
    assert (missing.status, missing.body["error_code"]) == (404, 40402)
    for bad in ("0", "x", "1.5", "-2", str(2**31)):
        invalid = registry_api.subject_version(REGISTRY, SUBJECT, bad)
        assert (invalid.status, invalid.body["error_code"]) == (422, 42202), bad


def test_subjects_and_versions() -> None:
    listing = registry_api.subjects(REGISTRY)
    assert listing.status == 200 and SUBJECT in listing.body
    assert listing.body == sorted(listing.body)
    assert registry_api.subject_versions(REGISTRY, SUBJECT).body == [1, 2]


@pytest.mark.parametrize(("version", "number", "schema_id"), [("1", 1, 1), ("2", 2, 27)])
def test_a_version_answers_subject_version_id_schema(
    version: str, number: int, schema_id: int
) -> None:
    answer = registry_api.subject_version(REGISTRY, SUBJECT, version)
    assert answer.status == 200
    assert answer.body == {
        "subject": SUBJECT,
        "version": number,
        "id": schema_id,
        "schema": registry_api.schema_string(REGISTRY.by_id(schema_id)),  # type: ignore[arg-type]
    }


@pytest.mark.parametrize("latest", ["latest", "-1"])
def test_latest_is_the_highest_version(latest: str) -> None:
    answer = registry_api.subject_version(REGISTRY, SUBJECT, latest)
    assert (answer.body["version"], answer.body["id"]) == (2, 27)


def test_import_requests_carry_every_pin_with_its_id_and_version() -> None:
    requests = registry_api.import_requests(REGISTRY)
    pinned = {
        (e.subject, e.version, e.schema_id)
        for s in REGISTRY.subjects()
        for e in REGISTRY.versions(s)
    }
    assert {(r.subject, r.version, r.schema_id) for r in requests} == pinned
    first = next(r for r in requests if r.subject == SUBJECT)
    assert first.body == {
        "schema": registry_api.schema_string(REGISTRY.by_id(1)),  # type: ignore[arg-type]
        "schemaType": "AVRO",
        "id": 1,
        "version": 1,
    }
