"""The service orders on both engines: the orders table and its indexes as infra/resources.json
declares them, and two members claiming one order at once, with real threads, through the
reply worker: one wins, the other is told "已被认领", and nobody is texted twice."""
from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.adapters.orders import member_confirmer_key
from chalicelib.domain.contacts import phone_key
from tests.storage.conftest import at_once, inbound

RESIDENT = "+8613709741001"      # a registered household of changmu (unit 3-2)
STAGGERS = (0.0, 0.0, 0.003, 0.02)


def phone(stack, member_id: str) -> str:
    return stack.directory().member("changmu", member_id).phone


def dispatched(stack, seed: str):
    catalogue = stack.service_catalogues["changmu"]
    order, _ = stack.orders.place(community_id="changmu", item=catalogue.items["medical_insurance_payment"],
                                  location="changmu-03-2", seed=seed, ordered_by="resident",
                                  orderer_phone=RESIDENT)
    order = stack.orders.dispatch(order, order.dispatcher)
    stack.clock.advance(60)
    return stack.orders.orders.get(order.code)


def test_an_order_is_stored_whole_and_found_by_its_indexes(stack):
    # GIVEN an order, dispatched
    order = dispatched(stack, "storage-1")
    # THEN it reads back as it was written, and its claim timer is on the due index
    assert stack.orders.orders.get(order.code).to_dict() == order.to_dict()
    stack.clock.advance(30 * 24 * 3600)
    assert order.code in [code for code, _ in stack.orders.orders.due(stack.clock())]
    # AND once done, the by-confirmer index has it for the resident's 1 / 2
    claimant = order.pool[0]
    order = stack.orders.claim(order, claimant)
    order = stack.orders.complete(order, claimant)
    assert stack.orders.orders.awaiting_confirmation(phone_key(RESIDENT)) == [order.code]
    assert stack.orders.orders.awaiting_confirmation(member_confirmer_key("changmu", claimant)) == []


def test_two_members_claiming_one_order_at_once(stack, subtests):
    for run, stagger in enumerate(STAGGERS):
        with subtests.test(run=run, stagger=stagger):
            # GIVEN a dispatched order and two members of its pool
            order = dispatched(stack, f"race-{run}")
            first, second = order.pool[:2]
            before = Counter(s.phone for s in stack.sms.sent)

            # WHEN both send 接单 at once
            bodies = [inbound(phone(stack, member), f"接单 {order.code}") for member in (first, second)]
            at_once(*[lambda body=body: stack.workflow.reply(body) for body in bodies], stagger=stagger)

            # THEN the order has one claimant, claimed once
            order = stack.orders.orders.get(order.code)
            assert order.status.value == "claimed" and order.claimant in (first, second)
            assert [e.event for e in order.history].count("claimed") == 1
            # AND the one who lost has one answer, "已被认领"; the winner none
            loser = second if order.claimant == first else first
            after = Counter(s.phone for s in stack.sms.sent)
            assert after[phone(stack, order.claimant)] == before[phone(stack, order.claimant)]
            assert after[phone(stack, loser)] == before[phone(stack, loser)] + 1
            assert "已被认领" in [s.text for s in stack.sms.sent if s.phone == phone(stack, loser)][-1]
            stack.clock.advance(2 * 3600)     # past the error replies' window


@pytest.mark.parametrize("stagger", [0.0, 0.01])
def test_the_same_claim_processed_twice_at_once_claims_once_and_answers_nobody(stack, stagger):
    order = dispatched(stack, f"twice-{stagger}")
    member = order.pool[0]
    body = inbound(phone(stack, member), f"接单 {order.code}")
    before = len(stack.sms.sent)
    at_once(lambda: stack.workflow.reply(body, "m-1"), lambda: stack.workflow.reply(body, "m-1"), stagger=stagger)
    order = stack.orders.orders.get(order.code)
    assert (order.claimant, [e.event for e in order.history].count("claimed")) == (member, 1)
    assert len(stack.sms.sent) == before
