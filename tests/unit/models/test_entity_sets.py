"""The entity sets of issue 15 §4 (models/data/README.md, "Entity sets").

entities_dev.jsonl is for development; entities_blind.jsonl is a frozen blind set, measured
once at the end and never tuned to, so a change to it must be deliberate: its hash is pinned.
Its rows are not read here: only its bytes are hashed.
"""

from __future__ import annotations

import hashlib

from models.entity_eval import DEV_FILE

ENTITIES_BLIND_FILE = DEV_FILE.with_name("entities_blind.jsonl")
PINNED_SHA256 = "25b5e138b16649f050eda1580e85025c1d74653fde0beb0ebc82db2bbab60c39"


def test_the_entity_blind_set_is_frozen() -> None:
    assert hashlib.sha256(ENTITIES_BLIND_FILE.read_bytes()).hexdigest() == PINNED_SHA256


def test_it_has_418_rows() -> None:
    assert ENTITIES_BLIND_FILE.read_bytes().count(b"\n") == 418
