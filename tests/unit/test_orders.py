"""The order's state machine (domain.orders): 点单 → 下单 → 接单 → the checklist → 完成 → 1 / 2,
and its timers. Pure: no AWS, milliseconds."""
from __future__ import annotations

import pytest

from chalicelib.domain.orders import (
    CLAIM,
    COMPLETE,
    CONFIRM,
    DISPATCH,
    ORDERER,
    START,
    Order,
    OrderRefused,
    OrderStatus,
)

T0 = 1_790_000_000.0
HOUR = 3600.0


def placed(**overrides) -> Order:
    fields = dict(id="o1", code="ABC234", community_id="changmu", item="medical_insurance_payment",
                  kind="proxy_service", location="changmu-03-2", now=T0, checklist_size=4, dispatcher="m02",
                  dispatch_due=T0 + 4 * HOUR, orderer_phone="+8613912345678", bring="身份证、户口本")
    fields.update(overrides)
    return Order.place(**fields)


def templates(order: Order) -> list[tuple[str, str]]:
    return [(n.member_id, n.template) for n in order.outbox]


def pooled(pool=("m10", "m11", "m12")) -> Order:
    order = placed()
    order.outbox.clear()
    order.dispatch("m02", list(pool), T0 + HOUR, claim_due=T0 + 5 * HOUR)
    order.outbox.clear()
    return order


def claimed(member="m10") -> Order:
    order = pooled()
    order.claim(member, T0 + 2 * HOUR, start_due=T0 + 6 * HOUR, complete_due=T0 + 48 * HOUR)
    return order


def test_a_new_order_tells_the_resident_its_code_and_asks_the_committee_to_dispatch():
    # WHEN a resident orders
    order = placed()
    # THEN it waits for dispatch, on the dispatch timer, and two notices go: the dispatch
    # request first (it moves the order on), then the resident's code with what to bring
    assert order.status is OrderStatus.ORDERED
    assert (order.timer, order.due_at) == (DISPATCH, T0 + 4 * HOUR)
    assert templates(order) == [("m02", "order_to_dispatch"), (ORDERER, "order_received")]
    assert order.outbox[1].params == {"bring": "身份证、户口本"}


def test_dispatch_publishes_to_the_pool_once_each_and_a_second_dispatch_changes_nothing():
    order = placed()
    order.outbox.clear()
    # WHEN the committee dispatches it to a pool with a member twice in it
    assert order.dispatch("m02", ["m10", "m11", "m10"], T0 + HOUR, claim_due=T0 + 5 * HOUR)
    # THEN each member of the pool is told once, and the claim timer runs
    assert order.status is OrderStatus.POOLED
    assert templates(order) == [("m10", "order_pooled"), ("m11", "order_pooled")]
    assert (order.timer, order.due_at) == (CLAIM, T0 + 5 * HOUR)
    # AND a redelivered (or a second member's) 派单 does nothing more
    assert order.dispatch("m03", ["m10"], T0 + HOUR, claim_due=T0 + 9 * HOUR) is False
    assert order.due_at == T0 + 5 * HOUR


def test_dispatch_to_nobody_is_refused():
    with pytest.raises(OrderRefused, match="empty_pool"):
        placed().dispatch("m02", [], T0, claim_due=T0 + HOUR)


def test_the_first_claim_wins_and_the_second_is_told_it_is_claimed():
    order = pooled()
    # WHEN two members of the pool claim it
    assert order.claim("m10", T0 + 2 * HOUR, start_due=T0 + 6 * HOUR, complete_due=T0 + 48 * HOUR)
    with pytest.raises(OrderRefused, match="already_claimed"):
        order.claim("m11", T0 + 2 * HOUR, start_due=T0 + 6 * HOUR, complete_due=T0 + 48 * HOUR)
    # THEN it is the first one's; their own claim again changes nothing, and nobody is texted
    assert (order.status, order.claimant, order.timer) == (OrderStatus.CLAIMED, "m10", START)
    assert order.claim("m10", T0 + 3 * HOUR, start_due=T0 + 7 * HOUR, complete_due=T0 + 49 * HOUR) is False
    assert order.outbox == []


def test_only_the_pool_may_claim():
    with pytest.raises(OrderRefused, match="not_in_pool"):
        pooled().claim("m99", T0, start_due=T0 + HOUR, complete_due=T0 + 2 * HOUR)


def test_ticking_the_checklist_starts_the_work_and_each_step_counts_once():
    order = claimed()
    # WHEN the claimant ticks step 2, twice
    assert order.tick("m10", 2, T0 + 3 * HOUR)
    assert order.tick("m10", 2, T0 + 3 * HOUR) is False
    # THEN the work has started, and the completion timer runs instead of the start timer
    assert (order.status, order.steps_done, order.started_at) == (OrderStatus.IN_PROGRESS, [2], T0 + 3 * HOUR)
    assert (order.timer, order.due_at) == (COMPLETE, T0 + 48 * HOUR)
    with pytest.raises(OrderRefused, match="no_such_step"):
        order.tick("m10", 5, T0 + 3 * HOUR)
    with pytest.raises(OrderRefused, match="not_claimant"):
        order.tick("m11", 1, T0 + 3 * HOUR)


def test_done_asks_the_resident_to_confirm_and_1_verifies_it_with_points_due():
    order = claimed()
    order.tick("m10", 1, T0 + 3 * HOUR)
    # WHEN the claimant sends 完成, and the resident answers 1
    assert order.complete("m10", T0 + 4 * HOUR)
    assert templates(order) == [(ORDERER, "order_confirm")]
    assert order.complete("m10", T0 + 4 * HOUR) is False
    assert order.confirm(True, T0 + 5 * HOUR)
    # THEN it is verified, done on time, and its credit waits for the ledger
    assert order.status is OrderStatus.VERIFIED and not order.is_open
    assert order.credit == {"member": "m10", "on_time": True}
    assert order.confirm(True, T0 + 6 * HOUR) is False        # a second 1 changes nothing
    # AND once the ledger has it, it is no longer pending
    assert order.credited_as("order:ABC234:verified", T0 + 5 * HOUR)
    assert (order.credit, order.credited) == (None, "order:ABC234:verified")
    assert order.credited_as("order:ABC234:verified", T0 + 5 * HOUR) is False


def test_done_late_is_not_on_time():
    order = claimed()
    order.complete("m10", T0 + 60 * HOUR)
    order.confirm(True, T0 + 61 * HOUR)
    assert order.credit == {"member": "m10", "on_time": False}


def test_2_sends_it_back_to_the_claimant_with_the_reason_and_the_committee_hears():
    order = claimed()
    order.complete("m10", T0 + 4 * HOUR)
    order.outbox.clear()
    # WHEN the resident answers 2
    assert order.confirm(False, T0 + 5 * HOUR, reason="回执没给我")
    # THEN the claimant has it again, with the reason, and the dispatcher is told
    assert (order.status, order.claimant, order.timer) == (OrderStatus.IN_PROGRESS, "m10", COMPLETE)
    assert templates(order) == [("m10", "order_not_done"), ("m02", "order_disputed")]
    assert order.outbox[0].params == {"reason": "回执没给我"}
    assert order.credit is None
    # AND a repeated 2 changes nothing
    assert order.confirm(False, T0 + 5 * HOUR) is False


def test_a_claim_not_started_in_time_returns_to_the_pool_and_the_claimant_is_told():
    order = claimed()
    # WHEN the start timer fires
    assert order.escalate(T0 + 6 * HOUR, T0 + 6 * HOUR, claim_due=T0 + 10 * HOUR, committee="m02", area_chief="m01")
    # THEN the order is in the pool again, the claimant told, the others told it is open again
    assert (order.status, order.claimant, order.lapsed) == (OrderStatus.POOLED, None, ["m10"])
    assert (order.timer, order.due_at) == (CLAIM, T0 + 10 * HOUR)
    assert templates(order) == [("m10", "order_claim_lapsed"), ("m11", "order_pooled_again"),
                                ("m12", "order_pooled_again")]


def test_an_unclaimed_order_climbs_to_the_committee_once():
    order = pooled()
    # WHEN the claim timer fires (and the same request comes again)
    assert order.escalate(T0 + 5 * HOUR, T0 + 5 * HOUR, claim_due=T0 + 9 * HOUR, committee="m02", area_chief="m01")
    assert order.escalate(T0 + 5 * HOUR, T0 + 5 * HOUR, claim_due=T0 + 9 * HOUR, committee="m02",
                          area_chief="m01") is False
    # THEN the committee is asked to name someone, and it stays claimable
    assert (order.level, order.status, order.timer) == (1, OrderStatus.POOLED, None)
    assert templates(order) == [("m02", "order_unclaimed")]
    # AND the committee names a member: it is theirs
    order.outbox.clear()
    assert order.assign("m02", "m20", T0 + 6 * HOUR, start_due=T0 + 10 * HOUR, complete_due=T0 + 50 * HOUR)
    assert (order.status, order.claimant) == (OrderStatus.CLAIMED, "m20")
    assert templates(order) == [("m20", "order_assigned")]


def test_a_stale_timer_changes_nothing():
    order = pooled()
    assert order.escalate(T0 + 4 * HOUR, T0 + 6 * HOUR, claim_due=T0, committee="m02", area_chief="m01") is False
    assert order.escalate(T0 + 5 * HOUR, T0 + 4 * HOUR, claim_due=T0, committee="m02", area_chief="m01") is False


def test_refusal_needs_a_reason_and_tells_the_resident():
    order = placed()
    order.outbox.clear()
    with pytest.raises(OrderRefused, match="reason_required"):
        order.refuse("m02", " ", T0)
    assert order.refuse("m02", "不在本社区", T0 + HOUR)
    assert order.status is OrderStatus.REFUSED and order.due_at is None
    assert templates(order) == [(ORDERER, "order_refused")]
    with pytest.raises(OrderRefused, match="not_dispatchable_refused"):
        order.dispatch("m02", ["m10"], T0, claim_due=T0)


def test_an_order_placed_by_a_household_head_is_confirmed_by_them():
    order = placed(orderer_phone=None, ordered_by="household_head", placed_by="m30")
    assert order.confirmer == "m30"
    assert templates(order) == [("m02", "order_to_dispatch"), ("m30", "order_received")]


def test_the_plain_form_round_trips():
    order = claimed()
    order.tick("m10", 1, T0 + 3 * HOUR)
    assert Order.from_dict(order.to_dict()) == order


DAY = 86400.0


def done_awaiting(confirm_in=3 * DAY) -> Order:
    order = claimed()
    order.complete("m10", T0 + 4 * HOUR, confirm_due=T0 + 4 * HOUR + confirm_in)
    order.outbox.clear()
    return order


def fire(order: Order, now: float) -> bool:
    return order.escalate(order.due_at, now, claim_due=now + HOUR, committee="m02", area_chief="m01")


def test_a_done_order_nobody_confirms_is_reminded_once_then_verified_unrated_and_credited():
    # GIVEN an order done, with three days for the resident to answer
    order = done_awaiting()
    assert (order.timer, order.due_at) == (CONFIRM, T0 + 4 * HOUR + 3 * DAY)
    # WHEN the three days pass THEN the resident is reminded, with as long again
    first = order.due_at
    assert fire(order, first)
    assert order.status is OrderStatus.DONE and templates(order) == [(ORDERER, "order_confirm_reminder")]
    assert (order.timer, order.due_at) == (CONFIRM, first + 3 * DAY)
    assert fire(order, first) is False                          # the same timer again: stale
    # WHEN those pass too THEN it is verified without a rating, and the claimant's points are due
    order.outbox.clear()
    assert fire(order, order.due_at)
    assert order.status is OrderStatus.VERIFIED and order.satisfied is None
    assert (order.history[-1].event, order.history[-1].detail) == ("verified", "no_answer")
    assert order.credit == {"member": "m10", "on_time": True} and order.outbox == []
    assert (order.timer, order.due_at) == (None, None)


def test_an_answer_after_the_reminder_counts_and_stops_the_timer():
    order = done_awaiting()
    assert fire(order, order.due_at)
    assert order.confirm(True, order.due_at - HOUR)
    assert order.status is OrderStatus.VERIFIED and order.satisfied is True
    assert (order.timer, order.due_at) == (None, None)


def test_a_2_then_done_again_gets_its_own_reminder():
    order = done_awaiting()
    assert fire(order, order.due_at)                           # reminded
    order.confirm(False, order.due_at - HOUR, reason="没办好")
    order.complete("m10", T0 + 5 * DAY, confirm_due=T0 + 8 * DAY)
    order.outbox.clear()
    assert fire(order, T0 + 8 * DAY)
    assert order.status is OrderStatus.DONE and templates(order) == [(ORDERER, "order_confirm_reminder")]
