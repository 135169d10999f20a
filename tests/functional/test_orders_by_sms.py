"""The party members' service loop by SMS, through the real handlers on moto: a resident's
点单, the committee's 派单, the pool's 接单, the checklist, 完成 and the resident's 1 / 2, and
the timers that return a lapsed claim to the pool and take an unclaimed order to the committee."""
from __future__ import annotations

import re

import pytest

from tests.conftest import sent_sms
from tests.functional.conftest import (
    invoke,
    member_phone,
    receive_all,
    records_from,
    run_queue,
    sms_to,
    sweep,
    text_in,
)

RESIDENT = "+8613709741001"      # a registered household of changmu, unit 3-2 (data/directory)
HOUR = 3600.0


def escalate_due(client, stack) -> int:
    """The scheduled sweep, then the escalation worker; returns how many orders were due."""
    queued = sweep(client)["orders"]
    run_queue(client, stack, "escalation")
    return queued


def order_code(phone: str) -> str:
    texts = [t for t in sms_to(phone) if "点单" in t or "Order" in t]
    assert texts, sms_to(phone)
    return re.search(r"点单([0-9A-Z]{6})", texts[-1]).group(1)


def ordered(client, stack) -> tuple[str, object]:
    text_in(stack, RESIDENT, "点单 医保", client)
    code = order_code(RESIDENT)
    return code, stack.orders.orders.get(code)


def dispatched(client, stack):
    code, order = ordered(client, stack)
    text_in(stack, member_phone(stack, order.dispatcher), f"派单 {code}", client)
    return code, stack.orders.orders.get(code)


def test_a_resident_orders_by_sms_and_is_told_the_code_and_what_to_have_ready(client, aws_stack):
    # WHEN a resident of a registered household texts 点单 医保
    code, order = ordered(client, aws_stack)
    # THEN an order of the medical-insurance item is stored for their household
    assert (order.item, order.location, order.status.value) == ("medical_insurance_payment", "changmu-03-2",
                                                               "ordered")
    # AND they have one SMS: the code and the checklist; the committee member has one: dispatch it
    [answer] = sms_to(RESIDENT)
    assert code in answer and "身份证" in answer
    [ask] = sms_to(member_phone(aws_stack, order.dispatcher))
    assert f"派单 {code}" in ask


def test_a_resident_who_replied_stop_still_gets_the_code_of_the_order_they_text(client, aws_stack):
    # GIVEN a resident who replied 退订
    text_in(aws_stack, RESIDENT, "退订", client)
    before = len(sms_to(RESIDENT))
    # WHEN they text 点单 医保
    text_in(aws_stack, RESIDENT, "点单 医保", client)
    # THEN its code is the answer to that SMS: it goes out
    assert len(sms_to(RESIDENT)) == before + 1
    assert order_code(RESIDENT)


def test_the_same_sms_delivered_twice_makes_one_order(client, aws_stack):
    aws_stack.inbound_sms.accept(RESIDENT, "点单 低保", "test-gateway")
    records = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
    invoke(client, "sms-inbound", records)
    invoke(client, "sms-inbound", records)          # SQS delivers at least once
    assert len(sms_to(RESIDENT)) == 1
    code = order_code(RESIDENT)
    assert aws_stack.orders.orders.get(code).item == "subsistence_allowance_application"


def test_dispatch_sends_one_sms_to_each_member_of_the_pool_and_the_first_claim_wins(client, aws_stack):
    # GIVEN a dispatched order
    code, order = dispatched(client, aws_stack)
    community = aws_stack.directory().communities["changmu"]
    assert order.status.value == "pooled" and len(order.pool) >= 2
    # THEN each member of the pool had exactly one SMS, and none of them is elderly or away
    for member_id in order.pool:
        assert community.members[member_id].available()
        assert [t for t in sms_to(member_phone(aws_stack, member_id)) if code in t] == [
            t for t in sms_to(member_phone(aws_stack, member_id)) if f"接单 {code}" in t]
        assert len([t for t in sms_to(member_phone(aws_stack, member_id)) if code in t]) == 1
    # WHEN two of them claim it in the same batch
    first, second = order.pool[:2]
    aws_stack.inbound_sms.accept(member_phone(aws_stack, first), f"接单 {code}", "test-gateway")
    aws_stack.inbound_sms.accept(member_phone(aws_stack, second), f"接单 {code}", "test-gateway")
    run_queue(client, aws_stack, "sms-inbound")
    # THEN one has it and the other is told it is claimed
    order = aws_stack.orders.orders.get(code)
    assert order.status.value == "claimed" and order.claimant in (first, second)
    loser = second if order.claimant == first else first
    assert any("已被认领" in t for t in sms_to(member_phone(aws_stack, loser)))
    assert not any("已被认领" in t for t in sms_to(member_phone(aws_stack, order.claimant)))


def test_the_whole_life_of_an_order_with_every_message_delivered_twice(client, aws_stack, clock):
    """order → dispatch → pool notice → claim → checklist → done → confirm, each SMS twice."""
    def twice(phone: str, text: str) -> None:
        aws_stack.inbound_sms.accept(phone, text, "test-gateway")
        records = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
        invoke(client, "sms-inbound", records)
        invoke(client, "sms-inbound", records)
        clock.advance(60)

    twice(RESIDENT, "点单 医保")
    code = order_code(RESIDENT)
    order = aws_stack.orders.orders.get(code)
    twice(member_phone(aws_stack, order.dispatcher), f"派单 {code}")
    claimant = aws_stack.orders.orders.get(code).pool[0]
    claimant_phone = member_phone(aws_stack, claimant)
    twice(claimant_phone, f"接单 {code}")
    twice(claimant_phone, f"进度 {code} 1")
    twice(claimant_phone, f"进度 {code} 2")
    twice(claimant_phone, f"完成 {code}")
    assert any("回复1" in t for t in sms_to(RESIDENT))
    twice(RESIDENT, "1")
    order = aws_stack.orders.orders.get(code)
    # THEN it is verified, the ledger has its credit once, and the claimant heard nothing after
    # the pool notice (a reply that worked needs no answer)
    assert (order.status.value, order.steps_done, order.credit) == ("verified", [1, 2], None)
    assert order.credited == f"order:{code}:verified"
    assert aws_stack.points.balance("changmu", claimant) == 12      # 10 points and the on-time bonus
    assert len(sms_to(claimant_phone)) == 1
    # AND the resident had two SMS, the code and the question: with the pool notice and the
    # committee's, the order's life took 4 texts (each pool member has one)
    assert len(sms_to(RESIDENT)) == 2
    assert len([t for _, t in sent_sms() if code in t]) == 2 + 1 + len(order.pool)


def test_a_2_sends_it_back_to_the_claimant_and_the_committee_hears(client, aws_stack):
    code, order = dispatched(client, aws_stack)
    claimant_phone = member_phone(aws_stack, order.pool[0])
    text_in(aws_stack, claimant_phone, f"接单 {code}", client)
    text_in(aws_stack, claimant_phone, f"完成 {code}", client)
    # WHEN the resident answers 2
    text_in(aws_stack, RESIDENT, "2", client)
    # THEN the claimant has it again and is told, and so is the committee member who dispatched it
    order = aws_stack.orders.orders.get(code)
    assert (order.status.value, order.claimant) == ("in_progress", order.pool[0])
    assert any("没办好" in t for t in sms_to(claimant_phone))
    assert any("没办好" in t for t in sms_to(member_phone(aws_stack, order.dispatched_by)))
    assert aws_stack.points.balance("changmu", order.pool[0]) == 0


def test_a_claim_not_started_returns_to_the_pool(client, aws_stack, clock):
    code, order = dispatched(client, aws_stack)
    claimant_phone = member_phone(aws_stack, order.pool[0])
    text_in(aws_stack, claimant_phone, f"接单 {code}", client)
    # WHEN the claim limit passes with no step ticked
    clock.advance(3 * 24 * HOUR)
    assert escalate_due(client, aws_stack) >= 1
    # THEN it is in the pool again and the claimant is told
    order = aws_stack.orders.orders.get(code)
    assert (order.status.value, order.claimant, order.lapsed) == ("pooled", None, [order.pool[0]])
    assert any("超时未开始" in t for t in sms_to(claimant_phone))


def test_a_done_order_the_resident_never_answers_is_reminded_then_verified_and_credited(client, aws_stack, clock):
    # GIVEN an order claimed and done
    code, order = dispatched(client, aws_stack)
    claimant = order.pool[0]
    text_in(aws_stack, member_phone(aws_stack, claimant), f"接单 {code}", client)
    text_in(aws_stack, member_phone(aws_stack, claimant), f"完成 {code}", client)
    before = len(sms_to(RESIDENT))
    # WHEN the policy's call-back time passes without a 1 or a 2
    clock.advance(4 * 24 * HOUR)
    assert escalate_due(client, aws_stack) >= 1
    # THEN the resident is reminded once, and it is still theirs to answer
    assert aws_stack.orders.orders.get(code).status.value == "done"
    assert len([t for t in sms_to(RESIDENT)[before:] if "逾期未回复视为办好" in t]) == 1
    # WHEN as long again passes
    clock.advance(4 * 24 * HOUR)
    escalate_due(client, aws_stack)
    # THEN it is verified without a rating, and the claimant credited, once
    order = aws_stack.orders.orders.get(code)
    assert (order.status.value, order.satisfied, order.credit) == ("verified", None, None)
    assert aws_stack.points.balance("changmu", claimant) > 0
    assert escalate_due(client, aws_stack) == 0


def test_an_unclaimed_order_reaches_the_committee(client, aws_stack, clock):
    code, order = dispatched(client, aws_stack)
    committee_phone = member_phone(aws_stack, order.dispatched_by)
    before = len(sms_to(committee_phone))
    # WHEN nobody claims it before the claim limit
    clock.advance(3 * 24 * HOUR)
    escalate_due(client, aws_stack)
    # THEN the committee is asked to name a member, and 派单 CODE 手机号 gives it to them
    order = aws_stack.orders.orders.get(code)
    assert order.level == 1
    assert any("无人接单" in t for t in sms_to(committee_phone)[before:])
    named = order.pool[-1]
    text_in(aws_stack, committee_phone, f"派单 {code} {member_phone(aws_stack, named)[3:]}", client)
    order = aws_stack.orders.orders.get(code)
    assert (order.status.value, order.claimant) == ("claimed", named)
    assert any(f"完成 {code}" in t for t in sms_to(member_phone(aws_stack, named)))


def test_a_household_head_orders_for_a_linked_household_and_confirms_it(client, aws_stack):
    community = aws_stack.directory().communities["changmu"]
    head = next(m for m in community.members.values() if m.linked_units)
    unit = community.unit_label(head.linked_units[0])
    # WHEN the head texts 代点 for that household
    text_in(aws_stack, head.phone, f"代点 {unit} 理发", client)
    answer = [t for t in sms_to(head.phone) if "点单" in t][-1]
    code = re.search(r"点单([0-9A-Z]{6})", answer).group(1)
    order = aws_stack.orders.orders.get(code)
    assert (order.item, order.location, order.ordered_by, order.confirmer) == (
        "haircut_at_home", head.linked_units[0], "household_head", head.id)


def test_a_household_head_may_not_order_for_a_household_not_linked_to_them(client, aws_stack):
    community = aws_stack.directory().communities["changmu"]
    head = next(m for m in community.members.values() if m.linked_units)
    assert community.place_of("1-1") not in head.linked_units
    text_in(aws_stack, head.phone, "代点 1-1 理发", client)
    assert any("无法代点" in t for t in sms_to(head.phone))


@pytest.mark.parametrize("text", ["查询 {code}", "CHECK {code}"])
def test_a_resident_asks_for_an_orders_status(client, aws_stack, text):
    code, _ = ordered(client, aws_stack)
    text_in(aws_stack, RESIDENT, text.format(code=code), client)
    assert "待支部派单" in sms_to(RESIDENT)[-1] or "waiting for dispatch" in sms_to(RESIDENT)[-1]


def care_visits(client) -> dict:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/gridloop-local-care_visits"])
    return client.lambda_.invoke("care_visits", event).payload


def test_an_elders_monthly_visit_is_made_once_assigned_to_the_paired_member_and_escalates_when_missed(
        client, aws_stack, clock):
    community = aws_stack.directory().communities["changmu"]
    elders = [m for m in community.members.values()
              if m.category.value == "elderly" and m.paired_with and m.phone in community.households]
    assert elders
    # WHEN the schedule runs, twice
    made = care_visits(client)["made"]
    assert care_visits(client)["made"] == []
    # THEN each elder with a pair and a home has one visit this month, assigned to the paired member
    assert len(made) == len(elders)
    visits = {aws_stack.orders.orders.get(code).visit.split(":")[0]: aws_stack.orders.orders.get(code)
              for code in made}
    for elder in elders:
        visit = visits[elder.id]
        assert (visit.kind, visit.status.value, visit.claimant) == ("care_visit", "claimed", elder.paired_with)
        assert visit.location == community.households[elder.phone]
        assert any(f"完成 {visit.code}" in t for t in sms_to(member_phone(aws_stack, elder.paired_with)))
    # WHEN the paired member does not start it in time
    clock.advance(3 * 24 * HOUR)
    escalate_due(client, aws_stack)
    # THEN it climbs to the committee, still theirs
    visit = aws_stack.orders.orders.get(visits[elders[0].id].code)
    assert (visit.level, visit.claimant) == (1, elders[0].paired_with)
    assert any("超时未办完" in t for t in sms_to(member_phone(aws_stack, visit.dispatched_by)))


def test_a_paired_member_on_leave_holds_back_only_their_elders_visit(client, aws_stack, clock, monkeypatch):
    from chalicelib.domain.directory import Member
    community = aws_stack.directory().communities["changmu"]
    elders = [m for m in community.members.values()
              if m.category.value == "elderly" and m.paired_with and m.phone in community.households]
    assert len(elders) >= 2
    # GIVEN the first elder's paired member is on leave
    away = elders[0].paired_with
    available = Member.available
    monkeypatch.setattr(Member, "available", lambda self, at=None: self.id != away and available(self, at))
    # WHEN the schedule runs
    made = care_visits(client)["made"]
    # THEN every elder has this month's visit; the others' are assigned, and that one waits, ordered
    visits = {aws_stack.orders.orders.get(code).visit.split(":")[0]: aws_stack.orders.orders.get(code)
              for code in made}
    assert set(visits) == {e.id for e in elders}
    assert visits[elders[0].id].status.value == "ordered"
    assert all(visits[e.id].status.value == "claimed" for e in elders[1:] if e.paired_with != away)
    # WHEN the partner is back and the schedule runs again THEN the visit is theirs
    monkeypatch.undo()
    assert care_visits(client)["made"] == []
    visit = aws_stack.orders.orders.get(visits[elders[0].id].code)
    assert (visit.status.value, visit.claimant) == ("claimed", away)


def run_every_order_flow(client, stack, clock) -> None:
    """What the service loop does in each function (tests/infra/test_iam_policies.py): the reply
    worker's 点单, 派单, 接单, 进度, 完成 and the resident's 1; the sweep and the escalation
    worker on an order's timer; the monthly care visits."""
    text_in(stack, RESIDENT, "点单 医保", client)
    code = order_code(RESIDENT)
    order = stack.orders.orders.get(code)
    text_in(stack, member_phone(stack, order.dispatcher), f"派单 {code}", client)
    claimant = member_phone(stack, stack.orders.orders.get(code).pool[0])
    for text in (f"接单 {code}", f"进度 {code} 1", f"完成 {code}"):
        text_in(stack, claimant, text, client)
    text_in(stack, RESIDENT, "1", client)
    assert stack.orders.orders.get(code).status.value == "verified"
    text_in(stack, claimant, "积分", client)
    assert "积分" in sms_to(claimant)[-1]
    assert care_visits(client)["made"]
    assert care_visits(client)["made"] == []          # made once a month: the second run finds them
    clock.advance(3 * 24 * HOUR)
    assert escalate_due(client, stack) >= 1


def test_a_flat_named_in_the_order_is_told_to_the_pool_who_go_there(client, aws_stack):
    # GIVEN a household head linked to a household, who names its flat
    community = aws_stack.directory().communities["changmu"]
    head = next(m for m in community.members.values() if m.linked_units)
    unit = community.unit_label(head.linked_units[0])
    text_in(aws_stack, head.phone, f"代点 {unit}-501 医保", client)
    code = re.search(r"点单([0-9A-Z]{6})", [t for t in sms_to(head.phone) if "点单" in t][-1]).group(1)
    order = aws_stack.orders.orders.get(code)
    assert (order.location, order.door) == (head.linked_units[0], "501")
    # WHEN it is dispatched THEN the pool's SMS says the flat
    text_in(aws_stack, member_phone(aws_stack, order.dispatcher), f"派单 {code}", client)
    order = aws_stack.orders.orders.get(code)
    assert order.pool
    for member_id in order.pool:
        [pooled] = [t for t in sms_to(member_phone(aws_stack, member_id)) if f"接单 {code}" in t]
        assert "501室" in pooled


def test_a_2_with_its_reason_sends_the_reason_back_and_makes_no_report(client, aws_stack):
    code, order = dispatched(client, aws_stack)
    claimant_phone = member_phone(aws_stack, order.pool[0])
    text_in(aws_stack, claimant_phone, f"接单 {code}", client)
    text_in(aws_stack, claimant_phone, f"完成 {code}", client)
    cases_before = len(aws_stack.cases.reported_by(RESIDENT))
    # WHEN the resident answers "2 收入证明没交"
    text_in(aws_stack, RESIDENT, "2 收入证明没交", client)
    # THEN the claimant has it again with the reason, the committee hears it, and no case was made of it
    order = aws_stack.orders.orders.get(code)
    assert order.status.value == "in_progress"
    assert any("收入证明没交" in t for t in sms_to(claimant_phone))
    assert any("收入证明没交" in t for t in sms_to(member_phone(aws_stack, order.dispatched_by)))
    assert len(aws_stack.cases.reported_by(RESIDENT)) == cases_before


def test_the_same_words_with_no_order_waiting_are_a_report(client, aws_stack):
    # GIVEN no order waits for this resident's answer WHEN they text "不满意，楼道灯又坏了"
    text_in(aws_stack, RESIDENT, "不满意，3号楼2单元楼道灯又坏了", client)
    # THEN it is a report, as before
    assert len(aws_stack.cases.reported_by(RESIDENT)) == 1


def test_an_unknown_service_is_answered_with_what_may_be_ordered(client, aws_stack):
    text_in(aws_stack, RESIDENT, "点单 修电视", client)
    [answer] = sms_to(RESIDENT)
    # the resident's items, a word each; the care visit is for household heads and the committee
    assert "医保 / 低保 / 理发 / 心愿" in answer and "看望" not in answer


def test_a_member_confirms_what_their_own_household_ordered_with_a_bare_1(client, aws_stack):
    # GIVEN a member who ordered for their own household (written without a space, as typed)
    community = aws_stack.directory().communities["changmu"]
    member = next(m for m in community.members.values() if m.available() and m.id not in community.committee_ids)
    text_in(aws_stack, member.phone, "ORDER医保 3-2", client)
    code = re.search(r"(?:点单|Order )([0-9A-Z]{6})", sms_to(member.phone)[-1]).group(1)
    order = aws_stack.orders.orders.get(code)
    assert (order.location, order.orderer_phone) == (community.place_of("3-2"), member.phone)
    text_in(aws_stack, member_phone(aws_stack, order.dispatcher), f"派单 {code}", client)
    order = aws_stack.orders.orders.get(code)
    claimant = next(m for m in order.pool if m != member.id)
    text_in(aws_stack, member_phone(aws_stack, claimant), f"接单 {code}", client)
    text_in(aws_stack, member_phone(aws_stack, claimant), f"完成 {code}", client)
    # WHEN they answer a bare 1
    text_in(aws_stack, member.phone, "1", client)
    # THEN the order is verified
    assert aws_stack.orders.orders.get(code).status.value == "verified"
