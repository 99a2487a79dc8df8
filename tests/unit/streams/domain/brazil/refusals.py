"""What the tests of Brazil's rules share: the reason a rule gives for refusing a value."""

from __future__ import annotations

import pytest

from streams.domain.brazil.errors import InvalidValue


def reason_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(InvalidValue) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.reason
