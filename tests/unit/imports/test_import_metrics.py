"""What HTTP imports (the API's import routes) count when an import ends."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from connectors.imports.importer import ImportSummary
from connectors.imports.server import ImportMetrics


def test_an_import_counts_its_state_and_its_stored_rows_by_reason() -> None:
    registry = CollectorRegistry()
    metrics = ImportMetrics(registry)
    metrics.ended("completed", ImportSummary(5, 3, 2, Counter({"invalid_phone": 2})))
    metrics.ended(
        "incomplete", ImportSummary(3, 1, 2, Counter({"invalid_phone": 1, "duplicate": 1}))
    )
    metrics.ended("failed", None)  # nothing stored

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("cobranca_imports_total", state="completed") == 1
    assert value("cobranca_imports_total", state="incomplete") == 1
    assert value("cobranca_imports_total", state="failed") == 1
    assert value("cobranca_import_rows_total", reason="accepted") == 4
    assert value("cobranca_import_rows_total", reason="invalid_phone") == 3
    assert value("cobranca_import_rows_total", reason="duplicate") == 1
