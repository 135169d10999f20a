"""Duplicates: every message of every queue delivered twice (standard SQS may), and out of
order (it may do that too), changes nothing the second time. For each queue, the messages
a real run puts on it are delivered once in some order (the reference), then again with
every message delivered twice: in the same batch, again in a later batch in reverse, or
with the copies shuffled across batches. The end state (cases, contacts, dead-letter
queues) and the SMS sent must be the reference's."""
from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes import FakeClock
from tests.faults.harness import START, Recorder, Run, World, compare
from tests.faults.scenarios import (
    DAY,
    HOUSEHOLD,
    MINUTE,
    OTHER_RESIDENT,
    RESIDENT,
    claimed_order,
    dispatched_order,
    phone_of,
    routed,
)
from tests.functional.conftest import report


# -- what each queue gets ------------------------------------------------------------------
def intake_messages(run: Run) -> None:
    """Routing messages of web reports (one posted twice with its Idempotency-Key, as a
    client retrying does) and console reports, one of them for a place that does not exist."""
    run.post_report(report(), "dup-web-1")
    run.post_report(report(location="changmu-03-2", phone=...), "dup-web-2")
    run.post_report(report(location="changmu-02-1"), "dup-web-3")
    run.post_report(report(location="changmu-02-1"), "dup-web-3")
    for location, text in (("changmu-01-1", "三楼水管漏水"), ("changmu-99-9", "不存在的地方")):
        run.stack.queue("intake").send(json.dumps({"category": "water_pipe", "location": location,
                                                   "description": text, "source": "console"},
                                                  ensure_ascii=False))


def escalation_messages(run: Run) -> None:
    """Three unanswered cases, 31 minutes on, and the sweep run twice (a duplicate schedule)."""
    for n, location in enumerate(("changmu-01-1", "changmu-03-2", "changmu-02-1")):
        routed(run, f"dup-esc-{n}", location=location)
    run.world.clock.advance(31 * MINUTE)
    run.sweep()
    run.sweep()


def inbound_messages(run: Run) -> None:
    """A member's 收到 and 完成, a resident's SMS report, 查询, a text that is no command (an
    error reply), 退订, and a message that is not JSON."""
    first = routed(run, "dup-sms-1")
    second = routed(run, "dup-sms-2", phone=...)
    leader = phone_of(run, "m10")
    run.text(leader, f"收到 {first}", "dup-gw-1")
    run.text(leader, f"完成 {second}", "dup-gw-2")
    run.text(RESIDENT, "3号楼2单元门口有个大坑", "dup-gw-3")
    run.text("+8613912345678", f"查询 {first}", "dup-gw-4")
    run.text(phone_of(run, "m30"), "你好", "dup-gw-5")
    run.text(OTHER_RESIDENT, "退订", "dup-gw-6")
    run.stack.queue("sms-inbound").send("not json {")


def order_inbound_messages(run: Run) -> None:
    """The service loop's SMS: the resident's 1 for an order done (its points credited), two
    members' 接单 of one pooled order, another household's 点单, the claimant's 积分 (the
    balance, before or after the credit by the order they come in), and a 派单 of an order
    that does not exist."""
    done = claimed_order(run)
    run.text(done.phones[0], f"完成 {done.code}", "dup-order-done")
    run.drain("sms-inbound")
    run.text("+8613709741002", "点单 医保", "dup-order-2")
    run.drain("sms-inbound")
    [pooled] = [o.code for o in _orders(run) if o.status.value == "ordered"]
    dispatcher = run.stack.orders.orders.get(pooled).dispatcher
    run.text(phone_of(run, dispatcher), f"派单 {pooled}", "dup-order-dispatch")
    run.drain("sms-inbound")
    pool = run.stack.orders.orders.get(pooled).pool
    run.text(HOUSEHOLD, "1", "dup-gw-o1")
    run.text(phone_of(run, pool[0]), f"接单 {pooled}", "dup-gw-o2")
    run.text(phone_of(run, pool[1]), f"接单 {pooled}", "dup-gw-o3")
    run.text("+8613709741003", "点单 医保", "dup-gw-o4")
    run.text(done.phones[0], "积分", "dup-gw-o5")
    run.text(phone_of(run, dispatcher), "派单 ZZZZZZ", "dup-gw-o6")


def order_escalation_messages(run: Run) -> None:
    """Orders' timers: one dispatched order nobody claimed (to the committee) and one claimed
    and never started (the claim lapses, back to the pool), the sweep run twice."""
    unclaimed = dispatched_order(run)
    run.text("+8613709741002", "点单 医保", "dup-order-2")
    run.drain("sms-inbound")
    [other] = [o for o in _orders(run) if o.status.value == "ordered"]
    run.text(phone_of(run, other.dispatcher), f"派单 {other.code}", "dup-order-dispatch")
    run.drain("sms-inbound")
    claimant = run.stack.orders.orders.get(other.code).pool[0]
    run.text(phone_of(run, claimant), f"接单 {other.code}", "dup-order-claim")
    run.drain("sms-inbound")
    assert run.stack.orders.orders.get(unclaimed.code).status.value == "pooled"
    run.world.clock.advance(3 * DAY)
    run.sweep()
    run.sweep()


def _orders(run: Run) -> list:
    return [run.stack.orders.orders.get(record.code) for record in run.stack.orders_model.scan()]


QUEUES: dict[str, Callable[[Run], None]] = {
    "intake": intake_messages, "escalation": escalation_messages, "sms-inbound": inbound_messages,
    "sms-inbound (orders)": order_inbound_messages, "escalation (orders)": order_escalation_messages}
# The queue each set of messages is on: its name, less what it is about.
PURPOSE = {name: name.split(" ", 1)[0] for name in QUEUES}

# Orders of the messages, each the reference for its duplicated deliveries.
ORDERS: dict[str, Callable[[list], list]] = {
    "as queued": list,
    "reversed": lambda records: records[::-1],
    "shuffled": lambda records: random.Random(7).sample(records, len(records)),
}


def _again(record: dict[str, Any]) -> dict[str, Any]:
    """The same message handed out a second time: same messageId, receive count 2."""
    return dict(record, attributes=dict(record["attributes"], ApproximateReceiveCount="2"))


def _copies_later(records: list) -> list[list]:
    """Each copy somewhere after its first delivery, in batches of three."""
    rng = random.Random(11)
    sequence = list(records)
    for record in records:
        first = sequence.index(record)
        sequence.insert(rng.randint(first + 1, len(sequence)), _again(record))
    return [sequence[i:i + 3] for i in range(0, len(sequence), 3)]


PLANS: dict[str, Callable[[list], list[list]]] = {
    "twice in one batch": lambda records: [records + [_again(r) for r in records]],
    "again in a later batch, reversed": lambda records: [records, [_again(r) for r in records[::-1]]],
    "copies shuffled across batches": _copies_later,
}


# -- the runs --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    made = World(FakeClock(START), Recorder())
    yield made
    made.close()


@pytest.fixture(scope="module")
def prepared(world):
    """Per queue: the start (a snapshot with the messages taken off the queue) and the
    records; made once."""
    cache: dict[str, tuple[Any, list]] = {}

    def prepare(queue: str) -> tuple[Any, list]:
        if queue not in cache:
            world.reset()
            run = Run(world)
            with run.unarmed():
                QUEUES[queue](run)
                records = run.records(PURPOSE[queue])
            cache[queue] = ((world.snapshot(), dict(run._seq)), records)
        return cache[queue]

    return prepare


def deliver(world: World, start: Any, queue: str, batches: list[list]) -> dict[str, Any]:
    run = Run(world, start)
    for batch in batches:
        receives = max(int(r["attributes"]["ApproximateReceiveCount"]) for r in batch)
        run.deliver(PURPOSE[queue], batch, receives=receives)
    assert not run.delivery.stuck, run.delivery
    return world.state()


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("queue", list(QUEUES))
def test_every_message_delivered_twice_changes_nothing_the_second_time(world, prepared, summary, queue, order):
    start, records = prepared(queue)
    ordered = ORDERS[order](records)
    reference = deliver(world, start, queue, [ordered])
    assert reference["sms"] and (reference["cases"] or reference["orders"])   # the messages did something

    for plan, batches_of in PLANS.items():
        batches = batches_of(ordered)
        twice = deliver(world, start, queue, batches)
        duplicates, missing, differences = compare(reference, twice)
        summary.add(queue=queue, order=order, plan=plan, messages=len(records),
                    deliveries=sum(len(b) for b in batches), batches=len(batches),
                    sms=sum(n for _, n in reference["sms"]), duplicates=duplicates, missing=missing,
                    differences=differences[:5],
                    verdict="same" if not (duplicates or missing or differences) else "differs")
        assert (duplicates, missing, differences) == ([], [], []), plan
