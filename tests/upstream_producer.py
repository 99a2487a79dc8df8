"""What an upstream system does to put debtors straight into `cobranca.clients`, using only the
published contract (docs/adr/0009-http-imports.md, "Upstream producers"): the `.avsc` files, the
ids in `schemas/registry.json`, the Confluent wire format, and the key ``tenant_id:client_id``.

Nothing here imports cobranca's codec or producer, on purpose: tests use it to prove the
contract is enough for a system written in any language.
"""

from __future__ import annotations

import io
import json
import struct
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import load_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
TOPIC = "cobranca.clients"


def client_imported_schema() -> tuple[int, Any]:
    """The schema id to write with (the latest pinned version) and the parsed schema."""
    pins = json.loads((SCHEMAS / "registry.json").read_text())["subjects"]
    latest = max(pins["cobranca.events.ClientImported"], key=lambda pin: pin["version"])
    # load_schema resolves the named header type from its sibling file, as any Avro tool does.
    return latest["id"], load_schema(SCHEMAS / "avro" / "cobranca.events.ClientImported.avsc")


def upstream_client(tenant: str, batch: str, n: int, *, due: date) -> dict[str, Any]:
    """A debtor as an upstream ERP would send it (already valid: upstream owns its data)."""
    return {
        "header": {
            "event_id": str(uuid.uuid4()),
            "event_type": "ClientImported",
            "schema_version": 2,
            "tenant_id": tenant,
            "occurred_at": datetime.now(UTC).replace(microsecond=0),
            "correlation_id": batch,
            "causation_id": None,
            "source": "upstream.erp",
        },
        "import_id": batch,
        "row": n + 1,
        "client_id": f"erp-{n:05d}",
        "name": "Joana Prado",
        "phone_e164": f"+55119{n:08d}",
        "document": "52998224725",
        "document_kind": "CPF",
        "amount_centavos": 9_990 + n,
        "due_date": due,
        "invoice_id": f"ERP-{n}",
        "uf": "SP",
    }


def wire(schema_id: int, schema: Any, record: dict[str, Any]) -> bytes:
    """Confluent wire format: magic byte 0, schema id (4 bytes, big-endian), Avro binary."""
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(out, schema, record)
    return out.getvalue()


def key_of(record: dict[str, Any]) -> bytes:
    return f"{record['header']['tenant_id']}:{record['client_id']}".encode()
