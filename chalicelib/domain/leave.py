"""Leave periods (a member away for a while): reading and writing their bounds.

A period is [start, end) in epoch seconds, as every instant in the domain. People write
them as days of the community's calendar, in Asia/Shanghai time:

- a date, "2026-12-01": as `from`, 00:00 of that day; as `to`, the day is included, so
  the period ends at 00:00 of the next day (from 2026-12-01 to 2026-12-10 is ten days);
- a date and time, "2026-12-01T08:00:00+08:00" (any offset, or "Z"; without an offset
  it is Asia/Shanghai time): that instant. As `to` it is the first moment the member is
  back;
- a number: epoch seconds (what the export writes only when neither form above gives
  back exactly the same instant).

Writing picks the form that reads back to the same instant: dates for whole days in
Asia/Shanghai, else ISO date-times with +08:00.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LEAVE_TIMEZONE = "Asia/Shanghai"
ZONE = ZoneInfo(LEAVE_TIMEZONE)
_DAY = timedelta(days=1)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

Period = tuple[float, float]


class LeaveError(ValueError):
    """A leave period that cannot be read, or that ends before it starts."""


def parse_bound(value: Any, *, end: bool) -> float:
    """One bound of a period as epoch seconds; `end`: it is the period's `to`."""
    if isinstance(value, bool):
        raise LeaveError(f"{value!r} is not a date")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=ZONE)
        return moment.timestamp()
    if isinstance(value, date):
        day = value + _DAY if end else value
        return datetime.combine(day, time(), ZONE).timestamp()
    if isinstance(value, str):
        text = value.strip()
        if _DATE.match(text):
            try:
                return parse_bound(date.fromisoformat(text), end=end)
            except ValueError:
                raise LeaveError(f"{text!r} is not a date") from None
        if _NUMBER.match(text):
            return float(text)
        try:
            return parse_bound(datetime.fromisoformat(text), end=end)
        except ValueError:
            pass
    raise LeaveError(f"{value!r} is not a date (YYYY-MM-DD) or a date and time "
                     f"(YYYY-MM-DDTHH:MM+08:00)")


def parse_period(start: Any, end: Any) -> Period:
    """[start, end) from a `from` and a `to` (see the module docstring)."""
    first, last = parse_bound(start, end=False), parse_bound(end, end=True)
    if last <= first:
        same = last == first and parse_bound(end, end=False) == last      # two instants, not a day
        raise LeaveError(f"'to' {_shown(end)} is {'the same instant as' if same else 'before'} "
                         f"'from' {_shown(start)}")
    return first, last


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value).strip()


def bound_to_plain(instant: float, *, end: bool) -> str | float:
    """The bound as people write it, reading back (parse_bound) to exactly `instant`."""
    try:
        moment = datetime.fromtimestamp(instant, ZONE)
    except (OverflowError, OSError, ValueError):
        return instant
    candidates = []
    if moment.time() == time():
        candidates.append(((moment - _DAY) if end else moment).date().isoformat())
    candidates.append(moment.isoformat())
    for text in candidates:
        if parse_bound(text, end=end) == instant:
            return text
    return instant


def period_to_plain(period: Period) -> dict[str, str | float]:
    return {"from": bound_to_plain(period[0], end=False), "to": bound_to_plain(period[1], end=True)}


def period_from_plain(value: Any) -> Period:
    """A period from its plain shape: {"from": ..., "to": ...} (or a [from, to] pair)."""
    if isinstance(value, dict):
        missing = [key for key in ("from", "to") if value.get(key) in (None, "")]
        if missing:
            raise LeaveError(f"a leave period needs 'from' and 'to' (no {' or '.join(map(repr, missing))})")
        return parse_period(value["from"], value["to"])
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return parse_period(*value)
    raise LeaveError(f"a leave period is from: and to:, not {value!r}")


def period_text(period: Period) -> str:
    """FROM/TO, the form of one period in a CSV cell."""
    plain = period_to_plain(period)
    return f"{plain['from']}/{plain['to']}"


def describe(period: Period) -> str:
    """For people: "2026-12-01 – 2026-12-10" (both days included)."""
    plain = period_to_plain(period)
    return f"{plain['from']} – {plain['to']}"


def add(periods: Iterable[Period], new: Period) -> tuple[Period, ...]:
    """`periods` with `new` added: sorted, overlapping or touching periods merged."""
    merged: list[list[float]] = []
    for start, end in sorted([*periods, new]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def remove(periods: Iterable[Period], gone: Period) -> tuple[Period, ...]:
    """`periods` without the time in `gone` (a period partly inside it is shortened)."""
    kept: list[Period] = []
    for start, end in periods:
        if start < gone[0]:
            kept.append((start, min(end, gone[0])))
        if end > gone[1]:
            kept.append((max(start, gone[1]), end))
    return tuple(kept)
