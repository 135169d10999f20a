"""The service layer over in-memory fakes: intake, the case worker, the sweep, SMS replies.

Demo directory (data/directory/changmu.yaml), location changmu-01-1 (building 1, unit 1):
level 1 m10 (stairwell leader), 2 m06 (grid member), 3 m02 (grid chief),
4 m03 (committee), 5 m01 (area chief).
"""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.case import Case, Status
from chalicelib.domain.messages import render
from chalicelib.domain.report import InvalidReport
from chalicelib.services.directory import DirectoryCache
from chalicelib.services.inbound import InvalidInbound
from chalicelib.services.intake import IdempotencyConflict, PermanentFailure
from tests.conftest import FakeServices
from tests.fakes import FixedDirectoryStore
from tests.unit.builders import tiny, tiny_dict

LOCATION = "changmu-01-1"
MINUTE, HOUR, DAY = 60, 3600, 86400
STRANGER = "+8613800000000"


def report(**overrides):
    data = {"category": "stairwell_light", "location": LOCATION, "description": "楼道灯坏了"}
    data.update(overrides)
    return data


def phone(services, member_id, community="changmu"):
    return services.member(community, member_id).phone


def stored(services, code) -> Case:
    return services.cases.get(code)


def snapshot(services, code):
    return json.dumps(services.cases.items[code], sort_keys=True, default=str)


def routed_case(services, **overrides) -> Case:
    """A report submitted and routed by the worker; the SMS it caused are cleared."""
    case = services.intake.submit(report(**overrides))
    services.run_intake()
    services.sms.sent.clear()
    return stored(services, case.code)


def sms_reply(services, sender, text):
    services.inbound.accept(sender, text, gateway="test")
    services.run_replies()


def sweep_and_escalate(services) -> int:
    count = services.workflow.sweep()
    services.run_escalations()
    return count


# -- intake and routing -----------------------------------------------------------------------

def test_given_a_report_when_submitted_then_stored_received_and_one_intake_message(services):
    case = services.intake.submit(report(phone="139 1234 5678"))
    assert case.status is Status.RECEIVED
    assert stored(services, case.code).reporter_phone == "+8613912345678"
    assert services.sms.sent == []
    (message,) = services.intake_queue.messages
    assert json.loads(message)["kind"] == "route"
    assert json.loads(message)["case"]["code"] == case.code


def test_given_a_submitted_report_when_the_worker_runs_then_the_stairwell_leader_gets_one_sms(services):
    code = services.intake.submit(report()).code
    services.run_intake()
    assert services.sms.sent == [(phone(services, "m10"), f"【常牧家园】新事项{code}：1号楼1单元，楼道照明。"
                                                          f"回复1或“收到 {code}”接单，办完回复2")]
    case = stored(services, code)
    assert (case.status, case.level, case.holder) == (Status.ASSIGNED, 1, "m10")
    assert case.due_at == services.clock() + 30 * MINUTE
    assert case.outbox == []                                      # delivered and recorded
    assert case.history[-1].event == "notified"
    assert services.intake_queue.messages == []


def test_given_an_away_stairwell_leader_when_routed_then_the_building_leader_gets_it(services):
    services.intake.submit(report(location="changmu-02-3"))
    services.run_intake()
    assert [to for to, _ in services.sms.sent] == [phone(services, "m11")]
    assert services.sms.to(phone(services, "m34")) == []


def test_given_an_invalid_report_when_submitted_then_nothing_stored_or_queued(services):
    with pytest.raises(InvalidReport):
        services.intake.submit(report(location="changmu-99"))
    assert services.cases.items == {} and services.intake_queue.messages == []


# -- idempotency ---------------------------------------------------------------------------------

def test_given_the_same_key_twice_then_one_case_and_one_sms(services):
    first = services.intake.submit(report(), idempotency_key="k-1")
    second = services.intake.submit(report(), idempotency_key="k-1")
    assert (second.id, second.code) == (first.id, first.code)
    assert len(services.cases.items) == 1
    assert len(services.intake_queue.messages) == 2     # both still waiting: both queued
    services.run_intake()
    assert services.sms.sent == [(phone(services, "m10"), services.sms.sent[0][1])]
    assert first.code in services.sms.sent[0][1]


def test_given_a_routed_case_when_its_key_is_replayed_then_same_case_and_nothing_queued(services):
    code = services.intake.submit(report(), idempotency_key="k-1").code
    services.run_intake()
    again = services.intake.submit(report(), idempotency_key="k-1")
    assert again.code == code and again.status is Status.ASSIGNED
    assert services.intake_queue.messages == []
    assert len(services.sms.sent) == 1


def test_given_the_same_key_with_a_different_body_then_idempotency_conflict(services):
    services.intake.submit(report(), idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        services.intake.submit(report(description="水管漏水"), idempotency_key="k-1")
    assert len(services.cases.items) == 1
    assert len(services.intake_queue.messages) == 1


def test_given_the_same_key_in_two_communities_then_two_cases(services):
    one = services.intake.submit(report(), idempotency_key="k-1")
    two = services.intake.submit(report(location="garang-01-1"), idempotency_key="k-1")
    assert one.code != two.code
    assert (one.community_id, two.community_id) == ("changmu", "garang")


def test_given_no_key_then_every_submission_is_a_new_case(services):
    codes = {services.intake.submit(report()).code for _ in range(3)}
    assert len(codes) == len(services.cases.items) == 3


# -- the console door and malformed queue messages -------------------------------------------------

def console(**overrides):
    return json.dumps(report(source="console", **overrides), ensure_ascii=False)


def test_given_a_console_message_then_a_report_is_created_and_routed(services):
    case = services.intake.parse_queue_message(console(phone="13912345678"), "sqs-1")
    assert (case.source, case.status, case.reporter_phone) == ("console", Status.RECEIVED, "+8613912345678")
    assert stored(services, case.code) == case
    services.workflow.route(case)
    assert [to for to, _ in services.sms.sent if to != "+8613912345678"] == [phone(services, "m10")]
    # the reporter gave a phone: they get the code (one SMS), the case is theirs to check
    assert services.sms.to("+8613912345678") == [
        f"【常牧家园】已收到您反映的楼道照明，编号{case.code}。查进度回复“查询 {case.code}”"]
    assert len(services.sms.sent) == 2


def test_given_the_same_console_message_id_twice_then_one_case_and_one_sms(services):
    first = services.intake.parse_queue_message(console(), "sqs-1")
    services.workflow.route(first)
    second = services.intake.parse_queue_message(console(), "sqs-1")     # SQS redelivery
    services.workflow.route(second)
    assert second.code == first.code
    assert len(services.cases.items) == 1
    assert len(services.sms.sent) == 1


def test_given_two_console_messages_with_the_same_body_then_two_cases(services):
    one = services.intake.parse_queue_message(console(), "sqs-1")
    two = services.intake.parse_queue_message(console(), "sqs-2")
    assert one.code != two.code and len(services.cases.items) == 2


@pytest.mark.parametrize("body, reason", [
    ("not json", "not JSON"),
    ("", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('"text"', "not a JSON object"),
    ("null", "not a JSON object"),
    (json.dumps(report()), '"source": "console"'),                    # a report without source
    (json.dumps(report(source="web")), '"source": "console"'),
    (console(location="changmu-99"), "unknown_location"),
    (console(category="potholes"), "unknown_category"),
    (console(description=""), "missing_field"),
    (console(colour="red"), "unknown_field"),
    (console(phone="12345"), "invalid_phone"),
    ('{"kind": "route"}', "malformed routing message"),
    ('{"kind": "route", "case": null}', "malformed routing message"),
    ('{"kind": "route", "case": {"code": "ABC234"}}', "malformed routing message"),
    ('{"kind": "route", "case": {"status": "lost"}}', "malformed routing message"),
], ids=lambda v: v if len(str(v)) < 30 else None)
def test_given_a_malformed_intake_message_then_permanent_failure_with_the_reason(services, body, reason):
    with pytest.raises(PermanentFailure, match=reason):
        services.intake.parse_queue_message(body, "sqs-1")
    assert services.cases.items == {}


def test_given_a_routing_message_for_a_location_not_in_the_directory_then_permanent_failure(services):
    case = Case.receive(id="x", code="ABC234", community_id="changmu", category="other",
                        location="changmu-99-9", description="?", now=services.clock())
    body = json.dumps({"kind": "route", "case": case.to_dict()})
    with pytest.raises(PermanentFailure, match="changmu-99-9"):
        services.workflow.route(services.intake.parse_queue_message(body, "sqs-1"))
    assert services.sms.sent == []


# -- redelivery and crashes ----------------------------------------------------------------------

def test_given_a_redelivered_route_message_then_nothing_is_sent_twice(services):
    code = services.intake.submit(report()).code
    (body,) = services.intake_queue.take()
    services.workflow.route(services.intake.parse_queue_message(body, "m-1"))
    services.workflow.route(services.intake.parse_queue_message(body, "m-1"))
    assert len(services.sms.sent) == 1
    assert [e.event for e in stored(services, code).history].count("assigned") == 1


class SmsDown(Exception):
    pass


def test_given_the_sms_send_crashes_once_when_redelivered_then_the_notice_goes_exactly_once(
        services, monkeypatch):
    real_send, failures = services.sms.send, []

    def flaky(phone_number, text, case_code=None):
        if not failures:
            failures.append(text)
            raise SmsDown("gateway timeout")
        return real_send(phone_number, text, case_code)

    monkeypatch.setattr(services.sms, "send", flaky)
    code = services.intake.submit(report()).code
    (body,) = services.intake_queue.take()
    with pytest.raises(SmsDown):
        services.workflow.route(services.intake.parse_queue_message(body, "m-1"))
    # the transition was saved with its notice before the send: nothing is lost
    case = stored(services, code)
    assert (case.status, case.holder) == (Status.ASSIGNED, "m10")
    assert [n.template for n in case.outbox] == ["assigned"]
    assert services.sms.sent == []

    services.workflow.route(services.intake.parse_queue_message(body, "m-1"))   # SQS redelivers
    assert services.sms.sent == [(phone(services, "m10"), failures[0])]
    assert stored(services, code).outbox == []
    services.workflow.route(services.intake.parse_queue_message(body, "m-1"))   # and once more
    assert len(services.sms.sent) == 1


# -- escalation -------------------------------------------------------------------------------------

def test_given_no_ack_for_30_minutes_when_swept_then_the_grid_member_gets_it(services):
    case = routed_case(services)
    services.clock.advance(30 * MINUTE - 1)
    assert sweep_and_escalate(services) == 0
    services.clock.advance(2)
    assert sweep_and_escalate(services) == 1
    after = stored(services, case.code)
    assert (after.status, after.level, after.holder, after.level_role) == (Status.ASSIGNED, 2, "m06", "grid_member")
    assert after.due_at == services.clock() + 2 * HOUR
    assert services.sms.to(phone(services, "m06")) == [
        f"【常牧家园】事项{case.code}超时未接，升级由您处理：1号楼1单元，楼道照明。回复“收到 {case.code}”接单"]
    assert services.sms.to(phone(services, "m10")) == [f"【常牧家园】事项{case.code}超时未接，已升级至网格员。"]
    # a second sweep before the next deadline finds nothing
    services.clock.advance(2 * HOUR - 1)
    assert sweep_and_escalate(services) == 0
    assert stored(services, case.code).level == 2
    assert len(services.sms.sent) == 2


def test_given_nobody_answers_then_the_case_climbs_to_the_area_chief_and_reminds_there(services):
    case = routed_case(services)
    for expected in ("m06", "m02", "m03", "m01", "m01"):
        services.clock.now = stored(services, case.code).due_at
        assert sweep_and_escalate(services) == 1
        assert stored(services, case.code).holder == expected
    final = stored(services, case.code)
    assert final.level == 5
    assert [e.event for e in final.history].count("reminded") == 1
    assert services.sms.to(phone(services, "m01"))[-1].startswith(f"【常牧家园】提醒：事项{case.code}仍未接单")


def test_given_a_duplicated_escalation_message_then_the_case_moves_once(services):
    case = routed_case(services)
    services.clock.advance(31 * MINUTE)
    services.workflow.sweep()
    services.escalation_queue.messages *= 2
    services.run_escalations()
    assert stored(services, case.code).level == 2
    assert len(services.sms.sent) == 2       # to m06 and to m10, once each


def test_given_the_holder_acknowledged_between_sweep_and_escalation_then_nothing_moves(services):
    case = routed_case(services)
    services.clock.advance(31 * MINUTE)
    assert services.workflow.sweep() == 1
    sms_reply(services, phone(services, "m10"), f"收到 {case.code}")
    services.run_escalations()
    after = stored(services, case.code)
    assert (after.status, after.level) == (Status.ACKNOWLEDGED, 1)
    assert services.sms.to(phone(services, "m06")) == []


@pytest.mark.parametrize("body", ["nope", "{}", '{"code": "ABC234"}', '{"code": "ABC234", "due_at": "x"}'])
def test_given_a_malformed_escalation_message_then_permanent_failure(services, body):
    with pytest.raises(PermanentFailure, match="malformed escalation message"):
        services.workflow.escalate(body)


def test_given_an_escalation_for_an_unknown_case_then_permanent_failure(services):
    with pytest.raises(PermanentFailure, match="no case ZZZ999"):
        services.workflow.escalate('{"code": "ZZZ999", "due_at": 1}')


# -- members' SMS replies -------------------------------------------------------------------------

def test_given_the_holder_replies_ok_then_acknowledged_and_escalation_stops(services):
    case = routed_case(services)
    sms_reply(services, phone(services, "m10"), f"ＯＫ　{case.code.lower()}")
    after = stored(services, case.code)
    assert (after.status, after.holder, after.timer) == (Status.ACKNOWLEDGED, "m10", "yellow")
    assert services.sms.sent == []            # no confirmation: a reply that worked needs no answer
    # the acknowledge clock stopped: only the resolve clock runs (yellow at 80% of a day)
    assert after.due_at == services.clock.now + 0.8 * 24 * HOUR
    services.clock.advance(19 * HOUR)
    assert sweep_and_escalate(services) == 0
    assert stored(services, case.code).level == 1


def test_given_the_holder_replies_done_then_resolved_and_closed_after_the_callback_time(services):
    case = routed_case(services)                       # no reporter phone
    sms_reply(services, phone(services, "m10"), f"完成{case.code}")
    resolved_at = services.clock.now
    after = stored(services, case.code)
    assert after.status is Status.RESOLVED
    assert (after.timer, after.due_at, after.awaiting_feedback) == ("callback", resolved_at + 3 * DAY, False)
    assert services.sms.sent == []                     # no confirmation, and no reporter to ask
    # the acknowledge clock is gone: nothing escalates
    services.clock.advance(48 * HOUR)
    assert sweep_and_escalate(services) == 0
    assert stored(services, case.code).status is Status.RESOLVED
    # WHEN the call-back time has passed with no answer: closed, nobody told
    services.clock.now = resolved_at + 3 * DAY
    assert sweep_and_escalate(services) == 1
    closed = stored(services, case.code)
    assert (closed.status, closed.timer, closed.due_at) == (Status.CLOSED, None, None)
    assert (closed.history[-1].event, closed.history[-1].detail) == ("closed", "no_answer")
    assert services.sms.sent == []
    services.clock.advance(30 * DAY)
    assert sweep_and_escalate(services) == 0


def test_given_a_reporter_phone_then_the_reporter_gets_the_code_and_the_callback_and_members_no_confirmation(
        services):
    resident = "+8613912345678"
    code = services.intake.submit(report(phone="139 1234 5678")).code
    services.run_intake()
    assert services.sms.to(resident) == [f"【常牧家园】已收到您反映的楼道照明，编号{code}。查进度回复“查询 {code}”"]
    assert len(services.sms.to(phone(services, "m10"))) == 1                   # assigned
    services.sms.sent.clear()
    sms_reply(services, phone(services, "m10"), f"收到 {code}")
    sms_reply(services, phone(services, "m10"), f"完成 {code}")
    resolved_at = services.clock.now
    # the holder hears nothing back; the reporter is asked 满意 / 不满意
    assert services.sms.sent == [(resident, f"【常牧家园】您反映的事项{code}已办结。满意回复1，不满意回复2")]
    case = stored(services, code)
    assert (case.status, case.awaiting_feedback, case.timer) == (Status.RESOLVED, True, "callback")
    assert case.due_at == resolved_at + 3 * DAY
    # no answer in three days: the sweep closes it, telling nobody
    services.clock.now = resolved_at + 3 * DAY - 1
    assert sweep_and_escalate(services) == 0
    services.clock.now = resolved_at + 3 * DAY
    assert sweep_and_escalate(services) == 1
    case = stored(services, code)
    assert (case.status, case.awaiting_feedback, case.due_at) == (Status.CLOSED, False, None)
    assert len(services.sms.sent) == 1


def test_given_a_resolved_case_when_acknowledged_then_told_it_is_closed(services):
    case = routed_case(services)
    sms_reply(services, phone(services, "m10"), f"DONE {case.code}")
    before = snapshot(services, case.code)
    sms_reply(services, phone(services, "m10"), f"OK {case.code}")
    assert services.sms.to(phone(services, "m10"))[-1] == f"事项{case.code}已结束，无需操作。"
    assert snapshot(services, case.code) == before


def test_given_a_grid_chief_replies_then_takes_over_and_the_stairwell_leader_is_told(services):
    case = routed_case(services)
    sms_reply(services, phone(services, "m02"), f"收到 {case.code}")
    after = stored(services, case.code)
    assert (after.status, after.level, after.holder) == (Status.ACKNOWLEDGED, 3, "m02")
    assert services.sms.to(phone(services, "m10")) == [f"【常牧家园】事项{case.code}已由央金卓玛接手。"]
    assert services.sms.to(phone(services, "m02")) == []          # no confirmation to the one who took over
    assert len(services.sms.sent) == 1


def test_given_an_english_speaking_member_replies_then_answers_are_in_english(services):
    case = routed_case(services)
    sms_reply(services, phone(services, "m05"), f"ok {case.code}")       # committee, lang en
    assert services.sms.to(phone(services, "m05")) == []                 # took it over: no confirmation
    assert services.sms.to(phone(services, "m10")) == [f"【常牧家园】事项{case.code}已由更登加接手。"]
    sms_reply(services, phone(services, "m05"), "hello")
    assert services.sms.to(phone(services, "m05")) == [render("help", "en")]
    sms_reply(services, phone(services, "m05"), f"done {case.code}")
    sms_reply(services, phone(services, "m05"), f"ok {case.code}")
    assert services.sms.to(phone(services, "m05"))[1:] == [f"Case {case.code} is already closed."]


@pytest.mark.parametrize("word, answer", [
    ("收到", "抱歉，此号码未登记为网格成员，无法办理事项。"),
    ("OK", "Sorry, this number is not registered as a grid member."),     # answered in the language written
])
def test_given_a_stranger_replies_then_unknown_sender_and_nothing_changes(services, word, answer):
    case = routed_case(services)
    before = snapshot(services, case.code)
    sms_reply(services, STRANGER, f"{word} {case.code}")
    assert services.sms.sent == [(STRANGER, answer)]
    assert snapshot(services, case.code) == before


def test_given_a_member_not_on_the_chain_replies_then_politely_refused_and_unchanged(services):
    case = routed_case(services)
    before = snapshot(services, case.code)
    sms_reply(services, phone(services, "m12"), f"收到 {case.code}")      # building 3's leader
    assert services.sms.sent == [(phone(services, "m12"), f"抱歉，您不是事项{case.code}的当前负责人，无法操作。")]
    assert snapshot(services, case.code) == before


def test_given_the_previous_holder_replies_after_escalation_then_refused(services):
    case = routed_case(services)
    services.clock.advance(31 * MINUTE)
    sweep_and_escalate(services)
    before, sent = snapshot(services, case.code), len(services.sms.sent)
    sms_reply(services, phone(services, "m10"), f"OK {case.code}")
    assert services.sms.sent[sent:] == [
        (phone(services, "m10"), f"抱歉，您不是事项{case.code}的当前负责人，无法操作。")]
    assert snapshot(services, case.code) == before


def test_given_an_unknown_code_then_unknown_case(services):
    routed_case(services)
    sms_reply(services, phone(services, "m10"), "OK ZZZ999")
    assert services.sms.sent == [(phone(services, "m10"), "未找到事项ZZZ999，请核对编号。")]


def test_given_an_unparsable_reply_then_help(services):
    sms_reply(services, phone(services, "m10"), "灯修好了吗")
    assert services.sms.sent == [(phone(services, "m10"), render("help", "zh"))]


def test_given_the_sender_number_in_national_form_then_the_member_is_found(services):
    case = routed_case(services)
    sms_reply(services, "139 7109 6146", f"收到 {case.code}")     # m10 without +86
    assert stored(services, case.code).status is Status.ACKNOWLEDGED


def test_given_a_demo_garang_member_replies_with_a_changmu_code_then_unknown_case(services):
    case = routed_case(services)
    sender = phone(services, "m01", community="garang")
    sms_reply(services, sender, f"OK {case.code}")
    assert services.sms.sent == [(sender, f"未找到事项{case.code}，请核对编号。")]


def test_given_a_member_of_the_other_community_replies_then_unknown_case_and_unchanged(services):
    case = routed_case(services)
    before = snapshot(services, case.code)
    sender = phone(services, "m01", community="garang")          # garang's area chief
    sms_reply(services, sender, f"OK {case.code}")
    assert services.sms.sent == [(sender, f"未找到事项{case.code}，请核对编号。")]
    assert snapshot(services, case.code) == before


@pytest.mark.parametrize("body", ["nope", "{}", '{"from": "+8613971096146"}'])
def test_given_a_malformed_inbound_message_then_permanent_failure(services, body):
    with pytest.raises(PermanentFailure, match="malformed inbound SMS"):
        services.workflow.reply(body)


def test_given_a_sender_that_is_not_a_phone_then_permanent_failure(services):
    with pytest.raises(PermanentFailure, match="not a phone number"):
        services.workflow.reply(json.dumps({"from": "abc", "text": "OK ABC234"}))


@pytest.mark.parametrize("sender, text, field", [
    ("", "OK", "from"), ("  ", "OK", "from"), (None, "OK", "from"), (8613971096146, "OK", "from"),
    ("+8613971096146", None, "text"), ("+8613971096146", "x" * 1601, "text"),
])
def test_given_an_invalid_inbound_sms_then_rejected_before_queueing(services, sender, text, field):
    with pytest.raises(InvalidInbound) as error:
        services.inbound.accept(sender, text, gateway="test")
    assert error.value.field == field
    assert services.inbound_queue.messages == []


def test_given_an_inbound_sms_then_queued_with_sender_text_and_time(services):
    services.inbound.accept(" +8613971096146 ", "OK ABC234", gateway="dev", gateway_message_id="g-1")
    (message,) = services.inbound_queue.messages
    assert json.loads(message) == {"from": "+8613971096146", "text": "OK ABC234", "gateway": "dev",
                                   "gateway_message_id": "g-1", "received_at": services.clock()}


# -- directory cache and directory changes --------------------------------------------------------

def test_given_a_cache_when_read_within_its_ttl_then_the_store_is_loaded_once(communities, clock):
    store = FixedDirectoryStore(communities)
    cache = DirectoryCache(store, ttl=300, clock=clock)
    first = cache.get()
    clock.advance(299)
    assert cache.get() is first
    assert store.loads == 1
    clock.advance(1)
    assert cache.get() is not first
    assert store.loads == 2
    cache.invalidate()
    cache.get()
    assert store.loads == 3


def test_given_several_reports_and_replies_within_the_ttl_then_one_directory_load(services):
    case = routed_case(services)
    services.intake.submit(report())
    services.run_intake()
    sms_reply(services, phone(services, "m10"), f"OK {case.code}")
    assert services.store.loads == 1


def test_given_a_directory_edit_when_the_ttl_passed_then_new_reports_route_by_it(communities, clock):
    services = FakeServices([*communities, tiny(away=["sl"], phone_prefix="+86139000002")], clock)
    services.intake.submit(report(location="tiny-01-1"))
    services.run_intake()
    assert [to for to, _ in services.sms.sent] == [phone(services, "bl", "tiny")]
    services.store.put_community(tiny(phone_prefix="+86139000002"))     # sl is back home
    clock.advance(300)
    services.intake.submit(report(location="tiny-01-1"))
    services.run_intake()
    assert services.sms.sent[-1][0] == phone(services, "sl", "tiny")


def test_given_an_unroutable_case_when_members_come_home_then_the_retry_assigns_it(communities, clock):
    everyone_away = tiny(away=[m["id"] for m in tiny_dict()["members"]], phone_prefix="+86139000002")
    services = FakeServices([*communities, everyone_away], clock)
    code = services.intake.submit(report(location="tiny-01-1")).code
    services.run_intake()
    assert stored(services, code).status is Status.RECEIVED and services.sms.sent == []
    services.store.put_community(tiny(phone_prefix="+86139000002"))      # everyone is back
    clock.advance(31 * MINUTE)                                           # past the TTL and the retry timer
    assert sweep_and_escalate(services) == 1
    case = stored(services, code)
    assert (case.status, case.holder) == (Status.ASSIGNED, "sl")
    assert [to for to, _ in services.sms.sent] == [phone(services, "sl", "tiny")]
