"""Races between the real services (as bootstrap builds them) on both engines, with real
threads lined up by a barrier: an acknowledgement against the escalation of the same
overdue case, two sweeps at once, the same SMS reply processed twice at once, and two
members acting on one case at once.

Whatever the interleaving, the case ends in one consistent state, its history has every
event exactly once, and every notice it ever queued went out exactly once: no SMS
doubled, none dropped. Each race runs once for each of STAGGERS (a subtest each), on
fresh cases, the later thread starting a little later each time, so that it lands
before, inside and after the other's read-write-send.

Demo directory, changmu-01-1, standard chain: m10 holds level 1, m06 (grid member) is
the level above and may take the case over by replying 收到; m03, on the committee, may
suspend it (挂起).
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.domain.case import REPORTER, Case, Status
from tests.storage.conftest import at_once, inbound

STAGGERS = (0.0, 0.0, 0.002, 0.01, 0.03)     # seconds between the threads' starts, one per run
HOLDER, SUPERVISOR, COMMITTEE = "m10", "m06", "m03"
REPORTER_PHONE = "+8613912345678"
# Each with its own stairwell leader, all with m06 as grid member (changmu.yaml).
LOCATIONS = ("changmu-01-1", "changmu-01-2", "changmu-02-1")
DISPOSED = ("notified", "notice_withheld", "notice_dropped")   # what ends a notice's time in the outbox


# -- helpers -----------------------------------------------------------------------------------------

def phone(stack, member_id: str) -> str:
    return stack.directory().member("changmu", member_id).phone


def each_run(subtests, race) -> None:
    """Run `race(stagger)` once for each of STAGGERS, each a subtest of its own. Each run
    starts two hours after the last: no send window or rate-limit window of a member is
    left over from it (ERROR_REPLIES allows three refusals an hour)."""
    for run, stagger in enumerate(STAGGERS):
        with subtests.test(run=run, stagger=stagger):
            race(stagger)


def routed_case(stack, location: str = LOCATIONS[0]) -> Case:
    """Reported through intake and routed by the case worker, with every notice sent; the
    clock then past the send windows the notices took, so that what the race causes is
    sent at once (a member answers some minutes after the assignment, not seconds)."""
    submitted = stack.intake.submit({"category": "sanitation", "location": location, "phone": REPORTER_PHONE,
                                     "description": "楼道垃圾好几天没人清"})
    for index, body in enumerate(stack.queue("intake").take()):
        stack.workflow.route(stack.intake.parse_queue_message(body, f"intake-{index}"))
    settle(stack, [submitted.code])
    stack.clock.advance(getattr(stack.config, "bundle_seconds", 0) + 1)
    return stack.cases.get(submitted.code)


def settle(stack, codes: list[str]) -> None:
    """Let every notice the cases hold back go out: past each hold (a phone's send window,
    when notices are bundled), the sweep brings the case back and the escalation worker
    sends them, as in production."""
    for _ in range(6):
        held = [n.not_before for c in (stack.cases.get(code) for code in codes) for n in c.outbox
                if n.not_before is not None]
        if not held:
            return          # (a notice left unsent and not held is what the assertions look for)
        stack.clock.now = max(stack.clock.now, max(held) + 1)
        for code, due_at in list(stack.cases.due(stack.clock.now)):
            if code in codes:
                stack.workflow.escalate(json.dumps({"code": code, "due_at": due_at}))
    pytest.fail(f"notices still held after six sweeps: {[stack.cases.get(c).outbox for c in codes]}")


def events(case: Case, name: str, actor: str | None = None) -> list:
    return [e for e in case.history if e.event == name and (actor is None or e.actor == actor)]


def assert_every_notice_sent_exactly_once(stack, cases: list[Case]) -> None:
    """Nothing is left in an outbox; every notice each case ever queued is recorded as gone
    exactly once; and the SMS sent for notices are exactly those recorded, none more."""
    recorded: set[str] = set()
    for case in cases:
        assert case.outbox == [], f"{case.code}: notices never sent: {case.outbox}"
        gone = [e.detail.split(":") for e in case.history if e.event in DISPOSED]
        assert sorted(parts[1] for parts in gone) == sorted(
            f"{case.code}.{n}" for n in range(1, case.notice_seq + 1)), f"{case.code}: {case.history}"
        recorded.update(parts[2] for parts in gone if len(parts) > 2)
    ids = {case.id for case in cases}
    sent = {s.message_id: s for s in stack.sms.sent if s.case_id in ids}
    unrecorded = [(s.phone, s.text) for message_id, s in sent.items() if message_id not in recorded]
    assert unrecorded == [], "sent, but no case records it (sent twice?): " + "\n".join(
        f"{s.message_id} {s.phone} {s.text}" for s in stack.sms.sent) + "\n" + "\n".join(
        f"{c.code} {e}" for c in cases for e in c.history)
    assert recorded <= set(sent), "recorded as sent, but never sent"


def templates_to(case: Case, member_id: str) -> list[str]:
    return [e.detail.split(":")[0] for e in events(case, "notified", member_id)]


def replies_to(stack, member_id: str, since: int) -> list[str]:
    """SMS to a member that answer their own message (refusals), not notices of a case,
    from the `since`-th SMS on."""
    return [s.text for s in stack.sms.sent[since:] if s.case_id is None and s.phone == phone(stack, member_id)]


def next_run(stack) -> int:
    """Two hours on (see each_run); returns how many SMS were sent before."""
    stack.clock.advance(2 * 3600)
    return len(stack.sms.sent)


def queued_for(stack, codes: list[str]) -> list[str]:
    """The escalation messages the sweep queued for these cases (earlier runs' cases,
    overdue by now, are left alone)."""
    return [body for body in stack.queue("escalation").take() if json.loads(body)["code"] in codes]


# -- acknowledgement against escalation ------------------------------------------------------------

def test_an_acknowledgement_racing_the_escalation_of_an_overdue_case_either_wins_whole(stack, subtests):
    def race(stagger: float) -> None:
        since = next_run(stack)
        # GIVEN a case m10 has not acknowledged in time, queued for escalation by the sweep
        case = routed_case(stack)
        stack.clock.now = case.due_at + 1
        stack.workflow.sweep()
        [escalation] = queued_for(stack, [case.code])
        sent_before = len(stack.sms.sent)

        # WHEN the escalation worker and m10's 收到 run at the same moment
        escalated, answer = at_once(
            lambda: stack.workflow.escalate(escalation),
            lambda: stack.workflow.reply(inbound(phone(stack, HOLDER), f"收到 {case.code}")), stagger=stagger)
        settle(stack, [case.code])

        # THEN one of them won whole
        final = stack.cases.get(case.code)
        if answer == "acknowledge":          # m10 was first: the escalation found nothing to do
            assert (final.status, final.level, final.holder) == (Status.ACKNOWLEDGED, 1, HOLDER)
            assert (len(events(final, "acknowledged", HOLDER)), len(events(final, "escalated"))) == (1, 0)
            assert len(stack.sms.sent) == sent_before                    # nobody needs telling
        else:                                # the escalation was first: m10 is told it moved on
            assert answer == "refused:not_on_chain"
            assert (final.status, final.level, final.holder) == (Status.ASSIGNED, 2, SUPERVISOR)
            assert (len(events(final, "acknowledged")), len(events(final, "escalated", SUPERVISOR))) == (0, 1)
            assert templates_to(final, SUPERVISOR) == ["escalated_to_you"]
            assert templates_to(final, HOLDER) == ["assigned", "escalated_away"]
            assert len(replies_to(stack, HOLDER, since)) == 1             # the refusal, once
        assert escalated is not None
        assert [e.event for e in final.history].count("received") == 1
        assert_every_notice_sent_exactly_once(stack, [final])

    each_run(subtests, race)


# -- two sweeps at once ------------------------------------------------------------------------------

def test_two_sweeps_at_once_escalate_each_overdue_case_once(stack, subtests):
    def race(stagger: float) -> None:
        next_run(stack)
        # GIVEN three cases nobody acknowledged in time
        cases = [routed_case(stack, location) for location in LOCATIONS]
        stack.clock.now = max(c.due_at for c in cases) + 1
        codes = [c.code for c in cases]

        # WHEN two sweeps run at once, and the escalation workers take all they queued at once
        at_once(stack.workflow.sweep, stack.workflow.sweep, stagger=stagger)
        queued = queued_for(stack, codes)
        assert sorted(json.loads(body)["code"] for body in queued) == sorted(codes * 2)
        at_once(*[lambda body=body: stack.workflow.escalate(body) for body in queued], stagger=stagger / 3)
        settle(stack, codes)

        # THEN each case climbed one level, once, and everyone heard of it once
        finals = [stack.cases.get(code) for code in codes]
        for final, location in zip(finals, LOCATIONS, strict=True):
            leader = final.chain[0].holder
            assert (final.status, final.level, final.holder) == (Status.ASSIGNED, 2, SUPERVISOR), location
            assert len(events(final, "escalated")) == 1
            assert templates_to(final, SUPERVISOR) == ["escalated_to_you"]
            assert templates_to(final, leader) == ["assigned", "escalated_away"]
        assert_every_notice_sent_exactly_once(stack, finals)

    each_run(subtests, race)


# -- the same SMS reply twice at once -----------------------------------------------------------------

SAME_REPLY = {
    # name: (who replies, what, what each worker answers, status, level, holder, event that happens once)
    "holder resolves": (HOLDER, "完成", "resolve", Status.RESOLVED, 1, HOLDER, "resolved"),
    "supervisor takes over": (SUPERVISOR, "收到", "acknowledge", Status.ACKNOWLEDGED, 2, SUPERVISOR, "taken_over"),
    "holder acknowledges": (HOLDER, "收到", "acknowledge", Status.ACKNOWLEDGED, 1, HOLDER, "acknowledged"),
}


@pytest.mark.parametrize("name", SAME_REPLY)
def test_the_same_sms_reply_processed_twice_at_once_acts_once(stack, subtests, name):
    member, word, answer, status, level, holder, once = SAME_REPLY[name]

    def race(stagger: float) -> None:
        since = next_run(stack)
        # GIVEN a routed case, and one SMS reply to it that SQS delivered twice
        case = routed_case(stack)
        body = inbound(phone(stack, member), f"{word} {case.code}")

        # WHEN two reply workers process it at the same moment
        answers = at_once(lambda: stack.workflow.reply(body), lambda: stack.workflow.reply(body), stagger=stagger)
        settle(stack, [case.code])

        # THEN it acted once: one state, one event, one of each notice
        final = stack.cases.get(case.code)
        assert answers == [answer, answer]
        assert (final.status, final.level, final.holder) == (status, level, holder)
        assert len(events(final, once)) == 1
        assert replies_to(stack, member, since) == []
        if name == "holder resolves":        # the resident is asked once whether it is fixed
            assert templates_to(final, REPORTER) == ["reporter_received", "reporter_resolved"]
        if name == "supervisor takes over":  # m10 is told once to stand down
            assert templates_to(final, HOLDER) == ["assigned", "taken_over"]
        assert_every_notice_sent_exactly_once(stack, [final])

    each_run(subtests, race)


# -- two members acting on one case at once -----------------------------------------------------------

def test_the_holder_acknowledging_while_the_supervisor_takes_over_leaves_it_with_the_supervisor(stack, subtests):
    def race(stagger: float) -> None:
        since = next_run(stack)
        # GIVEN a case m10 holds
        case = routed_case(stack)

        # WHEN m10 and the grid member m06 both reply 收到 at the same moment
        holder_answer, supervisor_answer = at_once(
            lambda: stack.workflow.reply(inbound(phone(stack, HOLDER), f"收到 {case.code}")),
            lambda: stack.workflow.reply(inbound(phone(stack, SUPERVISOR), f"收到 {case.code}")), stagger=stagger)
        settle(stack, [case.code])

        # THEN the supervisor has it, acknowledged, whoever came first
        final = stack.cases.get(case.code)
        assert supervisor_answer == "acknowledge"
        assert (final.status, final.level, final.holder) == (Status.ACKNOWLEDGED, 2, SUPERVISOR)
        assert (len(events(final, "taken_over", SUPERVISOR)), len(events(final, "acknowledged", SUPERVISOR))) == (1, 1)
        # AND m10's acknowledgement counts only if it came first; if not, m10 is told so, once
        if holder_answer == "acknowledge":
            assert [e.actor for e in events(final, "acknowledged")] == [HOLDER, SUPERVISOR]
            assert replies_to(stack, HOLDER, since) == []
        else:
            assert holder_answer == "refused:not_on_chain"
            assert events(final, "acknowledged", HOLDER) == []
            assert len(replies_to(stack, HOLDER, since)) == 1
        assert templates_to(final, HOLDER) == ["assigned", "taken_over"]
        assert_every_notice_sent_exactly_once(stack, [final])

    each_run(subtests, race)


def test_the_holder_resolving_while_the_supervisor_takes_over_is_one_or_the_other(stack, subtests):
    def race(stagger: float) -> None:
        since = next_run(stack)
        # GIVEN a case m10 holds
        case = routed_case(stack)

        # WHEN m10 replies 完成 and m06 replies 收到 at the same moment
        holder_answer, supervisor_answer = at_once(
            lambda: stack.workflow.reply(inbound(phone(stack, HOLDER), f"完成 {case.code}")),
            lambda: stack.workflow.reply(inbound(phone(stack, SUPERVISOR), f"收到 {case.code}")), stagger=stagger)
        settle(stack, [case.code])

        # THEN exactly one of them acted, and the other was told it could not
        final = stack.cases.get(case.code)
        outcome = Counter({"resolved": len(events(final, "resolved")), "taken_over": len(events(final, "taken_over"))})
        if holder_answer == "resolve":
            assert supervisor_answer == "refused:not_acknowledgeable_resolved"
            assert (final.status, final.level, final.holder) == (Status.RESOLVED, 1, HOLDER)
            assert outcome == Counter({"resolved": 1, "taken_over": 0})
            assert (len(replies_to(stack, SUPERVISOR, since)), replies_to(stack, HOLDER, since)) == (1, [])
            assert templates_to(final, REPORTER) == ["reporter_received", "reporter_resolved"]
        else:
            assert (holder_answer, supervisor_answer) == ("refused:not_on_chain", "acknowledge")
            assert (final.status, final.level, final.holder) == (Status.ACKNOWLEDGED, 2, SUPERVISOR)
            assert outcome == Counter({"resolved": 0, "taken_over": 1})
            assert (len(replies_to(stack, HOLDER, since)), replies_to(stack, SUPERVISOR, since)) == (1, [])
            assert templates_to(final, HOLDER) == ["assigned", "taken_over"]
        assert_every_notice_sent_exactly_once(stack, [final])

    each_run(subtests, race)


def test_the_committee_suspending_while_the_supervisor_takes_over_tells_each_holder_once(stack, subtests):
    def race(stagger: float) -> None:
        since = next_run(stack)
        # GIVEN a case m10 holds
        case = routed_case(stack)

        # WHEN m06 replies 收到 and the committee's m03 replies 挂起 at the same moment
        supervisor_answer, committee_answer = at_once(
            lambda: stack.workflow.reply(inbound(phone(stack, SUPERVISOR), f"收到 {case.code}")),
            lambda: stack.workflow.reply(inbound(phone(stack, COMMITTEE), f"挂起 {case.code} 等物业回复")),
            stagger=stagger)
        settle(stack, [case.code])

        # THEN it is suspended either way, and whoever held it when it was is told so, once
        final = stack.cases.get(case.code)
        assert committee_answer == "suspend" and final.is_suspended
        assert len(events(final, "suspended", COMMITTEE)) == 1
        if supervisor_answer == "acknowledge":       # taken over first, then suspended
            assert (final.status, final.level, final.holder) == (Status.ACKNOWLEDGED, 2, SUPERVISOR)
            assert templates_to(final, HOLDER) == ["assigned", "taken_over"]
            assert templates_to(final, SUPERVISOR) == ["suspended"]
            assert replies_to(stack, SUPERVISOR, since) == []
        else:                                        # suspended first: nobody takes it over
            assert supervisor_answer == "refused:suspended"
            assert (final.status, final.level, final.holder) == (Status.ASSIGNED, 1, HOLDER)
            assert events(final, "taken_over") == []
            assert templates_to(final, HOLDER) == ["assigned", "suspended"]
            assert len(replies_to(stack, SUPERVISOR, since)) == 1
        assert replies_to(stack, COMMITTEE, since) == []
        assert_every_notice_sent_exactly_once(stack, [final])

    each_run(subtests, race)
