"""The pinned schema registry: BACKWARD_TRANSITIVE for every subject, and the guard that keeps it.

The first half checks the registry shipped in the repository; the second edits a copy of
`schemas/avro`, `registry.json` and the history in a temporary directory and registers it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import FAUST_KEY, decode, encode
from schemas.compatibility import check_backward_transitive
from schemas.errors import IncompatibleSchema, SchemaNotRegistered
from schemas.events import (
    EVENT_TYPES,
    ClientImported,
    DocumentKind,
    SendRejected,
    SendRejectReason,
    new_header,
)
from schemas.registry import (
    HISTORY_DIR,
    REGISTRY_FILE,
    SCHEMA_DIR,
    RegisteredSchema,
    SchemaRegistry,
    load_registry,
    register_changes,
    subject_of,
    unregistered_changes,
)
from tests.factories import client_imported
from tests.unit.schemas.avro_data import event_datums, wire_bytes

REGISTRY = load_registry()
SUBJECTS = REGISTRY.subjects()
ALL_VERSIONS = [entry for subject in SUBJECTS for entry in REGISTRY.versions(subject)]
CLIENT_IMPORTED = "cobranca.events.ClientImported"
SEND_REJECTED = "cobranca.events.SendRejected"
REGISTER_HINT = (
    "run `cobranca schemas register` and commit schemas/registry.json and schemas/avro/history"
)


def version_id(entry: RegisteredSchema) -> str:
    return f"{entry.subject.rpartition('.')[2]}-v{entry.version}"


# --- the shipped registry ------------------------------------------------------------------


def test_every_event_type_has_a_pinned_subject() -> None:
    assert set(SUBJECTS) == {subject_of(name) for name in EVENT_TYPES}


def test_the_current_schemas_are_the_latest_pinned_versions() -> None:
    changed = unregistered_changes(REGISTRY)

    assert not changed, f"schemas changed without a pinned version: {changed}; {REGISTER_HINT}"


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_latest_version_reads_every_registered_version(subject: str) -> None:
    versions = REGISTRY.versions(subject)
    latest = REGISTRY.latest(subject)
    assert latest == versions[-1]

    problems = check_backward_transitive(latest.schema, [v.schema for v in versions])

    assert problems == [], f"{subject} breaks BACKWARD_TRANSITIVE:\n" + "\n".join(problems)


def test_versions_count_from_one_and_ids_are_unique() -> None:
    for subject in SUBJECTS:
        numbers = [entry.version for entry in REGISTRY.versions(subject)]
        assert numbers == list(range(1, len(numbers) + 1)), subject
    ids = [entry.schema_id for entry in ALL_VERSIONS]
    assert len(ids) == len(set(ids))


def test_the_history_holds_exactly_the_pinned_versions() -> None:
    on_disk = {path.relative_to(HISTORY_DIR).as_posix() for path in HISTORY_DIR.glob("*/*")}

    pinned = {f"{entry.subject}/v{entry.version}.avsc" for entry in ALL_VERSIONS}

    assert on_disk == pinned


def assert_read_as_latest(
    registry: SchemaRegistry, written_with: RegisteredSchema, event: dict[str, Any]
) -> None:
    """`event`, written with an old (or the latest) version, decodes into the latest shape: the
    writer's values where the field kept its type, the reader's default where the writer had no
    such field."""
    latest = registry.latest(written_with.subject)
    assert latest is not None
    wire = wire_bytes(written_with.schema_id, written_with.parsed, event)

    decoded = decode(wire, registry)

    assert decoded.pop(FAUST_KEY) == {"ns": written_with.subject}
    # Avro resolves fields by name; the dict keeps the writer's order (ClientImported v2 moved
    # its document after the required fields), so the names, not their order, are compared.
    assert sorted(decoded) == sorted(field["name"] for field in latest.schema["fields"])
    written_fields = {field["name"]: field for field in written_with.schema["fields"]}
    for field in latest.schema["fields"]:
        name = field["name"]
        if name not in written_fields:
            assert decoded[name] == field["default"], name
        elif written_fields[name]["type"] == field["type"]:
            assert decoded[name] == event[name], name


@pytest.mark.parametrize("written_with", ALL_VERSIONS, ids=version_id)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_bytes_of_every_registered_version_decode_with_the_latest_reader(
    written_with: RegisteredSchema, data: st.DataObject
) -> None:
    event = data.draw(event_datums(written_with), label="event")

    assert_read_as_latest(REGISTRY, written_with, event)


# --- ClientImported v2: the document is optional (issue 15) ---------------------------------


def test_client_imported_v1_bytes_read_with_their_document_and_v2_without_one() -> None:
    v1, v2 = REGISTRY.versions(CLIENT_IMPORTED)[:2]
    event = client_imported("t1", 1)
    datum = decode(encode(event.to_representation()))
    del datum[FAUST_KEY]
    datum["header"]["schema_version"] = 1
    old_bytes = wire_bytes(v1.schema_id, v1.parsed, datum)  # as a v1 producer wrote them

    old = ClientImported.from_data(decode(old_bytes))
    bare = ClientImported.from_data(
        decode(encode(client_imported("t1", 2, document=None).to_representation()))
    )

    assert (old.document, old.document_kind) == ("52998224725", DocumentKind.CPF)
    assert old.header.schema_version == 1 and old.amount_centavos == event.amount_centavos
    assert (bare.document, bare.document_kind) == (None, None)
    assert bare.header.schema_version == ClientImported.SCHEMA_VERSION == v2.version == 2
    assert field_named(v2.schema, "document")["type"] == ["null", "string"]
    assert field_named(v2.schema, "document")["default"] is None


# --- the guard, on a copy ------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """A copy of the schemas, the pins and the history that the tests may change."""

    avro: Path
    registry_file: Path
    history: Path

    def load(self) -> SchemaRegistry:
        return load_registry(self.registry_file, self.history)

    def register(self) -> list[tuple[str, int, int]]:
        return register_changes(
            directory=self.avro, registry_file=self.registry_file, history=self.history
        )

    def edit(self, subject: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.avro / f"{subject}.avsc"
        schema = json.loads(path.read_text(encoding="utf-8"))
        change(schema)
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the pins and the history, by path, to prove nothing was written."""
        files = [self.registry_file, *sorted(self.history.rglob("*"))]
        return {str(path): path.read_bytes() for path in files if path.is_file()}

    def next_id(self) -> int:
        pins = json.loads(self.registry_file.read_text())["subjects"]
        return 1 + max(int(pin["id"]) for versions in pins.values() for pin in versions)


def copy_of_the_schemas(root: Path) -> Workspace:
    avro = root / "avro"
    shutil.copytree(SCHEMA_DIR, avro, ignore=shutil.ignore_patterns("history"))
    shutil.copytree(HISTORY_DIR, root / "history")
    shutil.copy(REGISTRY_FILE, root / "registry.json")
    return Workspace(avro, root / "registry.json", root / "history")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return copy_of_the_schemas(tmp_path)


def add_field(field: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda schema: schema["fields"].append(field)


def field_named(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(field for field in schema["fields"] if field["name"] == name)


@pytest.fixture(scope="module")
def evolved_registry(tmp_path_factory: pytest.TempPathFactory) -> SchemaRegistry:
    """The shipped registry plus a ClientImported that gained a field with a non-null default
    and widened `row` from long to double, and a version after it that also gained a nullable
    field (v3 and v4: v2 is shipped, with the optional document of issue 15)."""
    workspace = copy_of_the_schemas(tmp_path_factory.mktemp("evolved"))

    def v2(schema: dict[str, Any]) -> None:
        schema["fields"].append({"name": "attempts", "type": "int", "default": 3})
        field_named(schema, "row")["type"] = "double"

    workspace.edit(CLIENT_IMPORTED, v2)
    workspace.register()
    segment = {"name": "segment", "type": ["null", "string"], "default": None}
    workspace.edit(CLIENT_IMPORTED, add_field(segment))
    workspace.register()
    return workspace.load()


@pytest.mark.parametrize("version", [1, 2, 3, 4])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_bytes_of_every_version_of_an_evolved_event_decode_with_the_latest_reader(
    evolved_registry: SchemaRegistry, version: int, data: st.DataObject
) -> None:
    written_with = evolved_registry.versions(CLIENT_IMPORTED)[version - 1]
    assert written_with.version == version
    event = data.draw(event_datums(written_with), label="event")

    assert_read_as_latest(evolved_registry, written_with, event)
    decoded = decode(
        wire_bytes(written_with.schema_id, written_with.parsed, event), evolved_registry
    )
    assert decoded["row"] == float(event["row"])  # promoted, long -> double
    assert decoded["attempts"] == event.get("attempts", 3)


def test_an_unchanged_copy_registers_nothing(workspace: Workspace) -> None:
    before = workspace.snapshot()

    assert workspace.register() == []
    assert workspace.snapshot() == before


def test_an_optional_field_with_a_default_registers_the_next_version(
    workspace: Workspace,
) -> None:
    # given bytes written with ClientImported's latest version
    shipped = REGISTRY.latest(CLIENT_IMPORTED)
    assert shipped is not None
    new_version = shipped.version + 1
    old_bytes = encode(client_imported("t1", 1).to_representation(), workspace.load())
    next_id = workspace.next_id()

    # when ClientImported gains an optional field and the change is registered
    segment = {"name": "segment", "type": ["null", "string"], "default": None}
    workspace.edit(CLIENT_IMPORTED, add_field(segment))
    added = workspace.register()

    # then the next version is pinned under the next free id, and the history keeps it
    assert added == [(CLIENT_IMPORTED, new_version, next_id)]
    registry = workspace.load()
    latest = registry.latest(CLIENT_IMPORTED)
    assert latest is not None
    assert (latest.version, latest.schema_id) == (new_version, next_id)
    assert field_named(latest.schema, "segment") == segment
    assert (workspace.history / CLIENT_IMPORTED / f"v{new_version}.avsc").is_file()
    assert unregistered_changes(registry, workspace.avro) == []
    # and old bytes still decode, with the new field's default
    decoded = decode(old_bytes, registry)
    assert decoded["segment"] is None
    assert decoded == {**decode(old_bytes, REGISTRY), "segment": None}
    # and new bytes are written with the new version
    assert encode(client_imported("t1", 1).to_representation(), registry)[1:5] == next_id.to_bytes(
        4, "big"
    )


def test_two_changes_get_consecutive_ids_in_subject_order(workspace: Workspace) -> None:
    optional = {"name": "note", "type": ["null", "string"], "default": None}
    workspace.edit(SEND_REJECTED, add_field(optional))
    workspace.edit(CLIENT_IMPORTED, add_field(optional))
    next_id = workspace.next_id()

    added = workspace.register()

    assert added == [(CLIENT_IMPORTED, 3, next_id), (SEND_REJECTED, 2, next_id + 1)]


def test_a_new_event_registers_version_one(workspace: Workspace) -> None:
    schema = {
        "type": "record",
        "name": "ReminderScheduled",
        "namespace": "cobranca.events",
        "fields": [
            {"name": "header", "type": "cobranca.events.EventHeader"},
            {"name": "client_id", "type": "string"},
        ],
    }
    (workspace.avro / "cobranca.events.ReminderScheduled.avsc").write_text(json.dumps(schema))
    next_id = workspace.next_id()

    added = workspace.register()

    assert added == [("cobranca.events.ReminderScheduled", 1, next_id)]
    registered = workspace.load().latest("cobranca.events.ReminderScheduled")
    assert registered is not None
    assert registered.schema["fields"][0]["type"]["name"] == "EventHeader"  # inlined


def test_a_required_field_without_default_is_refused_and_nothing_is_written(
    workspace: Workspace,
) -> None:
    # given ClientImported gains a field old data cannot have, next to a harmless change
    before = workspace.snapshot()
    workspace.edit(CLIENT_IMPORTED, add_field({"name": "segment", "type": "string"}))
    workspace.edit(
        SEND_REJECTED, add_field({"name": "note", "type": ["null", "string"], "default": None})
    )

    # when the changes are registered, then the error names the subject and the field
    with pytest.raises(IncompatibleSchema) as caught:
        workspace.register()
    message = str(caught.value)
    assert CLIENT_IMPORTED in message
    assert "ClientImported.segment" in message
    assert "no default" in message
    assert SEND_REJECTED not in message
    # and neither change was pinned
    assert workspace.snapshot() == before


def test_removing_an_enum_symbol_is_refused(workspace: Workspace) -> None:
    before = workspace.snapshot()

    def drop_cnpj(schema: dict[str, Any]) -> None:
        field_named(schema, "document_kind")["type"][1]["symbols"].remove("CNPJ")  # [null, enum]

    workspace.edit(CLIENT_IMPORTED, drop_cnpj)

    with pytest.raises(IncompatibleSchema) as caught:
        workspace.register()
    assert CLIENT_IMPORTED in str(caught.value)
    assert '"CNPJ"' in str(caught.value)
    assert workspace.snapshot() == before


def test_an_enum_with_a_default_symbol_may_lose_a_symbol(workspace: Workspace) -> None:
    # given a SendRejected written with the reason "duplicate"
    event = SendRejected(
        header=new_header(
            "SendRejected",
            tenant_id="t1",
            correlation_id="req-1",
            causation_id=None,
            source="tests",
        ),
        request_id="req-1",
        reason=SendRejectReason.DUPLICATE,
    )
    old_bytes = encode(event.to_representation(), workspace.load())

    # when "duplicate" is removed (the enum's default is "other")
    def drop_duplicate(schema: dict[str, Any]) -> None:
        field_named(schema, "reason")["type"]["symbols"].remove("duplicate")

    workspace.edit(SEND_REJECTED, drop_duplicate)
    assert [subject for subject, _, _ in workspace.register()] == [SEND_REJECTED]

    # then old readers' "duplicate" reads as "other"
    assert decode(old_bytes, workspace.load())["reason"] == "other"


def test_a_tampered_history_file_is_refused(workspace: Workspace) -> None:
    # given someone edits a registered version in place
    path = workspace.history / CLIENT_IMPORTED / "v1.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["doc"] = "edited after registration"
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")

    # when the registry is loaded, or changes registered, then the fingerprint check refuses it
    with pytest.raises(SchemaNotRegistered) as caught:
        workspace.load()
    assert str(path) in str(caught.value)
    assert "fingerprint" in str(caught.value)
    assert "restore the file from git" in str(caught.value)
    with pytest.raises(SchemaNotRegistered):
        workspace.register()
