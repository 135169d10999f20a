"""The away members' daily digest through the real scheduled handler, on moto, to a real
HTTP server on 127.0.0.1 playing a WeCom group robot; and the webhook adapter against it."""
from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.webhook import WebhookError, WebhookSender
from tests.functional.conftest import member_phone, routed_report, text_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY = "functional-test-robot-key"


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()


class Robot:
    """A group robot on 127.0.0.1, random port: keeps every JSON body it gets and answers as
    WeCom does, or with `answer` / `status` when a test wants it to fail."""

    def __init__(self):
        robot = self
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.answer: dict | str = {"errcode": 0, "errmsg": "ok"}
        self.status = 200
        self.delay = 0.0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):   # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                robot.paths.append(self.path)
                robot.received.append({"content_type": self.headers.get("Content-Type"),
                                       "json": json.loads(body.decode("utf-8"))})
                if robot.delay:
                    threading.Event().wait(robot.delay)
                answer = robot.answer if isinstance(robot.answer, str) else json.dumps(robot.answer)
                data = answer.encode("utf-8")
                try:
                    self.send_response(robot.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):   # the caller gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key={KEY}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def contents(self) -> list[str]:
        return [m["json"][m["json"]["msgtype"]]["content"] for m in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot():
    server = Robot()
    yield server
    server.close()


@pytest.fixture
def configured(monkeypatch, robot):
    monkeypatch.setenv("GRIDLOOP_DIGEST_WEBHOOKS", json.dumps({"changmu": {"url": robot.url, "hour": 8}}))
    return robot


def run_schedule(client, function: str = "daily_digest"):
    """What EventBridge's rule does on its schedule: invoke the function with its event."""
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=[f"arn:aws:events:us-east-1:123456789012:rule/gridloop-local-{function}"])
    return client.lambda_.invoke(function, event).payload


# -- through the handler -------------------------------------------------------------------------------
def test_an_away_member_s_digest_arrives_at_the_group_robot_once_a_day(client, aws_stack, clock, configured):
    robot = configured
    clock.now = at("2026-09-21 07:30")
    code = routed_report(client, aws_stack)                              # changmu-01-1: grid g1
    grid = aws_stack.directory().communities["changmu"].grid_of("changmu-01-1")

    # before 08:00 (Asia/Shanghai) nothing goes out
    assert run_schedule(client) == {"sent": []}
    assert robot.received == []

    # at 08:00, each grid an away member follows gets its digest, as WeCom markdown
    clock.now = at("2026-09-21 08:00")
    result = run_schedule(client)
    assert [d["grid"] for d in result["sent"]] == ["g1", "g2", "g3", "g4"]
    assert all(m["content_type"].startswith("application/json") for m in robot.received)
    assert all(set(m["json"]) == {"msgtype", "markdown"} for m in robot.received)
    assert robot.paths[0] == f"/cgi-bin/webhook/send?key={KEY}"
    digest = robot.contents()[["g1", "g2", "g3", "g4"].index(grid)]
    assert digest.startswith(
        f"### 【常牧家园】{aws_stack.directory().communities['changmu'].grids[grid].name} 每日简报")
    assert f"`{code}` 环境卫生 · 1号楼1单元 · 待接单 · 第1级" in digest
    assert "新受理 **1**" in digest and "未办结 **1**" in digest
    # no resident's personal data: the report's phone, name and description stay out
    for private in ("13912345678", "卓玛", "楼道灯坏了", "stairwell light"):
        assert all(private not in content for content in robot.contents())
    # and it is recorded, for the console and for the next run
    item = aws_stack.digest._log._model.get("changmu", f"2026-09-21#{grid}")
    assert item.status == "sent" and item.sent_at == clock.now and int(item.attempts) == 1

    # the hourly runs later that day send nothing more, even from a new (cold) container
    clock.now = at("2026-09-21 09:00")
    assert run_schedule(client) == {"sent": []}
    aws_stack.__dict__.pop("digest")
    assert run_schedule(client) == {"sent": []}
    assert len(robot.received) == 4

    # the stairwell leader resolves it; the next morning's digest says so
    leader = member_phone(aws_stack, "m10")
    text_in(aws_stack, leader, f"收到 {code}", client)
    text_in(aws_stack, leader, f"完成 {code}", client)
    clock.now = at("2026-09-22 08:00")
    run_schedule(client)
    g1_next = robot.contents()[4 + ["g1", "g2", "g3", "g4"].index(grid)]
    assert "9月21日 08:00 至 9月22日 08:00" in g1_next
    assert f"`{code}` 环境卫生 · 1号楼1单元 · 已办结" in g1_next and "已办结 **1**" in g1_next


def test_a_robot_that_refuses_fails_the_run_and_a_later_run_sends_it(client, aws_stack, clock, configured):
    robot = configured
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    clock.now = at("2026-09-21 08:05")
    with pytest.raises(Exception) as failure:
        run_schedule(client)
    assert "errcode 93000" in str(failure.value) and KEY not in str(failure.value)
    item = aws_stack.digest._log._model.get("changmu", "2026-09-21#g1")
    assert item.status == "failed" and "93000" in item.error and KEY not in item.error

    robot.answer = {"errcode": 0, "errmsg": "ok"}
    clock.now = at("2026-09-21 09:00")
    assert len(run_schedule(client)["sent"]) == 4
    assert len(robot.received) == 8                      # four refused, four taken
    assert aws_stack.digest._log._model.get("changmu", "2026-09-21#g1").status == "sent"


def test_without_a_setting_the_schedule_does_nothing(client, aws_stack, clock, monkeypatch):
    monkeypatch.delenv("GRIDLOOP_DIGEST_WEBHOOKS", raising=False)
    clock.now = at("2026-09-21 08:00")
    assert run_schedule(client) == {"sent": []}


# -- the webhook adapter -------------------------------------------------------------------------------
def test_the_adapter_posts_utf8_json_and_returns_the_answer(robot):
    payload = {"msgtype": "markdown", "markdown": {"content": "### 【常牧家园】第一网格 每日简报"}}
    assert WebhookSender(timeout=5).post(robot.url, payload) == {"errcode": 0, "errmsg": "ok"}
    assert robot.received == [{"content_type": "application/json; charset=utf-8", "json": payload}]


@pytest.mark.parametrize("status, answer, message", [
    (200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "errcode 93000, invalid webhook url"),
    (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, "errcode 45009"),
    (200, "<html>not json</html>", "not JSON"),
    (200, "[]", "errcode None"),
    (500, {"errcode": -1, "errmsg": "system busy"}, "answered HTTP 500"),
    (404, "", "answered HTTP 404"),
])
def test_the_adapter_raises_unless_the_robot_took_it(robot, status, answer, message):
    robot.status, robot.answer = status, answer
    with pytest.raises(WebhookError) as error:
        WebhookSender(timeout=5).post(robot.url, {"msgtype": "text", "text": {"content": "x"}})
    assert message in str(error.value)
    assert KEY not in str(error.value) and "/cgi-bin/webhook/send?…" in str(error.value)


def test_the_adapter_gives_up_after_its_timeout(robot):
    robot.delay = 1.0
    with pytest.raises(WebhookError, match="unreachable") as error:
        WebhookSender(timeout=0.2).post(robot.url, {"msgtype": "text", "text": {"content": "x"}})
    assert KEY not in str(error.value)


def test_the_adapter_reports_an_unreachable_robot(robot):
    url = robot.url
    robot.close()
    with pytest.raises(WebhookError, match="unreachable") as error:
        WebhookSender(timeout=2).post(url, {"msgtype": "text", "text": {"content": "x"}})
    assert KEY not in str(error.value)


def test_the_digest_tells_the_month_s_orders_and_each_away_member_s_points(client, aws_stack, clock, configured):
    from tests.functional.test_orders_by_sms import RESIDENT, order_code
    from tests.functional.test_personal_data import phone_forms

    robot = configured
    community = aws_stack.directory().communities["changmu"]
    # GIVEN an order placed, dispatched, claimed, done and rated 1 by SMS this month, and an away
    # member (m34, away stairwell leader of grid 1) credited for a community event
    clock.now = at("2026-09-21 07:00")
    text_in(aws_stack, RESIDENT, "点单 医保", client)
    code = order_code(RESIDENT)
    order = aws_stack.orders.orders.get(code)
    text_in(aws_stack, member_phone(aws_stack, order.dispatcher), f"派单 {code}", client)
    claimant = aws_stack.orders.orders.get(code).pool[0]
    for text in (f"接单 {code}", f"完成 {code}"):
        text_in(aws_stack, member_phone(aws_stack, claimant), text, client)
    text_in(aws_stack, RESIDENT, "1", client)
    assert aws_stack.orders.orders.get(code).status.value == "verified"
    aws_stack.points.credit_event(community_id="changmu", account="member:changmu:m34", event="2026-09-05-clinic",
                                  points=5, at=at("2026-09-05 10:00"))

    # WHEN the digest goes out at 08:00
    clock.now = at("2026-09-21 08:00")
    sent = run_schedule(client)["sent"]

    # THEN every grid's digest counts the community's order of the month, and the grid of its
    # claimant says its member took it
    assert [(d["grid"], d["orders"], d["orders_completed"]) for d in sent] == [
        (g, 1, 1) for g in ("g1", "g2", "g3", "g4")]
    contents = dict(zip(("g1", "g2", "g3", "g4"), robot.contents(), strict=True))
    assert all("**9月为民服务（三单）**\n本社区点单 **1** · 已办结 1 · 办理中 0" in c for c in contents.values())
    theirs = sorted(community.member_grids()[claimant])
    assert all("本网格党员接单 1 · 已办结 1" in contents[g] for g in theirs)
    # AND grid 1's away members each have their line: m34's +5, by the tail of their phone
    assert f"尾号{community.members['m34'].phone[-4:]}：本月 +5 · 余额 5" in contents["g1"]
    assert contents["g1"].count("尾号") == 3                               # m34, m36, m37
    # AND no resident's phone, nor any member's name or whole phone
    for content in contents.values():
        assert not any(form in content for form in phone_forms(RESIDENT))
        for member in community.members.values():
            assert member.name not in content
            assert not any(form in content for form in phone_forms(member.phone))
