"""X-Webhook-Hmac: the shared test vector verifies, any change to body, key or signature fails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.waha.errors import InvalidSignature
from connectors.waha.signatures import (
    ALGORITHM_HEADER,
    SIGNATURE_HEADER,
    check_signature,
    sign_body,
    verify_signature,
)
from tests.unit.waha.shared_fixtures import fixture_json


def _vector() -> tuple[bytes, str, dict[str, str]]:
    vector = fixture_json("support/hmac_vector.json")
    return vector["raw_body"].encode(), vector["key"], dict(vector["headers"])


def test_the_shared_vector_verifies() -> None:
    body, key, headers = _vector()
    assert headers[ALGORITHM_HEADER] == "sha512"
    assert sign_body(key, body) == headers[SIGNATURE_HEADER]
    assert verify_signature(key, body, headers)
    assert verify_signature(key.encode(), body, headers)
    check_signature(key, body, headers)


@given(st.data())
def test_changing_any_one_byte_of_the_body_fails(data: st.DataObject) -> None:
    body, key, headers = _vector()
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    delta = data.draw(st.integers(1, 255), label="delta")
    changed = bytearray(body)
    changed[index] = (changed[index] + delta) % 256
    assert not verify_signature(key, bytes(changed), headers)


def test_one_byte_appended_or_removed_fails() -> None:
    body, key, headers = _vector()
    assert not verify_signature(key, body + b" ", headers)
    assert not verify_signature(key, body[:-1], headers)


def test_a_re_serialised_body_does_not_verify() -> None:
    body, key, headers = _vector()
    assert not verify_signature(key, body.replace(b'":"', b'": "'), headers)


def test_another_key_fails() -> None:
    body, key, headers = _vector()
    assert not verify_signature(key + "x", body, headers)


def test_header_names_are_case_insensitive_and_hex_case_does_not_matter() -> None:
    body, key, headers = _vector()
    lowered = {name.lower(): value.upper() for name, value in headers.items()}
    assert verify_signature(key, body, lowered)


def test_the_algorithm_header_may_be_absent() -> None:
    body, key, headers = _vector()
    assert verify_signature(key, body, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no X-Webhook-Hmac header"),
        ({SIGNATURE_HEADER: "  "}, "no X-Webhook-Hmac header"),
        ({SIGNATURE_HEADER: "00" * 64}, "does not match the body"),
        ({SIGNATURE_HEADER: "é" * 128}, "does not match the body"),
        ({SIGNATURE_HEADER: "VALID", ALGORITHM_HEADER: "sha256"}, "only 'sha512' is supported"),
    ],
)
def test_rejections_say_which_check_failed(headers: dict[str, str], reason: str) -> None:
    body, key, vector_headers = _vector()
    headers = {
        name: vector_headers[SIGNATURE_HEADER] if value == "VALID" else value
        for name, value in headers.items()
    }
    with pytest.raises(InvalidSignature) as caught:
        check_signature(key, body, headers)
    assert reason in caught.value.reason
    assert "hmac" in str(caught.value)
    assert not verify_signature(key, body, headers)
