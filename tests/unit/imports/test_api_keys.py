"""API keys of the HTTP import endpoint: new keys, hashes, the keys file, the Bearer header."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.imports.api_keys import (
    KEY_PREFIX,
    KeysFile,
    bearer_key,
    hash_key,
    keys_line,
    new_key,
    parse_keys,
    valid_tenant,
)
from connectors.imports.errors import BadKeysFile, KeyRefused


def test_new_keys_are_random_prefixed_and_url_safe() -> None:
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        assert re.fullmatch(r"cbk_[A-Za-z0-9_-]{43}", key)


def test_the_hash_is_sha256_of_the_key() -> None:
    key = "cbk_" + "a" * 43
    assert hash_key(key) == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    assert hash_key(key) != hash_key(key[:-1] + "b")


def test_the_line_to_add_parses_back_to_the_tenant_and_holds_no_key() -> None:
    key = new_key()
    line = keys_line(key, "acme", now=datetime(2026, 12, 4, 16, 55, 12, tzinfo=UTC))
    assert line == f'"{hash_key(key)}" = "acme"  # created 2026-12-04T16:55Z'
    assert key not in line
    keys = parse_keys("[keys]\n" + line + "\n")
    assert keys.tenant_of(key) == "acme"
    assert keys.tenant_of(new_key()) is None


def test_authorize_401_for_unknown_403_for_another_tenant() -> None:
    mine, theirs = new_key(), new_key()
    keys = parse_keys(f'[keys]\n"{hash_key(mine)}" = "acme"\n"{hash_key(theirs)}" = "beta"\n')
    assert keys.authorize(f"Bearer {mine}", "acme") == "acme"
    assert keys.authorize(f"bearer   {mine} ", "acme") == "acme"  # scheme is case-insensitive
    with pytest.raises(KeyRefused) as refused:
        keys.authorize(f"Bearer {theirs}", "acme")
    assert refused.value.status == 403 and "'acme'" in str(refused.value)
    with pytest.raises(KeyRefused) as unknown:
        keys.authorize(f"Bearer {new_key()}", "acme")
    assert unknown.value.status == 401


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "no API key"),
        ("", "no API key"),
        ("   ", "no API key"),
        ("Basic dXNlcjpwYXNz", "'Basic' scheme"),
        ("Token cbk_abcdefghijklmnopq", "'Token' scheme"),
        ("Bearer", "empty or not a cobranca key"),
        ("Bearer short", "empty or not a cobranca key"),
        ("Bearer cbk_has spaces in it", "empty or not a cobranca key"),
        ("Bearer cbk_ção_ção_ção_ção_ção", "empty or not a cobranca key"),
    ],
)
def test_bad_authorization_headers_are_401_and_say_why(header: str | None, says: str) -> None:
    with pytest.raises(KeyRefused, match=re.escape(says)) as refused:
        bearer_key(header)
    assert refused.value.status == 401


def test_bearer_key_takes_the_credentials() -> None:
    key = new_key()
    assert bearer_key(f"Bearer {key}") == key
    assert bearer_key(f"  BEARER {key}\t") == key


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[keys", "not valid TOML"),
        ('[keys]\n"cbk_plainkeyplainkey" = "acme"\n', "never the key itself"),
        ('[keys]\n"sha256:abc" = "acme"\n', "not a key hash"),
        (f'[keys]\n"{hash_key("x")}" = "has space"\n', "is not a tenant id"),
        (f'[keys]\n"{hash_key("x")}" = 3\n', "is not a tenant id"),
        ('[tenants]\nacme = "x"\n', "only a [keys] table"),
    ],
)
def test_a_bad_keys_file_names_the_problem(text: str, says: str) -> None:
    with pytest.raises(BadKeysFile, match=re.escape(says)):
        parse_keys(text, source="keys.toml")


def test_an_empty_file_has_no_keys() -> None:
    assert parse_keys("").tenants_by_hash == {}


def test_the_keys_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    with pytest.raises(BadKeysFile, match="does not exist"):
        KeysFile(path).current()
    first, second = new_key(), new_key()
    path.write_text("[keys]\n" + keys_line(first, "acme") + "\n")
    keys = KeysFile(path)
    assert keys.current().tenant_of(first) == "acme"
    assert keys.current().tenant_of(second) is None
    path.write_text("[keys]\n" + keys_line(second, "acme") + "\n")  # rotation: first revoked
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert keys.current().tenant_of(second) == "acme"
    assert keys.current().tenant_of(first) is None


def test_tenant_ids_follow_the_importers_rule() -> None:
    assert valid_tenant("acme") and valid_tenant("acme-2.sp@x")
    assert not valid_tenant("") and not valid_tenant("a:b") and not valid_tenant("-a")
