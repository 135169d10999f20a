"""取消 and residents' languages on moto, through the real handlers: SMS through the one
inbound path (sms-inbound → sms_reply_worker), reports through POST /reports, the cases
table through PynamoDB.

Demo directory: changmu-01-1's stairwell leader is m10; m09 is on triage duty, m03 on the
committee; 3-2's stairwell light goes to property management (m45).
"""
from __future__ import annotations

import pytest

from chalicelib.domain.messages import render
from chalicelib.domain.segments import encoding, segments
from tests.conftest import sent_sms
from tests.functional.conftest import (
    STAIRWELL_LEADER,
    all_cases,
    case,
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
    sms_to,
    snapshot,
    text_in,
)

RESIDENT = "+8613800138000"           # nobody the directory knows
WEB_REPORTER = "+8613912345678"       # the phone of conftest.report()
DAY = 86400


def the_report_from(stack, phone: str):
    [found] = [c for c in all_cases(stack) if c.reporter_phone == phone]
    return found


def public(client, code: str) -> dict:
    return client.http.get(f"/reports/{code}").json_body


# -- 取消 ------------------------------------------------------------------------------------------

def test_the_triage_member_cancels_a_junk_sms_report_and_it_leaves_the_sweep(client, aws_stack, clock):
    # GIVEN a resident's SMS that is no report, waiting for the triage member to place it
    triage = member_phone(aws_stack, "m09")
    text_in(aws_stack, RESIDENT, "加微信领红包，点击链接", client)
    code = the_report_from(aws_stack, RESIDENT).code
    assert aws_stack.case_model.get(code).due_shard is not None        # in the sweep's index: a reminder is due
    sent_before = sent_sms()

    # WHEN the triage member cancels it
    text_in(aws_stack, triage, f"取消 {code} 广告", client)

    # THEN the public view shows it cancelled, with the event in its history (the reason is not public)
    view = public(client, code)
    assert view["status"] == "cancelled" and (view["due_at"], view["resolve_due_at"]) == (None, None)
    assert view["history"][-1]["event"] == "cancelled" and "广告" not in str(view)
    stored = case(aws_stack, code)
    assert [(e.actor, e.detail) for e in stored.history if e.event == "cancelled"] == [("m09", "广告")]
    # AND it is out of the sparse open-due index: the sweep never brings it back
    assert aws_stack.case_model.get(code).due_shard is None
    clock.advance(3 * DAY)
    assert escalate_due(client, aws_stack) == 0
    # AND nobody was sent anything: not the resident (a junk report costs no more SMS), not the triage member
    assert sent_sms() == sent_before

    # WHEN the resident asks about it, the answer is that it was cancelled
    text_in(aws_stack, RESIDENT, f"查询 {code}", client)
    assert sms_to(RESIDENT)[-1] == f"【常牧家园】事项{code}（其他事项）已撤销。"


def test_the_committee_cancels_a_routed_report_and_its_holder_is_told_to_stop(client, aws_stack):
    # GIVEN a web report held by the stairwell leader
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    assert len(sms_to(leader)) == 1 and len(sms_to(WEB_REPORTER)) == 1

    # WHEN a committee member cancels it as a duplicate
    text_in(aws_stack, member_phone(aws_stack, "m03"), f"CANCEL {code} duplicate", client)

    # THEN the holder is told to stop; the reporter and the committee member hear nothing
    assert public(client, code)["status"] == "cancelled"
    assert sms_to(leader)[-1] == f"【常牧家园】事项{code}已撤销，无需再办理。"
    assert len(sms_to(WEB_REPORTER)) == 1 and sms_to(member_phone(aws_stack, "m03")) == []
    # AND the holder's 收到 is refused: the case is over
    text_in(aws_stack, leader, f"收到 {code}", client)
    assert public(client, code)["status"] == "cancelled"
    assert sms_to(leader)[-1] == render("refused_closed", "zh", code=code)


def test_a_cancel_sms_delivered_twice_changes_nothing_the_second_time(client, aws_stack):
    code = routed_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"取消 {code} 测试")
    delivered = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
    assert failed_ids(invoke(client, "sms-inbound", delivered)) == []
    before, sms_before = snapshot(aws_stack, code), sent_sms()

    assert failed_ids(invoke(client, "sms-inbound", delivered)) == []

    assert snapshot(aws_stack, code) == before and sent_sms() == sms_before
    assert before["status"] == "cancelled"


def test_a_cancel_without_a_reason_or_by_a_member_who_may_not_is_refused(client, aws_stack):
    code = routed_report(client, aws_stack)
    before = snapshot(aws_stack, code)
    leader, other = member_phone(aws_stack, STAIRWELL_LEADER), member_phone(aws_stack, "m11")

    text_in(aws_stack, leader, f"取消 {code}", client)
    text_in(aws_stack, other, f"取消 {code} 重复", client)

    assert snapshot(aws_stack, code) == before
    assert sms_to(leader)[-1] == render("refused_cancel_reason", "zh", code=code)
    assert sms_to(other) == [render("refused_not_on_chain", "zh", code=code)]


# -- residents answered in their language -------------------------------------------------------------

def test_a_resident_who_writes_in_english_gets_every_sms_in_english(client, aws_stack):
    # GIVEN a resident's SMS in English naming the unit
    text_in(aws_stack, RESIDENT, "3-2 stairwell light is broken", client)

    # THEN the report keeps the language through DynamoDB, and the code comes back in English, one GSM-7 segment
    report_case = the_report_from(aws_stack, RESIDENT)
    assert report_case.reporter_lang == "en"
    [code_sms] = sms_to(RESIDENT)
    assert code_sms.startswith("[Changmu Homeland] We have your report") and report_case.code in code_sms
    assert (encoding(code_sms), segments(code_sms)) == ("gsm7", 1)

    # WHEN the holder resolves it, the call-back is in English; STATUS is answered in English
    text_in(aws_stack, member_phone(aws_stack, report_case.holder), f"完成 {report_case.code}", client)
    assert sms_to(RESIDENT)[-1] == (f"[Changmu Homeland] Your report {report_case.code} is resolved. "
                                    "Reply 1 if satisfied, 2 if not.")
    text_in(aws_stack, RESIDENT, f"STATUS {report_case.code}", client)
    assert sms_to(RESIDENT)[-1] == (f"[Changmu Homeland] Case {report_case.code} (Stairwell light) is resolved. "
                                    "Reply 1 if satisfied, 2 if not.")


def test_a_web_report_in_english_gets_its_code_in_english(client, aws_stack):
    response = post_report(client, report(lang="en"))
    assert response.status_code == 202
    run_queue(client, aws_stack, "intake")

    code = response.json_body["code"]
    assert case(aws_stack, code).reporter_lang == "en"
    assert sms_to(WEB_REPORTER) == [f"[Changmu Homeland] We have your report (Sanitation), code {code}. "
                                    f"Reply CHECK {code} for its status."]


@pytest.mark.parametrize("lang", ["fr", "EN-US", "english"])
def test_a_web_report_in_another_language_is_refused_naming_the_field(client, aws_stack, lang):
    response = post_report(client, report(lang=lang))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_lang" and response.json_body["error"]["field"] == "lang"
    assert receive_all(aws_stack, "intake") == []


def test_a_case_stored_before_reporter_lang_existed_is_answered_in_chinese(client, aws_stack):
    # GIVEN a case whose stored item has no reporter_lang (written before it existed)
    code = routed_report(client, aws_stack)
    record = aws_stack.case_model.get(code)
    details = dict(record.details)
    del details["reporter_lang"]
    record.details = details
    record.save()

    # THEN it reads back as Chinese, and its reporter's call-back goes in Chinese
    assert case(aws_stack, code).reporter_lang == "zh"
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"完成 {code}", client)
    assert "满意回复1" in sms_to(WEB_REPORTER)[-1]
