"""End to end through a gateway's real format (Twilio's webhook, signed): a resident's SMS
names a unit and becomes a case routed there; the resident gets the code, then the
resolved notice that is also the call-back, and reopens the case by answering 2."""
from __future__ import annotations

import re

import pytest

from tests.e2e.test_gateways import twilio_webhook
from tests.e2e.test_local_stack import chain_phones

pytestmark = pytest.mark.e2e

RESIDENT = "+8613800000077"       # not a member's phone, no registered household


def latest(stack, phone: str, code: str, marker: str) -> str:
    found = stack.wait_until(lambda: [m["text"] for m in stack.outbox(phone)
                                      if code in m["text"] and marker in m["text"]],
                             what=f"an SMS to {phone} with {marker}")
    return found[-1]


def test_a_residents_sms_becomes_a_case_and_the_resident_reopens_it_with_2(stack, members):  # noqa: F811
    stairwell, grid_member, _ = chain_phones(members, ("b05", 2))
    # GIVEN a resident texts about building 5, unit 2, through Twilio
    status, _, _ = twilio_webhook(stack, RESIDENT, "5号楼2单元楼道垃圾好几天没人清了")
    assert status == 200
    # THEN the resident gets the code, and the case is routed to that unit's stairwell leader
    receipt = stack.wait_until(lambda: [m["text"] for m in stack.outbox(RESIDENT)], what="the code")[0]
    code = re.search(r"编号([0-9A-Z]{6})", receipt).group(1)
    view = stack.wait_until(lambda: (lambda v: v if v.get("status") == "assigned" else None)(
        stack.get(f"/reports/{code}")[1]), what="the case to be assigned")
    assert (view["location"], view["level"]) == ("changmu-05-2", 1)
    latest(stack, stairwell, code, "新事项")

    # WHEN the stairwell leader accepts and finishes it by SMS, through the same gateway
    assert twilio_webhook(stack, stairwell, f"收到 {code}")[0] == 200
    stack.wait_until(lambda: stack.get(f"/reports/{code}")[1]["status"] == "acknowledged", what="acknowledged")
    assert twilio_webhook(stack, stairwell, f"完成 {code}")[0] == 200
    # THEN the resident gets the resolved notice, which asks 满意回复1，不满意回复2
    latest(stack, RESIDENT, code, "不满意回复2")
    assert stack.get(f"/reports/{code}")[1]["status"] == "resolved"

    # WHEN the resident is not satisfied
    assert twilio_webhook(stack, RESIDENT, "2")[0] == 200
    # THEN the case is reopened one level above the resolver: the grid member has it
    reopened = stack.wait_until(lambda: (lambda v: v if v.get("status") == "assigned" else None)(
        stack.get(f"/reports/{code}")[1]), what="the case to be reopened")
    assert reopened["level"] == 2
    assert "reopened" in [e["event"] for e in reopened["history"]]
    latest(stack, grid_member, code, "不满意")
