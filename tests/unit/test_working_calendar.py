"""The working calendar: limits in working hours and working days, holidays and 调休.

Instants in the tables are local wall times with their weekday ("Fri 2026-03-06 16:00"),
checked against the date, so a wrong weekday in a table fails loudly instead of testing
the wrong thing. The week of Mon 2026-03-02 has no holidays; LABOUR and NEW_YEAR below
are defined here, not read from the data file.
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import chalicelib
from chalicelib.domain.working_calendar import CalendarError, WorkingCalendar

CALENDARS = Path(chalicelib.__file__).parent / "data" / "calendars"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> frozenset[date]:
    a, b = d(first), d(last)
    return frozenset(date.fromordinal(n) for n in range(a.toordinal(), b.toordinal() + 1))


# Modelled on the 2026 notice: Labour Day 5/1–5/5 off, Saturday 5/9 worked; New Year
# 1/1–1/3 off, Sunday 1/4 worked.
CAL = WorkingCalendar(
    holidays=days("2026-05-01", "2026-05-05") | days("2026-01-01", "2026-01-03"),
    working_weekend_days=frozenset({d("2026-05-09"), d("2026-01-04")}),
)
BERLIN = WorkingCalendar(timezone="Europe/Berlin", hours=(("09:00", "17:00"),))


def at(text: str, tz: ZoneInfo = SHANGHAI) -> float:
    """ "Fri 2026-03-06 16:00" → epoch seconds; the weekday must match the date."""
    weekday, rest = text.split(" ", 1)
    local = datetime.strptime(rest, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    assert local.strftime("%a") == weekday, f"{rest} is a {local:%a}, not a {weekday}"
    return local.timestamp()


def show(t: float, tz: ZoneInfo = SHANGHAI) -> str:
    return datetime.fromtimestamp(t, tz).strftime("%a %Y-%m-%d %H:%M")


def check(got: float, expected: str, tz: ZoneInfo = SHANGHAI) -> None:
    assert show(got, tz) == expected
    assert got == at(expected, tz)        # exactly, not just to the minute


# -- add ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, amount, unit, expected", [
    # a limit that crosses a weekend
    ("Fri 2026-03-06 16:00", 4, "working_hours", "Mon 2026-03-09 10:30"),
    ("Fri 2026-03-06 16:00", 1, "working_days", "Mon 2026-03-09 16:00"),
    ("Fri 2026-03-06 16:00", 3, "working_days", "Wed 2026-03-11 16:00"),
    ("Fri 2026-03-06 11:00", 2, "working_days", "Tue 2026-03-10 11:00"),
    # one that crosses a holiday (Labour Day, Fri 5/1 to Tue 5/5)
    ("Thu 2026-04-30 10:00", 1, "working_days", "Wed 2026-05-06 10:00"),
    ("Thu 2026-04-30 17:00", 2, "working_hours", "Wed 2026-05-06 09:30"),
    ("Wed 2025-12-31 15:00", 2, "working_days", "Mon 2026-01-05 15:00"),
    # a swapped working day: Saturday 5/9 and Sunday 1/4 are worked
    ("Fri 2026-05-08 10:00", 1, "working_days", "Sat 2026-05-09 10:00"),
    ("Fri 2026-05-08 17:00", 2, "working_hours", "Sat 2026-05-09 09:30"),
    ("Sat 2026-05-09 10:00", 1, "working_days", "Mon 2026-05-11 10:00"),
    ("Wed 2025-12-31 15:00", 1, "working_days", "Sun 2026-01-04 15:00"),
    ("Sat 2026-01-03 09:00", 1, "working_hours", "Sun 2026-01-04 09:30"),
    # start outside working hours: counting starts when the next period opens
    ("Mon 2026-03-02 22:00", 1, "working_hours", "Tue 2026-03-03 09:30"),     # night
    ("Tue 2026-03-03 06:00", 1, "working_hours", "Tue 2026-03-03 09:30"),     # early morning
    ("Mon 2026-03-02 13:00", 1, "working_hours", "Mon 2026-03-02 15:30"),     # lunch break
    ("Sat 2026-03-07 11:00", 1, "working_hours", "Mon 2026-03-09 09:30"),     # weekend
    ("Mon 2026-03-02 22:00", 1, "working_days", "Wed 2026-03-04 08:30"),      # night: Tue 08:30 + 1
    ("Mon 2026-03-02 12:30", 1, "working_days", "Tue 2026-03-03 14:30"),      # lunch: Mon 14:30 + 1
    ("Sat 2026-03-07 11:00", 1, "working_days", "Tue 2026-03-10 08:30"),      # weekend: Mon 08:30 + 1
    ("Thu 2026-04-30 19:00", 1, "working_days", "Thu 2026-05-07 08:30"),      # eve of a holiday
    # working days from Friday afternoon and evening
    ("Fri 2026-03-06 14:30", 1, "working_days", "Mon 2026-03-09 14:30"),
    ("Fri 2026-03-06 17:59", 1, "working_days", "Mon 2026-03-09 17:59"),
    ("Fri 2026-03-06 18:00", 1, "working_days", "Tue 2026-03-10 08:30"),
    # working hours across the lunch break
    ("Mon 2026-03-02 11:00", 2, "working_hours", "Mon 2026-03-02 15:30"),
    ("Mon 2026-03-02 11:30", 0.5, "working_hours", "Mon 2026-03-02 14:30"),   # used up at noon: due at 14:30
    ("Mon 2026-03-02 08:30", 3.5, "working_hours", "Mon 2026-03-02 14:30"),
    ("Mon 2026-03-02 14:30", 3.5, "working_hours", "Tue 2026-03-03 08:30"),   # used up at 18:00
    ("Mon 2026-03-02 10:00", 7, "working_hours", "Tue 2026-03-03 10:00"),     # a working day's hours
    ("Mon 2026-03-02 10:00", 0.25, "working_hours", "Mon 2026-03-02 10:15"),
    # zero: the start itself inside working time, else the next opening
    ("Mon 2026-03-02 10:00", 0, "working_hours", "Mon 2026-03-02 10:00"),
    ("Mon 2026-03-02 08:30", 0, "working_hours", "Mon 2026-03-02 08:30"),
    ("Mon 2026-03-02 12:00", 0, "working_hours", "Mon 2026-03-02 14:30"),
    ("Mon 2026-03-02 10:00", 0, "working_days", "Mon 2026-03-02 10:00"),
    ("Sat 2026-03-07 10:00", 0, "working_days", "Mon 2026-03-09 08:30"),
    # wall-clock time ignores the calendar
    ("Thu 2026-04-30 10:00", 86_400, "wall", "Fri 2026-05-01 10:00"),
    ("Sat 2026-03-07 23:30", 3_600, "wall", "Sun 2026-03-08 00:30"),
    ("Mon 2026-03-02 10:00", 0, "wall", "Mon 2026-03-02 10:00"),
])
def test_given_a_start_when_adding_a_limit_then_the_deadline_follows_the_calendar(start, amount, unit, expected):
    check(CAL.add(at(start), amount, unit), expected)


def test_given_a_whole_float_when_adding_working_days_then_it_counts_as_an_integer():
    check(CAL.add(at("Fri 2026-03-06 16:00"), 2.0, "working_days"), "Tue 2026-03-10 16:00")


@pytest.mark.parametrize("start", [
    "Mon 2026-03-02 08:30", "Mon 2026-03-02 11:59", "Mon 2026-03-02 12:00", "Mon 2026-03-02 13:00",
    "Fri 2026-03-06 17:00", "Sat 2026-03-07 10:00", "Thu 2026-04-30 16:00", "Fri 2026-05-08 23:00",
])
@pytest.mark.parametrize("amount, unit", [(0.5, "working_hours"), (3.5, "working_hours"), (9, "working_hours"),
                                          (1, "working_days"), (3, "working_days")])
def test_given_any_start_when_adding_working_time_then_the_deadline_is_inside_working_time(start, amount, unit):
    assert CAL.is_working_time(CAL.add(at(start), amount, unit))


# -- is_working_day / is_working_time --------------------------------------------------------------

@pytest.mark.parametrize("day, working", [
    ("2026-03-02", True),    # Monday
    ("2026-03-06", True),    # Friday
    ("2026-03-07", False),   # Saturday
    ("2026-03-08", False),   # Sunday
    ("2026-05-01", False),   # holiday on a Friday
    ("2026-05-04", False),   # holiday on a Monday
    ("2026-05-02", False),   # holiday on a Saturday
    ("2026-05-09", True),    # worked Saturday (调休)
    ("2026-01-04", True),    # worked Sunday (调休)
    ("2026-05-10", False),   # the Sunday after it is an ordinary Sunday
])
def test_given_a_day_when_asked_then_working_days_follow_the_week_holidays_and_swaps(day, working):
    assert CAL.is_working_day(d(day)) is working


@pytest.mark.parametrize("instant, open_", [
    ("Mon 2026-03-02 08:29", False), ("Mon 2026-03-02 08:30", True), ("Mon 2026-03-02 11:59", True),
    ("Mon 2026-03-02 12:00", False), ("Mon 2026-03-02 14:30", True), ("Mon 2026-03-02 18:00", False),
    ("Sat 2026-03-07 10:00", False), ("Sat 2026-05-09 10:00", True), ("Fri 2026-05-01 10:00", False),
])
def test_given_an_instant_when_asked_then_working_time_is_the_periods_of_working_days(instant, open_):
    assert CAL.is_working_time(at(instant)) is open_


# -- another time zone (Europe/Berlin has DST, unlike Shanghai) ------------------------------------

BERLIN_TZ = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("start, amount, unit, expected", [
    ("Tue 2026-03-03 16:00", 2, "working_hours", "Wed 2026-03-04 10:00"),
    ("Fri 2026-03-27 16:00", 2, "working_hours", "Mon 2026-03-30 10:00"),   # across the switch to summer time
    ("Fri 2026-03-27 10:00", 1, "working_days", "Mon 2026-03-30 10:00"),
    ("Fri 2026-10-23 10:00", 1, "working_days", "Mon 2026-10-26 10:00"),    # across the switch back
    ("Mon 2026-03-02 07:00", 8, "working_hours", "Tue 2026-03-03 09:00"),
])
def test_given_a_berlin_calendar_when_adding_then_local_berlin_hours_apply(start, amount, unit, expected):
    check(BERLIN.add(at(start, BERLIN_TZ), amount, unit), expected, BERLIN_TZ)


def test_given_a_dst_switch_when_a_working_day_passes_then_the_wall_time_is_an_hour_shorter():
    start = at("Fri 2026-03-27 10:00", BERLIN_TZ)
    assert BERLIN.add(start, 1, "working_days") - start == 71 * 3600


def test_given_round_the_clock_hours_when_the_day_loses_an_hour_then_working_hours_are_real_hours():
    always = WorkingCalendar(timezone="Europe/Berlin", workdays=frozenset(range(1, 8)), hours=(("00:00", "24:00"),))
    check(always.add(at("Sat 2026-03-28 12:00", BERLIN_TZ), 24, "working_hours"), "Sun 2026-03-29 13:00", BERLIN_TZ)
    check(always.add(at("Sat 2026-03-28 23:00", BERLIN_TZ), 1, "working_hours"), "Sun 2026-03-29 00:00", BERLIN_TZ)


def test_given_the_same_instant_then_the_calendars_time_zone_decides_whether_it_is_working_time():
    instant = at("Mon 2026-03-02 10:00")                     # 03:00 in Berlin
    assert CAL.is_working_time(instant)
    assert not BERLIN.is_working_time(instant)
    check(BERLIN.add(instant, 1, "working_hours"), "Mon 2026-03-02 10:00", BERLIN_TZ)


# -- elapsed -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, unit, expected", [
    ("Fri 2026-03-06 16:00", "Mon 2026-03-09 10:30", "working_hours", 4.0),
    ("Mon 2026-03-02 07:00", "Mon 2026-03-02 19:00", "working_hours", 7.0),
    ("Mon 2026-03-02 12:00", "Mon 2026-03-02 14:30", "working_hours", 0.0),    # the lunch break
    ("Sat 2026-03-07 00:00", "Mon 2026-03-09 00:00", "working_hours", 0.0),    # a weekend
    ("Thu 2026-04-30 00:00", "Thu 2026-05-07 00:00", "working_hours", 14.0),   # Thu and the swapped Wed only
    ("Fri 2026-05-08 12:00", "Sun 2026-05-10 12:00", "working_hours", 10.5),   # Fri pm + worked Saturday
    ("Mon 2026-03-02 08:30", "Mon 2026-03-02 14:30", "working_days", 0.5),
    ("Mon 2026-03-02 10:00", "Tue 2026-03-03 08:30", "working_days", 5.5 / 7),  # past 70%: yellow
    ("Mon 2026-03-09 10:30", "Fri 2026-03-06 16:00", "working_hours", -4.0),   # end before start
    ("Sat 2026-03-07 10:00", "Sat 2026-03-07 11:30", "wall", 5400.0),
])
def test_given_two_instants_when_elapsed_then_only_working_time_counts(start, end, unit, expected):
    assert CAL.elapsed(at(start), at(end), unit) == pytest.approx(expected)


@pytest.mark.parametrize("calendar, tz", [(CAL, SHANGHAI), (BERLIN, BERLIN_TZ)], ids=["shanghai", "berlin"])
@pytest.mark.parametrize("start", [
    "Mon 2026-03-02 08:30", "Mon 2026-03-02 10:17", "Mon 2026-03-02 12:00", "Fri 2026-03-06 17:45",
    "Sat 2026-03-07 03:00", "Thu 2026-04-30 11:00", "Fri 2026-05-08 20:00", "Fri 2026-03-27 16:30",
])
@pytest.mark.parametrize("hours", [0, 0.25, 1, 3.5, 7, 8, 20.75, 60])
def test_given_a_deadline_from_add_when_elapsed_then_it_is_the_amount_added(calendar, tz, start, hours):
    t = at(start, tz)
    assert calendar.elapsed(t, calendar.add(t, hours, "working_hours"), "working_hours") == pytest.approx(hours)


@pytest.mark.parametrize("start", ["Mon 2026-03-02 10:00", "Fri 2026-03-06 20:00", "Wed 2025-12-31 15:00",
                                   "Thu 2026-04-30 11:00"])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_given_working_days_from_add_when_elapsed_then_it_is_the_number_of_days(start, n):
    t = at(start)
    assert CAL.elapsed(t, CAL.add(t, n, "working_days"), "working_days") == pytest.approx(n)


@pytest.mark.parametrize("start, end", [
    ("Mon 2026-03-02 10:00", "Tue 2026-03-03 15:00"),
    ("Fri 2026-03-06 19:00", "Mon 2026-03-09 09:00"),
    ("Thu 2026-04-30 17:00", "Sat 2026-05-09 08:30"),
])
def test_given_an_end_in_working_time_when_adding_the_elapsed_hours_then_the_end_comes_back(start, end):
    hours = CAL.elapsed(at(start), at(end), "working_hours")
    check(CAL.add(at(start), hours, "working_hours"), end)


# -- the data file ---------------------------------------------------------------------------------------

@pytest.fixture(params=["changmu", "garang"])
def calendar_file(request) -> dict:
    with open(CALENDARS / f"{request.param}.json", encoding="utf-8") as handle:
        return json.load(handle)


def test_given_a_community_calendar_file_then_it_validates_and_keeps_office_hours(calendar_file):
    calendar = WorkingCalendar.from_dict(calendar_file)
    assert calendar.timezone == "Asia/Shanghai"
    assert calendar.workdays == frozenset({1, 2, 3, 4, 5})
    assert calendar.hours == (("08:30", "12:00"), ("14:30", "18:00"))
    assert calendar.holidays and calendar.working_weekend_days
    assert calendar_file["note"]
    assert WorkingCalendar.from_dict(calendar.to_dict()) == calendar


def test_given_an_empty_object_then_the_defaults_apply():
    assert WorkingCalendar.from_dict({}) == WorkingCalendar()
    assert WorkingCalendar().hours == (("08:30", "12:00"), ("14:30", "18:00"))


def test_given_grouped_days_and_ranges_when_loaded_then_they_are_flattened_and_to_dict_is_canonical():
    calendar = WorkingCalendar.from_dict({
        "note": "for the people who edit it",
        "hours": [["14:30", "18:00"], ["08:30", "12:00"]],
        "workdays": [5, 1, 2, 3, 4],
        "holidays": {"劳动节": ["2026-05-01/2026-05-03"], "extra": ["2026-05-05", "2026-05-01"]},
        "working_weekend_days": ["2026-05-09"],
    })
    assert calendar.to_dict() == {
        "timezone": "Asia/Shanghai",
        "workdays": [1, 2, 3, 4, 5],
        "hours": [["08:30", "12:00"], ["14:30", "18:00"]],
        "holidays": ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-05"],
        "working_weekend_days": ["2026-05-09"],
    }
    assert WorkingCalendar.from_dict(calendar.to_dict()) == calendar


def test_given_a_period_ending_at_midnight_then_it_is_accepted():
    late = WorkingCalendar.from_dict({"hours": [["20:00", "24:00"]]})
    check(late.add(at("Mon 2026-03-02 23:00"), 2, "working_hours"), "Tue 2026-03-03 21:00")


# -- validation ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, match", [
    ({"holidays": ["2026-02-30"]}, r"holidays: '2026-02-30' is not a date 'YYYY-MM-DD' or a range"),
    ({"holidays": ["2026/01/01"]}, r"'2026/01/01' is not a date"),
    ({"holidays": ["20260101"]}, r"'20260101' is not a date"),
    ({"holidays": [20260101]}, r"holidays: 20260101 is not a date"),
    ({"holidays": "2026-01-01"}, r"holidays must be a list"),
    ({"holidays": {"春节": ["2026-02-15/2026-02-13"]}}, r"holidays\['春节'\]: range 2026-02-15/2026-02-13 ends before"),
    ({"working_weekend_days": {"x": ["2026-01-04/"]}}, r"'2026-01-04/' is not a date"),
    ({"holidays": ["2026-01-04"], "working_weekend_days": ["2026-01-04"]},
     r"2026-01-04 listed both as a holiday and as a working weekend day"),
    ({"holidays": ["2026-02-13/2026-02-15"], "working_weekend_days": ["2026-02-14"]},
     r"2026-02-14 listed both"),
    ({"working_weekend_days": ["2026-03-03"]}, r"2026-03-03: already working days of the week"),
    ({"hours": [["08:30", "12:00"], ["11:00", "13:00"]]}, r"periods 08:30–12:00 and 11:00–13:00 overlap"),
    ({"hours": [["14:30", "18:00"], ["08:00", "15:00"]]}, r"periods 08:00–15:00 and 14:30–18:00 overlap"),
    ({"hours": [["12:00", "08:30"]]}, r"period 12:00–08:30 ends before it starts"),
    ({"hours": [["09:00", "09:00"]]}, r"period 09:00–09:00 ends before it starts"),
    ({"hours": [["8:30", "12:00"]]}, r"'8:30' is not a time of day HH:MM"),
    ({"hours": [["08:30", "25:00"]]}, r"'25:00' is not a time of day"),
    ({"hours": [["08:60", "12:00"]]}, r"'08:60' is not a time of day"),
    ({"hours": [["24:00", "24:00"]]}, r"'24:00' is not a time of day"),
    ({"hours": [["08:30"]]}, r"a working period is a pair"),
    ({"hours": []}, r"hours is empty"),
    ({"timezone": "Asia/Xining"}, r"unknown timezone 'Asia/Xining'"),
    ({"timezone": ""}, r"timezone must be an IANA name"),
    ({"workdays": []}, r"workdays is empty"),
    ({"workdays": [0, 1]}, r"ISO weekdays 1 \(Monday\) to 7 \(Sunday\)"),
    ({"workdays": [1, 8]}, r"ISO weekdays"),
    ({"workdays": ["Mon"]}, r"ISO weekdays"),
    ({"workdays": [True]}, r"ISO weekdays"),
    ({"holiday": ["2026-01-01"]}, r"unknown key\(s\) 'holiday'"),
    ([], r"a calendar must be a JSON object"),
])
def test_given_a_bad_calendar_when_loaded_then_calendar_error(data, match):
    with pytest.raises(CalendarError, match=match):
        WorkingCalendar.from_dict(data)


@pytest.mark.parametrize("kwargs, match", [
    ({"holidays": frozenset({"2026-01-01"})}, r"holidays: '2026-01-01' is not a date"),
    ({"holidays": frozenset({datetime(2026, 1, 1)})}, r"is not a date"),
    ({"working_weekend_days": frozenset({d("2026-03-02")})}, r"already working days"),
    ({"hours": (("08:30", "12:00"), ("12:00", "11:00"))}, r"ends before it starts"),
    ({"timezone": "Mars/Olympus"}, r"unknown timezone"),
])
def test_given_bad_arguments_when_constructed_then_calendar_error(kwargs, match):
    with pytest.raises(CalendarError, match=match):
        WorkingCalendar(**kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda: CAL.add(0.0, 1, "hours"), r"unknown unit 'hours'; expected one of wall, working_hours, working_days"),
    (lambda: CAL.add(0.0, -1, "working_hours"), r"amount must not be negative"),
    (lambda: CAL.add(0.0, math.nan, "working_hours"), r"amount must be a finite number"),
    (lambda: CAL.add(0.0, math.inf, "wall"), r"amount must be a finite number"),
    (lambda: CAL.add(math.inf, 1, "wall"), r"start must be a finite number"),
    (lambda: CAL.add(0.0, 1.5, "working_days"), r"working_days must be a whole number, got 1.5"),
    (lambda: CAL.elapsed(0.0, 1.0, "days"), r"unknown unit 'days'"),
    (lambda: CAL.elapsed(0.0, math.nan, "wall"), r"end must be a finite number"),
    (lambda: CAL.is_working_time(None), r"at must be a finite number"),
])
def test_given_bad_arguments_when_counting_then_calendar_error(call, match):
    with pytest.raises(CalendarError, match=match):
        call()


def test_calendar_error_is_a_value_error():
    assert issubclass(CalendarError, ValueError)
