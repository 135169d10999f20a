"""End to end on the local stack (make run), through Twilio's signed webhook and the operators'
CLI: the party members' service loop of the article. A resident texts 点单 低保, the committee
dispatches it, two pool members claim it at once and one wins, the checklist is ticked, 完成
is sent and the resident rates 1; the claimant's balance rises exactly once although every SMS
arrives twice (Twilio retries a webhook with the same MessageSid), a redemption lowers it, and a
second one that would take it below zero is refused."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import pytest

from tests.e2e.test_gateways import twilio_webhook
from tests.e2e.test_local_stack import ROOT

pytestmark = pytest.mark.e2e

RESIDENT = "+8613709741001"       # a registered household of changmu, 3号楼2单元 (data/directory)
ALLOWANCE_POINTS = 20 + 5         # the catalogue's 低保申请代办: points and the on-time bonus
WASHING_POWDER = 20               # the points shop's price


def texted_twice(stack, phone: str, text: str) -> None:
    """One SMS, which the gateway delivers twice: the same MessageSid both times."""
    for _ in range(2):
        assert twilio_webhook(stack, phone, text)[0] == 200


def ops(stack, *args: str) -> dict:
    env = dict(os.environ, GRIDLOOP_STAGE="local", GRIDLOOP_AWS_PORT=str(stack.aws_port),
               GRIDLOOP_DYNAMODB_PORT=str(stack.dynamodb_port), GRIDLOOP_ACTOR="e2e")
    env.pop("GRIDLOOP_AWS_ENDPOINT", None)
    env.pop("GRIDLOOP_DYNAMODB_ENDPOINT", None)
    done = subprocess.run([sys.executable, "-m", "tools.ops", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    return json.loads(done.stdout)


def texts_to(stack, phone: str, marker: str) -> list[str]:
    return [m["text"] for m in stack.outbox(phone) if marker in m["text"]]


def test_an_order_by_sms_is_dispatched_claimed_once_done_rated_and_its_points_spent(stack, members):
    by_phone = {m["phone"]: m["id"] for m in members[0].values()}
    # GIVEN a resident texts 点单 低保
    texted_twice(stack, RESIDENT, "点单 低保")
    receipt = stack.wait_until(lambda: texts_to(stack, RESIDENT, "已收到点单"), what="the order's code")
    code = re.search(r"点单([0-9A-Z]{6})", receipt[0]).group(1)
    assert "身份证" in receipt[0] and len(receipt) == 1          # what to have ready, once
    # WHEN the committee member asked sends 派单
    ask = stack.wait_until(lambda: [m for m in stack.outbox() if f"派单 {code}" in m["text"]],
                           what="the dispatch request")
    assert len(ask) == 1
    texted_twice(stack, ask[0]["to"], f"派单 {code}")
    # THEN the grid's pool members each get one pool SMS
    pooled = stack.wait_until(lambda: (lambda found: found if len(found) >= 2 else None)(
        [m["to"] for m in stack.outbox() if f"接单 {code}" in m["text"]]), what="the pool's SMS")
    stack.wait_until(lambda: len(stack.outbox()) and all(
        len([m for m in stack.outbox(p) if f"接单 {code}" in m["text"]]) == 1 for p in pooled), what="one each")
    assert len(set(pooled)) == len(pooled)

    # WHEN two of them send 接单 at once (each delivered twice)
    first, second = pooled[:2]
    threads = [threading.Thread(target=texted_twice, args=(stack, phone, f"接单 {code}")) for phone in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN exactly one of them is told 已被认领, and the other holds the order
    told = stack.wait_until(lambda: [p for p in (first, second) if texts_to(stack, p, "已被认领")],
                            what="the loser to be told")
    assert len(told) == 1
    winner = second if told == [first] else first

    # WHEN the winner ticks the checklist, then sends 完成, and the resident rates 1
    texted_twice(stack, winner, f"进度 {code} 1")
    texted_twice(stack, winner, f"完成 {code}")
    stack.wait_until(lambda: texts_to(stack, RESIDENT, "办好了回复1"), what="the confirmation request")
    texted_twice(stack, RESIDENT, "1")
    # THEN the winner's balance rises exactly once, by the item's points and its on-time bonus
    member = by_phone[winner]

    def statement():
        answer = ops(stack, "points-statement", "--community", "changmu", "--member", member)
        return answer if answer.get("ok") and answer.get("balance") else None
    shown = stack.wait_until(statement, what="the credit")
    assert shown["balance"] == ALLOWANCE_POINTS, shown
    assert [e["reason"] for e in shown["entries"]] == ["order_verified"], shown
    assert len(texts_to(stack, RESIDENT, "办好了回复1")) == 1

    # WHEN the office redeems washing powder for them, then again
    assert ops(stack, "shop-restock", "--community", "changmu", "--item", "washing_powder", "--count", "5")["ok"]
    spent = ops(stack, "points-redeem", "--community", "changmu", "--member", member, "--item", "washing_powder",
                "--receipt", f"E2E-{code}-1")
    refused = ops(stack, "points-redeem", "--community", "changmu", "--member", member, "--item",
                  "washing_powder", "--receipt", f"E2E-{code}-2")
    # THEN the first lowers the balance, and the second, which would take it below zero, is refused
    assert spent["ok"], spent
    assert refused["ok"] is False and "over_balance" in json.dumps(refused), refused
    after = ops(stack, "points-statement", "--community", "changmu", "--member", member)
    assert after["balance"] == ALLOWANCE_POINTS - WASHING_POWDER, after
