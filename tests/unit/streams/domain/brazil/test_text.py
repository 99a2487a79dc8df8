"""How refusals show personal values: masked as the logs mask them."""

from __future__ import annotations

from streams.domain.brazil.text import mask_digits


def test_mask_digits_matches_the_log_masking() -> None:
    assert mask_digits("+55 11 98765-4321") == "55119****21"
    assert mask_digits("529.982.247-25") == "52998****25"
    assert mask_digits("123") == "123"
