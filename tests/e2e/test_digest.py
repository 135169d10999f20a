"""End to end: `make run` sends the away members' daily digest to a group robot, here an
HTTP server in this test process, configured through GRIDLOOP_DIGEST_WEBHOOKS."""
from __future__ import annotations

import json

import pytest

from tests.e2e.test_local_stack import LocalStack
from tests.functional.test_digest import KEY, Robot

pytestmark = pytest.mark.e2e


def test_an_away_member_s_digest_arrives_at_the_local_webhook_server(tmp_path, monkeypatch):
    robot = Robot()
    # hour 0: today's digest is due as soon as the stack is up, whatever the time of day
    monkeypatch.setenv("GRIDLOOP_DIGEST_WEBHOOKS", json.dumps({"changmu": {"url": robot.url, "hour": 0}}))
    stack = LocalStack(time_scale=1, log_dir=tmp_path)
    try:
        # GIVEN the stack is up, its schedule sends today's digest of each grid an away member follows
        stack.wait_until(lambda: len(robot.received) >= 4, timeout=30, what="the scheduled digests")
        first = robot.contents()
        assert first[0].startswith("### 【常牧家园】第一网格 每日简报") and "本网格外出党员 3 人" in first[0]
        assert all(m["json"]["msgtype"] == "markdown" for m in robot.received)
        assert all(path == f"/cgi-bin/webhook/send?key={KEY}" for path in robot.paths)

        # WHEN a resident reports a problem in 3号楼2单元 and it is routed
        status, created = stack.post("/reports", {"category": "sanitation", "location": "changmu-03-2",
                                                  "description": "楼道垃圾好几天没人清", "phone": "13912345678",
                                                  "name": "卓玛"})
        assert status == 202
        code = created["code"]
        stack.wait_until(lambda: stack.get(f"/reports/{code}")[1].get("status") == "assigned",
                         what="the case to be routed")
        # AND the digest is asked for now
        status, sent = stack.post("/dev/digest", {"community": "changmu"})
        assert status == 200 and len(sent["sent"]) == 4

        # THEN the robot gets a digest naming the case, its place and state, and no personal data
        digest = stack.wait_until(lambda: [c for c in robot.contents() if code in c], what="the digest")[0]
        assert f"`{code}` 环境卫生 · 3号楼2单元 · 待接单 · 第1级" in digest
        for private in ("13912345678", "卓玛", "楼道垃圾好几天没人清"):
            assert private not in digest
        # the schedule, running all along, sent today's digests once only
        assert len(robot.received) == 8
        log = stack.log
        log.seek(0)
        assert KEY not in log.read()
    finally:
        stack.stop()
        robot.close()
