"""The régua's time source: the real clock, or a simulated one that starts where it is told."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

from streams.runtime.clock import now_source


def test_a_simulated_clock_starts_at_its_instant_and_advances_in_real_time() -> None:
    start = datetime(2026, 12, 7, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    now = now_source(start)
    first = now()
    time.sleep(0.05)
    second = now()
    assert first.tzinfo is UTC
    assert timedelta(0) <= first - start < timedelta(seconds=1)
    assert timedelta(seconds=0.05) <= second - first < timedelta(seconds=1)


def test_without_a_start_it_is_the_real_clock() -> None:
    assert abs(now_source()() - datetime.now(UTC)) < timedelta(seconds=1)
