"""The pinned registry as Confluent Schema Registry's read-only REST API answers it.

Pure functions from `SchemaRegistry` (schemas/registry.json and the expanded history files) to
the status and JSON body Confluent's registry gives for the same request, so a standard tool
(confluent-kafka's `SchemaRegistryClient` and `AvroDeserializer`, Kafka UI, kcat `-s avro`)
pointed at the served API reads our topics: every id is the writer schema that id names in the
wire format, fully expanded. The HTTP side is `connectors/schema_registry/app.py`; the requests
that copy the pins into a real registry, ids kept, are `import_requests` (IMPORT mode).

Subjects follow RecordNameStrategy (the record's full name), as the pins do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from schemas.registry import RegisteredSchema, SchemaRegistry

__all__ = [
    "COMPATIBILITY",
    "CONTENT_TYPE",
    "Answer",
    "ImportRequest",
    "config",
    "import_requests",
    "mode",
    "not_found",
    "schema_by_id",
    "schema_string",
    "schema_types",
    "subject_version",
    "subject_versions",
    "subjects",
    "versions_of_id",
]

CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"
"""What Confluent's registry answers with (clients also accept application/json)."""
COMPATIBILITY: Final = "BACKWARD_TRANSITIVE"
"""The rule `cobranca schemas register` enforces (schemas/compatibility.py)."""

SUBJECT_NOT_FOUND: Final = 40401
VERSION_NOT_FOUND: Final = 40402
SCHEMA_NOT_FOUND: Final = 40403
INVALID_VERSION: Final = 42202
_MAX_VERSION: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP status and the JSON body Confluent's registry would send."""

    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """One pinned version as the body of `POST /subjects/{subject}/versions` in IMPORT mode."""

    subject: str
    version: int
    schema_id: int
    body: dict[str, Any]


def schema_string(entry: RegisteredSchema) -> str:
    """The schema as Confluent carries it: compact JSON text, in the pinned form."""
    return json.dumps(entry.schema, separators=(",", ":"), ensure_ascii=False)


def _error(status: int, code: int, message: str) -> Answer:
    return Answer(status, {"error_code": code, "message": message})


def not_found() -> Answer:
    """What Confluent answers for a path it does not serve."""
    return _error(404, 404, "HTTP 404 Not Found")


def schema_by_id(registry: SchemaRegistry, schema_id: int) -> Answer:
    """`GET /schemas/ids/{id}`: the writer schema of that id."""
    entry = registry.by_id(schema_id)
    if entry is None:
        return _error(404, SCHEMA_NOT_FOUND, "Schema not found")
    return Answer(200, {"schema": schema_string(entry)})


def versions_of_id(registry: SchemaRegistry, schema_id: int) -> Answer:
    """`GET /schemas/ids/{id}/versions`: the (subject, version) the id is registered under."""
    entry = registry.by_id(schema_id)
    if entry is None:
        return _error(404, SCHEMA_NOT_FOUND, "Schema not found")
    return Answer(200, [{"subject": entry.subject, "version": entry.version}])


def subjects(registry: SchemaRegistry) -> Answer:
    """`GET /subjects`."""
    return Answer(200, registry.subjects())


def subject_versions(registry: SchemaRegistry, subject: str) -> Answer:
    """`GET /subjects/{subject}/versions`: the version numbers, ascending."""
    entries = registry.versions(subject)
    if not entries:
        return _error(404, SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")
    return Answer(200, [entry.version for entry in entries])


def subject_version(registry: SchemaRegistry, subject: str, version: str) -> Answer:
    """`GET /subjects/{subject}/versions/{version}`: `version` is a number, `latest` or -1."""
    entries = registry.versions(subject)
    if not entries:
        return _error(404, SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")
    if version in ("latest", "-1"):
        entry: RegisteredSchema | None = entries[-1]
    else:
        try:
            number = int(version)
        except ValueError:
            number = 0
        if not 1 <= number <= _MAX_VERSION or not version.isdigit():
            return _error(
                422,
                INVALID_VERSION,
                f"The specified version '{version}' is not a valid version id. Allowed values "
                f'are between [1, {_MAX_VERSION}] and the string "latest"',
            )
        entry = next((e for e in entries if e.version == number), None)
    if entry is None:
        return _error(404, VERSION_NOT_FOUND, f"Version {version} not found.")
    return Answer(
        200,
        {
            "subject": entry.subject,
            "version": entry.version,
            "id": entry.schema_id,
            "schema": schema_string(entry),
        },
    )


def config(registry: SchemaRegistry, subject: str | None = None) -> Answer:
    """`GET /config` and `GET /config/{subject}`: the compatibility rule in force."""
    if subject is not None and not registry.versions(subject):
        return _error(404, SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")
    return Answer(200, {"compatibilityLevel": COMPATIBILITY})


def mode() -> Answer:
    """`GET /mode`: this registry never accepts writes (they go through git)."""
    return Answer(200, {"mode": "READONLY"})


def schema_types() -> Answer:
    """`GET /schemas/types`."""
    return Answer(200, ["AVRO"])


def import_requests(registry: SchemaRegistry) -> list[ImportRequest]:
    """Every pinned version, subject by subject in version order, as the body that registers it
    in a Confluent registry in IMPORT mode keeping its id and version."""
    return [
        ImportRequest(
            subject=entry.subject,
            version=entry.version,
            schema_id=entry.schema_id,
            body={
                "schema": schema_string(entry),
                "schemaType": "AVRO",
                "id": entry.schema_id,
                "version": entry.version,
            },
        )
        for subject in registry.subjects()
        for entry in registry.versions(subject)
    ]
