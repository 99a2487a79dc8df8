"""Chat keys: an E.164 phone and every WhatsApp spelling of its chat share one key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.brazil.ddd import DDD_UF
from streams.domain.chat_keys import chat_key, phone_of_key, record_key


@pytest.mark.parametrize(
    "spelling",
    [
        "+5531987654321",
        "+55 31 98765-4321",
        "5531987654321@c.us",
        "553187654321@c.us",  # DDD >= 31: WhatsApp's id lacks the 9th digit
        "553187654321@s.whatsapp.net",
        "5531987654321@s.whatsapp.net",
        "553187654321:12@s.whatsapp.net",  # a device suffix
    ],
)
def test_every_spelling_of_a_mobile_has_the_e164_key(spelling: str) -> None:
    assert chat_key(spelling) == "5531987654321"


def test_sao_paulo_ids_keep_their_9th_digit() -> None:
    assert chat_key("5511987654321@c.us") == chat_key("+5511987654321") == "5511987654321"


def test_landlines_never_get_a_9th_digit() -> None:
    assert chat_key("553133334444@c.us") == chat_key("+553133334444") == "553133334444"


@pytest.mark.parametrize(
    "chat",
    ["120363025246125486@g.us", "123456789012345@lid", "status@broadcast", "abc@c.us"],
)
def test_chats_that_are_not_phones_are_their_own_key(chat: str) -> None:
    assert chat_key(chat) == chat
    assert phone_of_key(chat_key(chat)) is None


def test_foreign_numbers_are_their_digits() -> None:
    assert chat_key("14155550123@c.us") == chat_key("+14155550123") == "14155550123"


def test_the_record_key_is_tenant_and_chat_key() -> None:
    assert record_key("acme", "553187654321@c.us") == b"acme:5531987654321"
    assert record_key("acme", "+5531987654321") == b"acme:5531987654321"


mobiles = st.tuples(
    st.sampled_from(sorted(DDD_UF)),
    st.sampled_from("6789"),
    st.from_regex(r"\d{7}", fullmatch=True),
)


@given(mobiles)
def test_any_brazilian_mobile_joins_its_chat_with_or_without_the_9(
    mobile: tuple[str, str, str],
) -> None:
    ddd, first, rest = mobile
    e164 = f"+55{ddd}9{first}{rest}"
    key = chat_key(e164)
    assert key == e164[1:]
    assert chat_key(f"55{ddd}9{first}{rest}@c.us") == key
    assert chat_key(f"55{ddd}{first}{rest}@c.us") == key
    assert chat_key(f"55{ddd}{first}{rest}@s.whatsapp.net") == key
    assert chat_key(key) == key  # idempotent: a key is its own key
    assert phone_of_key(key) == e164
