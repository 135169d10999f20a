"""End to end: start the local stack as a user would (`make run`) and follow a
report through the contract's routes only: HTTP API, /dev/sms and /dev/outbox."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalStack:
    def __init__(self, time_scale: float, log_dir: Path, ports: tuple[int, int, int] | None = None):
        self.http_port, self.aws_port, self.dynamodb_port = ports or (free_port(), free_port(), free_port())
        self.base = f"http://127.0.0.1:{self.http_port}"
        env = dict(os.environ, GRIDLOOP_HTTP_PORT=str(self.http_port), GRIDLOOP_AWS_PORT=str(self.aws_port),
                   GRIDLOOP_DYNAMODB_PORT=str(self.dynamodb_port),
                   GRIDLOOP_TIME_SCALE=str(time_scale), GRIDLOOP_SWEEP_SECONDS="0.5")
        self.log = open(log_dir / f"stack-{self.http_port}-{time.monotonic_ns()}.log", "w+")
        self.process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_until(lambda: self.get("/health")[0] == 200, timeout=60, what="the stack to come up")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except OSError:
            return 0, {}

    def get(self, path: str) -> tuple[int, dict]:
        return self.request("GET", path)

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        return self.request("POST", path, body)

    def outbox(self, to: str | None = None) -> list[dict]:
        messages = self.get("/dev/outbox")[1].get("messages", [])
        return [m for m in messages if to is None or m["to"] == to]

    def wait_until(self, condition, timeout: float = 30, what: str = "it"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise AssertionError(f"the local stack exited:\n{self.log.read()[-3000:]}")
            result = condition()
            if result:
                return result
            time.sleep(0.2)
        self.log.seek(0)
        raise AssertionError(f"timed out waiting for {what}; stack log:\n{self.log.read()[-3000:]}")


def chain_phones(members, location: tuple[str, int]):
    people, data = members
    building = next(b for b in data["buildings"] if b["id"] == location[0])
    unit = next(u for u in building["units"] if u["number"] == location[1])
    grid = next(g for g in data["grids"] if g["id"] == building["grid"])
    return (people[unit["leader"]]["phone"], people[building["grid_member"]]["phone"],
            people[grid["chief"]]["phone"])


def test_report_assigned_acknowledged_and_resolved_by_sms(members, tmp_path):
    stairwell, _, _ = chain_phones(members, ("b03", 2))
    resident = "+8613912345678"
    stack = LocalStack(time_scale=1, log_dir=tmp_path)
    try:
        # GIVEN a resident's report about 3号楼2单元, with the resident's phone
        status, created = stack.post("/reports", {"category": "sanitation", "location": "changmu-03-2",
                                                  "description": "楼道灯坏了，晚上看不见",
                                                  "phone": "139 1234 5678"})
        assert status == 202 and created["status"] == "received"
        code = created["code"]
        # THEN the resident gets the code, to ask about it
        stack.wait_until(lambda: [m for m in stack.outbox(resident) if code in m["text"] and "查询" in m["text"]],
                         what="the code SMS to the resident")
        # THEN the stairwell leader's phone gets the case
        notice = stack.wait_until(lambda: [m for m in stack.outbox(stairwell) if code in m["text"]],
                                  what="the assignment SMS")[0]
        assert notice["case_id"] == created["id"] and "收到 " + code in notice["text"]
        assert stack.get(f"/reports/{code}")[1]["status"] == "assigned"

        # WHEN the leader replies 收到 CODE (in lower case, as people type)
        assert stack.post("/dev/sms", {"from": stairwell, "text": f"收到 {code.lower()}"})[0] == 202
        stack.wait_until(lambda: stack.get(f"/reports/{code}")[1]["status"] == "acknowledged",
                         what="the acknowledgement")
        # AND then 完成 CODE
        assert stack.post("/dev/sms", {"from": stairwell, "text": f"完成 {code}"})[0] == 202
        report = stack.wait_until(
            lambda: (r := stack.get(f"/reports/{code}")[1])["status"] == "resolved" and r, what="resolution")

        # THEN the public view tells the whole story, without personal data
        events = [e["event"] for e in report["history"]]
        assert events[:3] == ["received", "assigned", "notified"]
        assert "acknowledged" in events and events.index("acknowledged") < events.index("resolved")
        assert report["level"] == 1 and report["level_role"] == "stairwell_leader"
        assert stairwell not in json.dumps(report)
        # AND the resident is asked whether it is really fixed (满意 1 / 不满意 2)
        stack.wait_until(lambda: [m for m in stack.outbox(resident) if code in m["text"] and "满意回复1" in m["text"]],
                         what="the call-back SMS to the resident")
        assert len(stack.outbox(resident)) == 2
        # AND the leader got no confirmation of either reply (a reply that worked needs no
        # answer): a later reply about the closed case is the only SMS after the assignment
        assert stack.post("/dev/sms", {"from": stairwell, "text": f"收到 {code}"})[0] == 202
        stack.wait_until(lambda: any("已结束" in m["text"] for m in stack.outbox(stairwell)),
                         what="the refusal of a reply about the resolved case")
        time.sleep(1)
        texts = [m["text"] for m in stack.outbox(stairwell)]
        assert len(texts) == 2 and "收到 " + code in texts[0] and "已结束" in texts[1], texts
        assert not any(t.startswith("已接单") or "已办结" in t for t in texts)
    finally:
        stack.stop()


def test_unanswered_report_climbs_two_levels(members, tmp_path):
    stairwell, grid_member, grid_chief = chain_phones(members, ("b07", 1))
    stack = LocalStack(time_scale=600, log_dir=tmp_path)   # 30 min → 3 s, 2 h → 12 s
    try:
        status, created = stack.post("/reports", {"category": "sanitation", "location": "changmu-07-1",
                                                  "description": "楼道垃圾没人清"})
        assert status == 202
        code = created["code"]
        # Nobody answers: the grid member, then the grid chief, are called
        stack.wait_until(lambda: [m for m in stack.outbox(grid_member) if code in m["text"]],
                         timeout=30, what="the first escalation")
        stack.wait_until(lambda: [m for m in stack.outbox(grid_chief) if code in m["text"]],
                         timeout=45, what="the second escalation")
        report = stack.get(f"/reports/{code}")[1]
        assert report["level"] >= 3 and report["status"] == "assigned"
        escalations = [e for e in report["history"] if e["event"] == "escalated"]
        assert [e["level"] for e in escalations][:2] == [2, 3]
        # the previous holders were told where the case went
        for previous in (stairwell, grid_member):
            stack.wait_until(lambda previous=previous: any("已升级" in m["text"] and code in m["text"]
                                                           for m in stack.outbox(previous)),
                             what=f"the escalation notice to {previous}")

        # WHEN the grid chief acknowledges, the case stops climbing
        assert stack.post("/dev/sms", {"from": grid_chief, "text": f"OK {code}"})[0] == 202
        stack.wait_until(lambda: stack.get(f"/reports/{code}")[1]["status"] == "acknowledged",
                         what="the acknowledgement")
    finally:
        stack.stop()


def test_three_reports_to_one_leader_within_two_minutes_reach_them_as_two_texts(members, tmp_path):
    # GIVEN the local stack at time scale 30: the two-minute send window lasts 4 s
    stairwell, _, _ = chain_phones(members, ("b05", 1))
    stack = LocalStack(time_scale=30, log_dir=tmp_path)
    try:
        # WHEN three residents report about 5号楼1单元 at once
        codes = []
        for text in ("楼道灯坏了", "楼道有垃圾", "单元门关不上"):
            status, created = stack.post("/reports", {"category": "sanitation", "location": "changmu-05-1",
                                                      "description": text})
            assert status == 202
            codes.append(created["code"])

        # THEN the stairwell leader gets one at once, and the other two in one text when the
        # window ends (which one goes first is the consumers' race, as in Lambda)
        def all_arrived():
            texts = [m["text"] for m in stack.outbox(stairwell)]
            return texts if all(any(code in text for text in texts) for code in codes) else None

        texts = stack.wait_until(all_arrived, timeout=30, what="all three cases to reach the stairwell leader")
        assert len(texts) == 2, texts
        first = [code for code in codes if code in texts[0]]
        assert len(first) == 1 and "2条通知" not in texts[0], texts
        assert "2条通知" in texts[1] and first[0] not in texts[1], texts
        assert all(code in texts[1] for code in codes if code != first[0]), texts
        time.sleep(2)
        assert len(stack.outbox(stairwell)) == 2         # and nothing twice
    finally:
        stack.stop()


def test_the_stack_starts_again_at_once_after_ctrl_c(tmp_path):
    # GIVEN a stack that served requests (its closed connections leave TIME-WAIT sockets)
    first = LocalStack(time_scale=60, log_dir=tmp_path)
    ports = (first.http_port, first.aws_port, first.dynamodb_port)
    for _ in range(5):
        assert first.get("/health")[0] == 200
    status, _ = first.post("/reports", {"category": "sanitation", "location": "changmu-03-2",
                                        "description": "楼道垃圾好几天没人清"})
    assert status == 202
    # WHEN it is stopped with Ctrl-C and started again on the same ports within a second
    first.stop()
    assert first.process.poll() is not None
    stopped = time.monotonic()
    second = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, start_new_session=True,
                              env=dict(os.environ, GRIDLOOP_HTTP_PORT=str(ports[0]),
                                       GRIDLOOP_AWS_PORT=str(ports[1]), GRIDLOOP_DYNAMODB_PORT=str(ports[2])),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert time.monotonic() - stopped < 1
    try:
        # THEN it comes up and serves, rather than refusing the ports as in use
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and second.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        assert second.poll() is None, second.stdout.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        os.killpg(second.pid, signal.SIGINT)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)


def test_a_port_in_use_is_refused_clearly(tmp_path):
    # GIVEN something else listening on the HTTP port
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # WHEN the stack is started on it
        result = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, timeout=60,
                                env=dict(os.environ, GRIDLOOP_HTTP_PORT=str(port),
                                         GRIDLOOP_AWS_PORT=str(free_port()), GRIDLOOP_DYNAMODB_PORT=str(free_port())),
                                capture_output=True, text=True)
    # THEN it refuses at once and says which port and which setting
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "GRIDLOOP_HTTP_PORT" in result.stderr
