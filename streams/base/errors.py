"""The project's one exception root.

Each package keeps its own errors in one module (`schemas/errors.py`, `infra/kafka/errors.py`,
`connectors/clickhouse/errors.py`) and they all derive from `CobrancaError`, so a caller can
catch everything the project raises without catching programming errors.
"""

from __future__ import annotations


class CobrancaError(Exception):
    """Base of every error cobranca raises on purpose."""
