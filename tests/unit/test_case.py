"""The case state machine: route, escalate, acknowledge, resolve, the outbox and the plain form."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.domain.case import (
    DEFAULT_CALLBACK_SECONDS,
    REPORTER,
    Authority,
    Case,
    Event,
    Notice,
    Status,
    TransitionRefused,
)
from chalicelib.domain.directory import Level
from chalicelib.domain.policy import EscalationPolicy

T0 = 1_000_000.0
DAY = 86400
POLICY = EscalationPolicy("test-v1", {1: 1800, 2: 7200, 3: 14400, 4: 86400, 5: 86400})
CHAIN = [
    Level(1, "stairwell_leader", "s1", ("s1", "b1")),
    Level(2, "grid_member", "g1", ("g1", "g2")),
    Level(3, "grid_chief", "c1", ("c1",)),
    Level(4, "committee", "k1", ("k1", "k2")),
    Level(5, "area_chief", "a1", ("a1",)),
]
HOLDERS = {1: "s1", 2: "g1", 3: "c1", 4: "k1", 5: "a1"}


def without(*levels):
    """CHAIN with nobody at home on the given levels."""
    return [replace(r, holder=None, eligible=()) if r.level in levels else r for r in CHAIN]


RESIDENT = "+8613912345678"


def received(code="ABC234", reporter_phone=None):
    return Case.receive(id="id-1", code=code, community_id="tiny", category="water_pipe",
                        location="tiny-01-1", description="水管漏水", now=T0, reporter_phone=reporter_phone)


def routed(chain=CHAIN, reporter_phone=None):
    case = received(reporter_phone=reporter_phone)
    case.route(chain, POLICY, T0)
    return case


def at_level(level, chain=CHAIN):
    """A case routed at T0 and left unacknowledged until it reached `level`."""
    case = routed(chain)
    while case.level < level:
        assert case.escalate(case.due_at, POLICY, case.due_at)
    assert case.level == level
    return case


def events(case, since=0):
    return [(e.event, e.level) for e in case.history[since:]]


def notices(case, since=0):
    return [(n.member_id, n.template, n.params) for n in case.outbox[since:]]


def snapshot(case):
    return json.dumps(case.to_dict(), sort_keys=True, default=str)


# -- receive and route ------------------------------------------------------------------------

def test_given_a_new_report_then_it_is_received_with_no_level_and_no_timer():
    case = received()
    assert (case.status, case.level, case.holder, case.due_at) == (Status.RECEIVED, 0, None, None)
    assert case.is_open
    assert case.history == [Event(T0, "received", None, None, "web")]
    assert case.outbox == []


def test_given_received_when_routed_then_assigned_to_level_1_with_deadline_and_notice():
    case = received()
    case.route(CHAIN, POLICY, T0 + 5)
    assert case.status is Status.ASSIGNED
    assert (case.level, case.holder, case.level_role) == (1, "s1", "stairwell_leader")
    assert case.due_at == T0 + 5 + 1800
    assert case.policy_version == "test-v1"
    assert case.chain == CHAIN
    assert case.outbox == [Notice("ABC234.1", "s1", "assigned", {})]
    assert case.history[-1] == Event(T0 + 5, "assigned", 1, "s1")
    assert case.updated_at == T0 + 5


def test_given_routed_when_routed_again_then_refused():
    case = routed()
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.route(CHAIN, POLICY, T0 + 1)
    assert refused.value.reason == "already_assigned"
    assert snapshot(case) == before


@pytest.mark.parametrize("empty, expected_level, expected_skipped", [
    ((1,), 2, [1]),
    ((1, 2), 3, [1, 2]),
    ((1, 2, 3, 4), 5, [1, 2, 3, 4]),
])
def test_given_nobody_at_home_on_low_levels_when_routed_then_skipped_levels_are_recorded(
        empty, expected_level, expected_skipped):
    case = routed(without(*empty))
    assert (case.level, case.holder) == (expected_level, HOLDERS[expected_level])
    assert case.due_at == T0 + POLICY.ack_seconds[expected_level]
    skipped = [e for e in case.history if e.event == "level_skipped"]
    assert [e.level for e in skipped] == expected_skipped
    assert {e.detail for e in skipped} == {"nobody_at_home"}
    assert notices(case) == [(HOLDERS[expected_level], "assigned", {})]


def test_given_nobody_at_home_anywhere_when_routed_then_unroutable_on_a_retry_timer():
    case = routed(without(1, 2, 3, 4, 5))
    assert case.status is Status.RECEIVED
    assert (case.level, case.holder) == (0, None)
    assert case.due_at == T0 + 1800
    assert events(case)[-1] == ("unroutable", None)
    assert case.outbox == []
    # the sweep's retry: still nobody, still waiting, a new timer
    assert case.escalate(case.due_at, POLICY, T0 + 1800)
    assert case.status is Status.RECEIVED
    assert case.due_at == T0 + 3600
    assert events(case)[-1] == ("unroutable", None)


# -- escalate -----------------------------------------------------------------------------------

@pytest.mark.parametrize("start, expected", [(1, 2), (2, 3), (3, 4), (4, 5)])
def test_given_overdue_when_escalated_then_one_level_up_notifying_new_and_previous_holder(start, expected):
    case = at_level(start)
    due, outbox_before = case.due_at, len(case.outbox)
    assert case.escalate(due, POLICY, due + 1)
    assert (case.status, case.level, case.holder) == (Status.ASSIGNED, expected, HOLDERS[expected])
    assert case.due_at == due + 1 + POLICY.ack_seconds[expected]
    assert case.history[-1] == Event(due + 1, "escalated", expected, HOLDERS[expected])
    assert notices(case, outbox_before) == [
        (HOLDERS[expected], "escalated_to_you", {}),
        (HOLDERS[start], "escalated_away", {"role": CHAIN[expected - 1].role}),
    ]


def test_given_due_exactly_now_when_escalated_then_it_climbs():
    case = routed()
    assert case.escalate(case.due_at, POLICY, case.due_at)
    assert case.level == 2


def _ack(case):
    case.acknowledge(case.holder, case.due_at - 10)


def _resolve(case):
    case.resolve(case.holder, case.due_at - 10)


def _escalated_already(case):
    case.escalate(case.due_at, POLICY, case.due_at)


@pytest.mark.parametrize("meanwhile, expected_due_offset, now_offset", [
    (None, +5.0, +10),                 # the sweep saw another deadline
    (None, 0.0, -1),                   # not yet overdue
    (_ack, 0.0, +10),                  # acknowledged meanwhile
    (_resolve, 0.0, +10),              # resolved meanwhile
    (_escalated_already, 0.0, +10),    # a duplicate escalation message
], ids=["wrong-deadline", "not-overdue", "acknowledged", "resolved", "duplicate"])
def test_given_a_stale_escalation_request_when_escalated_then_nothing_changes(
        meanwhile, expected_due_offset, now_offset):
    case = routed()
    seen_due = case.due_at
    if meanwhile:
        meanwhile(case)
    before = snapshot(case)
    assert case.escalate(seen_due + expected_due_offset, POLICY, seen_due + now_offset) is False
    assert snapshot(case) == before


def test_given_top_level_overdue_when_escalated_then_reminded_instead_of_climbing():
    case = at_level(5)
    due, outbox_before = case.due_at, len(case.outbox)
    assert case.escalate(due, POLICY, due + 3)
    assert (case.status, case.level, case.holder) == (Status.ASSIGNED, 5, "a1")
    assert case.due_at == due + 3 + 86400
    assert events(case)[-1] == ("reminded", 5)
    assert notices(case, outbox_before) == [("a1", "reminder", {})]
    # and again one deadline later: a second reminder, still level 5
    assert case.escalate(case.due_at, POLICY, case.due_at)
    assert [e.event for e in case.history].count("reminded") == 2
    assert case.level == 5


def test_given_the_top_levels_empty_when_escalated_from_the_last_holder_then_reminded_there():
    case = at_level(3, without(4, 5))
    assert case.escalate(case.due_at, POLICY, case.due_at)
    assert (case.level, case.holder) == (3, "c1")
    assert events(case)[-3:] == [("level_skipped", 4), ("level_skipped", 5), ("reminded", 3)]
    assert notices(case)[-1] == ("c1", "reminder", {})


@pytest.mark.parametrize("empty, start, expected, skipped", [
    ((2,), 1, 3, [2]),
    ((2, 3), 1, 4, [2, 3]),
    ((4,), 3, 5, [4]),
])
def test_given_empty_levels_above_when_escalated_then_they_are_skipped_and_recorded(
        empty, start, expected, skipped):
    case = at_level(start, without(*empty))
    since = len(case.history)
    assert case.escalate(case.due_at, POLICY, case.due_at)
    assert (case.level, case.holder) == (expected, HOLDERS[expected])
    assert events(case, since) == [("level_skipped", s) for s in skipped] + [("escalated", expected)]
    assert case.outbox[-1].params == {"role": CHAIN[expected - 1].role}


# -- acknowledge --------------------------------------------------------------------------------

def test_given_assigned_when_holder_acknowledges_then_acknowledged_and_timer_stops():
    case = routed()
    assert case.acknowledge("s1", T0 + 60)
    assert (case.status, case.level, case.holder, case.due_at) == (Status.ACKNOWLEDGED, 1, "s1", None)
    assert case.history[-1] == Event(T0 + 60, "acknowledged", 1, "s1")
    assert notices(case) == [("s1", "assigned", {})]       # no confirmation: a reply that worked needs no answer
    assert case.is_open
    assert not case.overdue(T0 + 10 * 86400)


def test_given_acknowledged_when_the_holder_acknowledges_again_then_false_and_unchanged():
    case = routed()
    case.acknowledge("s1", T0 + 60)
    before = snapshot(case)
    assert case.acknowledge("s1", T0 + 120) is False
    assert snapshot(case) == before


@pytest.mark.parametrize("level, actor, new_level", [
    (1, "g2", 2),
    (1, "c1", 3),
    (1, "k2", 4),
    (2, "a1", 5),
    (4, "a1", 5),
])
def test_given_a_member_above_the_holder_when_acknowledges_then_takes_over(level, actor, new_level):
    case = at_level(level)
    previous, outbox_before, since = case.holder, len(case.outbox), len(case.history)
    now = case.due_at - 1
    assert case.acknowledge(actor, now)
    assert (case.status, case.level, case.holder, case.due_at) == (Status.ACKNOWLEDGED, new_level, actor, None)
    assert case.history[since:] == [Event(now, "taken_over", new_level, actor),
                                    Event(now, "acknowledged", new_level, actor)]
    assert notices(case, outbox_before) == [(previous, "taken_over", {"by": actor})]   # no confirmation to the actor


def test_given_acknowledged_by_holder_when_a_member_above_acknowledges_then_takes_over():
    case = routed()
    case.acknowledge("s1", T0 + 1)
    assert case.acknowledge("c1", T0 + 2)
    assert (case.level, case.holder, case.status) == (3, "c1", Status.ACKNOWLEDGED)
    assert notices(case) == [("s1", "assigned", {}), ("s1", "taken_over", {"by": "c1"})]   # nothing to c1


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("level, actor", [
    (1, "zz"),           # not on the chain at all
    (3, "zz"),
    (2, "s1"),           # the previous holder, now below
    (3, "g2"),           # eligible below the holder
    (2, "b1"),
])
def test_given_someone_not_above_the_holder_when_acting_then_refused_and_case_unchanged(action, level, actor):
    case = at_level(level)
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        getattr(case, action)(actor, case.due_at - 1)
    assert refused.value.reason == "not_on_chain"
    assert snapshot(case) == before


@pytest.mark.parametrize("level, member, expected", [
    (1, "s1", Authority.HOLDER), (1, "g1", Authority.ABOVE), (1, "a1", Authority.ABOVE),
    (1, "zz", Authority.NONE), (3, "g1", Authority.NONE), (3, "k2", Authority.ABOVE),
    (5, "a1", Authority.HOLDER), (5, "k1", Authority.NONE),
])
def test_authority_table(level, member, expected):
    assert at_level(level).authority(member) is expected


def test_given_an_unroutable_case_when_a_chain_member_acknowledges_then_refused():
    case = received()
    case.route([*without(1, 2, 3, 4)[:4], replace(CHAIN[4], holder=None)], POLICY, T0)  # a1: eligible only
    assert case.status is Status.RECEIVED
    with pytest.raises(TransitionRefused) as refused:
        case.acknowledge("a1", T0 + 1)
    assert refused.value.reason == "not_acknowledgeable_received"


# -- resolve -------------------------------------------------------------------------------------

@pytest.mark.parametrize("acknowledged_first", [False, True])
def test_given_open_when_holder_resolves_then_resolved_and_only_the_callback_clock_runs(acknowledged_first):
    case = routed()
    if acknowledged_first:
        case.acknowledge("s1", T0 + 1)
    outbox_before = len(case.outbox)
    assert case.resolve("s1", T0 + 100)
    assert (case.status, case.is_open) == (Status.RESOLVED, False)
    assert (case.timer, case.due_at, case.resolve_due_at) == ("callback", T0 + 100 + 3 * DAY, None)
    assert case.history[-1] == Event(T0 + 100, "resolved", 1, "s1")
    assert notices(case, outbox_before) == []      # no confirmation to s1; no reporter phone, nobody else
    assert case.awaiting_feedback is False
    # the acknowledge clock is gone: its old deadline does nothing
    assert case.escalate(T0 + 1800, POLICY, T0 + 1800) is False
    assert case.status is Status.RESOLVED


def test_given_resolved_when_resolved_again_then_false_and_unchanged():
    case = routed()
    case.resolve("s1", T0 + 1)
    before = snapshot(case)
    assert case.resolve("s1", T0 + 2) is False
    assert snapshot(case) == before


def test_given_resolved_when_acknowledged_then_refused_and_unchanged():
    case = routed()
    case.resolve("s1", T0 + 1)
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.acknowledge("s1", T0 + 2)
    assert refused.value.reason == "not_acknowledgeable_resolved"
    assert snapshot(case) == before


def test_given_assigned_when_a_member_above_resolves_then_takes_over_and_resolves():
    case = routed()
    assert case.resolve("g2", T0 + 5)
    assert (case.status, case.level, case.holder) == (Status.RESOLVED, 2, "g2")
    assert events(case)[-2:] == [("taken_over", 2), ("resolved", 2)]
    assert notices(case) == [("s1", "assigned", {}), ("s1", "taken_over", {"by": "g2"})]   # nothing to g2
    assert (case.timer, case.due_at) == ("callback", T0 + 5 + 3 * DAY)


def test_given_received_but_unrouted_when_resolved_then_refused():
    with pytest.raises(TransitionRefused) as refused:
        received().resolve("s1", T0)
    assert refused.value.reason == "not_on_chain"


# -- outbox ----------------------------------------------------------------------------------------

def test_given_a_notice_in_the_outbox_when_marked_sent_then_it_moves_to_the_history():
    case = routed()
    notice = case.outbox[0]
    case.mark_sent(notice, T0 + 7, "msg-9", "s1")
    assert case.outbox == []
    assert case.history[-1] == Event(T0 + 7, "notified", 1, "s1", "assigned:ABC234.1:msg-9")
    # marking it again (a retry) records nothing more
    case.mark_sent(notice, T0 + 8, "msg-10", "s1")
    assert [e.event for e in case.history].count("notified") == 1


def test_given_no_provider_message_id_when_marked_sent_then_detail_has_template_and_notice_id():
    case = routed()
    case.mark_sent(case.outbox[0], T0 + 7, None, "s1")
    assert case.history[-1].detail == "assigned:ABC234.1"


def test_given_several_transitions_then_notice_ids_are_unique_and_sequential():
    case = at_level(3)
    case.acknowledge("k2", case.due_at - 1)
    ids = [n.id for n in case.outbox]
    assert ids == [f"ABC234.{i}" for i in range(1, len(ids) + 1)]
    assert case.notice_seq == len(ids)


# -- plain form ----------------------------------------------------------------------------------

def _busy_case():
    case = at_level(2, without(3))
    case.mark_sent(case.outbox[0], T0 + 1, "msg-1", "s1")
    case.acknowledge("k2", case.due_at - 1)
    case.version = 7
    return case


@pytest.mark.parametrize("case_factory", [received, routed, _busy_case,
                                          lambda: routed(without(1, 2, 3, 4, 5))],
                         ids=["received", "routed", "busy", "unroutable"])
def test_given_a_case_when_to_dict_then_from_dict_then_equal(case_factory):
    case = case_factory()
    assert Case.from_dict(case.to_dict()) == case
    # and through JSON, as it travels on a queue
    again = Case.from_dict(json.loads(json.dumps(case.to_dict(), ensure_ascii=False)))
    assert again == case
    assert again.status is case.status
    assert again.chain == case.chain


def test_given_a_round_tripped_case_then_transitions_continue_where_they_left_off():
    case = Case.from_dict(json.loads(json.dumps(routed().to_dict())))
    assert case.escalate(T0 + 1800, POLICY, T0 + 1800)
    assert (case.level, case.holder) == (2, "g1")
    assert [n.id for n in case.outbox] == ["ABC234.1", "ABC234.2", "ABC234.3"]


# -- the resolve clock (办结) and supervision (督办) ------------------------------------
TWO_CLOCKS = replace(POLICY, resolve_seconds={1: 1000, 2: 2000, 3: 3000, 4: 4000, 5: 5000}, yellow_at=0.8)


def acknowledged(level=1, policy=TWO_CLOCKS):
    case = received()
    case.route(CHAIN, policy, T0)
    while case.level < level:
        assert case.escalate(case.due_at, policy, case.due_at)
    case.acknowledge(HOLDERS[level], T0 + 10_000, policy)
    case.outbox.clear()
    return case


def test_given_no_resolve_limits_when_acknowledged_then_no_clock_runs():
    case = acknowledged(policy=POLICY)
    assert (case.timer, case.due_at, case.resolve_due_at) == (None, None, None)


def test_given_resolve_limits_when_acknowledged_then_yellow_at_80_percent_and_red_at_the_limit():
    case = acknowledged()
    assert case.timer == "yellow"
    assert case.due_at == pytest.approx(T0 + 10_000 + 800)
    assert case.resolve_due_at == pytest.approx(T0 + 10_000 + 1000)


@pytest.mark.parametrize("level, supervisor", [(1, "g1"), (2, "c1"), (3, "k1"), (4, "a1")])
def test_yellow_then_red_supervision_tells_the_level_above_and_the_holder_keeps_it(level, supervisor):
    case = acknowledged(level)
    holder = HOLDERS[level]
    # WHEN the yellow point passes
    assert case.escalate(case.due_at, TWO_CLOCKS, case.due_at)
    assert (case.status, case.level, case.holder, case.timer) == (Status.ACKNOWLEDGED, level, holder, "red")
    assert notices(case) == [(holder, "resolve_warning", {}),
                             (supervisor, "supervise_yellow", {"holder": holder})]
    assert events(case)[-1] == ("supervised_yellow", level + 1)
    # WHEN the limit passes
    case.outbox.clear()
    red_at = case.due_at
    assert red_at == case.resolve_due_at
    assert case.escalate(red_at, TWO_CLOCKS, red_at)
    assert notices(case) == [(holder, "resolve_overdue", {}), (supervisor, "supervise_red", {"holder": holder})]
    assert events(case)[-1] == ("supervised_red", level + 1)
    # AND red supervision repeats after another full limit, never climbing
    assert case.due_at == pytest.approx(red_at + TWO_CLOCKS.resolve_seconds[level])
    assert (case.level, case.holder) == (level, holder)


def test_at_the_top_the_holder_is_warned_with_nobody_above_to_supervise():
    case = acknowledged(5)
    assert case.escalate(case.due_at, TWO_CLOCKS, case.due_at)
    assert notices(case) == [("a1", "resolve_warning", {})]


def test_a_stale_supervision_request_does_nothing():
    case = acknowledged()
    before = snapshot(case)
    assert not case.escalate(case.due_at - 5, TWO_CLOCKS, case.due_at + 1)   # not the deadline it has
    assert not case.escalate(case.due_at, TWO_CLOCKS, case.due_at - 1)       # not yet due
    assert snapshot(case) == before


def test_the_supervisor_takes_over_and_its_own_resolve_clock_starts():
    case = acknowledged()
    case.escalate(case.due_at, TWO_CLOCKS, case.due_at)
    now = case.resolve_due_at + 5
    case.escalate(case.resolve_due_at, TWO_CLOCKS, case.resolve_due_at)
    assert case.acknowledge("g1", now, TWO_CLOCKS)
    assert (case.level, case.holder, case.timer) == (2, "g1", "yellow")
    assert case.resolve_due_at == pytest.approx(now + 2000)


def test_resolving_ends_both_clocks_and_only_the_callback_clock_runs():
    case = acknowledged()
    yellow_at, red_at = case.due_at, case.resolve_due_at
    case.resolve("s1", T0 + 10_100, TWO_CLOCKS)
    assert (case.timer, case.due_at, case.resolve_due_at) == ("callback", T0 + 10_100 + 3 * DAY, None)
    # neither the yellow nor the red alarm fires any more
    assert case.escalate(yellow_at, TWO_CLOCKS, red_at + 1) is False
    assert case.escalate(red_at, TWO_CLOCKS, red_at + 1) is False
    assert case.outbox == []


def test_the_resolve_limits_are_kept_from_when_the_case_started():
    case = acknowledged()
    shorter = replace(TWO_CLOCKS, version="later", resolve_seconds={lvl: 10 for lvl in range(1, 6)})
    case.escalate(case.due_at, shorter, case.due_at)
    red_at = case.due_at
    case.escalate(red_at, shorter, red_at)
    assert case.due_at == pytest.approx(red_at + 1000)    # the started-under limit, not 10 s
    assert Case.from_dict(json.loads(json.dumps(case.to_dict()))).resolve_limits == case.resolve_limits


# -- the reporter's call-back (回访): 满意 closes, 不满意 reopens one level up ----------------------------

def resolved_by(member_id, level=1, chain=CHAIN, reporter_phone=RESIDENT, now=T0 + 500):
    """Routed (with the reporter's phone) and left to climb to `level`, then resolved
    there by `member_id` at `now`; the outbox emptied."""
    case = routed(chain, reporter_phone=reporter_phone)
    while case.level < level:
        assert case.escalate(case.due_at, POLICY, case.due_at)
    assert case.resolve(member_id, max(now, case.updated_at + 1), POLICY)
    case.outbox.clear()
    return case


def test_given_a_reporter_phone_when_routed_then_the_reporter_is_told_the_code_and_the_holder_is_assigned():
    case = routed(reporter_phone=RESIDENT)
    assert notices(case) == [(REPORTER, "reporter_received", {}), ("s1", "assigned", {})]
    assert (case.status, case.holder) == (Status.ASSIGNED, "s1")


def test_given_no_reporter_phone_when_routed_then_no_reporter_notice():
    assert notices(routed()) == [("s1", "assigned", {})]


def test_given_a_reporter_phone_when_resolved_then_the_reporter_is_asked_and_the_callback_clock_runs():
    case = routed(reporter_phone=RESIDENT)
    case.acknowledge("s1", T0 + 10, POLICY)
    case.outbox.clear()
    assert case.resolve("s1", T0 + 100, POLICY)
    assert notices(case) == [(REPORTER, "reporter_resolved", {})]        # and no confirmation to s1
    assert case.awaiting_feedback is True
    assert (case.status, case.timer, case.due_at) == (Status.RESOLVED, "callback", T0 + 100 + 3 * DAY)
    assert case.has_running_clock
    assert not case.overdue(T0 + 100 + 3 * DAY - 1)


@pytest.mark.parametrize("policy, expected_wait", [
    (None, DEFAULT_CALLBACK_SECONDS),
    (POLICY, 3 * DAY),
    (replace(POLICY, callback_seconds=2 * DAY), 2 * DAY),
    (replace(POLICY, callback_seconds=2 * DAY, time_scale=60.0), 2 * DAY / 60),
], ids=["no-policy", "default", "two-days", "two-days-scaled"])
def test_given_a_policy_when_resolved_then_the_callback_clock_runs_for_its_callback_time(policy, expected_wait):
    case = routed(reporter_phone=RESIDENT)
    assert case.resolve("s1", T0 + 100, policy)
    assert (case.timer, case.due_at) == ("callback", pytest.approx(T0 + 100 + expected_wait))
    assert DEFAULT_CALLBACK_SECONDS == 3 * DAY


@pytest.mark.parametrize("reporter_phone", [RESIDENT, None], ids=["reporter", "no-reporter"])
def test_given_nobody_answers_the_callback_when_its_timer_fires_then_the_case_closes(reporter_phone):
    case = resolved_by("s1", reporter_phone=reporter_phone)
    resolved_at = case.updated_at
    due = case.due_at
    assert due == resolved_at + 3 * DAY
    # not before its time
    before = snapshot(case)
    assert case.escalate(due, POLICY, due - 1) is False
    assert case.escalate(due - 5, POLICY, due + 1) is False              # not the deadline it has
    assert snapshot(case) == before
    # WHEN the sweep finds it overdue
    assert case.escalate(due, POLICY, due)
    assert case.status is Status.CLOSED
    assert (case.timer, case.due_at, case.awaiting_feedback, case.is_open) == (None, None, False, False)
    assert case.history[-1] == Event(due, "closed", 1, None, "no_answer")
    assert case.outbox == []                                             # closing tells nobody
    assert not case.has_running_clock
    # a duplicate of the same escalation does nothing more
    assert case.escalate(due, POLICY, due + 10) is False
    assert [e.event for e in case.history].count("closed") == 1


def test_given_a_case_without_a_reporter_phone_then_no_reporter_notice_ever_but_it_still_closes():
    case = routed()
    case.acknowledge("s1", T0 + 10, POLICY)
    assert case.resolve("s1", T0 + 100, POLICY)
    assert all(n.member_id != REPORTER for n in case.outbox)
    assert case.awaiting_feedback is False
    assert (case.timer, case.due_at) == ("callback", T0 + 100 + 3 * DAY)
    # nobody can answer: a stray answer is refused, the case unchanged
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.feedback(True, T0 + 200, POLICY)
    assert refused.value.reason == "no_feedback_expected_resolved"
    assert snapshot(case) == before
    assert case.escalate(case.due_at, POLICY, case.due_at)
    assert (case.status, case.history[-1].event, case.history[-1].detail) == (Status.CLOSED, "closed", "no_answer")
    assert all(n.member_id != REPORTER for n in case.outbox)


def test_given_the_reporter_is_satisfied_then_the_case_closes_and_the_callback_clock_stops():
    case = resolved_by("s1")
    due = case.due_at
    assert case.feedback(True, T0 + DAY, POLICY)
    assert case.status is Status.CLOSED
    assert (case.timer, case.due_at, case.awaiting_feedback) == (None, None, False)
    assert case.history[-1] == Event(T0 + DAY, "closed", 1, REPORTER, "satisfied")
    assert case.outbox == []
    assert not case.has_running_clock
    assert case.escalate(due, POLICY, due) is False                      # the callback timer is gone


@pytest.mark.parametrize("resolver, level, chain, new_level, new_holder, skipped", [
    ("s1", 1, CHAIN, 2, "g1", []),                 # the holder resolved: the level above
    ("g2", 1, CHAIN, 3, "c1", []),                 # g2 took over at 2 by resolving: above g2
    ("c1", 3, CHAIN, 4, "k1", []),
    ("s1", 1, without(2), 3, "c1", [2]),           # nobody at home at 2: passed over
    ("c1", 3, without(4), 5, "a1", [4]),
    ("a1", 5, CHAIN, 5, "a1", []),                 # the top: the top holder again
    ("c1", 3, without(4, 5), 3, "c1", [4, 5]),     # nobody above: the resolver's level again
], ids=["holder", "taken-over", "grid-chief", "skip-2", "skip-4", "top", "nobody-above"])
def test_given_the_reporter_is_not_satisfied_then_reopened_one_level_above_the_resolver(
        resolver, level, chain, new_level, new_holder, skipped):
    case = resolved_by(resolver, level, chain)
    since, now = len(case.history), case.updated_at + DAY
    assert case.feedback(False, now, POLICY)
    assert (case.status, case.level, case.holder) == (Status.ASSIGNED, new_level, new_holder)
    assert case.is_open and case.awaiting_feedback is False
    # a fresh acknowledge clock for the new holder
    assert (case.timer, case.due_at, case.resolve_due_at) == ("ack", now + POLICY.ack_seconds[new_level], None)
    assert case.history[since:] == [*(Event(now, "level_skipped", s, None, "nobody_at_home") for s in skipped),
                                    Event(now, "reopened", new_level, REPORTER),
                                    Event(now, "assigned", new_level, new_holder)]
    assert notices(case) == [(new_holder, "reopened_to_you", {})]
    # AND it runs as any open case: unacknowledged, it climbs (or is reminded at the top)
    assert case.escalate(case.due_at, POLICY, case.due_at)
    assert case.status is Status.ASSIGNED and case.level >= new_level


def test_given_a_reopened_case_then_the_new_holder_acknowledges_and_resolves_and_the_reporter_is_asked_again():
    case = resolved_by("s1")
    case.feedback(False, T0 + DAY, POLICY)
    assert case.acknowledge("g1", T0 + DAY + 60, POLICY)
    assert case.resolve("g1", T0 + DAY + 120, POLICY)
    assert notices(case) == [("g1", "reopened_to_you", {}), (REPORTER, "reporter_resolved", {})]
    assert (case.awaiting_feedback, case.timer) == (True, "callback")
    assert case.feedback(True, T0 + 2 * DAY, POLICY)
    assert case.history[-1] == Event(T0 + 2 * DAY, "closed", 2, REPORTER, "satisfied")


@pytest.mark.parametrize("first, again", [(True, True), (True, False), (False, False), (False, True)])
def test_given_the_reporter_answered_when_an_answer_comes_again_then_false_and_unchanged(first, again):
    case = resolved_by("s1")
    assert case.feedback(first, T0 + DAY, POLICY)
    before = snapshot(case)
    assert case.feedback(again, T0 + DAY + 60, POLICY) is False
    assert snapshot(case) == before


@pytest.mark.parametrize("given", [
    lambda: routed(reporter_phone=RESIDENT),                       # not resolved yet
    lambda: received(reporter_phone=RESIDENT),
], ids=["open", "received"])
def test_given_a_case_not_waiting_for_an_answer_then_feedback_is_refused_and_unchanged(given):
    case = given()
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.feedback(True, T0 + 60, POLICY)
    assert refused.value.reason == f"no_feedback_expected_{case.status.value}"
    assert snapshot(case) == before


def test_given_closed_by_the_callback_timer_when_the_reporter_answers_late_then_refused():
    case = resolved_by("s1")
    case.escalate(case.due_at, POLICY, case.due_at)
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.feedback(False, case.updated_at + 60, POLICY)
    assert refused.value.reason == "no_feedback_expected_closed"
    assert snapshot(case) == before


@pytest.mark.parametrize("status, due_at, running", [
    (Status.RECEIVED, T0, True), (Status.ASSIGNED, T0, True), (Status.ACKNOWLEDGED, T0, True),
    (Status.RESOLVED, T0, True), (Status.ACKNOWLEDGED, None, False), (Status.RESOLVED, None, False),
    (Status.CLOSED, T0, False), (Status.CANCELLED, T0, False),
])
def test_has_running_clock(status, due_at, running):
    assert replace(received(), status=status, due_at=due_at).has_running_clock is running


def test_given_a_case_waiting_for_the_callback_when_round_tripped_then_it_keeps_awaiting_feedback():
    case = resolved_by("s1")
    again = Case.from_dict(json.loads(json.dumps(case.to_dict(), ensure_ascii=False)))
    assert again == case
    assert (again.awaiting_feedback, again.timer, again.due_at) == (True, "callback", case.due_at)
    assert again.feedback(False, T0 + DAY, POLICY)
    assert again.holder == "g1"
    # a case stored before the call-back existed reads as not waiting
    legacy = routed().to_dict()
    legacy.pop("awaiting_feedback")
    assert Case.from_dict(legacy).awaiting_feedback is False


@pytest.mark.parametrize("receives, low, high", [(1, 22, 30), (2, 45, 60), (3, 90, 120), (5, 360, 480),
                                                 (6, 675, 900), (20, 675, 900)])
def test_given_n_receives_when_a_message_fails_then_its_retry_backs_off_exponentially(receives, low, high):
    from chalicelib.sqs_batch import backoff_seconds
    delays = {backoff_seconds(receives) for _ in range(200)}
    assert low <= min(delays) and max(delays) <= high
    assert len(delays) > 1                     # jittered: failures that came together spread out
