"""File-backed schema registry: every (subject, version) pinned to a Confluent-style schema id.

Subjects follow Confluent's RecordNameStrategy (the record's full name), because one topic
carries several event types. `registry.json` pins the ids; `avro/history/<subject>/v<N>.avsc`
keeps every registered version, fully expanded, so old bytes stay readable forever and each new
version is checked BACKWARD_TRANSITIVE against all of them.

The current schemas are the `.avsc` files in `avro/`; an event schema names the shared header
type (`cobranca.events.EventHeader`), which is inlined where it is first used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

from schemas.compatibility import check_backward_transitive
from schemas.errors import IncompatibleSchema, SchemaNotRegistered

SCHEMA_DIR = Path(__file__).parent / "avro"
REGISTRY_FILE = Path(__file__).parent / "registry.json"
HISTORY_DIR = SCHEMA_DIR / "history"
NAMESPACE = "cobranca.events"
HEADER = f"{NAMESPACE}.EventHeader"


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One pinned version of one subject."""

    subject: str
    version: int
    schema_id: int
    schema: dict[str, Any]
    """The expanded schema as JSON (named types inlined)."""
    parsed: Any
    """fastavro's parsed form, ready for the reader and writer."""


def subject_of(event_type: str) -> str:
    return f"{NAMESPACE}.{event_type}"


def fingerprint(schema: dict[str, Any]) -> str:
    """SHA-256 of the schema's JSON with sorted keys: docs and defaults count, unlike Avro's
    parsing canonical form, because a changed default changes compatibility."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def current_schemas(directory: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    """Every event schema in `directory`, by subject, with named references inlined."""
    raw = {
        path.name.removesuffix(".avsc"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.avsc"))
    }
    return {
        subject: _inline(schema, raw, defined=set())
        for subject, schema in raw.items()
        if subject != HEADER
    }


def _inline(node: Any, named: dict[str, Any], defined: set[str]) -> Any:
    """Replace a reference to a named type by its definition the first time it appears."""
    if isinstance(node, str):
        if node in named and node not in defined:
            defined.add(node)
            return _inline(named[node], named, defined)
        return node
    if isinstance(node, list):
        return [_inline(item, named, defined) for item in node]
    if isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed"):
            defined.add(_full_name(node))
        return {key: _inline(value, named, defined) for key, value in node.items()}
    return node


def _full_name(node: dict[str, Any]) -> str:
    name = str(node["name"])
    return name if "." in name else f"{node.get('namespace', NAMESPACE)}.{name}"


class SchemaRegistry:
    """The pinned schemas, looked up by id (to read) or by subject (to write the latest)."""

    def __init__(self, entries: list[RegisteredSchema]) -> None:
        self._by_id = {entry.schema_id: entry for entry in entries}
        self._latest: dict[str, RegisteredSchema] = {}
        for entry in sorted(entries, key=lambda e: e.version):
            self._latest[entry.subject] = entry

    def by_id(self, schema_id: int) -> RegisteredSchema | None:
        return self._by_id.get(schema_id)

    def latest(self, subject: str) -> RegisteredSchema | None:
        return self._latest.get(subject)

    def subjects(self) -> list[str]:
        return sorted(self._latest)

    def versions(self, subject: str) -> list[RegisteredSchema]:
        return sorted(
            (e for e in self._by_id.values() if e.subject == subject), key=lambda e: e.version
        )


def _read_pins(registry_file: Path) -> dict[str, list[dict[str, Any]]]:
    if not registry_file.exists():
        return {}
    pins: dict[str, list[dict[str, Any]]] = json.loads(registry_file.read_text())["subjects"]
    return pins


def _history_file(history: Path, subject: str, version: int) -> Path:
    return history / subject / f"v{version}.avsc"


def load_registry(
    registry_file: Path = REGISTRY_FILE, history: Path = HISTORY_DIR
) -> SchemaRegistry:
    entries = []
    for subject, versions in _read_pins(registry_file).items():
        for pin in versions:
            path = _history_file(history, subject, pin["version"])
            schema = json.loads(path.read_text(encoding="utf-8"))
            if fingerprint(schema) != pin["fingerprint"]:
                raise SchemaNotRegistered(
                    f"{path} does not match the fingerprint pinned in {registry_file}: registered "
                    "versions are immutable; restore the file from git"
                )
            entries.append(
                RegisteredSchema(
                    subject=subject,
                    version=pin["version"],
                    schema_id=pin["id"],
                    schema=schema,
                    parsed=fastavro.parse_schema(schema),
                )
            )
    return SchemaRegistry(entries)


@cache
def default_registry() -> SchemaRegistry:
    """The registry shipped with the code, checked against the current schemas once."""
    registry = load_registry()
    unregistered = unregistered_changes(registry)
    if unregistered:
        raise SchemaNotRegistered(
            f"schemas changed without a pinned id: {', '.join(unregistered)}; run "
            "`cobranca schemas register` and commit schemas/registry.json and schemas/avro/history"
        )
    return registry


def unregistered_changes(registry: SchemaRegistry, directory: Path = SCHEMA_DIR) -> list[str]:
    """Subjects whose current .avsc is not the latest pinned version."""
    changed = []
    for subject, schema in current_schemas(directory).items():
        latest = registry.latest(subject)
        if latest is None or fingerprint(latest.schema) != fingerprint(schema):
            changed.append(subject)
    return changed


def register_changes(
    directory: Path = SCHEMA_DIR,
    registry_file: Path = REGISTRY_FILE,
    history: Path = HISTORY_DIR,
) -> list[tuple[str, int, int]]:
    """Pin a new version for every changed schema, after checking it can read every earlier one.

    Returns (subject, version, schema id) for each new pin. Raises IncompatibleSchema and writes
    nothing if any changed schema breaks BACKWARD_TRANSITIVE.
    """
    registry = load_registry(registry_file, history)
    pins = _read_pins(registry_file)
    current = current_schemas(directory)
    changed = unregistered_changes(registry, directory)
    problems = []
    for subject in changed:
        earlier = [entry.schema for entry in registry.versions(subject)]
        for problem in check_backward_transitive(current[subject], earlier):
            problems.append(f"{subject}: {problem}")
    if problems:
        raise IncompatibleSchema(
            "BACKWARD_TRANSITIVE violated (new readers must read every older version):\n  "
            + "\n  ".join(problems)
        )
    next_id = 1 + max((pin["id"] for versions in pins.values() for pin in versions), default=0)
    added = []
    for subject in changed:
        version = 1 + max((pin["version"] for pin in pins.get(subject, [])), default=0)
        schema = current[subject]
        path = _history_file(history, subject, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pins.setdefault(subject, []).append(
            {"version": version, "id": next_id, "fingerprint": fingerprint(schema)}
        )
        added.append((subject, version, next_id))
        next_id += 1
    if added:
        body = {"subjects": {subject: pins[subject] for subject in sorted(pins)}}
        registry_file.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return added
