"""When a debtor may be contacted: weekly windows per state (UF), in the debtor's local time,
never on a Sunday or a holiday.

Pure: no clock of its own, no I/O. Decisions taken here (docs/adr/0004-regua.md):

- A window is half-open, ``[opens, closes)``: with 08:00-20:00 a message may go at 19:59:59
  and not at 20:00:00, so a slot exactly at the closing minute moves to the next open day.
- Times are the debtor's wall clock: their UF's zone (`streams.domain.brazil.states`). The
  rules are computed per calendar day and converted to UTC with zoneinfo, so a day with a DST
  change (São Paulo had them until 2019) still opens at the right instant: an opening time
  that does not exist that day (a spring-forward gap) opens at the first instant after the gap.
- Sundays and national holidays are never open; that is not configurable. Tenants may add
  the holidays of the debtor's own state (`state_holidays`); both come from
  `streams.domain.brazil.calendar.holiday_calendar`.
- A UF with its own rule uses that rule alone (nothing is inherited from the default): the
  default RJ rule opens on weekdays only.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from streams.domain.brazil.states import zone_for
from streams.domain.errors import NoOpenSlot

MINUTES_PER_DAY: Final = 24 * 60
SUNDAY: Final = 6
#: How far ahead `next_open_slot` looks before deciding the rules never open: more than a year,
#: so a year's holidays cannot hide every window.
SEARCH_DAYS: Final = 400


@dataclass(frozen=True, slots=True)
class Window:
    """One day's opening, ``[opens, closes)`` in minutes after local midnight (closes ≤ 1440)."""

    opens: int
    closes: int

    def __post_init__(self) -> None:
        if not 0 <= self.opens < self.closes <= MINUTES_PER_DAY:
            raise ValueError(
                f"a window opens before it closes, within one day: got "
                f"{format_minutes(self.opens)}-{format_minutes(self.closes)}"
            )

    def __str__(self) -> str:
        return f"{format_minutes(self.opens)}-{format_minutes(self.closes)}"


@dataclass(frozen=True, slots=True)
class WeeklyWindows:
    """The windows of one week, Monday to Saturday; Sunday never opens."""

    weekdays: Window | None
    """Monday to Friday."""
    saturday: Window | None = None

    def on(self, day: date) -> Window | None:
        weekday = day.weekday()
        if weekday == SUNDAY:
            return None
        return self.saturday if weekday == 5 else self.weekdays

    @property
    def ever_open(self) -> bool:
        return self.weekdays is not None or self.saturday is not None


#: SP and most states: weekdays 08:00-20:00, Saturday 08:00-14:00.
DEFAULT_WINDOWS: Final = WeeklyWindows(Window(8 * 60, 20 * 60), Window(8 * 60, 14 * 60))
#: RJ: weekdays 09:00-19:00.
RJ_WINDOWS: Final = WeeklyWindows(Window(9 * 60, 19 * 60))


@dataclass(frozen=True, slots=True)
class ContactRules:
    """A tenant's contact windows: a default week, and UFs with a week of their own."""

    default: WeeklyWindows = DEFAULT_WINDOWS
    by_uf: Mapping[str, WeeklyWindows] = field(
        default_factory=lambda: MappingProxyType({"RJ": RJ_WINDOWS})
    )
    state_holidays: bool = False
    """Also keep the debtor's state holidays closed, besides the national ones."""

    def week_for(self, uf: str) -> WeeklyWindows:
        return self.by_uf.get(uf, self.default)


def next_open_slot(
    at: datetime, uf: str, rules: ContactRules, holidays: Container[date]
) -> datetime:
    """The first instant at or after `at` when a debtor in `uf` may be contacted, in UTC.

    `at` itself when it is inside a window. `holidays` holds the local dates that never open
    (see `streams.domain.brazil.calendar.holiday_calendar`).
    """
    if at.tzinfo is None:
        raise ValueError(f"next_open_slot needs an aware datetime, got {at.isoformat()}")
    at = at.astimezone(UTC)
    zone = zone_for(uf)
    week = rules.week_for(uf)
    start_day = at.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        day = start_day + timedelta(days=offset)
        window = week.on(day)
        if window is None or day in holidays:
            continue
        closes = local_instant(day, window.closes, zone)
        if at < closes:
            return max(at, local_instant(day, window.opens, zone))
    raise NoOpenSlot(f"the contact rules for {uf} open on no day in the {SEARCH_DAYS} after {at}")


def is_open(at: datetime, uf: str, rules: ContactRules, holidays: Container[date]) -> bool:
    return next_open_slot(at, uf, rules, holidays) == at.astimezone(UTC)


def local_instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Local wall-clock `minutes` after midnight of `day`, as a UTC instant.

    1440 is the next midnight. A wall time skipped by a DST change maps, with zoneinfo's
    fold=0, to the offset before the change: the instant right after the gap.
    """
    if minutes == MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_minutes(text: str) -> int:
    """``"08:30"`` → 510; ``"24:00"`` → 1440. Raises ValueError with what was expected."""
    hours, sep, mins = text.strip().partition(":")
    if not (sep and hours.isdigit() and mins.isdigit() and len(mins) == 2 and len(hours) <= 2):
        raise ValueError(f'{text!r} is not a time of day; write HH:MM, e.g. "08:00"')
    value = int(hours) * 60 + int(mins)
    if int(mins) >= 60 or value > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value
