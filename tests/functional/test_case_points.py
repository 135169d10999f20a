"""Points for grid cases (domain.case_credits, services.case_credits), through the real handlers on
moto: the member who resolved a case earns the policy's points when a resident rates it 1, once
however often the answer is delivered, and loses them when another resident's 2 reopens it."""
from __future__ import annotations

from chalicelib.services.points import PointsBank
from tests.functional.conftest import failed_ids, invoke, member_phone, receive_all, records_from, text_in
from tests.functional.test_web_duplicates import FIRST, SECOND, form, reported, send


def test_a_case_rated_satisfied_credits_its_resolver_once(client, aws_stack):
    # GIVEN a leak resolved by its holder
    code = reported(client, aws_stack)
    holder = aws_stack.cases.get(code).holder
    text_in(aws_stack, member_phone(aws_stack, holder), f"完成 {code}", client)
    # WHEN the reporter answers 1, delivered twice
    aws_stack.inbound_sms.accept(FIRST, "1", "test-gateway")
    records = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
    invoke(client, "sms-inbound", records)
    invoke(client, "sms-inbound", records)
    # THEN the case is closed and the holder has the policy's 5 points, once
    assert aws_stack.cases.get(code).status.value == "closed"
    assert aws_stack.points.balance("changmu", holder) == 5
    [entry] = aws_stack.points.statement(f"member:changmu:{holder}", _month(aws_stack))
    assert (entry.id, entry.reason) == (f"case:{code}:{holder}", "case_resolved")


def test_a_crash_after_the_answer_is_saved_is_made_good_by_its_redelivery(client, aws_stack, monkeypatch):
    # GIVEN a leak resolved by its holder, and a points bank that fails once
    code = reported(client, aws_stack)
    holder = aws_stack.cases.get(code).holder
    text_in(aws_stack, member_phone(aws_stack, holder), f"完成 {code}", client)
    real = PointsBank.credit_case
    calls = []

    def crash_once(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("crash between the case's save and the credit")
        return real(self, **kwargs)

    monkeypatch.setattr(PointsBank, "credit_case", crash_once)
    # WHEN the reporter answers 1: the first delivery crashes after the case is closed
    aws_stack.inbound_sms.accept(FIRST, "1", "test-gateway")
    records = records_from(receive_all(aws_stack, "sms-inbound"), "sms-inbound")
    assert failed_ids(invoke(client, "sms-inbound", records))
    assert aws_stack.cases.get(code).status.value == "closed"
    assert aws_stack.points.balance("changmu", holder) == 0
    # THEN its redelivery credits the holder, once
    invoke(client, "sms-inbound", records)
    invoke(client, "sms-inbound", records)
    assert aws_stack.points.balance("changmu", holder) == 5


def test_a_reopening_after_the_rating_reverses_the_credit(client, aws_stack):
    # GIVEN a leak two residents reported, resolved, and rated 1 by the first
    code = reported(client, aws_stack)
    send(client, form(phone="13912345600"), me_too=code)
    holder = aws_stack.cases.get(code).holder
    text_in(aws_stack, member_phone(aws_stack, holder), f"完成 {code}", client)
    text_in(aws_stack, FIRST, "1", client)
    assert aws_stack.points.balance("changmu", holder) == 5
    # WHEN the second resident answers 2
    text_in(aws_stack, SECOND, "2", client)
    # THEN the case is reopened and the credit reversed
    assert aws_stack.cases.get(code).status.value == "assigned"
    assert aws_stack.points.balance("changmu", holder) == 0
    # AND resolved again and rated 1, it earns again: a new round
    again = aws_stack.cases.get(code).holder
    text_in(aws_stack, member_phone(aws_stack, again), f"收到 {code}", client)
    text_in(aws_stack, member_phone(aws_stack, again), f"完成 {code}", client)
    text_in(aws_stack, FIRST, "1", client)
    text_in(aws_stack, SECOND, "1", client)
    assert aws_stack.points.balance("changmu", again) == 5


def _month(stack) -> str:
    from chalicelib.domain.points import month_of
    return month_of(stack.clock())
