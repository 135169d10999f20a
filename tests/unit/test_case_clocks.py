"""A case's clocks under a community's policy book: the resolve clock and supervision (督办),
take-over, 挂起 / 恢复, 延期 / 同意 / 不同意, 转办, 跟办, urgent cases, the policy snapshot,
the bound "no one gets a message they cannot act on", and the SLA facts.

Two books: WALL counts every limit in clock time (so the arithmetic is plain), OFFICE
counts working time on a calendar without holidays (the week of Mon 2026-03-02), and a
few cases run on the real changmu book and calendar (National Day 2026). Chains and
members are made by hand:

    standard  1 s1 (b1)   2 g1 (g2)   3 c1   4 k1 (k2)   5 a1
    property  1 p1 with follower s1, then 2..5 as above
    mediation 2 m1 (m2) with follower g1, then 3..5
    urgent    2 g1 (g2), 3 c1 told at once, 4..5
    responsibility: the area chief a1 leads, the committee k1, k2 supervises
"""
from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.bootstrap import load_json
from chalicelib.domain.case import HEARS, REPORTER, TOLD_TO_ACT, Authority, Case, Status, TransitionRefused
from chalicelib.domain.directory import ROLE_NAMES, Level
from chalicelib.domain.messages import TEMPLATES
from chalicelib.domain.policy import PolicyBook
from chalicelib.domain.working_calendar import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE, HOUR, DAY = 60, 3600, 86400


def at(text: str) -> float:
    """ "Fri 2026-03-06 16:00" → epoch seconds; the weekday must match the date."""
    weekday, rest = text.split(" ", 1)
    local = datetime.strptime(rest, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    assert local.strftime("%a") == weekday, f"{rest} is a {local:%a}, not a {weekday}"
    return local.timestamp()


def show(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, SHANGHAI).strftime("%a %Y-%m-%d %H:%M")


T0 = at("Mon 2026-03-02 09:00")


def level_spec(n, role, acknowledge, resolve, **extra):
    return {"level": n, "role": role, "acknowledge": acknowledge, "resolve": resolve, **extra}


def upper_levels(resolve_3="300 minutes", resolve_4="400 minutes", resolve_5="500 minutes"):
    return [level_spec(3, "grid_chief", "4 hours", resolve_3), level_spec(4, "committee", "1 day", resolve_4),
            level_spec(5, "area_chief", "1 day", resolve_5)]


WALL_BOOK = {
    "community": "tiny", "version": "wall-1", "default": "standard",
    "chains": {
        "standard": {"levels": [level_spec(1, "stairwell_leader", "30 minutes", "100 minutes"),
                                level_spec(2, "grid_member", "2 hours", "200 minutes"), *upper_levels()]},
        "property": {"levels": [level_spec(1, "property_management", "2 hours", "100 minutes",
                                           **{"with": ["stairwell_leader"]}),
                                level_spec(2, "grid_member", "2 hours", "200 minutes"), *upper_levels()]},
        "mediation": {"levels": [level_spec(2, "mediation_room", "4 hours", "3 days", **{"with": ["grid_member"]}),
                                 *upper_levels()]},
        "urgent": {"urgent": True, "together": [3], "levels": [
            level_spec(2, "grid_member", "5 minutes", "2 hours"), level_spec(3, "grid_chief", "10 minutes", "4 hours"),
            level_spec(4, "committee", "15 minutes", "8 hours"), level_spec(5, "area_chief", "15 minutes", "8 hours")]},
    },
    "categories": {"water_pipe": "property", "neighbour_dispute": "mediation", "gas_leak": "urgent"},
}
OFFICE_BOOK = {
    "community": "tiny", "version": "office-1", "default": "standard",
    "chains": {"standard": {"levels": [
        level_spec(1, "stairwell_leader", "4 working hours", "1 working day"),
        level_spec(2, "grid_member", "2 hours", "2 working days"),
        *upper_levels("3 working days", "5 working days", "5 working days")]}},
}
OFFICE_CALENDAR = WorkingCalendar()


def book(data, calendar=OFFICE_CALENDAR, **kwargs):
    return PolicyBook.from_dict(data, calendar, known_roles=frozenset(ROLE_NAMES), **kwargs)


WALL = book(WALL_BOOK)
STANDARD, PROPERTY, MEDIATION, URGENT = (WALL.chains[c] for c in ("standard", "property", "mediation", "urgent"))
OFFICE = book(OFFICE_BOOK).chains["standard"]
CHANGMU_CALENDAR = WorkingCalendar.from_dict(load_json("calendars/changmu.json"))
CHANGMU = book(load_json("policies/changmu.json"), CHANGMU_CALENDAR).chains["standard"]

UPPER = [Level(3, "grid_chief", "c1", ("c1",)), Level(4, "committee", "k1", ("k1", "k2")),
         Level(5, "area_chief", "a1", ("a1",))]
GRID_MEMBER = Level(2, "grid_member", "g1", ("g1", "g2"))
CHAINS = {
    "standard": [Level(1, "stairwell_leader", "s1", ("s1", "b1")), GRID_MEMBER, *UPPER],
    "property": [Level(1, "property_management", "p1", ("p1",), ("s1",)), GRID_MEMBER, *UPPER],
    "mediation": [Level(2, "mediation_room", "m1", ("m1", "m2"), ("g1",)), *UPPER],
    "urgent": [GRID_MEMBER, *UPPER],
}
POLICIES = {"standard": STANDARD, "property": PROPERTY, "mediation": MEDIATION, "urgent": URGENT}
HOLDERS = {1: "s1", 2: "g1", 3: "c1", 4: "k1", 5: "a1"}
RESPONSIBILITY = {"lead": ["a1"], "supervise": ["k1", "k2"], "follow": ["s1"], "assist": ["v1"]}


def without(chain, *levels):
    """`chain` with nobody at home on the given levels."""
    return [replace(r, holder=None, eligible=(), followers=()) if r.level in levels else r for r in chain]


def routed(kind="standard", policy=None, now=T0, chain=None, responsibility=RESPONSIBILITY, code="ABC234"):
    case = Case.receive(id=f"id-{code}", code=code, community_id="tiny", category="sanitation",
                        location="tiny-01-1", description="楼道堆放杂物", now=now)
    case.route(chain if chain is not None else CHAINS[kind], policy or POLICIES[kind], now,
               responsibility, "g1")
    return case


def climbed(level, kind="standard", policy=None, chain=None, responsibility=RESPONSIBILITY):
    """Routed at T0 and left unacknowledged until it reached `level`."""
    policy = policy or POLICIES[kind]
    case = routed(kind, policy, chain=chain, responsibility=responsibility)
    while case.level < level:
        assert case.escalate(case.due_at, policy, case.due_at)
    assert case.level == level
    return case


def acknowledged(level=1, kind="standard", policy=None, chain=None, responsibility=RESPONSIBILITY):
    """Climbed to `level`, then acknowledged there a minute later; the outbox emptied."""
    policy = policy or POLICIES[kind]
    case = climbed(level, kind, policy, chain, responsibility)
    assert case.acknowledge(case.holder, case.updated_at + MINUTE, policy)
    case.outbox.clear()
    return case


def sent(case, since=0):
    return [(n.member_id, n.template, n.params) for n in case.outbox[since:]]


def events(case, since=0):
    return [(e.event, e.level, e.actor) for e in case.history[since:]]


def snapshot(case):
    return json.dumps(case.to_dict(), sort_keys=True, default=str)


def round_trip(case):
    return Case.from_dict(json.loads(json.dumps(case.to_dict(), ensure_ascii=False)))


# -- the resolve clock: yellow, red, repeated red, take-over ----------------------------------------

@pytest.mark.parametrize("level, empty, supervisor, supervisor_level", [
    (1, (), "g1", 2),
    (1, (2,), "c1", 3),            # an empty level is passed over
    (1, (2, 3), "k1", 4),
    (2, (), "c1", 3),
    (3, (), "k1", 4),
    (4, (), "a1", 5),
    (4, (5,), "k2", 4),            # nobody above: the committee supervises (两委督办)
    (5, (), "k1", 5),              # the top: the committee too
], ids=lambda v: repr(v))
def test_given_acknowledged_when_the_clock_runs_then_yellow_at_80_percent_red_at_the_limit_and_red_again(
        level, empty, supervisor, supervisor_level):
    case = acknowledged(level, chain=without(CHAINS["standard"], *empty))
    holder, limit, start = HOLDERS[level], STANDARD.resolve_seconds[level], case.updated_at
    assert (case.timer, case.due_at, case.resolve_due_at) == ("yellow", start + 0.8 * limit, start + limit)
    # WHEN the yellow point passes: the holder is warned, the supervisor told
    assert case.escalate(case.due_at, STANDARD, case.due_at)
    assert sent(case) == [(holder, "resolve_warning", {}), (supervisor, "supervise_yellow", {"holder": holder})]
    assert (case.timer, case.due_at) == ("red", start + limit)
    assert events(case)[-1] == ("supervised_yellow", supervisor_level, supervisor)
    # WHEN the limit passes: red supervision (督办), the holder keeps the case
    case.outbox.clear()
    assert case.escalate(case.due_at, STANDARD, case.due_at)
    assert sent(case) == [(holder, "resolve_overdue", {}), (supervisor, "supervise_red", {"holder": holder})]
    assert events(case)[-1] == ("supervised_red", supervisor_level, supervisor)
    assert (case.timer, case.due_at) == ("red", start + 2 * limit)
    # AND again after each further limit, never climbing
    case.outbox.clear()
    assert case.escalate(case.due_at, STANDARD, case.due_at + 5)
    assert sent(case)[-1] == (supervisor, "supervise_red", {"holder": holder})
    assert case.due_at == start + 3 * limit + 5
    assert (case.status, case.level, case.holder) == (Status.ACKNOWLEDGED, level, holder)


@pytest.mark.parametrize("level, actor, new_level", [(1, "g2", 2), (1, "c1", 3), (2, "k2", 4), (3, "a1", 5)])
def test_given_red_supervision_when_the_level_above_acknowledges_then_it_takes_over_on_its_own_clock(
        level, actor, new_level):
    case = acknowledged(level)
    case.escalate(case.due_at, STANDARD, case.due_at)
    case.escalate(case.due_at, STANDARD, case.due_at)
    case.outbox.clear()
    now = case.due_at - 10
    assert case.acknowledge(actor, now, STANDARD)
    assert (case.status, case.level, case.holder) == (Status.ACKNOWLEDGED, new_level, actor)
    limit = STANDARD.resolve_seconds[new_level]
    assert (case.timer, case.due_at, case.resolve_due_at) == ("yellow", now + 0.8 * limit, now + limit)
    assert sent(case) == [(HOLDERS[level], "taken_over", {"by": actor})]     # no confirmation to the actor


# -- 挂起 / 恢复 --------------------------------------------------------------------------------------

def test_given_an_unacknowledged_case_when_suspended_then_nothing_moves_until_resumed_with_the_time_left():
    case = routed()                                      # 30 minutes to acknowledge
    due = case.due_at
    assert case.suspend("k2", "等待住户回家", STANDARD, T0 + 10 * MINUTE)
    assert (case.due_at, case.timer, case.is_suspended) == (None, None, True)
    assert case.suspended["left"] == 20 * MINUTE
    assert not case.overdue(T0 + 30 * DAY)               # the sweep cannot see it
    assert case.escalate(due, STANDARD, T0 + 3 * DAY) is False
    assert sent(case)[-1] == ("s1", "suspended", {})
    assert events(case)[-1] == ("suspended", 1, "k2")
    # WHEN resumed three days later: exactly the 20 minutes it had left
    resumed_at = T0 + 3 * DAY
    assert case.resume("k2", STANDARD, resumed_at)
    assert (case.timer, case.due_at, case.suspended) == ("ack", resumed_at + 20 * MINUTE, None)
    assert sent(case)[-1] == ("s1", "resumed", {})
    assert case.escalate(case.due_at, STANDARD, case.due_at)
    assert (case.level, case.holder) == (2, "g1")


@pytest.mark.parametrize("suspend_after, fired, left, resolve_left", [
    (50 * MINUTE, 0, 30 * MINUTE, 50 * MINUTE),        # before the yellow point
    (90 * MINUTE, 1, 10 * MINUTE, 10 * MINUTE),        # yellow sent, red to come
    (130 * MINUTE, 2, 70 * MINUTE, 0.0),               # red sent, the next red to come
])
def test_given_a_running_resolve_clock_when_suspended_and_resumed_then_both_deadlines_keep_their_time_left(
        suspend_after, fired, left, resolve_left):
    case = acknowledged()                              # 100 minutes to resolve, yellow at 80
    start = case.updated_at
    for _ in range(fired):
        case.escalate(case.due_at, STANDARD, case.due_at)
    timer = case.timer
    assert case.suspend("k1", "等配件", STANDARD, start + suspend_after)
    assert (case.due_at, case.resolve_due_at) == (None, None)
    assert case.suspended["left"] == pytest.approx(left)
    assert case.suspended["resolve_left"] == pytest.approx(resolve_left)
    resumed_at = start + 5 * DAY
    assert case.resume("k1", STANDARD, resumed_at)
    assert case.timer == timer
    assert case.due_at == pytest.approx(resumed_at + left)
    assert case.resolve_due_at == pytest.approx(resumed_at + resolve_left)


@pytest.mark.parametrize("routed_at, suspended_at, resumed_at, due_before, left, due_after", [
    # 4 working hours from Fri 11:30: used up at 18:00, so due when the office opens on Monday
    ("Fri 2026-03-06 11:30", "Fri 2026-03-06 17:00", "Mon 2026-03-09 08:30", "Mon 2026-03-09 08:30",
     HOUR, "Mon 2026-03-09 09:30"),
    # suspended over the lunch break and resumed on a Sunday: counting starts Monday morning
    ("Tue 2026-03-03 10:00", "Tue 2026-03-03 12:30", "Sun 2026-03-08 10:00", "Tue 2026-03-03 16:30",
     2 * HOUR, "Mon 2026-03-09 10:30"),
    # suspended in the evening, resumed after lunch
    ("Thu 2026-03-05 15:00", "Thu 2026-03-05 20:00", "Mon 2026-03-09 14:30", "Fri 2026-03-06 09:30",
     HOUR, "Mon 2026-03-09 15:30"),
])
def test_given_a_working_time_acknowledge_clock_when_suspended_and_resumed_then_the_working_time_left_is_kept(
        routed_at, suspended_at, resumed_at, due_before, left, due_after):
    case = routed(policy=OFFICE, now=at(routed_at))
    assert show(case.due_at) == due_before
    case.suspend("k2", "停电", OFFICE, at(suspended_at))
    assert case.suspended["left"] == pytest.approx(left)
    case.resume("k2", OFFICE, at(resumed_at))
    assert (case.timer, show(case.due_at)) == ("ack", due_after)
    assert case.due_at == pytest.approx(at(due_after))


def test_given_a_working_time_resolve_clock_when_suspended_over_a_weekend_then_both_deadlines_keep_working_time():
    case = routed(policy=OFFICE, now=at("Thu 2026-03-05 10:00"))
    case.acknowledge("s1", at("Thu 2026-03-05 11:00"), OFFICE)       # 1 working day: 7 h
    assert (show(case.due_at), show(case.resolve_due_at)) == ("Fri 2026-03-06 09:36", "Fri 2026-03-06 11:00")
    case.suspend("k1", "等住户", OFFICE, at("Thu 2026-03-05 17:00"))
    assert case.suspended["left"] == pytest.approx(2.1 * HOUR)
    assert case.suspended["resolve_left"] == pytest.approx(3.5 * HOUR)
    case.resume("k1", OFFICE, at("Mon 2026-03-09 14:30"))
    assert (case.timer, show(case.due_at)) == ("yellow", "Mon 2026-03-09 16:36")
    assert show(case.resolve_due_at) == "Tue 2026-03-10 08:30"      # used up at 18:00: the next opening


def test_given_suspended_when_suspended_or_resumed_again_then_false_and_unchanged():
    case = routed()
    assert case.resume("k2", STANDARD, T0 + 1) is False               # not suspended
    case.suspend("k2", "等待", STANDARD, T0 + 2)
    before = snapshot(case)
    assert case.suspend("k1", "again", STANDARD, T0 + 3) is False
    assert snapshot(case) == before


def test_given_suspended_when_resolved_then_every_clock_ends_and_the_suspension_with_it():
    case = acknowledged()
    case.suspend("k1", "等待", STANDARD, case.updated_at + 60)
    now = case.updated_at + 120
    assert case.resolve("s1", now, STANDARD)
    assert (case.status, case.resolve_due_at, case.suspended) == (Status.RESOLVED, None, None)
    assert (case.timer, case.due_at) == ("callback", now + 3 * DAY)      # only the call-back clock runs
    assert case.resume("k1", STANDARD, now + 60) is False                 # nothing left to resume
    assert (case.timer, case.due_at) == ("callback", now + 3 * DAY)


# -- 延期 / 同意 / 不同意 ----------------------------------------------------------------------------------

def test_given_an_extension_request_when_approved_then_the_limit_and_the_next_alarm_move_by_n_days():
    case = acknowledged()
    start = case.updated_at
    yellow, red = case.due_at, case.resolve_due_at
    assert case.request_extension("s1", 2, "等配件", start + 10)
    assert case.extension == {"days": 2, "reason": "等配件", "by": "s1", "at": start + 10, "to": "g1"}
    assert sent(case) == [("g1", "extension_requested", {"holder": "s1", "days": 2}),
                          ("s1", "extension_submitted", {"days": 2})]
    assert (case.due_at, case.resolve_due_at) == (yellow, red)          # nothing moves until decided
    case.outbox.clear()
    assert case.decide_extension("g1", True, STANDARD, start + 20)
    assert (case.timer, case.due_at, case.resolve_due_at) == ("yellow", yellow + 2 * DAY, red + 2 * DAY)
    assert case.extension is None
    assert sent(case) == [("s1", "extension_approved", {"days": 2})]
    assert events(case)[-1] == ("extension_approved", 1, "g1")
    assert case.escalate(yellow, STANDARD, yellow + 1) is False         # the old alarm is gone


def test_given_the_yellow_warning_sent_when_an_extension_is_approved_then_red_moves_to_the_new_limit():
    case = acknowledged()
    red = case.resolve_due_at
    case.escalate(case.due_at, STANDARD, case.due_at)
    case.request_extension("s1", 3, "下雨", case.due_at + 1)
    case.decide_extension("k2", True, STANDARD, case.due_at + 2)       # the committee may decide too
    assert (case.timer, case.due_at, case.resolve_due_at) == ("red", red + 3 * DAY, red + 3 * DAY)


def test_given_a_suspended_case_when_an_extension_is_approved_then_the_time_left_grows():
    case = acknowledged()
    start = case.updated_at
    case.request_extension("s1", 1, "等配件", start + 10)
    case.suspend("k1", "停水", STANDARD, start + 20 * MINUTE)
    case.decide_extension("g1", True, STANDARD, start + 30 * MINUTE)
    assert case.suspended["left"] == pytest.approx(60 * MINUTE + DAY)
    assert case.suspended["resolve_left"] == pytest.approx(80 * MINUTE + DAY)
    case.resume("k1", STANDARD, start + 2 * DAY)
    assert case.resolve_due_at == pytest.approx(start + 3 * DAY + 80 * MINUTE)


@pytest.mark.parametrize("acknowledged_at, days, yellow, red", [
    # 1 working day from Tue 9/29 11:00 is Wed 9/30 11:00; two more skip National Day
    ("Tue 2026-09-29 11:00", 2, "Fri 2026-10-09 09:36", "Fri 2026-10-09 11:00"),
    ("Tue 2026-09-29 11:00", 3, "Sat 2026-10-10 09:36", "Sat 2026-10-10 11:00"),     # the worked Saturday
    ("Thu 2026-09-17 11:00", 1, "Sun 2026-09-20 09:36", "Sun 2026-09-20 11:00"),     # the worked Sunday
])
def test_given_working_day_limits_when_an_extension_is_approved_then_it_adds_working_days(
        acknowledged_at, days, yellow, red):
    case = routed(policy=CHANGMU, now=at(acknowledged_at) - HOUR)
    case.acknowledge("s1", at(acknowledged_at), CHANGMU)
    case.request_extension("s1", days, "等配件", at(acknowledged_at) + 60)
    case.decide_extension("g1", True, CHANGMU, at(acknowledged_at) + 120)
    assert (show(case.due_at), show(case.resolve_due_at)) == (yellow, red)


def test_given_an_extension_request_when_refused_then_the_deadlines_stand():
    case = acknowledged()
    before = (case.timer, case.due_at, case.resolve_due_at)
    case.request_extension("s1", 3, "住户不在家", case.updated_at + 10)
    case.outbox.clear()
    assert case.decide_extension("g1", False, STANDARD, case.updated_at + 10)
    assert (case.timer, case.due_at, case.resolve_due_at) == before
    assert case.extension is None
    assert sent(case) == [("s1", "extension_refused", {})]
    assert [e.event for e in case.history if e.event.startswith("extension")] == [
        "extension_requested", "extension_refused"]


@pytest.mark.parametrize("approve", [True, False])
def test_given_a_redelivered_request_or_decision_then_false_and_unchanged(approve):
    case = acknowledged()
    start = case.updated_at
    case.request_extension("s1", 2, "等配件", start + 10)
    before = snapshot(case)
    assert case.request_extension("s1", 2, "等配件", start + 11) is False
    assert snapshot(case) == before
    case.decide_extension("g1", approve, STANDARD, start + 20)
    before = snapshot(case)
    assert case.decide_extension("g1", approve, STANDARD, start + 21) is False
    assert snapshot(case) == before


def test_given_the_holder_was_taken_over_then_a_pending_extension_of_the_old_holder_is_dropped():
    case = acknowledged()
    case.request_extension("s1", 2, "等配件", case.updated_at + 10)
    case.acknowledge("c1", case.updated_at + 20, STANDARD)
    assert case.extension is None
    # the new holder may ask for their own
    assert case.request_extension("c1", 1, "需协调", case.updated_at + 30)
    assert case.extension["to"] == "k1"


# -- refusals: the case is unchanged -------------------------------------------------------------

def _ack():
    return acknowledged()


def _pending():
    case = acknowledged()
    case.request_extension("s1", 2, "等配件", case.updated_at + 10)
    return case


def _top_without_oversight():
    return acknowledged(5, responsibility={})


def _suspended():
    case = routed()
    case.suspend("k2", "等待", STANDARD, T0 + 60)
    return case


def _resolved():
    case = routed()
    case.resolve("s1", T0 + 60)
    return case


def _property():
    return routed("property")


REFUSALS = [
    (_ack, lambda c: c.request_extension("g1", 2, "r", T0 + HOUR), "not_allowed_above"),
    (_ack, lambda c: c.request_extension("zz", 2, "r", T0 + HOUR), "not_on_chain"),
    (routed, lambda c: c.request_extension("s1", 2, "r", T0 + 60), "not_extendable_assigned"),
    (_resolved, lambda c: c.request_extension("s1", 2, "r", T0 + HOUR), "not_extendable_resolved"),
    (_ack, lambda c: c.request_extension("s1", 0, "r", T0 + HOUR), "extension_days"),
    (_ack, lambda c: c.request_extension("s1", 31, "r", T0 + HOUR), "extension_days"),
    (_ack, lambda c: c.request_extension("s1", -1, "r", T0 + HOUR), "extension_days"),
    (_pending, lambda c: c.request_extension("s1", 5, "r", T0 + HOUR), "extension_pending"),
    (_top_without_oversight, lambda c: c.request_extension("a1", 2, "r", T0 + 9 * DAY), "no_supervisor"),
    (_ack, lambda c: c.decide_extension("g1", True, STANDARD, T0 + HOUR), "no_extension_pending"),
    (_pending, lambda c: c.decide_extension("s1", True, STANDARD, T0 + HOUR), "not_allowed_holder"),
    (_pending, lambda c: c.decide_extension("zz", True, STANDARD, T0 + HOUR), "not_on_chain"),
    (routed, lambda c: c.suspend("s1", "不想办", STANDARD, T0 + 60), "not_allowed_holder"),
    (routed, lambda c: c.suspend("zz", "r", STANDARD, T0 + 60), "not_on_chain"),
    (routed, lambda c: c.suspend("g1", "r", STANDARD, T0 + 60), "not_allowed_above"),     # not the committee
    (routed, lambda c: c.suspend("c1", "r", STANDARD, T0 + 60), "not_allowed_above"),
    (_property, lambda c: c.suspend("s1", "r", PROPERTY, T0 + 60), "not_allowed_follower"),
    (_resolved, lambda c: c.suspend("k2", "r", STANDARD, T0 + HOUR), "not_suspendable_resolved"),
    (_suspended, lambda c: c.resume("s1", STANDARD, T0 + HOUR), "not_allowed_holder"),
    (_suspended, lambda c: c.resume("g1", STANDARD, T0 + HOUR), "not_allowed_above"),
    (_suspended, lambda c: c.acknowledge("s1", T0 + HOUR, STANDARD), "suspended"),
    (_suspended, lambda c: c.acknowledge("g1", T0 + HOUR, STANDARD), "suspended"),
    (_ack, lambda c: c.transfer("g1", "g2", "r", STANDARD, T0 + HOUR), "not_allowed_above"),
    (_resolved, lambda c: c.transfer("s1", "b1", "r", STANDARD, T0 + HOUR), "not_transferable_resolved"),
    (_property, lambda c: c.acknowledge("s1", T0 + 60, PROPERTY), "not_allowed_follower"),
    (_property, lambda c: c.transfer("s1", "b1", "r", PROPERTY, T0 + 60), "not_allowed_follower"),
]


@pytest.mark.parametrize("given, action, reason", REFUSALS, ids=[
    "extend-by-above", "extend-by-outsider", "extend-unacknowledged", "extend-resolved", "extend-0-days",
    "extend-31-days", "extend-negative", "extend-pending", "extend-no-supervisor", "decide-nothing-pending",
    "decide-own-request", "decide-outsider", "suspend-by-holder", "suspend-by-outsider",
    "suspend-by-grid-member", "suspend-by-grid-chief", "suspend-by-follower", "suspend-resolved",
    "resume-by-holder", "resume-by-grid-member", "acknowledge-suspended", "take-over-suspended",
    "transfer-by-above", "transfer-resolved", "follower-acknowledges", "follower-transfers"])
def test_given_a_refused_action_then_transition_refused_and_the_case_unchanged(given, action, reason):
    case = given()
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        action(case)
    assert refused.value.reason == reason
    assert snapshot(case) == before


@pytest.mark.parametrize("days", [1, 30])
def test_given_1_to_30_days_then_an_extension_may_be_asked(days):
    assert acknowledged().request_extension("s1", days, "r", T0 + HOUR)


@pytest.mark.parametrize("member", ["k1", "k2", "a1"])
def test_given_the_committee_or_the_area_chief_then_they_may_suspend_and_resume(member):
    case = routed()
    assert case.suspend(member, "等待", STANDARD, T0 + 60)
    assert case.resume(member, STANDARD, T0 + 120)


def test_given_a_case_held_at_the_top_then_the_committee_may_still_suspend_it():
    case = climbed(5)
    assert case.authority("k2") is Authority.OVERSIGHT
    assert case.suspend("k2", "联席会议", STANDARD, case.updated_at + 60)


# -- 转办 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("acknowledged_first", [False, True])
def test_given_a_holder_when_transferring_then_the_target_holds_it_at_the_same_level_on_a_fresh_ack_clock(
        acknowledged_first):
    case = climbed(2)
    if acknowledged_first:
        case.acknowledge("g1", case.updated_at + 60, STANDARD)
        case.request_extension("g1", 2, "r", case.updated_at + 60)
    case.outbox.clear()
    now = case.updated_at + 120
    assert case.transfer("g1", "g2", "我在外地", STANDARD, now)
    assert (case.status, case.level, case.holder) == (Status.ASSIGNED, 2, "g2")
    assert (case.timer, case.due_at, case.resolve_due_at, case.extension) == ("ack", now + 2 * HOUR, None, None)
    assert sent(case) == [("g2", "transferred_to_you", {"by": "g1"}), ("g1", "transferred_away", {"to": "g2"})]
    assert events(case)[-1] == ("transferred", 2, "g1")
    assert case.history[-1].detail == "g2:我在外地"
    assert case.authority("g1") is Authority.NONE
    # AND the target acts on it; the old holder cannot
    with pytest.raises(TransitionRefused):
        case.acknowledge("g1", now + 60, STANDARD)
    assert case.acknowledge("g2", now + 60, STANDARD)
    assert case.resolve_due_at == now + 60 + 200 * MINUTE


def test_given_a_transfer_to_oneself_then_false_and_unchanged():
    case = routed()
    before = snapshot(case)
    assert case.transfer("s1", "s1", "r", STANDARD, T0 + 60) is False
    assert snapshot(case) == before


def test_given_a_suspended_case_when_transferred_then_the_target_gets_a_full_ack_clock_on_resume():
    case = acknowledged()
    case.suspend("k1", "等待", STANDARD, case.updated_at + 60)
    case.transfer("s1", "b1", "换人", STANDARD, case.updated_at + 120)
    assert (case.holder, case.due_at, case.is_suspended) == ("b1", None, True)
    case.resume("k1", STANDARD, T0 + 5 * DAY)
    assert (case.timer, case.due_at, case.resolve_due_at) == ("ack", T0 + 5 * DAY + 30 * MINUTE, None)


def test_given_a_working_time_ack_clock_when_transferred_then_the_target_gets_working_time():
    case = routed(policy=OFFICE, now=at("Fri 2026-03-06 16:00"))
    case.transfer("s1", "b1", "换人", OFFICE, at("Fri 2026-03-06 17:00"))
    assert show(case.due_at) == "Mon 2026-03-09 11:30"        # 1 h on Friday, 3 h on Monday


# -- 跟办 and urgent cases ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind, holder, follower, role", [
    ("property", "p1", "s1", "property_management"),
    ("mediation", "m1", "g1", "mediation_room"),
])
def test_given_a_level_with_a_follower_when_routed_then_both_are_told_and_the_follower_may_resolve(
        kind, holder, follower, role):
    case = routed(kind)
    assert sent(case) == [(holder, "assigned", {}), (follower, "follow", {"holder": holder, "role": role})]
    assert case.authority(follower) is Authority.FOLLOWER
    with pytest.raises(TransitionRefused) as refused:
        case.acknowledge(follower, T0 + 60, POLICIES[kind])
    assert refused.value.reason == "not_allowed_follower"
    case.outbox.clear()
    assert case.resolve(follower, T0 + 120, POLICIES[kind])
    assert (case.status, case.holder) == (Status.RESOLVED, holder)
    assert events(case)[-1] == ("resolved", case.level, follower)
    # the holder learns it is done, so they stop work; the follower gets no confirmation
    assert sent(case) == [(holder, "resolved", {})]
    assert (case.timer, case.due_at) == ("callback", T0 + 120 + 3 * DAY)


def test_given_the_case_climbed_past_the_followers_level_then_the_follower_may_no_longer_act():
    case = routed("property")
    case.escalate(case.due_at, PROPERTY, case.due_at)
    assert case.authority("s1") is Authority.NONE
    with pytest.raises(TransitionRefused):
        case.resolve("s1", case.due_at)


def test_given_an_urgent_case_when_routed_then_the_together_level_is_told_at_once_and_may_take_over():
    case = routed("urgent")
    assert (case.level, case.holder, case.due_at) == (2, "g1", T0 + 5 * MINUTE)
    assert sent(case) == [("g1", "assigned", {}), ("c1", "urgent_together", {"holder": "g1"})]
    assert events(case)[-2:] == [("assigned", 2, "g1"), ("told_together", 3, "c1")]
    assert case.authority("c1") is Authority.ABOVE
    assert case.acknowledge("c1", T0 + 60, URGENT)
    assert (case.level, case.holder, case.resolve_due_at) == (3, "c1", T0 + 60 + 4 * HOUR)


def test_given_an_urgent_case_and_nobody_at_the_together_level_then_nobody_is_told_or_recorded():
    case = routed("urgent", chain=without(CHAINS["urgent"], 3))
    assert sent(case) == [("g1", "assigned", {})]
    assert "told_together" not in [e.event for e in case.history]


def test_given_an_urgent_case_starting_at_the_together_level_then_the_holder_is_not_told_twice():
    case = routed("urgent", chain=without(CHAINS["urgent"], 2))
    assert sent(case) == [("c1", "assigned", {})]


# -- the policy snapshot -------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", [STANDARD, OFFICE, CHANGMU, URGENT], ids=lambda p: p.version)
def test_given_a_case_when_it_travels_as_json_then_it_keeps_its_policy_snapshot(policy):
    case = routed(policy=policy, chain=CHAINS["urgent"] if policy is URGENT else None,
                  now=at("Thu 2026-03-05 10:00"))
    case.acknowledge(case.holder, case.updated_at + 60, policy)
    case.request_extension(case.holder, 2, "等配件", case.updated_at + 60)
    case.suspend("k2", "等待", policy, case.updated_at + 60)
    again = round_trip(case)
    assert again == case
    assert (again.policy_version, again.working_limits) == (policy.version, sorted(policy.working))
    assert again.ack_limits == dict(policy.ack_seconds)
    assert again.resolve_limits == dict(policy.resolve_seconds)


def test_given_the_policy_changed_when_a_running_case_continues_then_it_keeps_the_limits_it_started_under():
    case = round_trip(routed(policy=OFFICE, now=at("Thu 2026-03-05 10:00")))
    case.acknowledge("s1", at("Thu 2026-03-05 11:00"), OFFICE)        # 1 working day: Fri 11:00
    # the committee changes the book: clock time now, and much shorter
    data = copy.deepcopy(OFFICE_BOOK)
    data["version"] = "office-2"
    for spec in data["chains"]["standard"]["levels"]:
        spec.update(acknowledge="1 minute", resolve="10 minutes")
    changed = book(data).chains["standard"]
    assert changed.working == frozenset()
    case = round_trip(case)
    # an extension is a working day, as the case started under
    case.request_extension("s1", 1, "等配件", at("Thu 2026-03-05 15:00"))
    case.decide_extension("g1", True, changed, at("Thu 2026-03-05 15:10"))
    assert (show(case.due_at), show(case.resolve_due_at)) == ("Mon 2026-03-09 09:36", "Mon 2026-03-09 11:00")
    # yellow, red, and the next red one working day later, not ten minutes
    assert case.escalate(case.due_at, changed, case.due_at)
    assert case.escalate(case.due_at, changed, case.due_at)
    assert show(case.due_at) == "Tue 2026-03-10 11:00"
    # suspended with a working hour left, resumed in the evening
    case = round_trip(case)
    case.suspend("k1", "等待", changed, at("Tue 2026-03-10 10:00"))
    case.resume("k1", changed, at("Tue 2026-03-10 17:30"))
    assert show(case.due_at) == "Wed 2026-03-11 09:00"
    assert (case.policy_version, case.working_limits) == ("office-1#standard", sorted(OFFICE.working))
    # a case routed after the change runs on the new limits
    fresh = routed(policy=changed, now=at("Thu 2026-03-05 10:00"), code="XYZ789")
    assert fresh.due_at == at("Thu 2026-03-05 10:01")


@pytest.mark.parametrize("callback_days, time_scale, wait", [
    (None, 1.0, 3 * DAY),            # the book does not say: three days
    (1, 1.0, DAY),
    (0.5, 1.0, DAY / 2),
    (2, 60.0, 2 * DAY / 60),         # a demo book runs fast
], ids=["default", "one-day", "half-day", "scaled"])
def test_given_a_book_with_callback_days_when_resolved_then_the_case_closes_after_that_time(
        callback_days, time_scale, wait):
    data = copy.deepcopy(WALL_BOOK)
    if callback_days is not None:
        data["callback_days"] = callback_days
    policy = book(data, time_scale=time_scale).chains["standard"]
    case = routed(policy=policy)
    assert case.resolve("s1", T0 + HOUR, policy)
    assert (case.timer, case.due_at) == ("callback", pytest.approx(T0 + HOUR + wait))
    assert case.escalate(case.due_at, policy, case.due_at)
    assert (case.status, case.history[-1].event, case.history[-1].detail) == (Status.CLOSED, "closed", "no_answer")


def test_given_the_changmu_book_then_the_callback_is_three_days():
    case = routed(policy=CHANGMU, now=at("Wed 2026-09-30 10:00"))
    case.resolve("s1", at("Wed 2026-09-30 11:00"), CHANGMU)
    assert show(case.due_at) == "Sat 2026-10-03 11:00"      # calendar days, holidays or not


def test_given_a_case_routed_before_working_limits_existed_then_it_counts_wall_clock_time():
    legacy = routed(policy=STANDARD).to_dict()
    legacy.pop("working_limits")
    case = Case.from_dict(json.loads(json.dumps(legacy)))
    assert case.working_limits is None
    case.acknowledge("s1", T0 + 60, OFFICE)
    assert case.resolve_due_at == T0 + 60 + 100 * MINUTE


# -- the bound: no one gets a message they cannot act on ------------------------------------------------

def _route(kind, chain=None):
    return lambda case: case.route(chain or CHAINS[kind], POLICIES[kind], case.created_at, RESPONSIBILITY, "g1")


def _fire(policy):
    return lambda case: case.escalate(case.due_at, policy, case.due_at)


def _later(method, member, *args, policy=STANDARD):
    """`member` does `method` a minute after the case's last change (the arguments in the
    order the method takes them: member, then `args`, then the policy where it takes one)."""
    calls = {
        "acknowledge": lambda case, now: case.acknowledge(member, now, policy),
        "resolve": lambda case, now: case.resolve(member, now, policy),
        "request_extension": lambda case, now: case.request_extension(member, *args, now),
        "decide_extension": lambda case, now: case.decide_extension(member, *args, policy, now),
        "suspend": lambda case, now: case.suspend(member, *args, policy, now),
        "resume": lambda case, now: case.resume(member, policy, now),
        "transfer": lambda case, now: case.transfer(member, *args, policy, now),
        "cancel": lambda case, now: case.cancel(member, *args, now),
        # an operator (services.ops): `member` is "ops:<operator>"; escalate from the level it is at
        "operator_escalate": lambda case, now: case.operator_escalate(member, case.level, *args, policy, now),
        "operator_reassign": lambda case, now: case.operator_reassign(member, *args, policy, now),
        "operator_close": lambda case, now: case.operator_close(member, *args, now),
    }
    return lambda case: calls[method](case, case.updated_at + 60)


def _delivered():
    """Every notice in the outbox goes out, as services.notices records it: who was told
    what is then in the history, which 取消 reads to know whom to call off."""
    def deliver(case):
        for notice in list(case.outbox):
            case.mark_sent(notice, case.updated_at + 1, f"msg-{notice.id}", notice.member_id)
        return True
    return deliver


def _reporter_answers(satisfied, policy=STANDARD):
    """The reporter answers the call-back (1 满意 / 2 不满意) an hour after the last change."""
    return lambda case: case.feedback(satisfied, case.updated_at + HOUR, policy)


def _merged_into(into, member):
    """合并: `member` merges the case into `into`, a minute after its last change."""
    return lambda case: case.mark_duplicate(into, case.updated_at + 60, member)


def _reported_again():
    """Another resident's report of the same problem joins the case (an urgent one: its
    holder is told), a minute after its last change."""
    def absorb(case):
        other = Case.receive(id="id-2", code="XYZ789", community_id=case.community_id, category=case.category,
                             location=case.location, description="d", now=case.updated_at,
                             reporter_phone="+8613900000001")
        return case.absorb(other, case.updated_at + 60, None, via="folded", tell_holder=True)
    return absorb


SCENARIOS = {
    "climb-then-supervise-then-take-over": ("standard", [
        _route("standard"), _fire(STANDARD), _fire(STANDARD), _later("acknowledge", "c1"),
        _fire(STANDARD), _fire(STANDARD), _fire(STANDARD), _later("acknowledge", "k2"), _later("resolve", "k2")]),
    "to-the-top-and-reminded": ("standard", [_route("standard")] + [_fire(STANDARD)] * 6 + [
        _later("resolve", "a1")]),
    "take-over-by-resolving": ("standard", [_route("standard"), _later("resolve", "c1")]),
    "skipped-levels": ("standard", [_route("standard", without(CHAINS["standard"], 1, 3)), _fire(STANDARD),
                                    _later("acknowledge", "k1"), _fire(STANDARD), _fire(STANDARD)]),
    "extension-approved-suspended-resumed": ("standard", [
        _route("standard"), _later("acknowledge", "s1"), _later("request_extension", "s1", 2, "等配件"),
        _later("decide_extension", "g1", True), _later("suspend", "k2", "停水"), _later("resume", "k2"),
        _fire(STANDARD), _fire(STANDARD), _later("resolve", "s1")]),
    "extension-refused-then-transferred": ("standard", [
        _route("standard"), _later("acknowledge", "s1"), _later("request_extension", "s1", 3, "r"),
        _later("decide_extension", "k1", False), _later("transfer", "s1", "b1", "换人"),
        _later("acknowledge", "b1"), _later("request_extension", "b1", 1, "r"),
        _later("decide_extension", "g2", True), _later("resolve", "b1")]),
    "extension-then-take-over": ("standard", [
        _route("standard"), _later("acknowledge", "s1"), _later("request_extension", "s1", 2, "r"),
        _later("acknowledge", "c1"), _later("request_extension", "c1", 1, "r"),
        _later("decide_extension", "k1", True), _later("resolve", "c1")]),
    "transfer-while-suspended": ("standard", [
        _route("standard"), _later("suspend", "a1", "等待"), _later("transfer", "s1", "b1", "换人"),
        _later("resume", "a1"), _fire(STANDARD), _later("acknowledge", "g1")]),
    "follower-resolves": ("property", [_route("property"), _later("resolve", "s1")]),
    "follower-then-climb": ("property", [_route("property"), _fire(PROPERTY), _later("acknowledge", "g1"),
                                         _fire(PROPERTY), _later("resolve", "g1")]),
    "mediation": ("mediation", [_route("mediation"), _later("acknowledge", "m1", policy=MEDIATION),
                                _fire(MEDIATION), _fire(MEDIATION), _later("resolve", "g1")]),
    "urgent-take-over": ("urgent", [_route("urgent"), _later("acknowledge", "c1", policy=URGENT),
                                    _later("request_extension", "c1", 1, "r"),
                                    _later("decide_extension", "k1", True, policy=URGENT),
                                    _fire(URGENT), _fire(URGENT), _later("resolve", "c1")]),
    "urgent-unacknowledged": ("urgent", [_route("urgent"), _fire(URGENT), _fire(URGENT), _fire(URGENT)]),
    "at-the-top-the-committee-supervises": ("standard", [
        _route("standard", without(CHAINS["standard"], 1, 2, 3, 4)), _later("acknowledge", "a1"),
        _later("request_extension", "a1", 2, "r"), _later("decide_extension", "k1", True),
        _fire(STANDARD), _fire(STANDARD), _later("suspend", "k2", "联席会议"), _later("resume", "k1")]),
    # the reporter's call-back: these need the reporter's phone
    "reporter-satisfied": ("standard", [_route("standard"), _later("acknowledge", "s1"), _later("resolve", "s1"),
                                        _reporter_answers(True)]),
    "reporter-not-satisfied-reopened-then-satisfied": ("standard", [
        _route("standard"), _later("acknowledge", "s1"), _later("resolve", "s1"), _reporter_answers(False),
        _later("acknowledge", "g1"), _later("resolve", "g1"), _reporter_answers(True)]),
    "reporter-not-satisfied-at-the-top-then-silent": ("standard", [
        _route("standard", without(CHAINS["standard"], 1, 2, 3, 4)), _later("resolve", "a1"),
        _reporter_answers(False), _fire(STANDARD), _later("acknowledge", "a1"), _later("resolve", "a1"),
        _fire(STANDARD)]),
    "reporter-follower-resolves-not-satisfied": ("property", [
        _route("property"), _later("resolve", "s1", policy=PROPERTY), _reporter_answers(False, PROPERTY),
        _fire(PROPERTY)]),
    "reporter-silent-then-closed": ("standard", [_route("standard"), _later("resolve", "c1"), _fire(STANDARD)]),
    # 取消: whoever was told to act and not stood down since is told to stop
    "cancelled-by-the-committee-the-holder-and-follower-told": ("property", [
        _route("property"), _delivered(), _later("cancel", "k1", "重复报事")]),
    "cancelled-by-the-holder-after-climbing-and-a-yellow-card": ("standard", [
        _route("standard"), _fire(STANDARD), _delivered(), _later("acknowledge", "g1"), _fire(STANDARD),
        _delivered(), _later("cancel", "g1", "测试短信")]),
    "urgent-cancelled-by-the-area-chief": ("urgent", [_route("urgent"), _delivered(), _later("cancel", "a1", "误报")]),
    # 合并: the duplicate's holder is told it joined another case; an urgent case's holder hears of another report
    "merged-into-another-case-the-holder-told": ("standard", [
        _route("standard"), _delivered(), _fire(STANDARD), _delivered(), _merged_into("XYZ789", "k1")]),
    "urgent-reported-again-the-holder-told": ("urgent", [_route("urgent"), _delivered(), _reported_again()]),
    # the office (the ops function): up a level now, to another member, then closed
    "operator-escalates-reassigns-and-closes": ("standard", [
        _route("standard"), _delivered(), _later("operator_escalate", "ops:wangfang", "没人接"), _delivered(),
        _later("operator_reassign", "ops:wangfang", "g2", "g1外出"), _delivered(),
        _later("operator_close", "ops:wangfang", "电话确认已修好")]),
}
RESIDENT = "+8613912345678"


def _scenario_case(reporter_phone):
    return Case.receive(id="id-1", code="ABC234", community_id="tiny", category="sanitation",
                        location="tiny-01-1", description="d", now=T0, reporter_phone=reporter_phone)


# every scenario with the reporter's phone, and those where the reporter does not answer without it
BOUND_RUNS = [pytest.param(kind, steps, phone, id=f"{name}-{'reporter' if phone else 'no-reporter'}")
              for name, (kind, steps) in SCENARIOS.items()
              for phone in ((RESIDENT,) if name.startswith("reporter-") else (RESIDENT, None))]


@pytest.mark.parametrize("kind, steps, reporter_phone", BOUND_RUNS)
def test_given_a_scenario_then_every_notice_goes_to_someone_who_can_act_on_it_or_must_stand_down(
        kind, steps, reporter_phone):
    case = _scenario_case(reporter_phone)
    seen = set()
    for number, step in enumerate(steps):
        holder_before, since, history_since = case.holder, len(case.outbox), len(case.history)
        assert step(case) is not False, f"step {number} did nothing"
        actor = next((e.actor for e in reversed(case.history[history_since:])
                      if e.event in ("acknowledged", "resolved", "cancelled")), None)
        for notice in case.outbox[since:]:
            where = f"step {number}: {notice.template} to {notice.member_id}"
            seen.add(notice.template)
            assert notice.template in HEARS, where
            assert notice.template in TEMPLATES, where
            # a reply that worked needs no answer: the member who acknowledged or resolved hears nothing
            assert notice.member_id != actor, where
            hears, authority = HEARS[notice.template], case.authority(notice.member_id)
            if hears == "reporter":
                # to the resident, at the phone they gave: only a case that has one
                assert notice.member_id == REPORTER and case.reporter_phone == RESIDENT, where
                continue
            assert notice.member_id != REPORTER, where
            if hears == "handle":
                assert notice.member_id == case.holder, where
            elif hears == "follow":
                assert authority is Authority.FOLLOWER, where
            elif hears == "above":
                assert authority in (Authority.ABOVE, Authority.OVERSIGHT), where
            elif hears == "called_off":
                # 取消: only someone who was told to act on the case before
                told = {e.actor for e in case.history[:history_since] if e.event == "notified"
                        and HEARS.get((e.detail or "").split(":", 1)[0]) in TOLD_TO_ACT}
                assert case.status in (Status.CANCELLED, Status.CLOSED, Status.DUPLICATE), where
                assert notice.member_id in told | {holder_before}, where
            else:
                assert hears == "stand_down", where
                assert notice.member_id == holder_before != case.holder, where
                assert authority not in (Authority.HOLDER, Authority.ABOVE), where
    assert seen, "the scenario sent nothing"


def test_given_all_scenarios_then_every_template_a_case_sends_is_exercised():
    case_templates = set(HEARS)
    exercised = set()
    for _kind, steps in SCENARIOS.values():
        case = _scenario_case(RESIDENT)
        for step in steps:
            step(case)
        exercised |= {n.template for n in case.outbox}
    assert exercised == case_templates
    assert "acknowledged" not in case_templates                  # no confirmation of a reply that worked
    assert {t for t, hears in HEARS.items() if hears == "reporter"} == {"reporter_received", "reporter_resolved"}
    assert HEARS["reopened_to_you"] == "handle"


# -- SLA facts -------------------------------------------------------------------------------------------

def test_given_a_case_that_climbed_and_was_supervised_then_its_sla_facts_count_by_level():
    case = routed()
    case.escalate(case.due_at, STANDARD, case.due_at)            # 1 → 2 at T0 + 30 min
    case.escalate(case.due_at, STANDARD, case.due_at)            # 2 → 3 at T0 + 2.5 h
    case.acknowledge("c1", T0 + 3 * HOUR, STANDARD)
    for _ in range(3):                                           # yellow, red, red again
        case.escalate(case.due_at, STANDARD, case.due_at)
    case.resolve("c1", T0 + DAY)
    facts = case.sla_facts()
    assert facts == {
        "escalations": {"1": 1, "2": 1}, "supervisions_yellow": {"4": 1}, "supervisions_red": {"4": 2},
        "breaches": 4,
        "acknowledged_at": T0 + 3 * HOUR, "acknowledged_by": "c1", "acknowledged_level": 3,
        "seconds_to_acknowledge": 3 * HOUR,
        "resolved_at": T0 + DAY, "resolved_by": "c1", "resolved_level": 3, "seconds_to_resolve": DAY,
    }


@pytest.mark.parametrize("chain, kind, escalations", [
    (without(CHAINS["standard"], 2), "standard", {"1": 1, "3": 1}),     # the breach is where it was held
    (without(CHAINS["standard"], 2, 3, 4), "standard", {"1": 1, "5": 1}),      # then reminded at the top
    (CHAINS["mediation"], "mediation", {"2": 1, "3": 1}),
    (CHAINS["urgent"], "urgent", {"2": 1, "3": 1}),
])
def test_given_escalations_then_each_is_counted_at_the_level_that_let_the_clock_run_out(chain, kind, escalations):
    policy = POLICIES[kind]
    case = routed(kind, chain=chain)
    for _ in range(2):
        case.escalate(case.due_at, policy, case.due_at)
    assert case.sla_facts()["escalations"] == escalations


def test_given_reminders_at_the_top_then_they_count_as_breaches_there():
    case = climbed(5)
    case.escalate(case.due_at, STANDARD, case.due_at)
    case.escalate(case.due_at, STANDARD, case.due_at)
    facts = case.sla_facts()
    assert facts["escalations"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2}
    assert facts["breaches"] == 6
    assert "acknowledged_at" not in facts and "resolved_at" not in facts


def test_given_an_acknowledged_case_taken_over_then_the_first_acknowledgement_counts():
    case = routed()
    case.acknowledge("s1", T0 + 10 * MINUTE, STANDARD)
    case.acknowledge("c1", T0 + 20 * MINUTE, STANDARD)
    case.resolve("c1", T0 + HOUR)
    facts = case.sla_facts()
    assert (facts["acknowledged_by"], facts["seconds_to_acknowledge"]) == ("s1", 10 * MINUTE)
    assert (facts["resolved_by"], facts["resolved_level"], facts["breaches"]) == ("c1", 3, 0)


def test_given_a_follower_resolved_then_the_facts_name_the_follower():
    case = routed("property")
    case.resolve("s1", T0 + HOUR)
    facts = case.sla_facts()
    assert (facts["resolved_by"], facts["resolved_level"], facts["seconds_to_resolve"]) == ("s1", 1, HOUR)
    assert "acknowledged_at" not in facts


def test_given_sla_facts_then_they_survive_the_json_round_trip():
    case = acknowledged(2)
    case.escalate(case.due_at, STANDARD, case.due_at)
    assert round_trip(case).sla_facts() == case.sla_facts()
    assert json.loads(json.dumps(case.sla_facts())) == case.sla_facts()

