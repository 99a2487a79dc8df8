"""The entity sets of issue 15 §4 (models/data/README.md, "Entity sets").

entities_dev.jsonl, entities_dev2.jsonl and entities_dev3.jsonl are for development;
entities_blind.jsonl to entities_blind11.jsonl are frozen blind sets,
each measured once at the end of the work it judged and never tuned to, so a change to one must
be deliberate: their hashes are pinned. Their rows are not read here: only their bytes are
hashed.
"""

from __future__ import annotations

import hashlib

import pytest

from models.entity_eval import DEV_FILE

PINNED = {
    "entities_blind.jsonl": (
        "25b5e138b16649f050eda1580e85025c1d74653fde0beb0ebc82db2bbab60c39",
        418,
    ),
    "entities_blind2.jsonl": (
        "e4f0a02786f32fdfb90203ddebd8a7b1d7803f446e0692aadce61c69d7a53bb9",
        418,
    ),
    "entities_blind3.jsonl": (
        "5755e420b6115c5b923e3dd424152949af27324b641c5b6c07db072db6c98c8b",
        493,
    ),
    "entities_blind4.jsonl": (
        "ca7b3eab20553c67f8125a8b2c008f2892a5feea3ddb3f38f3e694d5f36c9462",
        580,
    ),
    "entities_blind5.jsonl": (
        "2f543dc314078d8c7583450e7af3cf3712a2840788867f51b9bd16c30f105114",
        644,
    ),
    "entities_blind6.jsonl": (
        "e8447a964d647d017b1840bc197a7de110b1d3cc9ff309bbd5b0a262d6eefd5f",
        545,
    ),
    "entities_blind7.jsonl": (
        "aec2549b2708c386ccd7681190cb409adfdacb04e086d8d60d84b8a515215059",
        715,
    ),
    "entities_blind8.jsonl": (
        "91d5c841451f3fee61c254b7c6de51599a888017bd18b6dc9eb7a16529f8588a",
        647,
    ),
    "entities_blind9.jsonl": (
        "8c233ccf8a68e78fbfadd98b66998a0432b630797b015e593a3cd38f87d5e575",
        530,
    ),
    "entities_blind10.jsonl": (
        "1987f3c8b5388dacfca9a2814a558259fd4a27df9d9f70bf271574604cadf1da",
        642,
    ),
    "entities_blind11.jsonl": (
        "ae439c2217e3ff32fcf4e809e1136eb4f338eea3e2ea465b6dc394364d141796",
        578,
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_entity_blind_sets_are_frozen(name: str) -> None:
    data = DEV_FILE.with_name(name).read_bytes()
    sha256, rows = PINNED[name]
    assert hashlib.sha256(data).hexdigest() == sha256
    assert data.count(b"\n") == rows
