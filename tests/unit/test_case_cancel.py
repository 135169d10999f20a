"""取消: a junk report (spam, a test, a duplicate) is called off (Case.cancel).

Chains and members as in tests/unit/test_case_clocks.py:

    standard  1 s1 (b1)   2 g1 (g2)   3 c1   4 k1 (k2)   5 a1
    property  1 p1 with follower s1, then 2..5 as above
    responsibility: the area chief a1 leads, the committee k1, k2 supervises
"""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.case import REPORTER, TRIAGE_TIMER, Case, Status, TransitionRefused
from tests.unit.test_case_clocks import (
    CHAINS,
    HOUR,
    MINUTE,
    POLICIES,
    RESPONSIBILITY,
    STANDARD,
    T0,
    round_trip,
    snapshot,
)

RESIDENT = "+8613912345678"


def reported(kind="standard", phone=RESIDENT) -> Case:
    """A report with the resident's phone, routed at T0 on `kind`'s chain."""
    case = Case.receive(id="id-1", code="ABC234", community_id="tiny", category="sanitation",
                        location="tiny-01-1", description="测试", now=T0, reporter_phone=phone)
    case.route(CHAINS[kind], POLICIES[kind], T0, RESPONSIBILITY, "g1")
    return case


def delivered(case: Case, now: float | None = None) -> Case:
    """Every notice in the outbox goes out, as services.notices records it."""
    for notice in list(case.outbox):
        case.mark_sent(notice, now or case.updated_at + 1, f"msg-{notice.id}", notice.member_id)
    return case


def new_notices(case: Case) -> list[tuple[str, str]]:
    return [(n.member_id, n.template) for n in case.outbox]


# -- the transition ----------------------------------------------------------------------------------

def test_given_an_assigned_case_when_the_committee_cancels_it_then_it_stops_and_those_told_to_act_are_told():
    # GIVEN a property case: p1 holds it, the stairwell leader s1 follows (跟办); both were told
    case = delivered(reported("property"))
    assert (case.status, case.holder, case.timer) == (Status.ASSIGNED, "p1", "ack")

    # WHEN a committee member cancels it as a duplicate
    assert case.cancel("k1", " 重复报事 ", T0 + HOUR)

    # THEN it is cancelled, with who and why in its history
    assert case.status is Status.CANCELLED and not case.is_open
    assert [(e.event, e.actor, e.detail) for e in case.history[-1:]] == [("cancelled", "k1", "重复报事")]
    # AND every clock stopped: the sweep's sparse index no longer holds it
    assert (case.due_at, case.timer, case.resolve_due_at) == (None, None, None)
    assert not case.has_running_clock and case.sweep_at is None
    # AND the holder and the follower are told to stop; the resident hears nothing (no SMS for junk)
    assert new_notices(case) == [("p1", "case_cancelled"), ("s1", "case_cancelled")]


def test_given_an_acknowledged_suspended_case_with_an_extension_asked_when_cancelled_then_nothing_is_left_running():
    case = delivered(reported())
    case.acknowledge("s1", T0 + MINUTE, STANDARD)
    case.request_extension("s1", 2, "等配件", T0 + 2 * MINUTE)
    case.suspend("k2", "停水", STANDARD, T0 + 3 * MINUTE)
    delivered(case)

    assert case.cancel("k2", "测试", T0 + HOUR)

    assert (case.suspended, case.extension, case.resolve_due_at, case.due_at) == (None, None, None, None)
    assert case.sweep_at is None
    # s1 held it; g1 was asked to decide the extension (a level above): both told
    assert new_notices(case) == [("s1", "case_cancelled"), ("g1", "case_cancelled")]


def test_given_a_case_that_climbed_when_cancelled_then_whoever_was_stood_down_is_not_told_again():
    # GIVEN s1 was told it went up (escalated_away), g1 holds it and c1 got a yellow card
    case = delivered(reported())
    case.escalate(case.due_at, STANDARD, case.due_at)
    delivered(case)
    case.acknowledge("g1", case.updated_at + MINUTE, STANDARD)
    case.escalate(case.due_at, STANDARD, case.due_at)        # the yellow point of g1's resolve limit
    delivered(case)

    # WHEN the holder cancels it
    assert case.cancel("g1", "误报", case.updated_at + MINUTE)

    # THEN only the card holder above is told: the holder did it, s1 stood down already
    assert new_notices(case) == [("c1", "case_cancelled")]


def test_given_notices_not_yet_sent_when_cancelled_then_they_are_dropped_and_recorded():
    # GIVEN a routed case whose notices have not gone out yet (the reporter's code among them)
    case = reported("property")
    assert new_notices(case) == [(REPORTER, "reporter_received"), ("p1", "assigned"), ("s1", "follow")]

    assert case.cancel("a1", "测试短信", T0 + MINUTE)

    # THEN none of them goes: who was never told needs no calling off, the resident gets no SMS
    assert [(e.event, e.actor, e.detail) for e in case.history if e.event == "notice_dropped"] == [
        ("notice_dropped", REPORTER, "reporter_received:ABC234.1"),
        ("notice_dropped", "p1", "assigned:ABC234.2"),
        ("notice_dropped", "s1", "follow:ABC234.3")]
    assert new_notices(case) == [("p1", "case_cancelled")]      # the holder knows it from the chain


def test_given_a_notice_held_for_quiet_hours_when_cancelled_then_it_is_dropped_and_keeps_nothing_in_the_sweep():
    # GIVEN the follower's notice held until the community's night is over
    case = reported("property")
    follow = next(n for n in case.outbox if n.template == "follow")
    case.hold(follow, T0 + 8 * HOUR, T0)
    assert case.held_until == T0 + 8 * HOUR

    assert case.cancel("k1", "重复", T0 + MINUTE)

    # THEN it is gone, and with it the reason for the sweep to come back in the morning
    assert case.held_until is None and case.sweep_at is None
    assert ("s1", "case_cancelled") not in new_notices(case)     # never told to follow: nothing to call off


@pytest.mark.parametrize("who, on_duty", [
    ("p1", False),          # the holder
    ("k1", False),          # the committee, on the chain above
    ("k2", False),          # the committee, named to supervise (两委督办)
    ("a1", False),          # the area chief
    ("zz", True),           # the member on triage duty (the caller knows the directory)
])
def test_given_a_member_who_may_cancel_then_it_is_cancelled(who, on_duty):
    case = reported("property")
    assert case.cancel(who, "重复", T0 + MINUTE, on_duty=on_duty)
    assert case.status is Status.CANCELLED and case.history[-1].actor == who


@pytest.mark.parametrize("who, reason", [
    ("s1", "not_allowed_follower"),     # 跟办 may resolve, not cancel
    ("g1", "not_allowed_above"),        # a grid member above: takes over, does not cancel
    ("c1", "not_allowed_above"),
    ("zz", "not_on_chain"),
])
def test_given_a_member_who_may_not_cancel_then_refused_and_the_case_unchanged(who, reason):
    case = reported("property")
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.cancel(who, "重复", T0 + MINUTE)
    assert refused.value.reason == reason
    assert snapshot(case) == before


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_given_no_reason_then_refused_and_the_case_unchanged(reason):
    case = reported()
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.cancel("s1", reason, T0 + MINUTE)
    assert refused.value.reason == "reason_required"
    assert snapshot(case) == before


@pytest.mark.parametrize("end, status", [("resolved", "resolved"), ("closed", "closed")])
def test_given_a_resolved_or_closed_case_then_it_cannot_be_cancelled(end, status):
    case = reported()
    case.resolve("s1", T0 + MINUTE, STANDARD)
    if end == "closed":
        case.feedback(True, T0 + HOUR, STANDARD)
    before = snapshot(case)
    with pytest.raises(TransitionRefused) as refused:
        case.cancel("k1", "重复", T0 + 2 * HOUR)
    assert refused.value.reason == f"not_cancellable_{status}"
    assert snapshot(case) == before


def test_given_a_cancelled_case_when_cancelled_again_then_nothing_changes_and_nothing_is_sent():
    case = delivered(reported("property"))
    case.cancel("k1", "重复", T0 + MINUTE)
    delivered(case)
    before = snapshot(case)

    assert case.cancel("k1", "重复", T0 + HOUR) is False          # the same SMS, redelivered
    assert case.cancel("a1", "测试", T0 + HOUR, on_duty=True) is False

    assert snapshot(case) == before and case.outbox == []


@pytest.mark.parametrize("action", [
    lambda case: case.acknowledge("p1", T0 + HOUR, STANDARD),
    lambda case: case.resolve("p1", T0 + HOUR, STANDARD),
    lambda case: case.suspend("k1", "x", STANDARD, T0 + HOUR),
    lambda case: case.transfer("p1", "b1", "x", STANDARD, T0 + HOUR),
    lambda case: case.feedback(True, T0 + HOUR, STANDARD),
], ids=["acknowledge", "resolve", "suspend", "transfer", "feedback"])
def test_given_a_cancelled_case_then_no_other_transition_revives_it(action):
    case = reported("property")
    case.cancel("k1", "重复", T0 + MINUTE)
    before = snapshot(case)
    with pytest.raises(TransitionRefused):
        action(case)
    assert snapshot(case) == before


def test_given_a_cancelled_case_then_the_sweep_has_nothing_to_do_with_it():
    case = reported()
    due = case.due_at
    case.cancel("s1", "重复", T0 + MINUTE)
    assert case.escalate(due, STANDARD, due + HOUR) is False


# -- an SMS report waiting for its place ----------------------------------------------------------------

def unplaced() -> Case:
    case = Case.receive(id="x", code="ABC234", community_id="tiny", category="other", location="tiny",
                        description="加微信领红包", now=T0, source="sms", reporter_phone=RESIDENT)
    assert case.await_triage("zz", T0, T0 + 30 * MINUTE, text="加微信领红包", phone="13912345678")
    case.give_code()
    return delivered(case)


def test_given_an_sms_report_in_triage_when_the_triage_member_cancels_it_then_cancelled_with_no_sms():
    case = unplaced()
    assert case.timer == TRIAGE_TIMER and case.sweep_at == T0 + 30 * MINUTE

    assert case.cancel("zz", "广告", T0 + MINUTE)          # zz holds it: the triage member

    assert case.status is Status.CANCELLED and case.sweep_at is None
    assert case.history[-1].level is None                  # never routed: no level
    assert case.outbox == []                               # nobody else was told; the resident had the code


def test_given_an_sms_report_in_triage_when_the_committee_cancels_it_then_the_triage_member_is_told():
    case = unplaced()
    with pytest.raises(TransitionRefused):                 # not routed: no chain tells who the committee is
        case.cancel("k1", "广告", T0 + MINUTE)
    assert case.cancel("k1", "广告", T0 + MINUTE, on_duty=True)
    assert new_notices(case) == [("zz", "case_cancelled")]


# -- the reporter's language on the case -------------------------------------------------------------------

def test_given_a_reporters_language_then_it_survives_a_round_trip_and_an_old_case_is_chinese():
    case = Case.receive(id="x", code="ABC234", community_id="tiny", category="other", location="tiny-01-1",
                        description="The light is broken", now=T0, reporter_phone=RESIDENT, reporter_lang="en")
    case.cancel("zz", "test", T0 + MINUTE, on_duty=True)
    again = round_trip(case)
    assert (again.reporter_lang, again.status) == ("en", Status.CANCELLED)

    old = json.loads(json.dumps(case.to_dict()))
    del old["reporter_lang"]                               # saved before there was a language
    assert Case.from_dict(old).reporter_lang == "zh"
