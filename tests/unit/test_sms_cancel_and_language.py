"""取消 by SMS, and residents answered in their language, over in-memory fakes
(tests/conftest.py FakeServices).

Demo directory (data/directory/changmu.yaml): changmu-01-1 is held first by m10 (stairwell
leader), then m06 (grid member); changmu-03-2 by m30. m09 is on triage duty, m01 is the area
chief, m03 and m05 are on the committee (m05 reads English), m11 leads another building.
"""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.case import Status
from chalicelib.domain.messages import render
from chalicelib.domain.segments import encoding, segments

STRANGER = "+8613800000001"


def phone(services, member_id):
    return services.member("changmu", member_id).phone


def text_in(services, sender, text):
    """An SMS arrives through the one inbound path and the reply worker takes it."""
    services.inbound.accept(sender, text, gateway="test")
    [body] = services.inbound_queue.take()
    return services.workflow.reply(body)


def only_case(services):
    [code] = services.cases.items
    return services.cases.get(code)


def routed_web_case(services, **extra):
    case = services.intake.submit({"category": "sanitation", "location": "changmu-01-1", "description": "楼道脏",
                                   "phone": STRANGER, **extra})
    services.run_intake()
    services.sms.sent.clear()
    return services.cases.get(case.code)


def stored(services, code):
    return json.dumps(services.cases.items[code], sort_keys=True)


# -- 取消 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("canceller", ["m10", "m03", "m01", "m09"],
                         ids=["holder", "committee", "area-chief", "triage-duty"])
def test_given_a_member_who_may_when_they_cancel_then_the_case_is_cancelled(services, canceller):
    # GIVEN a routed report held by m10
    case = routed_web_case(services)

    # WHEN one who may cancels it, with a reason
    assert text_in(services, phone(services, canceller), f"取消 {case.code} 重复报事") == "cancel"

    # THEN it is cancelled with who and why, out of the sweep, and the canceller hears nothing back
    cancelled = services.cases.get(case.code)
    assert cancelled.status is Status.CANCELLED
    assert [(e.actor, e.detail) for e in cancelled.history if e.event == "cancelled"] == [(canceller, "重复报事")]
    assert services.sms.to(phone(services, canceller)) == []
    assert list(services.cases.due(services.clock() + 30 * 86400)) == []
    # AND the holder, if someone else cancelled it, is told to stop; the resident gets nothing
    if canceller != "m10":
        assert services.sms.to(phone(services, "m10")) == [render("case_cancelled", "zh", community="常牧家园",
                                                                  code=case.code)]
    assert services.sms.to(STRANGER) == []


@pytest.mark.parametrize("member", ["m06", "m11"], ids=["grid-member-above", "not-on-the-chain"])
def test_given_a_member_who_may_not_when_they_cancel_then_refused_and_nothing_changes(services, member):
    case = routed_web_case(services)
    before = stored(services, case.code)

    assert text_in(services, phone(services, member), f"CANCEL {case.code} spam").startswith("refused:")

    assert stored(services, case.code) == before
    [answer] = services.sms.to(phone(services, member))
    assert answer in (render("refused_not_allowed", "zh", code=case.code),
                      render("refused_not_on_chain", "zh", code=case.code))


def test_given_no_reason_then_the_answer_says_how_to_give_one(services):
    case = routed_web_case(services)
    before = stored(services, case.code)

    assert text_in(services, phone(services, "m10"), f"取消 {case.code}") == "refused:reason_required"

    assert stored(services, case.code) == before
    assert services.sms.to(phone(services, "m10")) == [render("refused_cancel_reason", "zh", code=case.code)]
    assert f"取消 {case.code} 原因" in services.sms.to(phone(services, "m10"))[0]


def test_given_an_english_speaking_committee_member_then_the_usage_is_in_english(services):
    case = routed_web_case(services)
    text_in(services, phone(services, "m05"), f"CANCEL {case.code}")
    assert services.sms.to(phone(services, "m05")) == [render("refused_cancel_reason", "en", code=case.code)]


def test_given_a_resolved_case_then_it_cannot_be_cancelled(services):
    case = routed_web_case(services)
    text_in(services, phone(services, "m10"), f"完成 {case.code}")
    before = stored(services, case.code)

    assert text_in(services, phone(services, "m03"), f"取消 {case.code} 重复") == "refused:not_cancellable_resolved"

    assert stored(services, case.code) == before
    assert services.sms.to(phone(services, "m03")) == [render("refused_not_cancellable", "zh", code=case.code)]


def test_given_a_junk_sms_report_in_triage_then_the_triage_member_cancels_it_before_placing_it(services):
    # GIVEN a resident's SMS nobody can place: the triage member has it, the resident their code
    text_in(services, STRANGER, "加微信领红包")
    case = only_case(services)
    assert (case.status, case.holder) == (Status.RECEIVED, "m09")
    sent = list(services.sms.sent)

    # WHEN the triage member cancels it
    assert text_in(services, phone(services, "m09"), f"取消 {case.code} 广告") == "cancel"

    # THEN it is cancelled; nothing more is sent to anyone, and the reminder never comes
    assert services.cases.get(case.code).status is Status.CANCELLED
    assert services.sms.sent == sent
    services.clock.advance(86400)
    assert services.workflow.sweep() == 0
    # AND the resident asking about it hears it was cancelled
    text_in(services, STRANGER, f"查询 {case.code}")
    assert services.sms.to(STRANGER)[-1] == f"【常牧家园】事项{case.code}（其他事项）已撤销。"


def test_given_a_cancelled_sms_report_then_placing_it_is_refused_as_over(services):
    text_in(services, STRANGER, "加微信领红包")
    code = only_case(services).code
    text_in(services, phone(services, "m09"), f"取消 {code} 广告")

    assert text_in(services, phone(services, "m09"), f"位置 {code} 3-2") == "refused:not_placeable_cancelled"

    assert services.sms.to(phone(services, "m09"))[-1] == render("refused_closed", "zh", code=code)
    assert services.cases.get(code).status is Status.CANCELLED


def test_given_the_same_cancel_sms_twice_then_the_second_changes_nothing_and_sends_nothing(services):
    case = routed_web_case(services)
    services.inbound.accept(phone(services, "m03"), f"取消 {case.code} 重复", gateway="test")
    [body] = services.inbound_queue.take()
    services.workflow.reply(body)
    before, sent = stored(services, case.code), list(services.sms.sent)

    services.workflow.reply(body)                       # SQS delivers it again

    assert stored(services, case.code) == before and services.sms.sent == sent


def test_given_a_cancelled_case_then_the_holders_open_cases_no_longer_list_it(services):
    case = routed_web_case(services)
    text_in(services, phone(services, "m03"), f"取消 {case.code} 重复")
    services.sms.sent.clear()
    assert text_in(services, phone(services, "m10"), "收到") == "no_open_case"
    assert services.sms.to(phone(services, "m10")) == [render("no_open_cases", "zh")]


# -- residents answered in their language ---------------------------------------------------------------

def test_given_an_english_sms_report_then_its_code_and_every_later_sms_to_the_reporter_are_english(services):
    # GIVEN a resident who writes in English about a unit they name
    assert text_in(services, STRANGER, "3-2 stairwell light is broken") == "report:mention"
    case = only_case(services)

    # THEN the report is stored with their language, and their code comes back in English, in one segment
    assert case.reporter_lang == "en"
    [code_sms] = services.sms.to(STRANGER)
    assert code_sms == f"[Changmu Homeland] We have your report (Stairwell light), code {case.code}. " \
                       f"Reply CHECK {case.code} for its status."
    assert (encoding(code_sms), segments(code_sms)) == ("gsm7", 1)

    # WHEN the holder resolves it: the call-back is in English too
    text_in(services, phone(services, case.holder), "完成")
    assert services.sms.to(STRANGER)[-1] == f"[Changmu Homeland] Your report {case.code} is resolved. " \
                                            "Reply 1 if satisfied, 2 if not."


def test_given_an_english_sms_report_with_no_place_then_triage_and_an_english_code(services):
    assert text_in(services, STRANGER, "The light in building 3 unit 2 is broken") == "report:triage"
    case = only_case(services)
    assert case.reporter_lang == "en" and services.sms.to(STRANGER)[0].startswith("[Changmu Homeland] We have")
    assert services.sms.to(phone(services, "m09"))[0].startswith("短信报事")     # the triage member reads Chinese


def test_given_a_web_report_in_english_then_the_reporters_sms_are_english(services):
    case = services.intake.submit({"category": "sanitation", "location": "changmu-01-1", "description": "dirty",
                                   "phone": STRANGER, "lang": "en"})
    services.run_intake()
    assert services.cases.get(case.code).reporter_lang == "en"
    assert services.sms.to(STRANGER) == [render("reporter_received", "en", community="Changmu Homeland",
                                                category="Sanitation", code=case.code)]


@pytest.mark.parametrize("text, lang", [("CHECK {code}", "en"), ("STATUS {code}", "en"), ("查询 {code}", "zh")])
def test_given_a_status_question_then_answered_in_the_language_it_was_asked_in(services, text, lang):
    case = routed_web_case(services)
    text_in(services, STRANGER, text.format(code=case.code))
    expected = {"en": f"[Changmu Homeland] Case {case.code} (Sanitation) is with the stairwell leader, to be accepted.",
                "zh": f"【常牧家园】事项{case.code}（环境卫生）已派楼道长，待接单。"}[lang]
    assert services.sms.to(STRANGER) == [expected]


@pytest.mark.parametrize("text, template", [("HELP", "reporter_help"), ("STOP", "opted_out"),
                                            ("x", "reporter_help"), ("OK ABC234", "unknown_sender")])
def test_given_an_english_word_then_the_answer_is_english(services, text, template):
    text_in(services, STRANGER, text)
    assert services.sms.to(STRANGER) == [render(template, "en")]


def test_given_a_bare_2_then_the_answer_is_in_the_language_of_the_report_it_is_about(services):
    # GIVEN an English report still assigned (nothing waits for 满意 / 不满意)
    case = routed_web_case(services, lang="en")
    # WHEN the resident answers 2, which says no language
    assert text_in(services, STRANGER, "2") == "feedback:refused"
    # THEN the answer is in the report's language; with no report at all, Chinese
    assert services.sms.to(STRANGER) == [render("no_feedback_case", "en")]
    assert text_in(services, "+8613800000002", "2") == "feedback:none"
    assert services.sms.to("+8613800000002") == [render("no_feedback_case", "zh")]
    assert services.cases.get(case.code).status is Status.ASSIGNED
