"""The scenarios the fault tests drive, each through the doors a real one comes in by.

Each is a function of a `harness.Run`: setup that is not under test runs `unarmed`; the
rest is delivered through the run's doors, which redeliver until it is handled. Demo
directory (data/directory/changmu.yaml): changmu-01-1's stairwell leader is m10, its grid
member m06; m09 is on triage duty; changmu-03-2's stairwell leader is m30. The service loop
(services.orders): +8613709741001 is a registered household of changmu-03-2, whose orders
the committee's m02 dispatches to a pool of three (m06, m03, m07 for 医保).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.services.notices import BUNDLE_SECONDS
from tests.faults.harness import Run, Scenario
from tests.functional.conftest import report

MINUTE = 60.0
DAY = 24 * 3600.0
RESIDENT = "+8613800138000"        # nobody the directory knows
OTHER_RESIDENT = "+8613800138001"
HOUSEHOLD = "+8613709741001"       # a registered household of changmu-03-2: orders by SMS


def phone_of(run: Run, member_id: str) -> str:
    return run.stack.directory().member("changmu", member_id).phone


def routed(run: Run, key: str, **overrides) -> str:
    """A web report, routed; its code."""
    code = run.post_report(report(**overrides), key)
    run.drain("intake")
    return code


def web_report(run: Run, _) -> None:
    """A resident's web report (with a phone), through POST /reports and the case worker:
    the stairwell leader is assigned it and the resident gets the code."""
    routed(run, "faults-web-1")


def queue_console_report(run: Run) -> None:
    """An operator types a report into the SQS console (no phone)."""
    import json
    run.stack.queue("intake").send(json.dumps(
        {"category": "water_pipe", "location": "changmu-01-1", "description": "三楼水管漏水",
         "source": "console"}, ensure_ascii=False))


def console_report(run: Run, _) -> None:
    """The case worker makes the console's report and routes it: property management holds
    it, the stairwell leader follows (跟办)."""
    run.drain("intake")


def overdue_report(run: Run) -> str:
    code = routed(run, "faults-escalation-1")
    run.world.clock.advance(31 * MINUTE)
    return code


def escalation(run: Run, _) -> None:
    """Nobody accepted for 30 minutes: the sweep queues the case and the escalation worker
    hands it to the grid member, telling the stairwell leader it moved on."""
    run.sweep()
    run.drain("escalation")


def member_replies(run: Run, code: str) -> None:
    """The stairwell leader replies 收到 then 完成 by SMS (through a gateway and the reply
    worker); the resident gets the call-back."""
    leader = phone_of(run, "m10")
    run.text(leader, f"收到 {code}", "gw-ack-1")
    run.drain("sms-inbound")
    run.world.clock.advance(10 * MINUTE)
    run.text(leader, f"完成 {code}", "gw-done-1")
    run.drain("sms-inbound")


def resident_sms_report(run: Run, _) -> None:
    """A resident reports by SMS naming a unit: a case is made and routed in the reply worker."""
    run.text(RESIDENT, "3号楼2单元门口有个大坑，晚上看不见", "gw-report-1")
    run.drain("sms-inbound")


def direct_answers(run: Run, code: str) -> None:
    """Answers that go straight back, with no case to keep them in: a resident's 查询, a
    member's text that is no command (a rate-limited error reply), another resident's 退订
    (confirmed once), all in one batch."""
    run.text(RESIDENT, f"查询 {code}", "gw-query-1")
    run.text(phone_of(run, "m30"), "你好，请问怎么用", "gw-help-1")
    run.text(OTHER_RESIDENT, "退订", "gw-stop-1")
    run.drain("sms-inbound")


def reports_in_one_window(run: Run) -> None:
    """Three reports to one stairwell leader within 45 s: the first is texted at once, the
    other two wait for the leader's send window."""
    routed(run, "faults-bundle-1", phone=...)
    run.world.clock.advance(30)
    routed(run, "faults-bundle-2", phone=...)
    run.world.clock.advance(15)
    routed(run, "faults-bundle-3", phone=...)
    run.world.clock.advance(BUNDLE_SECONDS)


def bundled_delivery(run: Run, _) -> None:
    """The window has ended: the sweep brings the waiting cases back, and they go to the
    leader as one text."""
    run.sweep()
    run.drain("escalation")


def first_report_of_a_window(run: Run) -> None:
    routed(run, "faults-window-1", phone=...)
    run.world.clock.advance(30)


def second_report_in_the_window(run: Run, _) -> None:
    """Bundling on: a second report to the same stairwell leader 30 s after the first. Its
    routing write joins the leader's send window (one TransactWriteItems); the resident
    gets the code at once, the leader's text waits for the window."""
    routed(run, "faults-window-2")


def later_sweeps(run: Run, _) -> None:
    """What the next few minutes bring anyway: windows end and the sweep runs (before
    anything is overdue: acknowledge limits are 30 minutes)."""
    for _ in range(3):
        run.world.clock.advance(BUNDLE_SECONDS + 1)
        run.sweep()
        run.drain("escalation")


def urgent_report(run: Run) -> str:
    return routed(run, "faults-urgent-1", category="gas_leak", location="changmu-01-1", priority="urgent")


def folded_report(run: Run, _) -> None:
    """A neighbour reports the same gas leak: the case worker folds the report into the open
    urgent case in one write of both; the neighbour gets their code, the holder is told."""
    code = routed(run, "faults-folded-1", category="gas_leak", location="changmu-01-2", priority="urgent",
                  phone="13800138002")
    with run.unarmed():
        assert run.stack.cases.get(code).duplicate_of


def two_cases_of_one_leak(run: Run) -> tuple[str, str]:
    first = routed(run, "faults-merge-1", category="water_pipe", location="changmu-01-1")
    second = routed(run, "faults-merge-2", category="heating", location="changmu-01-1", phone="13800138003")
    return first, second


def member_merges(run: Run, codes: tuple[str, str]) -> None:
    """The stairwell leader (跟办 on both) replies 合并 SECOND FIRST: one write of both cases,
    then property management, who holds the second, is told it joined the first."""
    first, second = codes
    run.text(phone_of(run, "m10"), f"合并 {second} {first}", "gw-merge-1")
    run.drain("sms-inbound")
    with run.unarmed():
        assert run.stack.cases.get(second).duplicate_of == first


# -- the service loop (群众点单 → 支部下单 → 党员接单) ------------------------------------------------
@dataclass(frozen=True)
class PlacedOrder:
    """What a service-loop scenario needs of its order, read in its setup."""
    code: str
    dispatcher: str = ""       # the committee member asked to dispatch it
    pool: tuple[str, ...] = ()  # who may claim it, once dispatched
    phones: tuple[str, ...] = ()  # the pool's phones, in the pool's order


def order_of(run: Run, code: str):
    with run.unarmed():
        return run.stack.orders.orders.get(code)


def placed_order(run: Run) -> PlacedOrder:
    """The household texts 点单 医保: an order, its code texted back."""
    from tests.conftest import sent_sms
    run.text(HOUSEHOLD, "点单 医保", "gw-order-1")
    run.drain("sms-inbound")
    [code] = {m.group(1) for phone, text in sent_sms() if phone == HOUSEHOLD
              for m in [re.search(r"点单([0-9A-Z]{6})", text)] if m}
    return PlacedOrder(code, dispatcher=order_of(run, code).dispatcher)


def dispatched_order(run: Run) -> PlacedOrder:
    """... and the committee dispatched it to the pool."""
    placed = placed_order(run)
    run.text(phone_of(run, placed.dispatcher), f"派单 {placed.code}", "gw-dispatch-1")
    run.drain("sms-inbound")
    pool = tuple(order_of(run, placed.code).pool)
    assert len(pool) >= 2, pool
    return PlacedOrder(placed.code, placed.dispatcher, pool, tuple(phone_of(run, m) for m in pool))


def claimed_order(run: Run) -> PlacedOrder:
    """... and the pool's first member claimed it and ticked its first step."""
    order = dispatched_order(run)
    run.text(order.phones[0], f"接单 {order.code}", "gw-claim-1")
    run.text(order.phones[0], f"进度 {order.code} 1", "gw-step-1")
    run.drain("sms-inbound")
    run.world.clock.advance(30 * MINUTE)
    return order


def unclaimed_order(run: Run) -> PlacedOrder:
    """... dispatched, and nobody claimed it within its claim limit (4 working hours)."""
    order = dispatched_order(run)
    run.world.clock.advance(3 * DAY)
    return order


def resident_orders(run: Run, _) -> None:
    """The household texts 点单 医保 (the reply worker): one order, saved with its notices;
    the resident gets the code and what to have ready, the committee member the request to
    dispatch it, once each."""
    run.text(HOUSEHOLD, "点单 医保", "gw-order-1")
    run.drain("sms-inbound")


def committee_dispatches(run: Run, order: PlacedOrder) -> None:
    """The committee member texts 派单 CODE: the order goes to the pool in one write, and
    each member of the pool gets one SMS, each recorded right after its send."""
    run.text(phone_of(run, order.dispatcher), f"派单 {order.code}", "gw-dispatch-1")
    run.drain("sms-inbound")


def member_claims(run: Run, order: PlacedOrder) -> None:
    """A member of the pool texts 接单 CODE: the claim is one conditional write; a claim
    that worked gets no answer."""
    run.text(order.phones[0], f"接单 {order.code}", "gw-claim-1")
    run.drain("sms-inbound")


def two_members_claim(run: Run, order: PlacedOrder) -> None:
    """Two members of the pool text 接单 CODE, in one batch: the first claim wins, the other
    is refused on the order's version and told it is taken (a rate-limited answer, once)."""
    run.text(order.phones[0], f"接单 {order.code}", "gw-claim-1")
    run.text(order.phones[1], f"接单 {order.code}", "gw-claim-2")
    run.drain("sms-inbound")


def resident_confirms(run: Run, order: PlacedOrder) -> None:
    """The claimant texts 完成 CODE (the resident is asked to confirm), then the resident's 1:
    the order is verified with its credit pending in the same write, the ledger enters the
    credit (one TransactWriteItems: entry, rows, balances, the day's cap), and the order
    marks it entered. A crash between the two writes leaves the credit pending on the
    order, and the redelivered 1 must enter it, once."""
    run.text(order.phones[0], f"完成 {order.code}", "gw-done-1")
    run.drain("sms-inbound")
    run.world.clock.advance(10 * MINUTE)
    run.text(HOUSEHOLD, "1", "gw-confirm-1")
    run.drain("sms-inbound")


def unclaimed_order_climbs(run: Run, _) -> None:
    """The claim limit has passed: the sweep queues the order's timer on the escalation
    queue, and the escalation worker takes it to the committee (level 1), who is told."""
    run.sweep()
    run.drain("escalation")


# Their names, for the tests that check what each does (test_crash_at_every_step).
ORDER_SCENARIOS = ("resident orders by SMS", "committee dispatches to the pool", "member claims an order",
                   "two members claim one order", "resident confirms an order",
                   "an unclaimed order climbs to the committee")


SCENARIOS = [
    Scenario("web report", web_report),
    Scenario("console report", console_report, setup=queue_console_report),
    Scenario("escalation", escalation, setup=overdue_report),
    Scenario("member replies 收到 / 完成", member_replies, setup=lambda run: routed(run, "faults-replies-1")),
    Scenario("resident's SMS report", resident_sms_report),
    Scenario("direct answers", direct_answers,
             setup=lambda run: routed(run, "faults-answers-1", phone="13800138000")),
    Scenario("second report in a send window", second_report_in_the_window, setup=first_report_of_a_window,
             settle=later_sweeps, config={"bundle_seconds": BUNDLE_SECONDS}),
    Scenario("bundled delivery", bundled_delivery, setup=reports_in_one_window, settle=later_sweeps,
             config={"bundle_seconds": BUNDLE_SECONDS}),
    Scenario("report folded into an urgent case", folded_report, setup=urgent_report),
    Scenario("member merges by SMS", member_merges, setup=two_cases_of_one_leak),
    Scenario("resident orders by SMS", resident_orders),
    Scenario("committee dispatches to the pool", committee_dispatches, setup=placed_order),
    Scenario("member claims an order", member_claims, setup=dispatched_order),
    Scenario("two members claim one order", two_members_claim, setup=dispatched_order),
    Scenario("resident confirms an order", resident_confirms, setup=claimed_order),
    Scenario("an unclaimed order climbs to the committee", unclaimed_order_climbs, setup=unclaimed_order),
]
