"""The demo runs the régua on a simulated clock only when its contact windows are closed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from streams.ops.demo import demo_clock_start

SP = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # Sunday evening in São Paulo (already Monday in UTC): Monday noon.
        (datetime(2026, 12, 6, 21, 30, tzinfo=SP), datetime(2026, 12, 7, 12, 0, tzinfo=SP)),
        # Christmas is a Friday: Saturday noon.
        (datetime(2026, 12, 25, 10, 0, tzinfo=SP), datetime(2026, 12, 26, 12, 0, tzinfo=SP)),
        # Saturday 26/12, then Sunday 27/12: Monday 28/12.
        (datetime(2026, 12, 27, 8, 0, tzinfo=SP), datetime(2026, 12, 28, 12, 0, tzinfo=SP)),
    ],
)
def test_closed_days_start_the_clock_at_noon_of_the_next_open_day(
    now: datetime, start: datetime
) -> None:
    assert demo_clock_start(now.astimezone(UTC)) == start


def test_an_open_day_keeps_the_real_clock() -> None:
    assert demo_clock_start(datetime(2026, 12, 7, 23, 50, tzinfo=SP)) is None
    assert demo_clock_start(datetime(2026, 12, 5, 0, 5, tzinfo=SP)) is None
