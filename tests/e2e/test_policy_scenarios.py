"""End to end: the community's escalation policy, on one local stack (`make run`).

The stack reads a copy of the policy files (GRIDLOOP_POLICY_DIR) whose limits are
short, and runs at GRIDLOOP_TIME_SCALE=60, so a policy minute lasts one second:
"8 minutes" in the copy is 8 s on the test's clock. Each scenario uses its own
location (and so its own people) and looks only at its own case code; they drive the
stack through the contract's routes alone: POST /reports, GET /reports/CODE,
POST /dev/sms and GET /dev/outbox.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path
from unittest import mock

import pytest

from tests.e2e.test_local_stack import ROOT, LocalStack

pytestmark = pytest.mark.e2e

SCALE = 60                  # a policy minute is a second of the test
ACK_1 = 8                   # standard chain, level 1: seconds to acknowledge ...
RESOLVE_1 = 10              # ... and to resolve once acknowledged
YELLOW_1 = RESOLVE_1 * 0.8  # yellow_at of the shipped policy
LONG = "600 minutes"        # every other limit: ten minutes, longer than the whole module
NEW_ACK_1 = 30              # scenario 6: level 1's acknowledge limit after the edit
DAY = 86400 / SCALE         # one (clock-time) day of extension on the test's clock
EXACT = 1.0                 # public times are whole seconds: a computed deadline is off by < 1 s
LATE = 5.0                  # a timed event comes after its deadline: the 0.5 s sweep, a queue, a slow CI


# -- the stack -------------------------------------------------------------------------------

class PolicyStack(LocalStack):
    """The local stack with extra settings in its environment."""

    def __init__(self, time_scale: float, log_dir: Path, env: dict[str, str]):
        with mock.patch.dict(os.environ, env):
            super().__init__(time_scale=time_scale, log_dir=log_dir)

    def log_text(self) -> str:
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def report(self, category: str, location: str, description: str) -> str:
        status, created = self.post("/reports", {"category": category, "location": location,
                                                 "description": description})
        assert status == 202, created
        return created["code"]

    def view(self, code: str) -> dict:
        status, report = self.get(f"/reports/{code}")
        assert status == 200, report
        return report

    def sms(self, phone: str, text: str) -> None:
        status, body = self.post("/dev/sms", {"from": phone, "text": text})
        assert status == 202, body

    def texts(self, phone: str, code: str) -> list[str]:
        """What `phone` was sent about case `code`, oldest first."""
        return [m["text"] for m in self.outbox(phone) if code in m["text"]]

    def wait_for_sms(self, phone: str, code: str, words: str, timeout: float = 20) -> str:
        return self.wait_until(lambda: next((t for t in self.texts(phone, code) if words in t), None),
                               timeout=timeout, what=f"an SMS to {phone} about {code} saying {words}")

    def wait_for_view(self, code: str, check, timeout: float = 20, what: str = "the case") -> dict:
        def ready():
            report = self.view(code)
            return report if check(report) else None
        return self.wait_until(ready, timeout=timeout, what=what)

    def routed(self, code: str) -> dict:
        return self.wait_for_view(code, lambda r: r["status"] != "received", what=f"{code} to be routed")

    def hold_still(self, code: str, until: float, check, what: str) -> dict:
        """Watch the case until `until` (time.time()): `check` must hold all along."""
        while True:
            report = self.view(code)
            assert check(report), f"{what}; the case is now {json.dumps(report, ensure_ascii=False)}"
            if time.time() >= until:
                return report
            time.sleep(0.25)


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def first(report: dict, event: str) -> float:
    return at(next(e["at"] for e in report["history"] if e["event"] == event))


def fired(actual: float, deadline: float) -> bool:
    """A timed event happened at its deadline: not before it, and not much after."""
    return deadline - EXACT <= actual <= deadline + LATE


def events(report: dict) -> list[str]:
    return [e["event"] for e in report["history"]]


def short_limits(policy: dict) -> dict:
    """The shipped policy with test-sized limits: everything long, except the standard
    chain's level 1."""
    policy = json.loads(json.dumps(policy))
    policy["version"] = "changmu-e2e-1"
    for chain in policy["chains"].values():
        for level in chain["levels"]:
            level["acknowledge"] = level["resolve"] = LONG
    standard = policy["chains"]["standard"]["levels"][0]
    assert standard["role"] == "stairwell_leader"
    standard["acknowledge"], standard["resolve"] = f"{ACK_1} minutes", f"{RESOLVE_1} minutes"
    return policy


def write_policy(path: Path, policy: dict) -> None:
    """Write in one step, so the watcher never reads half a file."""
    draft = path.with_suffix(".draft")
    draft.write_text(json.dumps(policy, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(draft, path)


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("policies")
    for path in (ROOT / "chalicelib/data/policies").glob("*.json"):
        shutil.copy(path, folder / path.name)
    shipped = json.loads((folder / "changmu.json").read_text(encoding="utf-8"))
    write_policy(folder / "changmu.json", short_limits(shipped))
    return folder


@pytest.fixture(scope="module")
def stack(policy_dir, tmp_path_factory):
    stack = PolicyStack(time_scale=SCALE, log_dir=tmp_path_factory.mktemp("logs"),
                        env={"GRIDLOOP_POLICY_DIR": str(policy_dir)})
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def phone():
    import yaml

    data = yaml.safe_load((ROOT / "data/directory/changmu.yaml").read_text(encoding="utf-8"))
    return {m["id"]: m["phone"] for m in data["members"]}


# -- the scenarios ----------------------------------------------------------------------------

def test_gas_leak_reaches_grid_member_and_grid_chief_at_once(stack, phone):
    # GIVEN 5号楼1单元 (grid 1: grid member m06, grid chief m02, stairwell leader m14)
    # WHEN a resident reports a gas leak
    code = stack.report("gas_leak", "changmu-05-1", "楼道里有很浓的煤气味")

    # THEN the grid member holds it and the grid chief is told at the same time
    stack.wait_for_sms(phone["m06"], code, f"收到 {code}")
    stack.wait_for_sms(phone["m02"], code, "紧急事项")
    report = stack.view(code)
    assert report["status"] == "assigned"
    assert report["level"] == 2 and report["level_role"] == "grid_member"
    assert report["policy_version"] == "changmu-e2e-1#urgent"
    assert {"level": 3, "event": "told_together"} in [{"level": e["level"], "event": e["event"]}
                                                      for e in report["history"]]
    member, chief = (next(m for m in stack.outbox(phone[who]) if code in m["text"]) for who in ("m06", "m02"))
    assert abs(member["at"] - chief["at"]) < 5, "the grid chief was told with the grid member, not later"
    # the urgent chain starts above the stairwell
    assert stack.texts(phone["m14"], code) == []


def test_dispute_goes_to_the_mediation_room_with_the_grid_member_following(stack, phone):
    # GIVEN 9号楼1单元 (grid 2: grid member m07)
    # WHEN a resident reports a quarrel between neighbours
    code = stack.report("neighbour_dispute", "changmu-09-1", "楼上楼下因为漏水吵架")

    # THEN a member of the mediation room (暖心调解室) holds it
    report = stack.routed(code)
    assert report["level"] == 2 and report["level_role"] == "mediation_room"
    assert report["policy_version"] == "changmu-e2e-1#mediation"
    holder = stack.wait_until(lambda: [who for who in ("m41", "m42")
                                       if any(f"收到 {code}" in t for t in stack.texts(phone[who], code))],
                              what="the assignment SMS to the mediation room")
    assert len(holder) == 1, "one member of the mediation room holds the case"
    # AND the grid member follows it (跟办)
    assert "完成 " + code in stack.wait_for_sms(phone["m07"], code, "跟办")


def test_acknowledged_unresolved_case_draws_yellow_then_red_supervision(stack, phone):
    # GIVEN a case at 13号楼1单元 that its stairwell leader (m22) has acknowledged
    code = stack.report("sanitation", "changmu-13-1", "垃圾堆在楼门口")
    stack.wait_for_sms(phone["m22"], code, f"收到 {code}")
    stack.sms(phone["m22"], f"收到 {code}")
    acknowledged = stack.wait_for_view(code, lambda r: r["status"] == "acknowledged", what="the acknowledgement")
    acknowledged_at = first(acknowledged, "acknowledged")
    assert at(acknowledged["resolve_due_at"]) - acknowledged_at == pytest.approx(RESOLVE_1, abs=EXACT)

    # WHEN it stays unresolved past 80 % of its resolve limit, then past the limit
    # THEN the level above (grid member m08) gets a yellow card, then a red one
    yellow = stack.wait_for_sms(phone["m08"], code, "黄牌督办", timeout=RESOLVE_1 + 20)
    red = stack.wait_for_sms(phone["m08"], code, "红牌督办", timeout=RESOLVE_1 + 20)
    assert f"收到 {code}" in red and yellow != red
    report = stack.view(code)
    supervision = [e for e in events(report) if e.startswith("supervised_")]
    assert supervision[:2] == ["supervised_yellow", "supervised_red"]
    assert fired(first(report, "supervised_yellow") - acknowledged_at, YELLOW_1)
    assert fired(first(report, "supervised_red") - acknowledged_at, RESOLVE_1)
    # AND the holder keeps the case
    assert report["status"] == "acknowledged" and report["level"] == 1
    assert report["level_role"] == "stairwell_leader"
    assert "escalated" not in events(report) and "taken_over" not in events(report)
    # and was warned both times
    stack.wait_for_sms(phone["m22"], code, "将到办结时限")
    stack.wait_for_sms(phone["m22"], code, "已超办结时限")


def test_suspended_case_does_not_move_until_resumed(stack, phone):
    # GIVEN a case at 17号楼1单元 just given to its stairwell leader (m26)
    code = stack.report("sanitation", "changmu-17-1", "楼道堆放杂物")
    stack.wait_for_sms(phone["m26"], code, f"收到 {code}")

    # WHEN a committee member (m03) suspends it at once
    stack.sms(phone["m03"], f"挂起 {code} 等住户回来再处理")
    suspended = stack.wait_for_view(code, lambda r: r["suspended"], timeout=ACK_1, what="the suspension")
    assert suspended["level"] == 1 and "escalated" not in events(suspended), \
        "the suspension came after the acknowledge limit: the machine is too slow for this test"
    assert suspended["due_at"] is None
    assigned_at, suspended_at = first(suspended, "assigned"), first(suspended, "suspended")
    stack.wait_for_sms(phone["m26"], code, "已挂起")

    # THEN it stays with the stairwell leader well past its acknowledge limit
    stack.hold_still(code, until=assigned_at + ACK_1 + 5,
                     check=lambda r: r["level"] == 1 and r["suspended"] and "escalated" not in events(r),
                     what="a suspended case moved")
    assert stack.texts(phone["m09"], code) == [], "the grid member heard of a suspended case"

    # WHEN it is resumed
    stack.sms(phone["m03"], f"恢复 {code}")
    resumed = stack.wait_for_view(code, lambda r: not r["suspended"], what="the resumption")
    resumed_at = first(resumed, "resumed")
    left = ACK_1 - (suspended_at - assigned_at)
    assert resumed["level"] == 1 and resumed["status"] == "assigned"
    assert at(resumed["due_at"]) - resumed_at == pytest.approx(left, abs=2 * EXACT)

    # THEN it climbs to the grid member (m09) once the time it had left has run out
    stack.wait_for_sms(phone["m09"], code, f"收到 {code}", timeout=left + 20)
    report = stack.view(code)
    assert report["level"] == 2 and report["level_role"] == "grid_member"
    assert fired(first(report, "escalated"), at(resumed["due_at"])), "it did not climb when its time ran out"
    assert first(report, "escalated") - assigned_at >= ACK_1 + (resumed_at - suspended_at) - 2 * EXACT


def test_approved_extension_moves_the_resolve_deadline(stack, phone):
    # GIVEN a case at 8号楼1单元 that its stairwell leader (m17) has acknowledged
    code = stack.report("sanitation", "changmu-08-1", "下水道堵了")
    stack.wait_for_sms(phone["m17"], code, f"收到 {code}")
    stack.sms(phone["m17"], f"收到 {code}")
    acknowledged = stack.wait_for_view(code, lambda r: r["status"] == "acknowledged", what="the acknowledgement")
    old_deadline = at(acknowledged["resolve_due_at"])

    # WHEN the holder asks for one more day, and the level above (grid member m07) agrees
    stack.sms(phone["m17"], f"延期 {code} 1 等疏通车")
    request = stack.wait_for_sms(phone["m07"], code, "申请延期")
    assert f"同意 {code}" in request
    stack.sms(phone["m07"], f"同意 {code}")
    approved = stack.wait_for_view(code, lambda r: "extension_approved" in events(r), what="the approval")

    # THEN the resolve deadline moves later by that day
    assert "supervised_red" not in events(approved), "red supervision came before the approval: too slow"
    assert at(approved["resolve_due_at"]) - old_deadline == pytest.approx(DAY, abs=EXACT)
    stack.wait_for_sms(phone["m17"], code, "已获同意")
    # AND the old deadline passes without red supervision
    report = stack.hold_still(code, until=old_deadline + 4,
                              check=lambda r: "supervised_red" not in events(r),
                              what="red supervision at the old deadline")
    assert report["status"] == "acknowledged" and report["level"] == 1
    assert not any("红牌督办" in t for t in stack.texts(phone["m07"], code))


def test_case_started_before_a_policy_change_keeps_its_old_limits(stack, phone, policy_dir):
    path = policy_dir / "changmu.json"
    before = json.loads(path.read_text(encoding="utf-8"))
    # GIVEN case A at 19号楼1单元, routed under the policy in force
    code_a = stack.report("sanitation", "changmu-19-1", "楼道灯不亮")
    a = stack.routed(code_a)
    assert a["policy_version"] == "changmu-e2e-1#standard"
    assert at(a["due_at"]) - first(a, "assigned") == pytest.approx(ACK_1, abs=EXACT)
    try:
        # WHEN the committee gives level 1 of the standard chain longer to acknowledge
        reloads = stack.log_text().count("[policy] reloaded")
        edited = json.loads(json.dumps(before))
        edited["version"] = "changmu-e2e-2"
        edited["chains"]["standard"]["levels"][0]["acknowledge"] = f"{NEW_ACK_1} minutes"
        write_policy(path, edited)
        stack.wait_until(lambda: stack.log_text().count("[policy] reloaded") > reloads
                         and "changmu-e2e-2" in stack.log_text(), what="the policy to be reloaded")
        # AND case B is reported at 14号楼1单元, on the same chain
        code_b = stack.report("sanitation", "changmu-14-1", "楼道灯不亮")
        b = stack.routed(code_b)

        # THEN B runs on the new limits
        assert b["policy_version"] == "changmu-e2e-2#standard"
        assert at(b["due_at"]) - first(b, "assigned") == pytest.approx(NEW_ACK_1, abs=EXACT)
        # AND A keeps the old ones: it climbs when its old limit runs out
        a = stack.wait_for_view(code_a, lambda r: r["level"] == 2, timeout=ACK_1 + 20,
                                what="case A to climb on its old limit")
        assert a["policy_version"] == "changmu-e2e-1#standard"
        assert fired(first(a, "escalated") - first(a, "assigned"), ACK_1)
        assert stack.view(code_b)["level"] == 1
    finally:
        # the other scenarios count on the short limits: put them back
        reloads = stack.log_text().count("[policy] reloaded")
        write_policy(path, before)
        stack.wait_until(lambda: stack.log_text().count("[policy] reloaded") > reloads,
                         what="the policy to be restored")
