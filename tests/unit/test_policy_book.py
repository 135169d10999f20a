"""A community's policy book: several chains, which category takes which, limits in wall-clock
or working time, and the working calendar seen through the policy.

Instants in the tables are local wall times with their weekday ("Fri 2026-09-18 17:00"),
checked against the date, as in test_working_calendar.py. Calendar cases use the real
changmu calendar (2026 official: Mid-Autumn Fri 9/25–Sun 9/27 and National Day 10/1–10/7
off, Sunday 9/20 and Saturday 10/10 worked) or OFFICE below (no holidays, the week of
Mon 2026-03-02).
"""
from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.bootstrap import load_json
from chalicelib.domain.case import Case
from chalicelib.domain.directory import ROLE_NAMES, Level
from chalicelib.domain.policy import EscalationPolicy, Policies, PolicyBook, PolicyError, Step, parse_limit
from chalicelib.domain.working_calendar import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE, HOUR, DAY = 60, 3600, 86400
WORKING_DAY = 7 * HOUR          # 08:30–12:00 and 14:30–18:00
KNOWN_ROLES = frozenset(ROLE_NAMES)
KNOWN_CATEGORIES = frozenset(c["code"] for c in load_json("categories.json")["categories"])
OFFICE = WorkingCalendar()      # Monday to Friday, default hours, no holidays


def at(text: str) -> float:
    """ "Fri 2026-03-06 16:00" → epoch seconds; the weekday must match the date."""
    weekday, rest = text.split(" ", 1)
    local = datetime.strptime(rest, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    assert local.strftime("%a") == weekday, f"{rest} is a {local:%a}, not a {weekday}"
    return local.timestamp()


def show(t: float) -> str:
    return datetime.fromtimestamp(t, SHANGHAI).strftime("%a %Y-%m-%d %H:%M")


def check(got: float, expected: str) -> None:
    assert show(got) == expected
    assert got == pytest.approx(at(expected), abs=1e-6)     # exactly, not just to the minute


def calendar(name: str) -> WorkingCalendar:
    return WorkingCalendar.from_dict(load_json(f"calendars/{name}.json"))


def real_book(community: str, time_scale: float = 1.0) -> PolicyBook:
    data = load_json(f"policies/{community}.json")
    return PolicyBook.from_dict(data, calendar(data["calendar"]), time_scale=time_scale,
                                known_roles=KNOWN_ROLES, known_categories=KNOWN_CATEGORIES)


CHANGMU = real_book("changmu")
GARANG = real_book("garang")
BOOKS = {"changmu": CHANGMU, "garang": GARANG}


# -- the real policy files -------------------------------------------------------------------------

@pytest.mark.parametrize("community", ["changmu", "garang"])
def test_given_the_real_policy_file_when_loaded_with_its_calendar_then_every_chain_is_there(community):
    book = BOOKS[community]
    data = load_json(f"policies/{community}.json")
    assert (book.community, book.version, book.default) == (community, data["version"], "standard")
    assert set(book.chains) == set(data["chains"])
    for name, chain in book.chains.items():
        assert chain.chain == name
        assert chain.version == f"{data['version']}#{name}"
        assert chain.calendar == calendar(data["calendar"])
        assert chain.yellow_at == 0.8
        assert set(chain.resolve_seconds) == set(chain.ack_seconds) == {s.level for s in chain.steps}
    assert book.routing_grace_seconds == 120


@pytest.mark.parametrize("community, category, priority, chain, first, followers, together", [
    ("changmu", "neighbour_dispute", "normal", "mediation", Step(2, "mediation_room", ("grid_member",)), (), ()),
    ("changmu", "security", "normal", "patrol", Step(2, "patrol_team"), (), ()),
    ("changmu", "water_pipe", "normal", "property", Step(1, "property_management", ("stairwell_leader",)), (), ()),
    ("changmu", "stairwell_light", "normal", "property", Step(1, "property_management", ("stairwell_leader",)), (), ()),
    ("changmu", "heating", "normal", "property", Step(1, "property_management", ("stairwell_leader",)), (), ()),
    ("changmu", "medical_insurance", "normal", "proxy_service", Step(4, "committee"), (), ()),
    ("changmu", "subsistence_allowance", "normal", "proxy_service", Step(4, "committee"), (), ()),
    ("changmu", "gas_leak", "normal", "urgent", Step(2, "grid_member"), (), (3,)),
    ("changmu", "fire", "normal", "urgent", Step(2, "grid_member"), (), (3,)),
    ("changmu", "medical_emergency", "normal", "urgent", Step(2, "grid_member"), (), (3,)),
    ("changmu", "gas_leak", "urgent", "urgent", Step(2, "grid_member"), (), (3,)),
    ("changmu", "elderly_care", "normal", "standard", Step(1, "stairwell_leader"), (), ()),
    ("changmu", "elderly_care", "urgent", "urgent", Step(2, "grid_member"), (), (3,)),
    ("changmu", "sanitation", "urgent", "urgent", Step(2, "grid_member"), (), (3,)),
    ("changmu", "other", "normal", "standard", Step(1, "stairwell_leader"), (), ()),
    ("changmu", "no_such_category", "normal", "standard", Step(1, "stairwell_leader"), (), ()),   # the default
    ("changmu", "water_pipe", "urgent", "property", Step(1, "property_management", ("stairwell_leader",)), (), ()),
    ("garang", "neighbour_dispute", "normal", "mediation", Step(2, "mediation_room", ("grid_member",)), (), ()),
    ("garang", "water_pipe", "normal", "property", Step(1, "property_management", ("stairwell_leader",)), (), ()),
    ("garang", "security", "normal", "standard", Step(1, "stairwell_leader"), (), ()),          # no patrol chain
    ("garang", "medical_insurance", "normal", "standard", Step(1, "stairwell_leader"), (), ()),
    ("garang", "fire", "normal", "urgent", Step(2, "grid_member"), (), (3,)),
    ("garang", "elderly_care", "urgent", "urgent", Step(2, "grid_member"), (), (3,)),
], ids=lambda v: v if isinstance(v, str) else None)
def test_given_a_category_when_a_case_asks_for_its_policy_then_the_expected_chain(
        community, category, priority, chain, first, followers, together):
    policy = BOOKS[community].for_case(community, category, priority)
    assert policy.chain == chain
    assert policy.steps[0] == first
    assert policy.together == together
    assert policy.urgent is (chain == "urgent")


def test_given_the_urgent_chains_then_they_count_only_wall_clock_time_and_tell_level_3_at_once():
    for book in BOOKS.values():
        urgent = book.chains["urgent"]
        assert urgent.urgent and urgent.working == frozenset()
        assert [s.level for s in urgent.steps] == [2, 3, 4, 5]
        assert (urgent.ack_seconds[2], urgent.resolve_seconds[2]) == (5 * MINUTE, 2 * HOUR)
        assert urgent.together == (3,)


@pytest.mark.parametrize("chain, ack, resolve, working", [
    ("standard", {1: 30 * MINUTE, 2: 2 * HOUR, 3: 4 * HOUR, 4: DAY, 5: DAY},
     {1: WORKING_DAY, 2: 2 * WORKING_DAY, 3: 3 * WORKING_DAY, 4: 5 * WORKING_DAY, 5: 5 * WORKING_DAY},
     {"resolve:1", "resolve:2", "resolve:3", "resolve:4", "resolve:5"}),
    ("patrol", {2: 30 * MINUTE, 3: HOUR, 4: 4 * HOUR, 5: DAY},
     {2: DAY, 3: 2 * DAY, 4: 3 * WORKING_DAY, 5: 5 * WORKING_DAY}, {"resolve:4", "resolve:5"}),
    ("proxy_service", {4: WORKING_DAY, 5: WORKING_DAY}, {4: 5 * WORKING_DAY, 5: 5 * WORKING_DAY},
     {"ack:4", "ack:5", "resolve:4", "resolve:5"}),
    ("urgent", {2: 5 * MINUTE, 3: 10 * MINUTE, 4: 15 * MINUTE, 5: 15 * MINUTE},
     {2: 2 * HOUR, 3: 4 * HOUR, 4: 8 * HOUR, 5: 8 * HOUR}, set()),
])
def test_given_changmu_then_each_chain_has_its_limits_and_knows_which_count_working_time(chain, ack, resolve, working):
    policy = CHANGMU.chains[chain]
    assert dict(policy.ack_seconds) == ack
    assert dict(policy.resolve_seconds) == resolve
    assert policy.working == frozenset(working)


def test_given_garang_then_every_limit_is_wall_clock_time():
    assert all(chain.working == frozenset() for chain in GARANG.chains.values())
    assert GARANG.chains["standard"].resolve_seconds[1] == DAY


def test_given_policies_then_a_community_without_a_book_gets_the_fallback():
    fallback = EscalationPolicy.from_dict(load_json("policy.json"))
    policies = Policies(BOOKS, fallback)
    assert policies.for_case("changmu", "gas_leak").chain == "urgent"
    assert policies.for_case("garang", "security").chain == "standard"
    assert policies.for_case("elsewhere", "gas_leak") is fallback
    assert policies.routing_deadline(1000.0) == 1000.0 + fallback.routing_grace_seconds


# -- validation ------------------------------------------------------------------------------------

def minimal_book() -> dict:
    return {
        "community": "tiny", "version": "t-1", "default": "standard",
        "chains": {
            "standard": {"levels": [
                {"level": 1, "role": "stairwell_leader", "acknowledge": "30 minutes", "resolve": "1 working day"},
                {"level": 2, "role": "grid_member", "acknowledge": "2 hours", "resolve": "2 days"},
                {"level": 3, "role": "grid_chief", "acknowledge": "4 hours", "resolve": "3 days"},
            ]},
            "urgent": {"urgent": True, "together": [3], "levels": [
                {"level": 2, "role": "grid_member", "acknowledge": "5 minutes", "resolve": "2 hours"},
                {"level": 3, "role": "grid_chief", "acknowledge": "10 minutes", "resolve": "4 hours"},
            ]},
        },
        "categories": {"gas_leak": "urgent", "elderly_care": {"normal": "standard", "urgent": "urgent"}},
    }


def load(data: dict, **kwargs) -> PolicyBook:
    kwargs = {"calendar": OFFICE, "known_roles": KNOWN_ROLES, "known_categories": KNOWN_CATEGORIES} | kwargs
    return PolicyBook.from_dict(data, **kwargs)


def changed(edit) -> dict:
    data = copy.deepcopy(minimal_book())
    edit(data)
    return data


def level(data: dict, chain: str, index: int) -> dict:
    return data["chains"][chain]["levels"][index]


def test_given_the_minimal_book_then_it_loads():
    book = load(minimal_book())
    assert book.for_case("tiny", "gas_leak").chain == "urgent"
    assert book.for_case("tiny", "elderly_care", "urgent").chain == "urgent"
    assert book.for_case("tiny", "elderly_care").chain == "standard"


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(owner="me"), r"the policy: unknown key\(s\) 'owner'"),
    (lambda d: d["chains"]["standard"].update(limit="1 day"), r"chain standard: unknown key\(s\) 'limit'"),
    (lambda d: level(d, "standard", 0).update(ack="1 hour"), r"chain standard: unknown key\(s\) 'ack'"),
    (lambda d: d.pop("default"), "the policy has no 'default'"),
    (lambda d: d.pop("chains"), "the policy has no 'chains'"),
    (lambda d: d.update(chains={}), "'chains' must name at least one chain"),
    (lambda d: d["chains"]["standard"].update(levels=[]), "chain standard: needs a list of levels"),
    (lambda d: level(d, "standard", 0).update(role="janitor"), "level 1: unknown role 'janitor'"),
    (lambda d: level(d, "standard", 0).update({"with": ["janitor"]}), "level 1: unknown role 'janitor'"),
    (lambda d: level(d, "standard", 0).pop("role"), "each level needs a number 'level' and a 'role'"),
    (lambda d: d["categories"].update(parking="standard"), "category 'parking' is not in categories.json"),
    (lambda d: d["categories"].update(fire="ambulance"), "category fire: no chain named 'ambulance'"),
    (lambda d: d["categories"].update(fire={"critical": "urgent"}), "category fire: priority 'critical'"),
    (lambda d: level(d, "standard", 1).update(level=1), "chain standard, level 1: levels must go up"),
    (lambda d: level(d, "standard", 2).update(level=2), "chain standard, level 2: levels must go up"),
    (lambda d: d["chains"]["standard"]["levels"].reverse(), "level 2: levels must go up"),
    (lambda d: level(d, "standard", 0).update(level=0), "level 0: levels are 1 .stairwell. to 5"),
    (lambda d: level(d, "standard", 2).update(level=6), "level 6: levels are 1 .stairwell. to 5"),
    (lambda d: level(d, "urgent", 0).update(resolve="2 working hours"), "urgent chain counts wall-clock time"),
    (lambda d: level(d, "urgent", 1).update(acknowledge="1 working day"), "urgent chain counts wall-clock time"),
    (lambda d: level(d, "urgent", 1).update(acknowledge="1工作日"), "urgent chain counts wall-clock time"),
    (lambda d: level(d, "standard", 0).update(acknowledge="half an hour"),
     "level 1, acknowledge: 'half an hour' is not a limit"),
    (lambda d: level(d, "standard", 0).update(resolve="3 weeks"), "level 1, resolve: '3 weeks' is not a limit"),
    (lambda d: level(d, "standard", 0).update(resolve=30), "level 1, resolve: 30 is not a limit"),
    (lambda d: level(d, "standard", 0).update(acknowledge="0 minutes"), "level 1, acknowledge: .* longer than zero"),
    (lambda d: level(d, "standard", 1).update(resolve="0 working days"), "level 2, resolve: .* longer than zero"),
    (lambda d: level(d, "standard", 0).pop("resolve"), "level 1: needs an 'resolve' limit"),
    (lambda d: d.update(default="express"), "default chain 'express' is not one of the chains"),
    (lambda d: d["chains"]["urgent"].update(together=[2]), "'together' level 2 must be a later level"),
    (lambda d: d["chains"]["urgent"].update(together=[4]), "'together' level 4 must be a later level"),
    (lambda d: d["chains"]["urgent"].update(together=[1]), "'together' level 1 must be a later level"),
    (lambda d: d.update(yellow_at=1), "yellow_at must be between 0 and 1"),
    (lambda d: d["chains"]["standard"].update(yellow_at=0), "yellow_at must be between 0 and 1"),
    (lambda d: d.update(routing_grace_minutes=0), "routing_grace_minutes must be positive"),
    (lambda d: level(d, "standard", 0).update(acknowledge="0.001 minutes"),
     "level 1, acknowledge: .* at least a second"),
    (lambda d: d["categories"].update(fire=["urgent"]), "category fire: name a chain, or a chain for each priority"),
    (lambda d: d["categories"].update(fire=5), "category fire: name a chain"),
    (lambda d: level(d, "standard", 0).update({"with": "grid_member"}), "level 1: 'with' is a list of roles"),
], ids=["unknown-book-key", "unknown-chain-key", "unknown-level-key", "no-default", "no-chains",
        "empty-chains", "no-levels", "unknown-role", "unknown-follower-role", "no-role", "unknown-category",
        "unknown-chain-for-category", "unknown-priority", "level-repeated", "level-not-up", "levels-reversed",
        "level-0", "level-6", "urgent-working-hours", "urgent-working-day", "urgent-工作日", "bad-limit",
        "bad-unit", "number-not-text", "zero-limit", "zero-working-days", "no-resolve-limit",
        "unknown-default", "together-first-level", "together-not-in-chain", "together-below-chain",
        "yellow-at-1", "chain-yellow-at-0", "zero-grace", "rounds-to-zero", "category-list", "category-number",
        "with-not-a-list"])
def test_given_an_invalid_book_when_loaded_then_policy_error_says_what_and_where(edit, match):
    with pytest.raises(PolicyError, match=match):
        load(changed(edit))


@pytest.mark.parametrize("data", [[], "standard", None])
def test_given_a_book_that_is_not_an_object_when_loaded_then_policy_error(data):
    with pytest.raises(PolicyError, match="must be a JSON object"):
        load(data)


@pytest.mark.parametrize("scale", [0, -1])
def test_given_a_non_positive_time_scale_when_loaded_then_policy_error(scale):
    with pytest.raises(PolicyError, match="time scale must be positive"):
        load(minimal_book(), time_scale=scale)


def test_given_no_known_roles_or_categories_then_names_are_not_checked():
    data = changed(lambda d: (level(d, "standard", 0).update(role="janitor"),
                              d["categories"].update(parking="standard")))
    book = PolicyBook.from_dict(data, OFFICE)
    assert book.chains["standard"].steps[0].role == "janitor"


# -- parse_limit -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds, working", [
    ("30 minutes", 30 * MINUTE, False),
    ("1 minute", MINUTE, False),
    ("5 mins", 5 * MINUTE, False),
    ("5min", 5 * MINUTE, False),
    ("4 hours", 4 * HOUR, False),
    ("1 hour", HOUR, False),
    ("1.5 hours", 90 * MINUTE, False),
    ("2 days", 2 * DAY, False),
    ("1 day", DAY, False),
    ("  2   Days ", 2 * DAY, False),
    ("4 working hours", 4 * HOUR, True),
    ("1 working hour", HOUR, True),
    ("2 working days", 2 * WORKING_DAY, True),
    ("1 Working  Day", WORKING_DAY, True),
    ("0.5 working days", WORKING_DAY // 2, True),
    ("30分钟", 30 * MINUTE, False),
    ("4小时", 4 * HOUR, False),
    ("2天", 2 * DAY, False),
    ("2 天", 2 * DAY, False),
    ("4工作小时", 4 * HOUR, True),
    ("2工作日", 2 * WORKING_DAY, True),
    ("3 工作日", 3 * WORKING_DAY, True),
])
def test_given_a_limit_as_people_write_it_when_parsed_then_seconds_and_whether_it_counts_working_time(
        text, seconds, working):
    assert parse_limit(text, WORKING_DAY) == (seconds, working)


def test_given_other_office_hours_then_a_working_day_is_that_many_hours():
    assert parse_limit("2 working days", 8 * HOUR) == (16 * HOUR, True)
    assert parse_limit("2 days", 8 * HOUR) == (2 * DAY, False)


@pytest.mark.parametrize("text", ["", "30", "minutes", "-5 minutes", "0 hours", "0工作日", "0.001 minutes",
                                  "0.00001 working days", "3 weeks", "半小时",
                                  "2个工作日", "two days", "1,5 hours", "30 minutes later", None, 30, ["1 day"]])
def test_given_not_a_limit_when_parsed_then_policy_error(text):
    with pytest.raises(PolicyError):
        parse_limit(text, WORKING_DAY)


# -- the calendar through the policy -----------------------------------------------------------------

STANDARD = CHANGMU.chains["standard"]        # resolve: 1 / 2 / 3 / 5 / 5 working days
PROXY = CHANGMU.chains["proxy_service"]      # acknowledge: 1 working day at the committee


@pytest.mark.parametrize("policy, clock, lvl, start, expected", [
    # a working-day limit across a holiday (Mid-Autumn, Fri 9/25) and the weekend after it
    (STANDARD, "resolve", 2, "Thu 2026-09-24 16:00", "Tue 2026-09-29 16:00"),
    (STANDARD, "resolve", 1, "Thu 2026-09-24 10:00", "Mon 2026-09-28 10:00"),
    # across National Day (10/1–10/7), landing on the worked Saturday 10/10
    (STANDARD, "resolve", 1, "Wed 2026-09-30 10:00", "Thu 2026-10-08 10:00"),
    (STANDARD, "resolve", 2, "Wed 2026-09-30 16:00", "Fri 2026-10-09 16:00"),
    (STANDARD, "resolve", 3, "Wed 2026-09-30 16:00", "Sat 2026-10-10 16:00"),
    # the swapped working Sunday 9/20 counts; Saturday 9/19 does not
    (STANDARD, "resolve", 1, "Fri 2026-09-18 16:00", "Sun 2026-09-20 16:00"),
    (PROXY, "ack", 4, "Fri 2026-09-18 16:00", "Sun 2026-09-20 16:00"),
    (STANDARD, "resolve", 2, "Fri 2026-09-18 16:00", "Mon 2026-09-21 16:00"),
    # outside office hours: counting starts when the office opens
    (STANDARD, "resolve", 1, "Fri 2026-09-18 20:00", "Mon 2026-09-21 08:30"),   # Sun 08:30 + 7 h = 18:00
    (STANDARD, "resolve", 1, "Sat 2026-09-19 11:00", "Mon 2026-09-21 08:30"),
    (STANDARD, "resolve", 1, "Tue 2026-09-29 22:00", "Thu 2026-10-08 08:30"),   # Wed 08:30 + 7 h, then the holiday
    (PROXY, "ack", 4, "Thu 2026-10-01 09:00", "Fri 2026-10-09 08:30"),          # on a holiday
    (STANDARD, "resolve", 1, "Mon 2026-03-02 12:30", "Tue 2026-03-03 14:30"),   # in the lunch break
    # wall-clock limits ignore the calendar: nights, weekends and holidays count
    (STANDARD, "ack", 1, "Thu 2026-10-01 23:50", "Fri 2026-10-02 00:20"),
    (STANDARD, "ack", 4, "Sat 2026-09-19 10:00", "Sun 2026-09-20 10:00"),
    (CHANGMU.chains["urgent"], "resolve", 2, "Sun 2026-10-04 03:00", "Sun 2026-10-04 05:00"),
    (CHANGMU.chains["patrol"], "resolve", 2, "Fri 2026-09-25 17:00", "Sat 2026-09-26 17:00"),
])
def test_given_changmus_calendar_when_a_limit_runs_then_only_the_clock_it_counts_matters(
        policy, clock, lvl, start, expected):
    seconds = (policy.ack_seconds if clock == "ack" else policy.resolve_seconds)[lvl]
    check(policy.after(clock, lvl, at(start), seconds), expected)
    if clock == "ack":
        check(policy.ack_deadline(lvl, at(start)), expected)
    else:
        check(policy.resolve_deadlines(lvl, at(start))[1], expected)


@pytest.mark.parametrize("limit, start, expected", [
    ("4 working hours", "Tue 2026-03-03 10:00", "Tue 2026-03-03 16:30"),   # 2 h, lunch, 2 h
    ("4工作小时", "Tue 2026-03-03 11:30", "Wed 2026-03-04 08:30"),   # used up at 18:00: the next opening
    ("4 working hours", "Tue 2026-03-03 12:15", "Wed 2026-03-04 09:00"),   # starts at 14:30
    ("4 working hours", "Fri 2026-03-06 16:00", "Mon 2026-03-09 10:30"),
    ("1 working hour", "Mon 2026-03-02 11:30", "Mon 2026-03-02 15:00"),
    ("4 hours", "Tue 2026-03-03 10:00", "Tue 2026-03-03 14:00"),            # wall clock: lunch counts
])
def test_given_a_working_hours_limit_when_it_crosses_the_lunch_break_then_the_break_does_not_count(
        limit, start, expected):
    data = changed(lambda d: level(d, "standard", 0).update(acknowledge=limit))
    policy = load(data).chains["standard"]
    check(policy.ack_deadline(1, at(start)), expected)


def test_given_a_working_limit_then_the_yellow_point_is_80_percent_of_the_working_time():
    # acknowledged Thu 9/24 10:00 with 1 working day: Thursday holds 5.5 working hours, so
    # both points pass the Mid-Autumn holiday and the weekend
    yellow, red = STANDARD.resolve_deadlines(1, at("Thu 2026-09-24 10:00"))
    check(yellow, "Mon 2026-09-28 08:36")
    check(red, "Mon 2026-09-28 10:00")
    yellow, red = STANDARD.resolve_deadlines(1, at("Wed 2026-09-30 16:00"))
    check(yellow, "Thu 2026-10-08 14:36")        # 2 h Wed, 3.5 h Thu morning, 0.1 h after lunch
    check(red, "Thu 2026-10-08 16:00")


@pytest.mark.parametrize("clock, lvl, start, deadline, left", [
    ("resolve", 1, "Fri 2026-09-18 17:00", "Sun 2026-09-20 09:30", 2 * HOUR),   # Saturday does not count
    ("resolve", 1, "Wed 2026-09-30 17:00", "Thu 2026-10-08 09:30", 2 * HOUR),   # nor National Day
    ("resolve", 1, "Mon 2026-03-02 11:00", "Mon 2026-03-02 15:30", 2 * HOUR),   # nor lunch
    ("resolve", 1, "Mon 2026-03-02 16:00", "Mon 2026-03-02 15:00", 0.0),        # past: nothing left
    ("ack", 1, "Fri 2026-09-18 17:00", "Sun 2026-09-20 09:30", 40.5 * HOUR),    # wall clock: everything counts
])
def test_given_a_deadline_when_remaining_then_it_is_the_clocks_time_left(clock, lvl, start, deadline, left):
    assert STANDARD.remaining(clock, lvl, at(start), at(deadline)) == pytest.approx(left)
    if left:
        check(STANDARD.after(clock, lvl, at(start), left), deadline)


@pytest.mark.parametrize("policy, clock, lvl, day", [
    (STANDARD, "resolve", 1, WORKING_DAY),
    (STANDARD, "ack", 1, DAY),
    (CHANGMU.chains["patrol"], "resolve", 2, DAY),
    (CHANGMU.chains["patrol"], "resolve", 4, WORKING_DAY),
    (GARANG.chains["standard"], "resolve", 1, DAY),
])
def test_given_a_clock_then_a_day_on_it_is_a_working_day_only_when_it_counts_working_time(policy, clock, lvl, day):
    assert policy.day_seconds(clock, lvl) == day


def test_given_a_time_scale_then_the_calendar_is_set_aside_and_every_limit_runs_scaled_wall_time():
    scaled = real_book("changmu", time_scale=60).chains["standard"]
    start = at("Fri 2026-09-25 20:00")                  # a holiday evening
    assert scaled.calendar is not None and "resolve:1" in scaled.working
    assert scaled.after("resolve", 1, start, WORKING_DAY) == pytest.approx(start + WORKING_DAY / 60)
    assert scaled.resolve_deadlines(1, start) == pytest.approx((start + 0.8 * WORKING_DAY / 60,
                                                                 start + WORKING_DAY / 60))
    assert scaled.ack_deadline(1, start) == pytest.approx(start + 30)
    assert scaled.day_seconds("resolve", 1) == DAY
    assert scaled.remaining("resolve", 1, start, start + 10) == pytest.approx(600)
    proxy = real_book("changmu", time_scale=60).chains["proxy_service"]
    assert proxy.ack_deadline(4, start) == pytest.approx(start + WORKING_DAY / 60)


def test_given_a_policy_without_a_calendar_then_working_limits_fall_back_to_wall_time():
    bare = EscalationPolicy("t", {1: HOUR}, resolve_seconds={1: WORKING_DAY}, working=frozenset({"resolve:1"}))
    start = at("Sat 2026-03-07 10:00")
    assert bare.after("resolve", 1, start, WORKING_DAY) == start + WORKING_DAY


# -- through a case ---------------------------------------------------------------------------------

CHAIN = [Level(1, "stairwell_leader", "s1", ("s1",)), Level(2, "grid_member", "g1", ("g1",)),
         Level(3, "grid_chief", "c1", ("c1",)), Level(4, "committee", "k1", ("k1", "k2")),
         Level(5, "area_chief", "a1", ("a1",))]


@pytest.mark.parametrize("acknowledged, yellow, red", [
    ("Wed 2026-09-30 10:00", "Thu 2026-10-08 08:36", "Thu 2026-10-08 10:00"),   # before National Day
    ("Fri 2026-09-18 19:00", "Sun 2026-09-20 16:36", "Mon 2026-09-21 08:30"),   # after hours, then 调休 Sunday
    ("Sat 2026-10-10 11:00", "Mon 2026-10-12 09:36", "Mon 2026-10-12 11:00"),   # on the worked Saturday
])
def test_given_a_changmu_case_when_acknowledged_then_its_resolve_clock_counts_office_time(acknowledged, yellow, red):
    case = Case.receive(id="i", code="ABC234", community_id="changmu", category="sanitation",
                        location="changmu-01-1", description="垃圾", now=at(acknowledged) - 60)
    case.route(CHAIN, STANDARD, at(acknowledged) - 60)
    case.acknowledge("s1", at(acknowledged), STANDARD)
    assert case.timer == "yellow"
    check(case.due_at, yellow)
    check(case.resolve_due_at, red)


def test_given_a_community_book_when_routing_deadline_then_its_own_grace_applies():
    # GIVEN a fallback with a 2-minute routing grace and a community book with 10 minutes
    from chalicelib.domain.policy import EscalationPolicy, Policies, PolicyBook
    fallback = EscalationPolicy("fallback", {1: 1800}, routing_grace_seconds=120)
    book = PolicyBook.from_dict({"community": "c1", "version": "v", "default": "s", "routing_grace_minutes": 10,
                                 "chains": {"s": {"levels": [{"level": 1, "role": "stairwell_leader",
                                                              "acknowledge": "30 minutes", "resolve": "1 day"}]}}})
    policies = Policies({"c1": book}, fallback)
    # THEN each community's report is routed by the sweep after its own grace
    assert policies.routing_deadline(1000.0, "c1") == 1600.0
    assert policies.routing_deadline(1000.0, "elsewhere") == 1120.0


# -- quiet hours ------------------------------------------------------------------------------

def _shanghai(text: str) -> float:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


@pytest.mark.parametrize("start, end, at, expected", [
    ("22:00", "07:00", "2026-09-21 21:59", None),
    ("22:00", "07:00", "2026-09-21 22:00", "2026-09-22 07:00"),     # the start is quiet
    ("22:00", "07:00", "2026-09-21 23:30", "2026-09-22 07:00"),     # across midnight
    ("22:00", "07:00", "2026-09-22 03:00", "2026-09-22 07:00"),
    ("22:00", "07:00", "2026-09-22 07:00", None),                   # the end is not
    ("22:00", "07:00", "2026-09-22 12:00", None),
    ("12:00", "14:30", "2026-09-22 13:00", "2026-09-22 14:30"),     # a window within one day
    ("12:00", "14:30", "2026-09-22 11:59", None),
])
def test_given_quiet_hours_when_asked_at_a_time_then_when_they_end(start, end, at, expected):
    from chalicelib.domain.policy import QuietHours
    quiet = QuietHours(start, end, "Asia/Shanghai")
    assert quiet.ends_after(_shanghai(at)) == (None if expected is None else _shanghai(expected))


@pytest.mark.parametrize("quiet, match", [
    ({"from": "25:00", "to": "07:00"}, "not a time"),
    ({"from": "22:00", "to": "22:00"}, "the same time"),
    ({"from": "22:00", "until": "07:00"}, "quiet_hours must be"),
    ("22:00-07:00", "quiet_hours must be"),
])
def test_given_bad_quiet_hours_when_loaded_then_policy_error(quiet, match):
    from chalicelib.domain.policy import PolicyBook, PolicyError
    data = {"community": "c1", "version": "v", "default": "s", "quiet_hours": quiet,
            "chains": {"s": {"levels": [{"level": 1, "role": "stairwell_leader",
                                         "acknowledge": "30 minutes", "resolve": "1 day"}]}}}
    with pytest.raises(PolicyError, match=match):
        PolicyBook.from_dict(data)


def test_given_garangs_policy_then_its_quiet_hours_are_22_to_7_on_every_chain():
    from chalicelib.bootstrap import Container
    from tests.conftest import _config
    book = Container(_config(), clock=lambda: 0.0).policies.books["garang"]
    assert {(c.quiet_hours.start, c.quiet_hours.end, c.quiet_hours.timezone) for c in book.chains.values()} == {
        ("22:00", "07:00", "Asia/Shanghai")}
