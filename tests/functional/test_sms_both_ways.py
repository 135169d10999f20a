"""SMS both ways on moto, through the one inbound path (InboundSms.accept → sms-inbound →
sms_reply_worker): residents report, ask and answer; members work by reply without codes
and ask for their open cases; error replies are rate-limited per number; 退订 / STOP.

Demo directory: changmu-03-2's stairwell leader is m30 (then grid member m06); changmu-01-1's
is m10. m09 is on triage duty. +8613709741001 is a household registered at 3-2.
"""
from __future__ import annotations

import pytest

from chalicelib.domain.messages import render
from tests.conftest import sent_sms
from tests.functional.conftest import (
    STAIRWELL_LEADER,
    all_cases,
    case,
    count_cases,
    failed_ids,
    invoke,
    member_phone,
    receive_all,
    records_from,
    routed_report,
    sms_to,
    text_in,
)

RESIDENT = "+8613800138000"           # nobody the directory knows
HOUSEHOLD = "+8613709741001"          # registered at 3-2
WEB_REPORTER = "+8613912345678"       # the phone of conftest.report()


def the_report_from(stack, phone: str):
    [found] = [c for c in all_cases(stack) if c.reporter_phone == phone]
    return found


def public(client, code: str) -> dict:
    return client.http.get(f"/reports/{code}").json_body


# -- residents report by SMS -------------------------------------------------------------------

def test_a_residents_sms_naming_a_unit_becomes_a_case_routed_by_that_unit(client, aws_stack):
    text_in(aws_stack, RESIDENT, "3号楼2单元门口有个大坑，晚上看不见", client)

    report = the_report_from(aws_stack, RESIDENT)
    view = public(client, report.code)
    assert (view["status"], view["location"], view["category"], view["level_role"]) == \
        ("assigned", "changmu-03-2", "other", "stairwell_leader")
    assert [e["event"] for e in view["history"][:2]] == ["received", "assigned"]
    assert report.source == "sms" and report.holder == "m30"
    assert report.code in sms_to(member_phone(aws_stack, "m30"))[0]
    [to_resident] = sms_to(RESIDENT)                               # the code, from the case's outbox
    assert report.code in to_resident and "查询" in to_resident
    assert receive_all(aws_stack, "intake") == []                 # routed in the reply worker, not queued


def test_a_keyword_gives_the_category_and_so_the_chain(client, aws_stack):
    text_in(aws_stack, RESIDENT, "3栋2单元楼道灯坏了好几天", client)

    report = the_report_from(aws_stack, RESIDENT)
    assert (report.category, report.location, report.holder) == ("stairwell_light", "changmu-03-2", "m45")
    assert report.code in sms_to(member_phone(aws_stack, "m30"))[0]          # 跟办: the stairwell leader follows


def test_a_registered_households_sms_is_routed_to_its_unit_without_a_mention(client, aws_stack):
    text_in(aws_stack, HOUSEHOLD, "门口有个大坑，好几天了", client)

    report = the_report_from(aws_stack, HOUSEHOLD)
    assert (report.location, report.status.value, report.holder) == ("changmu-03-2", "assigned", "m30")


def test_an_sms_delivered_twice_makes_one_report(client, aws_stack):
    aws_stack.inbound_sms.accept(RESIDENT, "3号楼2单元门口有个大坑", "test-gateway")
    delivered = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
    assert failed_ids(invoke(client, "sms-inbound", delivered)) == []
    sms_before = sent_sms()

    assert failed_ids(invoke(client, "sms-inbound", delivered)) == []

    assert count_cases(aws_stack) == 1
    assert sent_sms() == sms_before


def test_an_unknown_place_goes_to_the_triage_member_who_sets_it(client, aws_stack):
    triage = member_phone(aws_stack, "m09")
    text_in(aws_stack, RESIDENT, "门口有个大坑，晚上看不见", client)

    report = the_report_from(aws_stack, RESIDENT)
    view = public(client, report.code)
    assert (view["status"], view["location"], view["level"]) == ("received", "changmu", 0)
    [asked] = sms_to(triage)
    assert asked == (f"短信报事{report.code}，13800138000：门口有个大坑，晚上看不见。"
                     f"请回复“位置 {report.code} 楼号-单元”")
    assert report.code in sms_to(RESIDENT)[0]

    text_in(aws_stack, triage, f"位置 {report.code} 3号楼2单元", client)

    placed = case(aws_stack, report.code)
    assert (placed.location, placed.status.value, placed.holder) == ("changmu-03-2", "assigned", "m30")
    assert placed.code in sms_to(member_phone(aws_stack, "m30"))[0]
    assert [e["event"] for e in public(client, report.code)["history"] if e["event"] != "notified"] == \
        ["received", "triage", "located", "assigned"]


def test_the_triage_member_may_leave_the_code_out_and_gets_help_with_a_place_it_does_not_know(client, aws_stack):
    triage = member_phone(aws_stack, "m09")
    text_in(aws_stack, RESIDENT, "门口有个大坑", client)
    code = the_report_from(aws_stack, RESIDENT).code

    text_in(aws_stack, triage, "位置 楼下", client)
    assert sms_to(triage)[-1] == render("unknown_place", "zh", code=code)

    text_in(aws_stack, triage, "位置 11-2", client)
    assert case(aws_stack, code).location == "changmu-11-2"


# -- 查询 ------------------------------------------------------------------------------------------

def test_query_answers_with_the_status_and_no_names_or_phones(client, aws_stack):
    code = routed_report(client, aws_stack)

    text_in(aws_stack, RESIDENT, f"查询 {code.lower()}", client)

    [answer] = sms_to(RESIDENT)
    assert answer == f"【常牧家园】事项{code}（环境卫生）已派楼道长，待接单。"
    leader = aws_stack.directory().member("changmu", STAIRWELL_LEADER)
    assert leader.name not in answer and leader.phone[3:] not in answer


def test_query_alone_answers_for_the_phones_latest_report(client, aws_stack):
    code = routed_report(client, aws_stack)            # reported from the web form with WEB_REPORTER's phone

    text_in(aws_stack, WEB_REPORTER, "查询", client)

    assert sms_to(WEB_REPORTER)[-1] == f"【常牧家园】事项{code}（环境卫生）已派楼道长，待接单。"


# -- the call-back, answered by SMS (the by-reporter index) ---------------------------------------------

def test_a_reporters_2_reopens_the_case_one_level_above_its_resolver(client, aws_stack):
    code = routed_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), "完成", client)
    assert case(aws_stack, code).status.value == "resolved"

    text_in(aws_stack, WEB_REPORTER, "2", client)

    reopened = case(aws_stack, code)
    assert (reopened.status.value, reopened.level, reopened.holder) == ("assigned", 2, "m06")


def test_a_reporters_1_closes_the_case(client, aws_stack):
    code = routed_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"完成 {code}", client)

    text_in(aws_stack, WEB_REPORTER, "满意", client)

    assert public(client, code)["status"] == "closed"


# -- members work by reply (the by-holder index) ----------------------------------------------------

@pytest.mark.parametrize("reply", ["1", "收到", "ok"])
def test_a_members_bare_reply_acknowledges_their_one_open_case(client, aws_stack, reply):
    code = routed_report(client, aws_stack)

    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), reply, client)

    assert public(client, code)["status"] == "acknowledged"


def test_help_lists_the_members_open_cases_with_their_codes(client, aws_stack, clock):
    first = routed_report(client, aws_stack)
    clock.advance(60)
    second = routed_report(client, aws_stack, location="changmu-01-2")
    leader = member_phone(aws_stack, STAIRWELL_LEADER)

    text_in(aws_stack, leader, "HELP", client)

    assert sms_to(leader)[-1] == f"您的待办：{second}、{first}。回复“收到 编号”接单，“完成 编号”办结"

    text_in(aws_stack, leader, "1", client)                           # two to accept: which?
    assert sms_to(leader)[-1] == f"您的待办：{second}、{first}。回复“收到 编号”接单，“完成 编号”办结"
    assert {case(aws_stack, c).status.value for c in (first, second)} == {"assigned"}

    clock.advance(60)
    text_in(aws_stack, leader, f"收到 {first}", client)
    text_in(aws_stack, leader, "帮助", client)
    assert sms_to(leader)[-1] == f"您的待办：{first}、{second}。回复“收到 编号”接单，“完成 编号”办结"
    text_in(aws_stack, leader, "1", client)                           # now only one is to accept
    assert case(aws_stack, second).status.value == "acknowledged"


# -- error replies are rate-limited per number (the contacts table) ------------------------------------

def test_error_replies_stop_after_three_an_hour(client, aws_stack, clock):
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    for text in ("你好", "收到 ZZZZZZ", "OK 123", "？？？ABC", "灯修好了吗"):
        text_in(aws_stack, leader, text, client)
    assert len(sms_to(leader)) == 3

    text_in(aws_stack, RESIDENT, "收到 ABC234", client)               # another number, its own count
    assert sms_to(RESIDENT) == [render("unknown_sender", "zh")]

    clock.advance(3600)
    text_in(aws_stack, leader, "你好", client)
    assert len(sms_to(leader)) == 4


# -- 退订 / STOP ------------------------------------------------------------------------------------

@pytest.mark.parametrize("word, lang", [("退订", "zh"), ("STOP", "en")])   # confirmed in the language written
def test_stop_opts_the_phone_out_and_start_opts_it_in(client, aws_stack, word, lang):
    text_in(aws_stack, RESIDENT, word, client)
    assert sms_to(RESIDENT) == [render("opted_out", lang)]
    assert aws_stack.contacts.opted_out(RESIDENT)

    text_in(aws_stack, RESIDENT, word, client)                        # again: nothing more
    text_in(aws_stack, RESIDENT, "收到 ABC234", client)               # an error reply: not to an opted-out phone
    assert len(sms_to(RESIDENT)) == 1
    assert count_cases(aws_stack) == 0

    text_in(aws_stack, RESIDENT, "订阅", client)
    assert not aws_stack.contacts.opted_out(RESIDENT)
    assert sms_to(RESIDENT)[-1] == render("opted_in", "zh")


def test_a_phone_is_never_a_key_in_the_contacts_table_or_the_indexes(client, aws_stack):
    text_in(aws_stack, RESIDENT, "退订", client)
    text_in(aws_stack, RESIDENT, "3号楼2单元门口有个大坑", client)

    keys = [r.phone_key for r in aws_stack.contacts_model.scan()]
    assert keys and not any("138" in k for k in keys)
    [record] = list(aws_stack.case_model.scan())
    assert record.reporter_key and "13800138000" not in record.reporter_key


# Too many SMS reports from one phone: tests/functional/test_report_floods.py (with its own limits).


def test_an_opted_out_reporter_gets_the_code_of_a_new_report_but_not_the_call_back(client, aws_stack):
    # GIVEN a resident who replied 退订
    text_in(aws_stack, WEB_REPORTER, "退订", client)
    assert sms_to(WEB_REPORTER) == [render("opted_out", "zh")]
    # WHEN they report over the web with their phone: the code is the answer to that report
    code = routed_report(client, aws_stack)
    assert code in sms_to(WEB_REPORTER)[-1] and len(sms_to(WEB_REPORTER)) == 2
    # AND the case is resolved
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"完成 {code}", client)
    # THEN no call-back goes out, and the case says why
    assert len(sms_to(WEB_REPORTER)) == 2
    resolved = case(aws_stack, code)
    assert [(e.event, e.detail.split(":")[0], e.detail.rsplit(":", 1)[1]) for e in resolved.history
            if e.event == "notice_withheld"] == [("notice_withheld", "reporter_resolved", "opted_out")]
    assert resolved.outbox == []
