"""The case worker (intake queue → case_worker): routing, redelivery, bad messages,
console reports, and failures that must lose nothing."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import sent_sms
from tests.functional.conftest import (
    LOCATION,
    STAIRWELL_LEADER,
    FlakySms,
    all_cases,
    case,
    count_cases,
    dead_letters,
    failed_ids,
    invoke,
    member_phone,
    post_report,
    receive_all,
    record,
    records_from,
    report,
    run_queue,
    send_to,
    sms_to,
    snapshot,
)

RESIDENT = "+8613912345678"       # the phone of report(), as stored: the reporter gets the code


def console(**overrides) -> str:
    body = {"category": "sanitation", "location": LOCATION, "description": "三楼垃圾没人清",
            "source": "console"}
    body.update(overrides)
    return json.dumps({k: v for k, v in body.items() if v is not ...}, ensure_ascii=False)


def test_a_report_is_routed_to_the_stairwell_leader_with_one_sms(client, aws_stack):
    # GIVEN a report waiting on the intake queue
    code = post_report(client, report()).json_body["code"]
    messages = receive_all(aws_stack, "intake")

    # WHEN the case worker gets it
    response = invoke(client, "intake", records_from(messages, "intake"))

    # THEN it is assigned at level 1 to the unit's stairwell leader, who gets one SMS with the code
    assert failed_ids(response) == []
    stored = case(aws_stack, code)
    assert (stored.status.value, stored.level, stored.holder) == ("assigned", 1, STAIRWELL_LEADER)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    assert len(sms_to(leader)) == 1
    assert code in sms_to(leader)[0] and "收到" in sms_to(leader)[0]
    # AND the reporter, who gave a phone, gets one SMS with the code to ask about it
    assert sms_to(RESIDENT) == [f"【常牧家园】已收到您反映的环境卫生，编号{code}。查进度回复“查询 {code}”"]
    assert sorted(sent_sms()) == sorted([(leader, sms_to(leader)[0]), (RESIDENT, sms_to(RESIDENT)[0])])
    view = client.http.get(f"/reports/{code}").json_body
    assert (view["status"], view["level"], view["level_role"]) == ("assigned", 1, "stairwell_leader")


@pytest.mark.parametrize("later", [False, True], ids=["at once", "after the leader acknowledged"])
def test_the_same_message_delivered_twice_changes_nothing_the_second_time(client, aws_stack, clock, later):
    # GIVEN a report the case worker has routed from its intake message
    code = post_report(client, report()).json_body["code"]
    delivered = records_from(receive_all(aws_stack, "intake"), "intake")
    assert failed_ids(invoke(client, "intake", delivered)) == []
    if later:
        clock.advance(600)
        aws_stack.inbound_sms.accept(member_phone(aws_stack, STAIRWELL_LEADER), f"收到 {code}", "test")
        run_queue(client, aws_stack, "sms-inbound")
    before, sms_before = snapshot(aws_stack, code), sent_sms()

    # WHEN SQS delivers the very same message again
    clock.advance(60)
    again = [dict(r, attributes=dict(r["attributes"], ApproximateReceiveCount="2")) for r in delivered]
    response = invoke(client, "intake", again)

    # THEN it succeeds, and neither the case nor the messages sent change
    assert failed_ids(response) == []
    assert snapshot(aws_stack, code) == before
    assert sent_sms() == sms_before
    assert count_cases(aws_stack) == 1


PROPERTY_MANAGER = "m45"


def test_a_console_message_creates_a_report_and_routes_it(client, aws_stack):
    # GIVEN an operator sends a report to the intake queue from the console
    send_to(aws_stack, "intake", console(category="water_pipe", description="三楼水管漏水"))

    # WHEN the case worker runs
    records = run_queue(client, aws_stack, "intake")

    # THEN there is one report, made from the console; a pipe leak goes to property
    # management (物业), with the stairwell leader following (跟办)
    assert len(records) == 1
    [made] = all_cases(aws_stack)
    assert (made.category, made.location, made.description) == ("water_pipe", LOCATION, "三楼水管漏水")
    assert made.source == "console"
    assert (made.status.value, made.level, made.level_role, made.holder) == (
        "assigned", 1, "property_management", PROPERTY_MANAGER)
    assert "新事项" in sms_to(member_phone(aws_stack, PROPERTY_MANAGER))[0]
    assert [text for text in sms_to(member_phone(aws_stack, STAIRWELL_LEADER))] == [
        text for _, text in sent_sms() if "跟办" in text]
    view = client.http.get(f"/reports/{made.code}")
    assert view.status_code == 200 and view.json_body["id"] == made.id

    # AND the same console message delivered again is still one report and one SMS
    again = [dict(r, attributes=dict(r["attributes"], ApproximateReceiveCount="2")) for r in records]
    assert failed_ids(invoke(client, "intake", again)) == []
    assert count_cases(aws_stack) == 1
    assert len(sent_sms()) == 2          # the property manager's and the follower's, once each


def test_two_console_messages_with_the_same_text_are_two_reports(client, aws_stack):
    # Two residents may report the same thing: separate messages are separate reports.
    send_to(aws_stack, "intake", console())
    send_to(aws_stack, "intake", console())

    run_queue(client, aws_stack, "intake")

    assert count_cases(aws_stack) == 2
    assert len(sent_sms()) == 2


BAD_MESSAGES = {
    "not JSON": ("楼道灯坏了 {not json", "json"),
    "not an object": ('["sanitation", "changmu-01-1"]', "object"),
    "unknown category": (console(category="broken_lift"), "category"),
    "unknown location": (console(location="changmu-99-9"), "location"),
    "missing field": (console(description=...), "description"),
    "unknown field": (console(priority="high"), "priority"),
    "no source": (console(source=...), "source"),
    "another source": (console(source="web"), "source"),
}


def test_bad_messages_go_to_the_dead_letter_queue_with_a_reason_and_the_good_ones_are_processed(
        client, aws_stack):
    # GIVEN a batch that mixes a web report, a console report and malformed messages
    web_code = post_report(client, report()).json_body["code"]
    for body, _ in BAD_MESSAGES.values():
        send_to(aws_stack, "intake", body)
    send_to(aws_stack, "intake", console(location="changmu-02-1"))
    records = records_from(receive_all(aws_stack, "intake"), "intake")
    assert len(records) == len(BAD_MESSAGES) + 2

    # WHEN the case worker gets the batch
    response = invoke(client, "intake", records)

    # THEN no record is reported failed: the bad ones will never work, so none is retried
    assert failed_ids(response) == []
    # AND the good ones are processed: two cases, both routed, one SMS to each holder (and
    # one to the web report's reporter, with its code; the console report has no phone)
    cases = all_cases(aws_stack)
    assert len(cases) == 2
    assert all(c.status.value == "assigned" for c in cases)
    assert case(aws_stack, web_code).holder == STAIRWELL_LEADER
    assert Counter(to for to, _ in sent_sms()) == Counter(
        [member_phone(aws_stack, c.holder) for c in cases] + [RESIDENT])
    assert len(sms_to(RESIDENT)) == 1 and web_code in sms_to(RESIDENT)[0]
    # AND every bad one is in the intake dead-letter queue, once, with its reason
    dead = dead_letters(aws_stack, "intake")
    assert sorted(d["body"] for d in dead) == sorted(body for body, _ in BAD_MESSAGES.values())
    for name, (body, hint) in BAD_MESSAGES.items():
        [letter] = [d for d in dead if d["body"] == body]
        assert letter["reason"], name
        assert hint in letter["reason"].lower(), (name, letter["reason"])
        assert letter["source_queue"] == "gridloop-local-intake"


def test_a_bad_message_alone_is_dead_lettered_and_nothing_is_made(client, aws_stack):
    send_to(aws_stack, "intake", "not json at all")

    response = invoke(client, "intake", records_from(receive_all(aws_stack, "intake"), "intake"))

    assert failed_ids(response) == []
    assert count_cases(aws_stack) == 0 and sent_sms() == []
    assert [d["body"] for d in dead_letters(aws_stack, "intake")] == ["not json at all"]


# -- transient failures --------------------------------------------------------------
def _notified(client, code: str) -> int:
    history = client.http.get(f"/reports/{code}").json_body["history"]
    return [e["event"] for e in history].count("notified")


def test_a_transient_failure_is_retried_and_nothing_is_lost_or_sent_twice(client, aws_stack, monkeypatch):
    # GIVEN two reports, and an SMS gateway that fails once
    first = post_report(client, report()).json_body["code"]
    second = post_report(client, report(location="changmu-02-1")).json_body["code"]
    records = records_from(receive_all(aws_stack, "intake"), "intake")
    flaky = FlakySms(monkeypatch, aws_stack.sms, failures=1)

    # WHEN the case worker gets both
    response = invoke(client, "intake", records)

    # THEN only the record whose SMS failed is reported failed; the other is done (its
    # reporter and its holder told)
    assert failed_ids(response) == [records[0]["messageId"]]
    texts = [text for _, text in sent_sms()]
    assert len(texts) == 2
    done, pending = (first, second) if first in texts[0] else (second, first)
    assert all(done in text and pending not in text for text in texts)

    # WHEN SQS delivers the failed record again
    retry = [dict(records[0], attributes=dict(records[0]["attributes"], ApproximateReceiveCount="2"))]
    response = invoke(client, "intake", retry)

    # THEN it completes: each case's holder and reporter have been told exactly once
    assert failed_ids(response) == []
    assert flaky.calls == 5
    assert len(sent_sms()) == 4
    for code in (first, second):
        holder = member_phone(aws_stack, case(aws_stack, code).holder)
        assert Counter(to for to, t in sent_sms() if code in t) == {holder: 1, RESIDENT: 1}
        assert _notified(client, code) == 2
        assert case(aws_stack, code).status.value == "assigned"
    assert dead_letters(aws_stack, "intake") == []


@pytest.mark.parametrize("receives", [5, 9])
def test_a_record_that_keeps_failing_goes_to_the_dead_letter_queue_and_can_be_replayed(
        client, aws_stack, monkeypatch, receives):
    # GIVEN a report whose SMS cannot be sent, delivered for the last allowed time
    code = post_report(client, report()).json_body["code"]
    [message] = receive_all(aws_stack, "intake")
    flaky = FlakySms(monkeypatch, aws_stack.sms, failures=None)

    # WHEN the case worker fails on it again
    response = invoke(client, "intake", [record(message["Body"], message["MessageId"], receives)])

    # THEN it is not retried but put in the dead-letter queue with the reason
    assert flaky.calls == 1
    assert failed_ids(response) == []
    [letter] = dead_letters(aws_stack, "intake")
    assert letter["body"] == message["Body"]
    assert str(receives) in letter["reason"] and "SNS is unreachable" in letter["reason"]
    assert letter["source_queue"] == "gridloop-local-intake"

    # AND nothing is lost: replayed from the dead-letter queue once SMS works, the case is
    # routed and notified once
    monkeypatch.setattr(aws_stack.sms, "send", flaky.real)
    assert failed_ids(invoke(client, "intake", [record(letter["body"])])) == []
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    assert Counter(to for to, t in sent_sms() if code in t) == {leader: 1, RESIDENT: 1}
    assert _notified(client, code) == 2


def test_a_record_below_the_limit_is_left_for_sqs_to_retry(client, aws_stack, monkeypatch):
    post_report(client, report())
    [message] = receive_all(aws_stack, "intake")
    FlakySms(monkeypatch, aws_stack.sms, failures=None)

    response = invoke(client, "intake", [record(message["Body"], message["MessageId"], 4)])

    assert failed_ids(response) == [message["MessageId"]]
    assert dead_letters(aws_stack, "intake") == []
