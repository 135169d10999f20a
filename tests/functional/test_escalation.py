"""Escalation through the handlers: escalation_sweep (scheduled) → escalation queue →
escalation_worker. Policy (chalicelib/data/policy.json): level 1 has 30 minutes to
acknowledge, level 2 two hours, level 3 four hours, levels 4 and 5 a day."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import sent_sms
from tests.functional.conftest import (
    GRID_MEMBER,
    STAIRWELL_LEADER,
    FlakySms,
    case,
    dead_letters,
    escalate_due,
    failed_ids,
    invoke,
    member_phone,
    post_report,
    receive_all,
    records_from,
    report,
    routed_report,
    run_queue,
    send_to,
    sms_to,
    snapshot,
    sweep,
    text_in,
)

MINUTE = 60
DAY = 24 * 60 * MINUTE
RESIDENT = "+8613912345678"       # the phone of report(), as stored: the reporter gets the code
# changmu-01-1: stairwell leader m10, grid member m06, grid chief m02, committee m03, area chief m01
CLIMB = [(30, 2, "grid_member", "m06"), (120, 3, "grid_chief", "m02"),
         (240, 4, "committee", "m03"), (1440, 5, "area_chief", "m01")]


def test_nothing_is_escalated_before_the_deadline(client, aws_stack, clock):
    code = routed_report(client, aws_stack)
    clock.advance(29 * MINUTE)

    assert sweep(client) == {"queued": 0, "orders": 0}
    assert receive_all(aws_stack, "escalation") == []
    assert case(aws_stack, code).level == 1


def test_an_unacknowledged_case_climbs_to_the_grid_member_after_30_minutes(client, aws_stack, clock):
    # GIVEN a case the stairwell leader has not acknowledged for 30 minutes
    code = routed_report(client, aws_stack)
    leader, grid_member = member_phone(aws_stack, STAIRWELL_LEADER), member_phone(aws_stack, GRID_MEMBER)
    clock.advance(30 * MINUTE + 1)

    # WHEN the scheduled sweep runs and the escalation worker takes what it queued
    assert sweep(client) == {"queued": 1, "orders": 0}
    records = run_queue(client, aws_stack, "escalation")

    # THEN the case is at level 2 with the grid member
    assert len(records) == 1
    stored = case(aws_stack, code)
    assert (stored.status.value, stored.level, stored.holder) == ("assigned", 2, GRID_MEMBER)
    view = client.http.get(f"/reports/{code}").json_body
    assert (view["level"], view["level_role"]) == (2, "grid_member")
    assert "escalated" in [e["event"] for e in view["history"]]
    # AND the new holder was told to take it, the previous one that it went up
    assert len(sms_to(grid_member)) == 1 and code in sms_to(grid_member)[0]
    assert "收到" in sms_to(grid_member)[0]
    assert len(sms_to(leader)) == 2 and code in sms_to(leader)[1]
    # AND nobody else: the reporter had their code at routing and hears nothing of escalations
    assert len(sms_to(RESIDENT)) == 1
    assert len(sent_sms()) == 4


def test_a_duplicate_or_stale_escalation_message_does_nothing(client, aws_stack, clock):
    # GIVEN a case escalated to level 2 from one escalation message
    code = routed_report(client, aws_stack)
    clock.advance(31 * MINUTE)
    sweep(client)
    delivered = records_from(receive_all(aws_stack, "escalation"), "escalation")
    assert failed_ids(invoke(client, "escalation", delivered)) == []
    before, sms_before = snapshot(aws_stack, code), sent_sms()

    # WHEN the same message is delivered again, at once
    assert failed_ids(invoke(client, "escalation", delivered)) == []
    # THEN nothing changes
    assert snapshot(aws_stack, code) == before and sent_sms() == sms_before

    # WHEN it is delivered again once the case is overdue at level 2 as well
    clock.advance(121 * MINUTE)
    assert failed_ids(invoke(client, "escalation", delivered)) == []
    # THEN the old request is stale and still changes nothing
    assert snapshot(aws_stack, code) == before and sent_sms() == sms_before
    # AND only a fresh sweep moves it on, to the grid chief
    assert escalate_due(client, aws_stack) == 1
    assert case(aws_stack, code).level == 3


def test_two_sweeps_before_the_worker_runs_escalate_once(client, aws_stack, clock):
    code = routed_report(client, aws_stack)
    clock.advance(31 * MINUTE)
    assert sweep(client) == {"queued": 1, "orders": 0}
    clock.advance(MINUTE)
    assert sweep(client) == {"queued": 1, "orders": 0}

    records = run_queue(client, aws_stack, "escalation")

    assert len(records) == 2
    assert case(aws_stack, code).level == 2
    assert len(sms_to(member_phone(aws_stack, GRID_MEMBER))) == 1
    assert len(sms_to(member_phone(aws_stack, STAIRWELL_LEADER))) == 2     # assigned, escalated away
    assert len(sms_to(RESIDENT)) == 1                                     # the code, at routing
    assert len(sent_sms()) == 4


def test_an_unanswered_case_climbs_the_whole_chain_then_reminds_the_area_chief(client, aws_stack, clock):
    code = routed_report(client, aws_stack)
    for minutes, level, role, holder in CLIMB:
        clock.advance(minutes * MINUTE)
        assert escalate_due(client, aws_stack) == 1
        view = client.http.get(f"/reports/{code}").json_body
        assert (view["level"], view["level_role"], view["status"]) == (level, role, "assigned")
        assert case(aws_stack, code).holder == holder
        assert code in sms_to(member_phone(aws_stack, holder))[-1]

    # At the top there is nobody above: the area chief is reminded, the level stays
    chief = member_phone(aws_stack, "m01")
    reminders = len(sms_to(chief))
    clock.advance(1440 * MINUTE)
    assert escalate_due(client, aws_stack) == 1
    assert case(aws_stack, code).level == 5
    assert len(sms_to(chief)) == reminders + 1
    assert "reminded" in [e["event"] for e in client.http.get(f"/reports/{code}").json_body["history"]]


def test_an_acknowledged_case_is_never_escalated_before_its_resolve_limit(client, aws_stack, clock):
    # GIVEN the stairwell leader acknowledged the case by SMS
    code = routed_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"收到 {code}", client)
    before, sms_before = snapshot(aws_stack, code), sent_sms()

    # WHEN hours pass (the acknowledge limits of every level, but less than 80% of the
    # stairwell leader's one-day resolve limit) and the sweep runs again and again
    for _ in range(3):
        clock.advance(6 * 60 * MINUTE)
        assert sweep(client) == {"queued": 0, "orders": 0}

    # THEN nothing was queued and the case is still the stairwell leader's
    assert receive_all(aws_stack, "escalation") == []
    assert snapshot(aws_stack, code) == before
    assert sent_sms() == sms_before
    assert case(aws_stack, code).status.value == "acknowledged"


def test_an_acknowledged_but_unresolved_case_draws_yellow_then_red_supervision(client, aws_stack, clock):
    # GIVEN the stairwell leader acknowledged the case (resolve limit: one day, yellow at 80%)
    code = routed_report(client, aws_stack)
    leader, grid_member = member_phone(aws_stack, STAIRWELL_LEADER), member_phone(aws_stack, GRID_MEMBER)
    text_in(aws_stack, leader, f"收到 {code}", client)
    # (the stairwell leader has one working day: the deadlines fall in office hours)
    acknowledged = case(aws_stack, code)
    policy = aws_stack.policies.for_case("changmu", acknowledged.category)
    assert acknowledged.resolve_due_at == policy.resolve_deadlines(1, clock.now)[1]
    # WHEN 80% of it has passed
    clock.now = acknowledged.due_at + 1
    assert sweep(client) == {"queued": 1, "orders": 0}
    run_queue(client, aws_stack, "escalation")
    # THEN the grid member above gets a yellow card and the leader a warning; the leader keeps it
    stored = case(aws_stack, code)
    assert (stored.status.value, stored.level, stored.holder) == ("acknowledged", 1, STAIRWELL_LEADER)
    assert "黄牌督办" in sms_to(grid_member)[-1] and code in sms_to(grid_member)[-1]
    assert "将到办结时限" in sms_to(leader)[-1]
    # WHEN the whole working day has passed
    clock.now = acknowledged.resolve_due_at + 1
    sweep(client)
    run_queue(client, aws_stack, "escalation")
    # THEN red supervision: the grid member may take it over, and does
    assert "红牌督办" in sms_to(grid_member)[-1]
    assert stored.holder == case(aws_stack, code).holder
    text_in(aws_stack, grid_member, f"收到 {code}", client)
    taken = case(aws_stack, code)
    assert (taken.level, taken.holder, taken.status.value) == (2, GRID_MEMBER, "acknowledged")
    # AND the grid member's own two-working-day resolve clock runs from now
    assert taken.resolve_due_at == pytest.approx(policy.resolve_deadlines(2, clock.now)[1])
    assert taken.resolve_due_at >= clock.now + 2 * 7 * 60 * MINUTE
    events = [e["event"] for e in client.http.get(f"/reports/{code}").json_body["history"]]
    assert events.index("supervised_yellow") < events.index("supervised_red") < events.index("taken_over")
    # AND resolving ends every clock but the call-back: no more supervision, no
    # confirmation to the grid member, the reporter asked 满意 / 不满意
    grid_member_sms, resolved_at = len(sms_to(grid_member)), clock.now
    text_in(aws_stack, grid_member, f"完成 {code}", client)
    resolved = case(aws_stack, code)
    assert (resolved.status.value, resolved.timer, resolved.resolve_due_at) == ("resolved", "callback", None)
    assert resolved.due_at == resolved_at + 3 * DAY
    assert len(sms_to(grid_member)) == grid_member_sms
    assert "满意回复1" in sms_to(RESIDENT)[-1] and code in sms_to(RESIDENT)[-1]
    clock.now = resolved_at + 3 * DAY - 1
    assert sweep(client) == {"queued": 0, "orders": 0}
    # AND with no answer in three days it closes; then nothing is ever queued again
    clock.now = resolved_at + 3 * DAY
    assert escalate_due(client, aws_stack) == 1
    assert case(aws_stack, code).status.value == "closed"
    clock.advance(30 * DAY)
    assert sweep(client) == {"queued": 0, "orders": 0}


def test_an_acknowledgement_between_the_sweep_and_the_worker_wins(client, aws_stack, clock):
    # GIVEN the sweep queued an escalation of an overdue case
    code = routed_report(client, aws_stack)
    clock.advance(31 * MINUTE)
    assert sweep(client) == {"queued": 1, "orders": 0}

    # WHEN the stairwell leader acknowledges before the escalation worker runs
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"收到 {code}", client)
    before = snapshot(aws_stack, code)
    run_queue(client, aws_stack, "escalation")

    # THEN the escalation does nothing
    assert snapshot(aws_stack, code) == before
    assert (before["status"], before["level"]) == ("acknowledged", 1)
    assert sms_to(member_phone(aws_stack, GRID_MEMBER)) == []


def test_a_resolved_case_is_never_escalated_and_closes_when_the_reporter_does_not_answer(
        client, aws_stack, clock):
    # GIVEN a case the stairwell leader resolved by SMS
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    text_in(aws_stack, leader, f"完成 {code}", client)
    resolved_at, sms_before = clock.now, sent_sms()
    assert len(sms_to(leader)) == 1                      # the assignment; no confirmation
    assert "满意回复1" in sms_to(RESIDENT)[-1]            # the reporter is asked

    # WHEN the sweep runs for almost three days: nothing is queued, nobody is told
    for _ in range(3):
        clock.now = min(clock.now + DAY, resolved_at + 3 * DAY - 1)
        assert sweep(client) == {"queued": 0, "orders": 0}
    assert case(aws_stack, code).status.value == "resolved"

    # WHEN the call-back time has passed with no answer
    clock.now = resolved_at + 3 * DAY
    assert escalate_due(client, aws_stack) == 1

    # THEN it is closed where it was resolved, and nobody was sent anything
    closed = case(aws_stack, code)
    assert (closed.status.value, closed.level, closed.holder) == ("closed", 1, STAIRWELL_LEADER)
    assert (closed.timer, closed.due_at) == (None, None)
    events = client.http.get(f"/reports/{code}").json_body["history"]
    assert [e["event"] for e in events if e["event"] != "notified"][-2:] == ["resolved", "closed"]
    assert sent_sms() == sms_before
    # AND it is never queued again
    clock.advance(10 * DAY)
    assert sweep(client) == {"queued": 0, "orders": 0}


@pytest.mark.parametrize("body,hint", [
    ("not json", "malformed"),
    (json.dumps({"due_at": 1}), "malformed"),
    (json.dumps({"code": "ZZZZZZ", "due_at": 1790000000.0}), "zzzzzz"),
])
def test_a_bad_escalation_message_is_dead_lettered_with_a_reason(client, aws_stack, body, hint):
    send_to(aws_stack, "escalation", body)

    response = invoke(client, "escalation", records_from(receive_all(aws_stack, "escalation"), "escalation"))

    assert failed_ids(response) == []
    [letter] = dead_letters(aws_stack, "escalation")
    assert letter["body"] == body
    assert hint in letter["reason"].lower()
    assert letter["source_queue"] == "gridloop-local-escalation"


def test_the_sweep_reads_only_cases_with_a_running_clock(client, aws_stack, clock):
    # GIVEN many resolved cases (their call-back clocks run three days), one acknowledged
    # case and one open case, all from the same half hour, so every one of them would be
    # overdue if it still had an acknowledge deadline
    resolved = []
    for index in range(40):
        response = post_report(client, report(description=f"report {index}"))
        resolved.append(response.json_body["code"])
    acknowledged = post_report(client, report(location="changmu-02-1")).json_body["code"]
    run_queue(client, aws_stack, "intake")
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    clock.advance(MINUTE)
    for code in resolved:
        text_in(aws_stack, leader, f"DONE {code}")
    text_in(aws_stack, member_phone(aws_stack, "m11"), f"OK {acknowledged}")
    run_queue(client, aws_stack, "sms-inbound")
    assert {case(aws_stack, code).status.value for code in resolved} == {"resolved"}
    assert case(aws_stack, acknowledged).status.value == "acknowledged"
    clock.advance(MINUTE)
    open_code = routed_report(client, aws_stack, location="changmu-03-1")
    clock.advance(31 * MINUTE)

    # WHEN the sweep runs
    result = sweep(client)

    # THEN it queues exactly the one open, overdue case
    assert result == {"queued": 1, "orders": 0}
    [message] = receive_all(aws_stack, "escalation")
    assert open_code in message["Body"]
    for code in resolved + [acknowledged]:
        assert code not in message["Body"]
    # AND the sweep's index holds the cases whose clock runs: the open ones (the acknowledged
    # one for its resolve clock, not yet due) and the resolved ones waiting out their call-back
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")

    def indexed() -> list[str]:
        items = dynamodb.scan(TableName=aws_stack.config.name("cases"), IndexName="open-due")["Items"]
        return sorted(item["code"]["S"] for item in items)

    assert indexed() == sorted(resolved + [open_code, acknowledged])
    # AND the escalation it queued moves the open case on
    assert failed_ids(invoke(client, "escalation", records_from([message], "escalation"))) == []
    assert case(aws_stack, open_code).level == 2
    # AND once the call-backs have run out the resolved cases are closed: closed cases are not
    # in the index at all
    clock.advance(3 * DAY)
    escalate_due(client, aws_stack)
    assert {case(aws_stack, code).status.value for code in resolved} == {"closed"}
    assert indexed() == sorted([open_code, acknowledged])


def test_more_due_cases_than_one_sqs_batch_are_all_escalated(client, aws_stack, clock):
    # GIVEN more overdue cases than SQS takes in one SendMessageBatch
    codes = [post_report(client, report(description=f"report {i}")).json_body["code"] for i in range(23)]
    run_queue(client, aws_stack, "intake")
    clock.advance(31 * MINUTE)

    # WHEN the sweep runs and the worker takes everything it queued
    assert escalate_due(client, aws_stack) == 23

    # THEN every one of them is at level 2
    assert {case(aws_stack, code).level for code in codes} == {2}
    assert len(sms_to(member_phone(aws_stack, GRID_MEMBER))) == 23


def test_an_sms_failure_in_the_middle_of_an_escalation_sends_each_notice_once(client, aws_stack, clock, monkeypatch):
    # GIVEN an overdue case whose escalation causes two notices (new and previous holder)
    code = routed_report(client, aws_stack)
    leader, grid_member = member_phone(aws_stack, STAIRWELL_LEADER), member_phone(aws_stack, GRID_MEMBER)
    clock.advance(31 * MINUTE)
    sweep(client)
    records = records_from(receive_all(aws_stack, "escalation"), "escalation")
    # AND an SMS gateway that fails on the second of them
    flaky = FlakySms(monkeypatch, aws_stack.sms, fail_on={2})
    from chalicelib.adapters.sqs import SqsQueue
    delays: list[int] = []
    monkeypatch.setattr(SqsQueue, "retry_later", lambda queue, receipt, seconds: delays.append(seconds))

    # WHEN the escalation worker fails on it, and SQS delivers it again
    assert failed_ids(invoke(client, "escalation", records)) == [records[0]["messageId"]]
    # THEN the failure is on the case, and the retry backs off (about 30 s after a first failure)
    failed = [e for e in case(aws_stack, code).history if e.event == "notice_failed"]
    assert [(e.actor, e.detail.split(":")[0], e.detail.rsplit(":", 1)[1]) for e in failed] == [
        (STAIRWELL_LEADER, "escalated_away", "ConnectionError")]
    assert len(delays) == 1 and 22 <= delays[0] <= 30
    retry = [dict(r, attributes=dict(r["attributes"], ApproximateReceiveCount="2")) for r in records]
    assert failed_ids(invoke(client, "escalation", retry)) == []

    # THEN the case is at level 2 and each person got exactly one SMS about the escalation
    assert flaky.calls >= 3
    assert case(aws_stack, code).level == 2
    assert len(sms_to(leader)) == 2          # assigned, then escalated away
    assert len(sms_to(grid_member)) == 1     # escalated to them: once, not once per attempt


def test_a_case_keeps_the_limits_it_started_under_when_the_policy_changes(client, aws_stack, clock):
    # GIVEN a case routed under the default policy (30 minutes for level 1)
    code = routed_report(client, aws_stack)
    # WHEN the community shortens level 1's limit to 5 minutes
    from dataclasses import replace
    aws_stack.policy = replace(aws_stack.policy, version="shorter", ack_seconds={
        **aws_stack.policy.ack_seconds, 1: 5 * MINUTE, 2: 10 * MINUTE})
    aws_stack.__dict__.pop("workflow", None)   # rebuilt with the new policy
    clock.advance(6 * MINUTE)
    # THEN the running case is not escalated before its own 30 minutes
    assert sweep(client) == {"queued": 0, "orders": 0}
    clock.advance(25 * MINUTE)
    sweep(client)
    run_queue(client, aws_stack, "escalation")
    stored = case(aws_stack, code)
    assert stored.level == 2 and stored.policy_version != "shorter"
    # AND its next deadline is the old policy's two hours, not the new ten minutes
    assert stored.due_at == pytest.approx(clock.now + 120 * MINUTE)
    # while a case reported now runs on the new policy
    new_code = routed_report(client, aws_stack)
    assert case(aws_stack, new_code).due_at == pytest.approx(clock.now + 5 * MINUTE)
