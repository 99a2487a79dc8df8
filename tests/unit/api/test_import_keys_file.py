"""Reading an old imports keys file for `cobranca api import-keys`: the hashes and their tenants,
and a file that is not the documented shape named precisely (nothing is migrated from it)."""

from __future__ import annotations

import hashlib
import re

import pytest

from connectors.imports.errors import BadKeysFile
from streams.domain.identity.keys import key_hash
from streams.ops.api_cli import read_imports_keys_file


def _hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def test_the_hashes_are_the_api_keys_hashes() -> None:
    key = "cbk_" + "a" * 43
    assert _hash(key) == key_hash(key)  # so a migrated key keeps working as it is


def test_lines_give_each_hash_its_tenant() -> None:
    first, second = _hash("cbk_first"), _hash("cbk_second")
    text = f'[keys]\n"{first}" = "acme"  # created 2026-12-04T16:55Z\n"{second}" = "acme-2.sp@x"\n'
    assert read_imports_keys_file(text) == {first: "acme", second: "acme-2.sp@x"}


def test_an_empty_file_has_no_keys() -> None:
    assert read_imports_keys_file("") == {}
    assert read_imports_keys_file("[keys]\n") == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[keys", "not valid TOML"),
        ('[keys]\n"cbk_plainkeyplainkey" = "acme"\n', "never the keys themselves"),
        ('[keys]\n"sha256:abc" = "acme"\n', "not a key hash"),
        (f'[keys]\n"{_hash("x")}" = "has space"\n', "is not a tenant id"),
        (f'[keys]\n"{_hash("x")}" = 3\n', "is not a tenant id"),
        (f'[keys]\n"{_hash("x")}" = "-a"\n', "is not a tenant id"),
        ('[tenants]\nacme = "x"\n', "only a [keys] table"),
    ],
)
def test_a_bad_keys_file_names_the_problem(text: str, says: str) -> None:
    with pytest.raises(BadKeysFile, match=re.escape(says)) as refused:
        read_imports_keys_file(text, source="keys.toml")
    assert str(refused.value).startswith("keys.toml: ")
