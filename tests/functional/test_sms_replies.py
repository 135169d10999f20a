"""Members' SMS replies: the inbound path → sms-inbound queue → sms_reply_worker."""
from __future__ import annotations

import json

import pytest

from tests.conftest import sent_sms
from tests.functional.conftest import (
    GRID_MEMBER,
    STAIRWELL_LEADER,
    case,
    dead_letters,
    failed_ids,
    invoke,
    member_phone,
    receive_all,
    records_from,
    routed_report,
    send_to,
    sms_to,
    snapshot,
    text_in,
)

RESIDENT = "+8613912345678"       # the phone of conftest's report(), as stored


@pytest.mark.parametrize("template", ["收到 {code}", "OK {code}", "ok {lower}", "收到 {lower}",
                                      "收到{code}", "  Ok   {code} ", "ＯＫ　{code}"])
def test_the_holder_acknowledges_by_sms(client, aws_stack, clock, template):
    # GIVEN a case assigned to the stairwell leader
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    clock.advance(300)

    # WHEN the leader replies from the registered phone
    text_in(aws_stack, leader, template.format(code=code, lower=code.lower()), client)

    # THEN the case is acknowledged at level 1, and nobody is sent anything: a reply that
    # worked needs no confirmation (each SMS costs)
    view = client.http.get(f"/reports/{code}").json_body
    assert (view["status"], view["level"]) == ("acknowledged", 1)
    assert view["history"][-1]["event"] == "acknowledged"
    assert len(sms_to(leader)) == 1                       # the assignment only
    assert len(sms_to(RESIDENT)) == 1                     # the reporter's code, at routing
    assert len(sent_sms()) == 2


@pytest.mark.parametrize("text", ["DONE {lower}", "done {code}", "完成 {code}"])
def test_the_holder_resolves_by_sms(client, aws_stack, clock, text):
    # GIVEN an acknowledged case
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    text_in(aws_stack, leader, f"收到 {code}", client)
    clock.advance(3600)

    # WHEN the holder reports it done
    text_in(aws_stack, leader, text.format(code=code, lower=code.lower()), client)

    # THEN it is resolved; the holder gets no confirmation, the reporter is asked 满意 / 不满意
    view = client.http.get(f"/reports/{code}").json_body
    assert view["status"] == "resolved"
    assert "resolved" in [e["event"] for e in view["history"]]
    assert len(sms_to(leader)) == 1                       # the assignment only
    assert len(sms_to(RESIDENT)) == 2 and code in sms_to(RESIDENT)[1] and "满意回复1" in sms_to(RESIDENT)[1]
    # AND only the call-back clock runs: three days, then the case closes
    stored = case(aws_stack, code)
    assert (stored.timer, stored.due_at, stored.resolve_due_at) == ("callback", clock.now + 3 * 86400, None)
    assert stored.awaiting_feedback is True


def test_done_without_acknowledging_first_resolves(client, aws_stack):
    code = routed_report(client, aws_stack)

    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"DONE {code.lower()}", client)

    assert client.http.get(f"/reports/{code}").json_body["status"] == "resolved"


def test_the_holder_may_reply_from_the_national_form_of_the_phone(client, aws_stack):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)

    text_in(aws_stack, leader.removeprefix("+86"), f"收到 {code}", client)

    assert case(aws_stack, code).status.value == "acknowledged"


def test_the_same_reply_delivered_twice_acts_once(client, aws_stack):
    code = routed_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"收到 {code}")
    delivered = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
    assert failed_ids(invoke(client, "sms-inbound", delivered)) == []
    before, sms_before = snapshot(aws_stack, code), sent_sms()

    assert failed_ids(invoke(client, "sms-inbound", delivered)) == []

    assert snapshot(aws_stack, code) == before
    assert sent_sms() == sms_before


@pytest.mark.parametrize("who,answers", [
    ("m07", ("不是", "不是")),             # a changmu grid member of another grid: not on the chain
    ("m11", ("不是", "不是")),             # the leader of the next building
    ("+8613800000000", ("未登记", "not registered")),   # nobody in the directory: answered in the words' language
    ("garang:m01", ("未找到", "未找到")),  # another community's member: the case does not exist for them
])
@pytest.mark.parametrize("word", ["收到", "DONE"])
def test_a_phone_not_on_the_chain_is_refused_and_the_case_is_unchanged(client, aws_stack, who, answers, word):
    answer = answers[["收到", "DONE"].index(word)]
    # GIVEN a case assigned to the stairwell leader
    code = routed_report(client, aws_stack)
    before, sms_before = snapshot(aws_stack, code), sent_sms()
    phone = who if who.startswith("+") else member_phone(aws_stack, *reversed(who.split(":")))

    # WHEN someone not on its chain replies
    text_in(aws_stack, phone, f"{word} {code}", client)

    # THEN they get one refusal and the case is exactly as it was
    assert sms_to(phone) and len(sms_to(phone)) == 1
    assert answer in sms_to(phone)[0]
    assert sent_sms() == sms_before + [(phone, sms_to(phone)[0])]
    assert snapshot(aws_stack, code) == before


def test_a_member_above_the_holder_takes_the_case_over(client, aws_stack):
    # The grid member is on the chain above the stairwell leader: acknowledging takes it over.
    code = routed_report(client, aws_stack)
    leader, grid_member = member_phone(aws_stack, STAIRWELL_LEADER), member_phone(aws_stack, GRID_MEMBER)

    text_in(aws_stack, grid_member, f"收到 {code}", client)

    stored = case(aws_stack, code)
    assert (stored.status.value, stored.level, stored.holder) == ("acknowledged", 2, GRID_MEMBER)
    assert sms_to(grid_member) == []                      # took it over: no confirmation
    assert len(sms_to(leader)) == 2 and code in sms_to(leader)[1] and "接手" in sms_to(leader)[1]


def test_a_reply_about_a_resolved_case_is_refused(client, aws_stack):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    text_in(aws_stack, leader, f"DONE {code}", client)
    before = snapshot(aws_stack, code)

    text_in(aws_stack, leader, f"收到 {code}", client)

    assert snapshot(aws_stack, code) == before
    assert code in sms_to(leader)[-1] and "已结束" in sms_to(leader)[-1]


# (收到 alone: tests/functional/test_sms_both_ways.py)
@pytest.mark.parametrize("text", ["你好", "OK 123", "收到 ZZZZZZ"])
def test_a_reply_that_is_not_a_command_for_a_case_gets_help(client, aws_stack, text):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    before = snapshot(aws_stack, code)

    text_in(aws_stack, leader, text, client)

    assert snapshot(aws_stack, code) == before
    assert len(sms_to(leader)) == 2
    assert code not in sms_to(leader)[1]


@pytest.mark.parametrize("body", ["not json", json.dumps({"text": "收到 ABCDEF"}),
                                  json.dumps({"from": "not a phone", "text": "收到 ABCDEF"})])
def test_a_bad_inbound_message_is_dead_lettered_with_a_reason(client, aws_stack, body):
    send_to(aws_stack, "sms-inbound", body)

    response = invoke(client, "sms-inbound", records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound"))

    assert failed_ids(response) == []
    [letter] = dead_letters(aws_stack, "sms-inbound")
    assert letter["body"] == body and letter["reason"]
    assert letter["source_queue"] == "gridloop-local-sms-inbound"
    assert sent_sms() == []
