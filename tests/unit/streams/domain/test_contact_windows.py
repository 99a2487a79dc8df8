"""Contact windows: local time per UF, Saturdays, closing minutes, holidays, DST, New Year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.brazil.calendar import holiday_calendar
from streams.domain.brazil.states import UF_ZONES, zone_for
from streams.domain.contact_windows import (
    ContactRules,
    WeeklyWindows,
    Window,
    is_open,
    local_instant,
    next_open_slot,
    parse_minutes,
)
from streams.domain.errors import NoOpenSlot

SP = ZoneInfo("America/Sao_Paulo")
RULES = ContactRules()
NO_HOLIDAYS: frozenset[date] = frozenset()


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def slot(at: datetime, uf: str = "SP", holidays: frozenset[date] = NO_HOLIDAYS) -> datetime:
    return next_open_slot(at, uf, RULES, holidays)


def test_inside_the_window_is_now_in_utc() -> None:
    at = sp(2026, 11, 23, 10, 15)  # Monday
    assert slot(at) == at
    assert slot(at).tzinfo is UTC


def test_before_opening_waits_for_eight() -> None:
    assert slot(sp(2026, 11, 23, 7, 59)) == sp(2026, 11, 23, 8, 0)


def test_the_closing_minute_is_closed_and_the_one_before_is_open() -> None:
    assert slot(sp(2026, 11, 23, 19, 59, 59)) == sp(2026, 11, 23, 19, 59, 59)
    assert slot(sp(2026, 11, 23, 20, 0)) == sp(2026, 11, 24, 8, 0)


def test_friday_night_goes_to_saturday_morning_and_saturday_closes_at_two() -> None:
    assert slot(sp(2026, 11, 27, 20, 30)) == sp(2026, 11, 28, 8, 0)
    assert slot(sp(2026, 11, 28, 13, 59)) == sp(2026, 11, 28, 13, 59)
    assert slot(sp(2026, 11, 28, 14, 0)) == sp(2026, 11, 30, 8, 0)  # Sunday skipped


def test_sunday_never_opens() -> None:
    assert slot(sp(2026, 11, 29, 11, 0)) == sp(2026, 11, 30, 8, 0)


def test_rio_opens_at_nine_closes_at_seven_and_not_on_saturday() -> None:
    assert slot(sp(2026, 11, 23, 8, 30), "RJ") == sp(2026, 11, 23, 9, 0)
    assert slot(sp(2026, 11, 23, 19, 0), "RJ") == sp(2026, 11, 24, 9, 0)
    assert slot(sp(2026, 11, 28, 10, 0), "RJ") == sp(2026, 11, 30, 9, 0)


def test_national_holiday_is_skipped() -> None:
    holidays = holiday_calendar("SP", False)
    # 20 November 2026 (Friday) is Zumbi and Black Awareness Day, national since 2024.
    assert slot(sp(2026, 11, 20, 10, 0), holidays=holidays) == sp(2026, 11, 21, 8, 0)  # type: ignore[arg-type]


def test_across_new_year() -> None:
    holidays = holiday_calendar("SP", False)
    # Thursday 31 Dec after closing -> 1 Jan (Friday) is a holiday -> Saturday 2 Jan.
    got = next_open_slot(sp(2026, 12, 31, 20, 0), "SP", RULES, holidays)
    assert got == sp(2027, 1, 2, 8, 0)
    # Christmas Eve night: Christmas (Friday) closed, Saturday 26 opens.
    assert next_open_slot(sp(2026, 12, 24, 21, 0), "SP", RULES, holidays) == sp(2026, 12, 26, 8, 0)


def test_state_holidays_only_when_asked() -> None:
    july_9 = sp(2026, 7, 9, 10, 0)  # Thursday: São Paulo's Constitutionalist Revolution
    assert next_open_slot(july_9, "SP", RULES, holiday_calendar("SP", False)) == july_9
    assert next_open_slot(july_9, "SP", RULES, holiday_calendar("SP", True)) == sp(2026, 7, 10, 8)
    assert date(2026, 7, 9) not in holiday_calendar("RJ", True)


def test_the_window_is_the_debtors_local_time() -> None:
    # 08:30 in São Paulo is 07:30 in Manaus: open for one, not yet for the other.
    at = sp(2026, 11, 23, 8, 30)
    assert slot(at, "SP") == at
    assert slot(at, "AM") == datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("America/Manaus"))
    assert slot(at, "AM") == sp(2026, 11, 23, 9, 0)


def test_dst_days_use_each_days_own_offset() -> None:
    # São Paulo kept DST until 2019: in December 2018 it was UTC-2.
    assert slot(datetime(2018, 12, 3, 9, 59, tzinfo=UTC)) == datetime(
        2018, 12, 3, 10, 0, tzinfo=UTC
    )
    # Fall-back night (Saturday 16 Feb 2019): 23:00-24:00 happened twice. A window to 24:00
    # closes at the second midnight, 03:00 UTC.
    late = ContactRules(WeeklyWindows(None, Window(20 * 60, 24 * 60)), {})
    first_2330 = datetime(2019, 2, 17, 1, 30, tzinfo=UTC)
    second_2330 = datetime(2019, 2, 17, 2, 30, tzinfo=UTC)
    assert next_open_slot(first_2330, "SP", late, NO_HOLIDAYS) == first_2330
    assert next_open_slot(second_2330, "SP", late, NO_HOLIDAYS) == second_2330
    assert next_open_slot(datetime(2019, 2, 17, 3, 0, tzinfo=UTC), "SP", late, NO_HOLIDAYS) == (
        datetime(2019, 2, 23, 23, 0, tzinfo=UTC)
    )


def test_a_wall_time_skipped_by_dst_opens_right_after_the_gap() -> None:
    # 4 Nov 2018: São Paulo clocks jumped from 00:00 to 01:00.
    assert local_instant(date(2018, 11, 4), 0, SP) == datetime(2018, 11, 4, 3, 0, tzinfo=UTC)
    assert local_instant(date(2018, 11, 4), 0, SP).astimezone(SP).hour == 1


def test_rules_that_never_open_raise() -> None:
    closed = ContactRules(WeeklyWindows(None, None), {})
    with pytest.raises(NoOpenSlot, match="open on no day"):
        next_open_slot(sp(2026, 11, 23, 10, 0), "SP", closed, NO_HOLIDAYS)


def test_naive_times_and_unknown_ufs_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_open_slot(datetime(2026, 11, 23, 10, 0), "SP", RULES, NO_HOLIDAYS)
    with pytest.raises(ValueError, match="unknown UF 'XX'"):
        zone_for("XX")


def test_window_bounds_and_time_parsing() -> None:
    with pytest.raises(ValueError, match="opens before it closes"):
        Window(20 * 60, 8 * 60)
    assert parse_minutes("24:00") == 1440
    assert parse_minutes(" 8:05 ") == 485
    for bad in ("8h", "25:00", "12:60", "12:5", "24:01"):
        with pytest.raises(ValueError):
            parse_minutes(bad)


# --- properties ------------------------------------------------------------------------------

windows = (
    st.tuples(st.integers(0, 1440), st.integers(0, 1440))
    .filter(lambda t: t[0] != t[1])
    .map(lambda t: Window(min(t), max(t)))
)
optional_windows = st.none() | windows
weeks = st.builds(WeeklyWindows, optional_windows, optional_windows).filter(lambda w: w.ever_open)
instants = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(at=instants, uf=st.sampled_from(sorted(UF_ZONES)), week=weeks, state=st.booleans())
def test_next_open_slot_is_never_before_at_and_always_inside_a_window(
    at: datetime, uf: str, week: WeeklyWindows, state: bool
) -> None:
    rules = ContactRules(week, {}, state)
    holidays = holiday_calendar(uf, state)
    got = next_open_slot(at, uf, rules, holidays)

    assert got >= at
    local = got.astimezone(zone_for(uf))
    window = week.on(local.date())
    assert local.weekday() != 6
    assert local.date() not in holidays
    assert window is not None
    minute = local.hour * 60 + local.minute
    assert window.opens <= minute < window.closes
    assert is_open(got, uf, rules, holidays)
    # Nothing earlier was open: just before the slot it is closed, unless the slot is `at`.
    if got > at:
        assert not is_open(got - timedelta(microseconds=1), uf, rules, holidays)
