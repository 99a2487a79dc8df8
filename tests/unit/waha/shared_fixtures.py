"""Where the shared WAHA fixtures live: `../shared/waha/fixtures` beside the clone.

CI checks `shared/` out next to the repository. When it is missing the tests fail (they never
skip): a green run without the fixtures would prove nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES_DIR = REPO_ROOT / ".." / "shared" / "waha" / "fixtures"


def fixtures_dir() -> Path:
    """The fixtures directory, or a test failure saying where it was expected."""
    if not FIXTURES_DIR.is_dir():
        pytest.fail(
            f"WAHA fixtures not found at {FIXTURES_DIR.resolve()}: check out the shared "
            f"directory beside the clone (expected {REPO_ROOT.name}/../shared/waha/fixtures)",
            pytrace=False,
        )
    return FIXTURES_DIR


def fixture_bytes(name: str) -> bytes:
    """The raw bytes of a fixture file, e.g. `01_message_text_inbound_webjs.json`."""
    return (fixtures_dir() / name).read_bytes()


def fixture_json(name: str) -> Any:
    return orjson.loads(fixture_bytes(name))
