"""SMS both ways over in-memory fakes (tests/conftest.py FakeServices): residents report,
ask and answer by SMS; members work by reply without codes; error replies are rate-limited;
退订 / STOP is kept.

Demo directory (data/directory/changmu.yaml): changmu-03-2 is held first by m30 (stairwell
leader), then m06; changmu-01-1 by m10, then m06. m09 is on triage duty. Households:
+8613709741001 lives at 3-2, +8613709741002 at 1-1.
"""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.case import Status
from chalicelib.domain.messages import render
from chalicelib.services.intake import PermanentFailure

STRANGER = "+8613800000001"
HOUSEHOLD_3_2 = "+8613709741001"
MINUTE, HOUR = 60, 3600


def phone(services, member_id, community="changmu"):
    return services.member(community, member_id).phone


def text_in(services, sender, text, **extra):
    """An SMS arrives through the one inbound path and the reply worker takes it."""
    services.inbound.accept(sender, text, gateway="test", **extra)
    results = [services.workflow.reply(body) for body in services.inbound_queue.take()]
    return results[0] if len(results) == 1 else results


def only_case(services):
    [data] = services.cases.items.values()
    return services.cases.get(data["code"])


def cases_of(services, phone_number):
    return [services.cases.get(c) for c, d in services.cases.items.items() if d.get("reporter_phone") == phone_number]


def routed_web_case(services, location="changmu-01-1", **extra):
    case = services.intake.submit({"category": "sanitation", "location": location, "description": "楼道脏", **extra})
    services.run_intake()
    services.sms.sent.clear()
    return services.cases.get(case.code)


# -- residents report by SMS ---------------------------------------------------------------------

def test_given_a_residents_sms_naming_a_unit_then_a_case_routed_by_that_unit(services):
    assert text_in(services, STRANGER, "3号楼2单元门口有个大坑，晚上看不见") == "report:mention"

    case = only_case(services)
    assert (case.source, case.community_id, case.location, case.category) == ("sms", "changmu", "changmu-03-2", "other")
    assert (case.status, case.level, case.holder) == (Status.ASSIGNED, 1, "m30")
    assert case.reporter_phone == STRANGER and case.description == "3号楼2单元门口有个大坑，晚上看不见"
    assert [to for to, _ in services.sms.sent] == [STRANGER, phone(services, "m30")]
    assert case.code in services.sms.to(STRANGER)[0]                # the code, from the case's outbox
    assert services.intake_queue.messages == []                     # routed at once, not queued


def test_given_a_keyword_then_the_category_and_its_chain(services):
    text_in(services, STRANGER, "3栋2单元煤气味很大")
    case = only_case(services)
    # (FakeServices runs the single-chain policy.json; the functional tests run the policy books)
    assert (case.category, case.status) == ("gas_leak", Status.ASSIGNED)


def test_given_a_registered_household_then_its_unit_without_a_mention(services):
    assert text_in(services, HOUSEHOLD_3_2, "楼道灯好几天不亮了") == "report:household"
    case = only_case(services)
    assert (case.location, case.category) == ("changmu-03-2", "stairwell_light")
    assert case.status is Status.ASSIGNED


def test_given_the_same_inbound_sms_twice_then_one_report(services):
    services.inbound.accept(STRANGER, "3号楼2单元门口有个大坑", gateway="test")
    [body] = services.inbound_queue.take()
    services.workflow.reply(body)
    sent = list(services.sms.sent)

    services.workflow.reply(body)                    # SQS delivers it again

    assert len(services.cases.items) == 1
    assert services.sms.sent == sent


def test_given_a_gateway_retry_of_the_same_message_then_one_report(services):
    for _ in range(2):                               # a webhook sent twice: the same MessageSid
        text_in(services, STRANGER, "3号楼2单元门口有个大坑", gateway_message_id="SM123")
    assert len(services.cases.items) == 1


def test_given_two_sms_with_the_same_text_then_two_reports(services):
    text_in(services, STRANGER, "3号楼2单元门口有个大坑")
    services.clock.advance(60)
    text_in(services, STRANGER, "3号楼2单元门口有个大坑")
    assert len(services.cases.items) == 2


def test_given_an_unknown_place_then_the_triage_member_gets_it_and_sets_it(services):
    triage = phone(services, "m09")
    assert text_in(services, STRANGER, "楼道灯坏了好几天了") == "report:triage"

    case = only_case(services)
    assert (case.status, case.location, case.holder) == (Status.RECEIVED, "changmu", "m09")
    assert services.sms.to(triage) == [f"短信报事{case.code}，13800000001：楼道灯坏了好几天了。"
                                       f"请回复“位置 {case.code} 楼号-单元”"]
    assert case.code in services.sms.to(STRANGER)[0]          # the resident has the code already

    assert text_in(services, triage, f"位置 {case.code} 3-2") == "locate"

    placed = services.cases.get(case.code)
    assert (placed.location, placed.category, placed.status) == ("changmu-03-2", "stairwell_light", Status.ASSIGNED)
    assert placed.holder == "m30"
    assert [e.event for e in placed.history if e.event in ("triage", "located", "assigned")] == \
        ["triage", "located", "assigned"]


def test_given_a_triage_report_placed_then_the_resident_got_the_code_once(services):
    text_in(services, STRANGER, "楼道灯坏了好几天了")
    code = only_case(services).code
    text_in(services, phone(services, "m09"), f"位置 {code} 3-2")
    assert len([t for t in services.sms.to(STRANGER) if code in t]) == 1


def test_given_the_triage_member_has_one_report_then_the_place_needs_no_code(services):
    text_in(services, STRANGER, "门口有个大坑")
    code = only_case(services).code
    assert text_in(services, phone(services, "m09"), "位置 11号楼2单元") == "locate"
    assert services.cases.get(code).location == "changmu-11-2"


@pytest.mark.parametrize("reply, answer", [
    ("位置 {code} 99-9", "unknown_place"),
    ("收到 {code}", "needs_place"),
    ("完成", "needs_place"),
])
def test_given_a_triage_report_then_only_a_known_place_places_it(services, reply, answer):
    text_in(services, STRANGER, "门口有个大坑")
    case = only_case(services)
    triage = phone(services, "m09")
    services.sms.sent.clear()

    text_in(services, triage, reply.format(code=case.code))

    assert services.sms.to(triage) == [render(answer, "zh", code=case.code)]
    assert services.cases.get(case.code).status is Status.RECEIVED


def test_given_a_member_off_triage_then_they_may_not_place_it(services):
    text_in(services, STRANGER, "门口有个大坑")
    case = only_case(services)
    assert text_in(services, phone(services, "m10"), f"位置 {case.code} 3-2") == "refused:not_on_chain"
    assert services.cases.get(case.code).location == "changmu"


def test_given_nobody_places_it_then_the_triage_member_is_reminded(services):
    text_in(services, STRANGER, "门口有个大坑")
    triage = phone(services, "m09")
    services.clock.advance(31 * MINUTE)                       # the standard chain's first limit

    assert services.workflow.sweep() == 1
    services.run_escalations()

    case = only_case(services)
    assert services.sms.to(triage)[-1].startswith(f"【常牧家园】提醒：短信报事{case.code}尚无位置")
    assert (case.status, case.holder) == (Status.RECEIVED, "m09")
    assert not any(e.event == "unroutable" for e in case.history)


def test_given_a_place_set_then_the_case_is_placed_even_if_routing_was_lost(services, monkeypatch):
    text_in(services, STRANGER, "门口有个大坑")
    code = only_case(services).code
    monkeypatch.setattr(services.workflow, "route", lambda case: case)   # the worker stops after the write
    text_in(services, phone(services, "m09"), f"位置 {code} 3-2")
    monkeypatch.undo()
    assert services.cases.get(code).status is Status.RECEIVED
    services.clock.advance(3 * MINUTE)                        # the routing grace

    services.workflow.sweep()
    services.run_escalations()

    assert (services.cases.get(code).status, services.cases.get(code).holder) == (Status.ASSIGNED, "m30")


@pytest.mark.parametrize("text", ["谢谢", "好的", "收到", "OK"])
def test_given_a_thank_you_then_no_report_and_no_answer(services, text):
    assert text_in(services, STRANGER, text) == "ignored"
    assert services.cases.items == {} and services.sms.sent == []


def test_given_a_member_command_from_a_stranger_then_not_registered(services):
    assert text_in(services, STRANGER, "收到 ABC234") == "unknown_sender"
    assert services.sms.sent == [(STRANGER, render("unknown_sender", "zh"))]
    assert services.cases.items == {}


def test_given_too_many_reports_from_one_phone_then_one_polite_answer_and_the_rest_are_dead_lettered(services):
    for n in range(5):
        text_in(services, STRANGER, f"{n + 1}号楼1单元门口有个大坑")
    answered = len(services.sms.to(STRANGER))
    for n in (6, 7):
        with pytest.raises(PermanentFailure, match="more than 5 new reports from one phone"):
            text_in(services, STRANGER, f"{n}号楼1单元门口有个大坑")
    assert len(services.cases.items) == 5
    assert services.sms.to(STRANGER)[answered:] == [render("reports_limited", "zh")]     # once, then silence
    services.clock.advance(HOUR)
    text_in(services, STRANGER, "6号楼1单元门口有个大坑")
    assert len(services.cases.items) == 6


# -- 查询 ---------------------------------------------------------------------------------------------

def test_given_a_code_then_its_status_without_names_or_phones(services):
    case = routed_web_case(services)
    assert text_in(services, STRANGER, f"查询 {case.code.lower()}") == "query"
    [answer] = services.sms.to(STRANGER)
    assert answer == f"【常牧家园】事项{case.code}（环境卫生）已派楼道长，待接单。"

    text_in(services, phone(services, "m10"), f"收到 {case.code}")
    text_in(services, STRANGER, f"查询 {case.code}")
    assert services.sms.to(STRANGER)[-1] == f"【常牧家园】事项{case.code}（环境卫生）由楼道长办理中。"


def test_given_query_alone_then_the_status_of_the_phones_latest_report(services):
    text_in(services, STRANGER, "门口有个大坑")
    code = only_case(services).code
    services.sms.sent.clear()
    text_in(services, STRANGER, "查询")
    assert services.sms.to(STRANGER) == [f"【常牧家园】事项{code}（其他事项）已受理，正在确认位置。"]


def test_given_an_unknown_code_or_no_report_then_said_so(services):
    text_in(services, STRANGER, "查询 ZZZ999")
    text_in(services, "+8613800000002", "查询")
    assert services.sms.sent == [(STRANGER, render("unknown_case", "zh", code="ZZZ999")),
                                 ("+8613800000002", render("no_reports", "zh"))]


# -- the call-back's answer --------------------------------------------------------------------------

def resolved_sms_case(services):
    text_in(services, STRANGER, "3号楼2单元门口有个大坑")
    code = only_case(services).code
    text_in(services, phone(services, "m30"), "完成")
    services.sms.sent.clear()
    return services.cases.get(code)


def test_given_the_reporter_answers_1_then_the_case_closes(services):
    case = resolved_sms_case(services)
    assert case.status is Status.RESOLVED and case.awaiting_feedback
    assert text_in(services, STRANGER, "1") == "satisfied"
    assert services.cases.get(case.code).status is Status.CLOSED
    before = json.dumps(services.cases.items[case.code], sort_keys=True)
    assert text_in(services, STRANGER, "满意") == "satisfied"            # a repeat: nothing, no answer
    assert json.dumps(services.cases.items[case.code], sort_keys=True) == before
    assert services.sms.to(STRANGER) == []


def test_given_the_reporter_answers_2_then_the_case_reopens_above_its_resolver(services):
    case = resolved_sms_case(services)
    assert text_in(services, STRANGER, "不满意") == "unsatisfied"
    reopened = services.cases.get(case.code)
    assert (reopened.status, reopened.level, reopened.holder) == (Status.ASSIGNED, 2, "m06")


def test_given_an_answer_with_nothing_waiting_for_it_then_said_so(services):
    assert text_in(services, STRANGER, "2") == "feedback:none"
    assert services.sms.sent == [(STRANGER, render("no_feedback_case", "zh"))]


# -- members work by reply ---------------------------------------------------------------------------

@pytest.mark.parametrize("reply", ["1", "收到", "OK", "收到，马上去"])
def test_given_one_open_case_then_a_bare_reply_acknowledges_it(services, reply):
    case = routed_web_case(services)
    assert text_in(services, phone(services, "m10"), reply) == "acknowledge"
    assert services.cases.get(case.code).status is Status.ACKNOWLEDGED


@pytest.mark.parametrize("reply", ["2", "完成", "DONE"])
def test_given_one_open_case_then_a_bare_done_resolves_it(services, reply):
    case = routed_web_case(services)
    text_in(services, phone(services, "m10"), "1")
    assert text_in(services, phone(services, "m10"), reply) == "resolve"
    assert services.cases.get(case.code).status is Status.RESOLVED


def test_given_one_case_to_accept_and_one_accepted_then_1_accepts_the_first(services):
    first = routed_web_case(services)
    text_in(services, phone(services, "m10"), f"收到 {first.code}")
    services.clock.advance(60)
    second = routed_web_case(services, location="changmu-01-2")
    assert text_in(services, phone(services, "m10"), "1") == "acknowledge"
    assert services.cases.get(second.code).status is Status.ACKNOWLEDGED


def test_given_several_open_cases_then_a_bare_reply_gets_their_codes(services):
    first = routed_web_case(services)
    services.clock.advance(60)
    second = routed_web_case(services, location="changmu-01-2")
    leader = phone(services, "m10")

    assert text_in(services, leader, "完成") == "ambiguous"

    assert services.sms.to(leader) == [f"您的待办：{second.code}、{first.code}。回复“收到 编号”接单，“完成 编号”办结"]
    assert services.cases.get(first.code).status is Status.ASSIGNED


def test_given_no_open_case_then_a_bare_reply_says_so(services):
    assert text_in(services, phone(services, "m10"), "收到") == "no_open_case"
    assert services.sms.sent == [(phone(services, "m10"), render("no_open_cases", "zh"))]


@pytest.mark.parametrize("word", ["帮助", "HELP", "help", "?"])
def test_given_help_then_the_members_open_cases_with_their_codes(services, word):
    codes = []
    for location in ("changmu-01-1", "changmu-01-2", "changmu-01-3"):
        codes.insert(0, routed_web_case(services, location=location).code)
        services.clock.advance(60)
    leader = phone(services, "m10")
    assert text_in(services, leader, word) == "help"
    assert services.sms.to(leader) == [f"您的待办：{'、'.join(codes)}。回复“收到 编号”接单，“完成 编号”办结"]


def test_given_many_open_cases_then_help_lists_what_fits_one_sms(services):
    for n in range(12):
        routed_web_case(services, location=f"changmu-01-{n % 3 + 1}")
        services.clock.advance(60)
    text_in(services, phone(services, "m10"), "帮助")
    [answer] = services.sms.to(phone(services, "m10"))
    assert len(answer) <= 70 and answer.count("、") >= 3 and "等12件" in answer


def test_given_help_with_no_open_case_then_none(services):
    text_in(services, phone(services, "m05"), "HELP")
    assert services.sms.sent == [(phone(services, "m05"), "You have no open cases.")]


# -- error replies are rate-limited per number ---------------------------------------------------------

def test_given_many_errors_from_one_number_then_three_answers_an_hour_then_silence(services):
    leader = phone(services, "m10")
    for _ in range(5):
        text_in(services, leader, "灯修好了吗")
    assert services.sms.to(leader) == [render("help", "zh")] * 3
    text_in(services, STRANGER, "收到 ABC234")                        # another number has its own count
    assert services.sms.to(STRANGER) == [render("unknown_sender", "zh")]
    services.clock.advance(HOUR)
    text_in(services, leader, "灯修好了吗")
    assert services.sms.to(leader) == [render("help", "zh")] * 4


def test_given_the_limit_is_reached_then_work_and_help_still_answer(services):
    case = routed_web_case(services)
    leader = phone(services, "m10")
    for _ in range(4):
        text_in(services, leader, "ZZZ")
    text_in(services, leader, "帮助")
    assert services.sms.to(leader)[-1] == f"您的待办：{case.code}。回复“收到 编号”接单，“完成 编号”办结"
    text_in(services, leader, "1")
    assert services.cases.get(case.code).status is Status.ACKNOWLEDGED


# -- 退订 / STOP ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("word, lang", [("退订", "zh"), ("STOP", "en"), ("TD", "zh")])   # TD: 回复TD退订
def test_given_stop_then_the_phone_is_opted_out_once_confirmed_in_its_language(services, word, lang):
    assert text_in(services, STRANGER, word) == "stop"
    assert services.contacts.opted_out(STRANGER)
    assert services.sms.sent == [(STRANGER, render("opted_out", lang))]
    text_in(services, STRANGER, word)                              # again: no second confirmation
    assert len(services.sms.sent) == 1


def test_given_an_opted_out_phone_then_no_error_replies_but_answers_to_questions(services):
    text_in(services, STRANGER, "退订")
    services.sms.sent.clear()
    text_in(services, STRANGER, "收到 ABC234")                      # an error reply: none
    text_in(services, STRANGER, "2")
    assert services.sms.sent == []
    text_in(services, STRANGER, "帮助")                             # asked for: answered
    assert services.sms.sent == [(STRANGER, render("reporter_help", "zh"))]


def test_given_start_then_opted_in_again(services):
    text_in(services, STRANGER, "退订")
    assert text_in(services, STRANGER, "订阅") == "start"
    assert not services.contacts.opted_out(STRANGER)
    assert services.sms.to(STRANGER)[-1] == render("opted_in", "zh")


def test_given_a_member_sends_stop_then_duty_sms_go_on(services):
    leader = phone(services, "m10")
    assert text_in(services, leader, "退订") == "stop:member"
    assert services.contacts.opted_out(leader)                      # as a reporter
    assert services.sms.to(leader) == [render("member_opted_out", "zh")]
    case = services.intake.submit({"category": "sanitation", "location": "changmu-01-1", "description": "x"})
    services.run_intake()
    assert case.code in services.sms.to(leader)[-1]                 # still assigned by SMS


def test_given_a_member_with_no_open_case_then_1_answers_the_call_back_of_what_they_reported(services):
    leader = phone(services, "m10")
    case = services.intake.submit({"category": "sanitation", "location": "changmu-03-2", "description": "x",
                                   "phone": leader})
    services.run_intake()
    text_in(services, phone(services, "m30"), "完成")
    assert services.cases.get(case.code).awaiting_feedback

    assert text_in(services, leader, "1") == "satisfied"
    assert services.cases.get(case.code).status is Status.CLOSED


def test_given_a_placed_report_then_another_place_is_refused(services):
    text_in(services, STRANGER, "门口有个大坑")
    code = only_case(services).code
    triage = phone(services, "m09")
    text_in(services, triage, f"位置 {code} 3-2")
    assert text_in(services, triage, f"位置 {code} 3-2") == "locate"               # the same again: nothing
    assert text_in(services, triage, f"位置 {code} 4-1") == "refused:already_placed"
    assert services.sms.to(triage)[-1] == render("already_placed", "zh", code=code)
    assert services.cases.get(code).location == "changmu-03-2"


def test_given_nobody_on_triage_duty_then_the_report_waits_and_is_handed_over_later(communities, clock):
    from chalicelib.domain.directory import Community
    from tests.conftest import FakeServices

    def everyone(category):
        return [Community.from_dict({**c.to_dict(), "members": [
            {**m, "category": category, "paired_with": None} for m in c.to_dict()["members"]]})
            if c.id == "changmu" else c
            for c in communities]

    services = FakeServices(everyone("away"), clock)
    text_in(services, STRANGER, "门口有个大坑")
    case = only_case(services)
    assert (case.status, case.holder) == (Status.RECEIVED, None)
    assert [case.code in text for text in services.sms.to(STRANGER)] == [True]    # the code all the same

    services.store.put_community(next(c for c in everyone("at_home") if c.id == "changmu"))
    clock.advance(HOUR)                                        # past the routing grace and the cache
    services.workflow.sweep()
    services.run_escalations()

    case = services.cases.get(case.code)
    assert (case.status, case.holder, case.timer) == (Status.RECEIVED, "m09", "triage")
    assert len(services.sms.to(STRANGER)) == 1 and case.code in services.sms.to(phone(services, "m09"))[0]
