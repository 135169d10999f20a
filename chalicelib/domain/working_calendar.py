"""A working calendar: limits counted in working hours or working days on a local calendar.

Chinese grid and 12345 platforms set limits such as "acknowledge within 1 working day"
(限时 in 工作日): the clock runs only inside the office's working periods, on working days
of the local calendar. A working day is a day of the working week that is not a public
holiday, or a weekend day that is worked in exchange for one (调休上班).

Instants are epoch seconds (floats), as everywhere in the domain. The calendar knows
nothing of the time scale used in demos and tests; that is applied by its caller.

Counting rules (the same for every unit that counts working time):

* Working time is the union of the working periods `[start, end)` of every working day, in
  the calendar's time zone. A period's start is inside working time, its end is not.
* `add(start, amount, unit)` returns the **first working instant** at which `amount` of
  working time has passed since `start`. So a deadline always falls while the office is
  open: a limit that runs out exactly at noon is due at 14:30, when the afternoon period
  opens; one that runs out at 18:00 is due at 08:30 on the next working day. Between the
  two nothing can happen to it, since the clock stands still outside working time.
  So `add(t, 0, unit)` is `t` itself inside working time, and otherwise the next opening.
* `"working_days"`: `n` working days after `start` is the same local time of day on the
  n-th working day after it, when `start` is inside working time. Outside working time
  (night, lunch break, weekend, holiday) counting starts when the next working period
  opens: a case received on Friday at 20:00 with 1 working day is due on Tuesday at
  08:30 (Monday 08:30 plus one working day). With the same periods every working day, this
  is the same as adding `n` times a working day's hours (7 h with the default hours).
* `elapsed(start, end, unit)` is the working time between two instants in the unit's
  measure; it is the inverse of `add`: `elapsed(t, add(t, x, u), u) == x`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CalendarError(ValueError):
    pass


Unit = Literal["wall", "working_hours", "working_days"]
UNITS: tuple[str, ...] = ("wall", "working_hours", "working_days")

MONDAY_TO_FRIDAY = frozenset({1, 2, 3, 4, 5})          # ISO weekdays: 1 = Monday ... 7 = Sunday
DEFAULT_HOURS = (("08:30", "12:00"), ("14:30", "18:00"))

_KEYS = frozenset({"timezone", "workdays", "hours", "holidays", "working_weekend_days"})
_DESCRIPTIVE_KEYS = frozenset({"id", "name", "note", "version"})   # for the people who edit the file
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingCalendar:
    """When a community's office is open: its week, daily working periods, holidays and
    swapped working days, in its time zone. Built from a data file with `from_dict`."""

    timezone: str = "Asia/Shanghai"
    workdays: frozenset[int] = MONDAY_TO_FRIDAY               # ISO weekdays of the working week
    hours: tuple[tuple[str, str], ...] = DEFAULT_HOURS        # working periods of a working day, "HH:MM"
    holidays: frozenset[date] = frozenset()                   # days off, whatever the weekday
    working_weekend_days: frozenset[date] = frozenset()       # days off by the week that are worked (调休)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _periods: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_seconds: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__   # frozen: normalise once, here
        set_(self, "_zone", _zone(self.timezone))
        set_(self, "workdays", _workdays(self.workdays))
        periods = _parse_hours(self.hours)
        set_(self, "_periods", periods)
        set_(self, "hours", tuple((_hhmm(a), _hhmm(b)) for a, b in periods))
        set_(self, "_day_seconds", float(sum(b - a for a, b in periods) * 60))
        set_(self, "holidays", _dates(self.holidays, "holidays"))
        set_(self, "working_weekend_days", _dates(self.working_weekend_days, "working_weekend_days"))
        both = sorted(self.holidays & self.working_weekend_days)
        if both:
            raise CalendarError(f"{_days(both)} listed both as a holiday and as a working weekend day")
        ordinary = sorted(d for d in self.working_weekend_days if d.isoweekday() in self.workdays)
        if ordinary:
            raise CalendarError(f"working_weekend_days {_days(ordinary)}: already working days of the "
                                "week; list only days off that are worked (调休)")

    # -- the data file --------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        """A calendar from its data file. Every key is optional (the defaults apply).

        `holidays` and `working_weekend_days` are each a list of days, or an object whose
        keys name an occasion ("2026 春节") and whose values are lists of days. A day is
        "YYYY-MM-DD", or a range "YYYY-MM-DD/YYYY-MM-DD" with both ends included.
        `id`, `name`, `note` and `version` are for the people who edit the file.
        """
        if not isinstance(data, Mapping):
            raise CalendarError("a calendar must be a JSON object")
        unknown = sorted(set(data) - _KEYS - _DESCRIPTIVE_KEYS)
        if unknown:
            raise CalendarError(f"unknown key(s) {', '.join(map(repr, unknown))}; "
                                f"expected {', '.join(sorted(_KEYS | _DESCRIPTIVE_KEYS))}")
        kwargs: dict[str, Any] = {}
        if "timezone" in data:
            kwargs["timezone"] = data["timezone"]
        for key in ("workdays", "hours"):          # checked and normalised by the constructor
            if key in data:
                kwargs[key] = data[key]
        for key in ("holidays", "working_weekend_days"):
            if key in data:
                kwargs[key] = _parse_days(data[key], key)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The canonical plain form: `from_dict(c.to_dict()) == c`."""
        return {
            "timezone": self.timezone,
            "workdays": sorted(self.workdays),
            "hours": [list(p) for p in self.hours],
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "working_weekend_days": [d.isoformat() for d in sorted(self.working_weekend_days)],
        }

    # -- questions --------------------------------------------------------------------------

    @property
    def working_day_seconds(self) -> float:
        """The working time of one working day (7 h with the default hours)."""
        return self._day_seconds

    def is_working_day(self, d: date) -> bool:
        if d in self.working_weekend_days:
            return True
        return d.isoweekday() in self.workdays and d not in self.holidays

    def is_working_time(self, at: float) -> bool:
        """Whether the office is open at `at` (a period's start is inside, its end is not)."""
        _finite(at, "at")
        return any(a <= at < b for a, b in self._intervals(at, days=1))

    def add(self, start: float, amount: float, unit: Unit) -> float:
        """The instant `amount` of `unit` after `start` (see the module's counting rules).

        `"wall"`: seconds of clock time; `"working_hours"`: hours of working time;
        `"working_days"`: a whole number of working days.
        """
        _finite(start, "start")
        _check_unit(unit)
        _finite(amount, "amount")
        if amount < 0:
            raise CalendarError(f"amount must not be negative, got {amount}")
        if unit == "wall":
            return start + amount
        if unit == "working_hours":
            return self._add_working_seconds(start, amount * 3600.0)
        if amount != int(amount):
            raise CalendarError(f"working_days must be a whole number, got {amount}; "
                                "use working_hours for part of a day")
        return self._add_working_days(start, int(amount))

    def elapsed(self, start: float, end: float, unit: Unit) -> float:
        """The time between two instants in `unit`: seconds for `"wall"`, hours of working
        time for `"working_hours"`, and for `"working_days"` the working time divided by
        a working day's hours (a fraction). Negative when `end` is before `start`."""
        _finite(start, "start")
        _finite(end, "end")
        _check_unit(unit)
        if unit == "wall":
            return end - start
        if end < start:
            return -self.elapsed(end, start, unit)
        seconds = 0.0
        for a, b in self._intervals(start):
            if a >= end:
                break
            seconds += max(0.0, min(b, end) - max(a, start))
        return seconds / 3600.0 if unit == "working_hours" else seconds / self._day_seconds

    # -- counting -------------------------------------------------------------------------

    def _add_working_seconds(self, start: float, seconds: float) -> float:
        for a, b in self._intervals(start):
            here = max(a, start)
            if here >= b:
                continue
            if seconds < b - here:       # strictly: used up exactly at `b` means due at the next opening
                return here + seconds
            seconds -= b - here
        raise AssertionError("unreachable: working periods never run out")

    def _add_working_days(self, start: float, days: int) -> float:
        opening = self._add_working_seconds(start, 0.0)       # start, or the next opening after it
        local = datetime.fromtimestamp(opening, self._zone)
        day = local.date()
        while days:
            day += _DAY
            if self.is_working_day(day):
                days -= 1
        return datetime.combine(day, local.time(), tzinfo=self._zone).timestamp()

    def _intervals(self, start: float, days: int | None = None) -> Iterator[tuple[float, float]]:
        """The working periods, as (opens, closes) instants, of the local day of `start` and
        of the days after it (all of them, or `days` of them), in order."""
        day = datetime.fromtimestamp(start, self._zone).date()
        while days is None or days > 0:
            if self.is_working_day(day):
                for opens, closes in self._periods:
                    yield self._instant(day, opens), self._instant(day, closes)
            day += _DAY
            days = None if days is None else days - 1

    def _instant(self, day: date, minutes: int) -> float:
        """Local wall time `minutes` after midnight on `day` (24:00 is the next midnight)."""
        if minutes == 24 * 60:
            day, minutes = day + _DAY, 0
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self._zone).timestamp()


# -- validation -------------------------------------------------------------------------------

def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise CalendarError(f"timezone must be an IANA name such as 'Asia/Shanghai', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown timezone {name!r}") from None


def _workdays(values: Any) -> frozenset[int]:
    days = _list(values, "workdays")
    if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 7 for v in days):
        raise CalendarError(f"workdays are ISO weekdays 1 (Monday) to 7 (Sunday), got {sorted(days, key=str)}")
    if not days:
        raise CalendarError("workdays is empty: a calendar needs at least one working day a week")
    return frozenset(days)


def _parse_hours(periods: Any) -> tuple[tuple[int, int], ...]:
    """The working periods as sorted (start, end) minutes after midnight, checked."""
    parsed = []
    for period in _list(periods, "hours"):
        if not isinstance(period, (list, tuple)) or len(period) != 2:
            raise CalendarError(f'hours: a working period is a pair ("HH:MM", "HH:MM"), got {period!r}')
        start, end = _minutes(period[0], end=False), _minutes(period[1], end=True)
        if start >= end:
            raise CalendarError(f"hours: period {period[0]}–{period[1]} ends before it starts")
        parsed.append((start, end))
    if not parsed:
        raise CalendarError("hours is empty: a working day needs at least one working period")
    parsed.sort()
    for (a1, b1), (a2, b2) in zip(parsed, parsed[1:], strict=False):
        if a2 < b1:
            raise CalendarError(f"hours: periods {_hhmm(a1)}–{_hhmm(b1)} and {_hhmm(a2)}–{_hhmm(b2)} overlap")
    return tuple(parsed)


def _minutes(text: Any, end: bool) -> int:
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match:
        h, m = int(match[1]), int(match[2])
        if (h < 24 and m < 60) or (end and h == 24 and m == 0):
            return h * 60 + m
    raise CalendarError(f"hours: {text!r} is not a time of day HH:MM (00:00 to 23:59, or 24:00 as an end)")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _dates(values: Any, key: str) -> frozenset[date]:
    days = _list(values, key)
    for d in days:
        if isinstance(d, datetime) or not isinstance(d, date):
            raise CalendarError(f"{key}: {d!r} is not a date")
    return frozenset(days)


def _parse_days(value: Any, key: str) -> frozenset[date]:
    if isinstance(value, Mapping):
        entries = [(f"{key}[{name!r}]", item) for name, items in value.items() for item in _list(items, key)]
    else:
        entries = [(key, item) for item in _list(value, key)]
    days: set[date] = set()
    for where, item in entries:
        first, sep, last = item.partition("/") if isinstance(item, str) else ("", "", "")
        a = _iso(first)
        b = _iso(last) if sep else a                # a single day is the range day/day
        if a is None or b is None:
            raise CalendarError(f"{where}: {item!r} is not a date 'YYYY-MM-DD' or a range 'YYYY-MM-DD/YYYY-MM-DD'")
        if b < a:
            raise CalendarError(f"{where}: range {item} ends before it starts")
        days.update(date.fromordinal(n) for n in range(a.toordinal(), b.toordinal() + 1))
    return frozenset(days)


def _iso(text: str) -> date | None:
    """A date written YYYY-MM-DD, or None."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _list(value: Any, key: str) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise CalendarError(f"{key} must be a list, got {value!r}")
    return list(value)


def _days(days: Iterable[date]) -> str:
    return ", ".join(d.isoformat() for d in days)


def _finite(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CalendarError(f"{name} must be a finite number, got {value!r}")


def _check_unit(unit: Any) -> None:
    if unit not in UNITS:
        raise CalendarError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
