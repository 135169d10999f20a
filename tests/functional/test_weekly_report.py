"""The weekly joint-meeting report through the real scheduled handler on moto, to a group
robot on 127.0.0.1; and the CLI, against the same stack and with its in-process demo."""
from __future__ import annotations

import json

import pytest

from tests.functional.conftest import member_phone, routed_report, text_in
from tests.functional.test_digest import KEY, Robot, at
from tests.functional.test_digest import run_schedule as run_digest_schedule
from tests.functional.test_orders_by_sms import order_code
from tests.functional.test_personal_data import phone_forms

# Registered households of changmu (data/directory): 3-2, 1-1 and 11-2.
RESIDENTS = ("+8613709741001", "+8613709741002", "+8613709741003")
WISH = "想要一副老花镜"


@pytest.fixture
def robot():
    """The group robot of tests.functional.test_digest, on 127.0.0.1."""
    server = Robot()
    yield server
    server.close()


@pytest.fixture
def configured(monkeypatch, robot):
    monkeypatch.setenv("GRIDLOOP_WEEKLY_WEBHOOKS", json.dumps({"changmu": {"url": robot.url}}))
    return robot


def run_schedule(client):
    return run_digest_schedule(client, "weekly_report")


def a_week_of_two_cases(client, stack, clock) -> tuple[str, str]:
    """In week 2026-W47: one case resolved by its stairwell leader, one left open."""
    clock.now = at("2026-11-17 10:00")
    done = routed_report(client, stack)                                  # changmu-01-1, m10
    leader = member_phone(stack, "m10")
    clock.advance(600)
    text_in(stack, leader, f"收到 {done}", client)
    clock.advance(3600)
    text_in(stack, leader, f"完成 {done}", client)
    clock.now = at("2026-11-19 15:00")
    still_open = routed_report(client, stack, category="water_pipe", location="changmu-06-1")
    return done, still_open


def test_the_committee_gets_last_week_s_report_once(client, aws_stack, clock, configured):
    robot = configured
    done, still_open = a_week_of_two_cases(client, aws_stack, clock)

    # GIVEN Monday before 08:00: nothing is due
    clock.now = at("2026-11-23 07:30")
    assert run_schedule(client) == {"sent": []}

    # WHEN the hourly schedule runs at 08:00
    clock.now = at("2026-11-23 08:00")
    result = run_schedule(client)

    # THEN the committee's robot gets last week's summary, as WeCom markdown
    assert [(r["community"], r["week"], r["cases"]) for r in result["sent"]] == [("changmu", "2026-W47", 2)]
    assert len(robot.received) == 1 and robot.paths[0] == f"/cgi-bin/webhook/send?key={KEY}"
    summary = robot.received[0]["json"]["markdown"]["content"]
    assert summary.startswith("### 【常牧家园】多方联席会议周报\n> 2026年第47周（11月16日至11月22日）")
    assert "受理 **2** · 已办结 **1**" in summary and "第一网格：受理 1" in summary
    # with no resident's data, and no member's name in the chat
    for private in ("13912345678", "卓玛", "楼道灯坏了", "stairwell light",
                    aws_stack.directory().member("changmu", "m10").name):
        assert private not in summary
    # AND the report as sent is kept with the week's record
    stored = aws_stack.weekly_reports.stored("changmu", "2026-W47")
    assert stored["total"]["cases"] == 2 and stored["grids"][0]["members"][0]["id"] == "m10"
    assert [c["code"] for c in stored["longest_open"]] == [still_open]
    assert "卓玛" not in json.dumps(stored, ensure_ascii=False)

    # WHEN the schedule runs again that week, also from a new (cold) container
    clock.now = at("2026-11-23 09:00")
    assert run_schedule(client) == {"sent": []}
    aws_stack.__dict__.pop("weekly_reports")
    clock.now = at("2026-11-26 12:00")
    assert run_schedule(client) == {"sent": []}
    # THEN nothing more is sent
    assert len(robot.received) == 1

    # AND the next Monday brings the next week's
    clock.now = at("2026-11-30 08:00")
    assert [r["week"] for r in run_schedule(client)["sent"]] == ["2026-W48"]
    assert len(robot.received) == 2


def test_a_robot_that_refuses_fails_the_run_and_a_later_run_sends_it(client, aws_stack, clock, configured):
    robot = configured
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    clock.now = at("2026-11-23 08:00")
    with pytest.raises(Exception) as failure:
        run_schedule(client)
    assert "errcode 93000" in str(failure.value) and KEY not in str(failure.value)
    assert aws_stack.weekly_reports.stored("changmu", "2026-W47") is None

    robot.answer = {"errcode": 0, "errmsg": "ok"}
    clock.now = at("2026-11-23 09:00")
    assert [r["week"] for r in run_schedule(client)["sent"]] == ["2026-W47"]
    assert run_schedule(client) == {"sent": []}
    assert len(robot.received) == 2                     # one refused, one taken


def test_without_a_setting_the_schedule_does_nothing(client, aws_stack, clock, monkeypatch):
    monkeypatch.delenv("GRIDLOOP_WEEKLY_WEBHOOKS", raising=False)
    clock.now = at("2026-11-23 08:00")
    assert run_schedule(client) == {"sent": []}


def a_week_of_orders(client, stack, clock) -> dict[str, str]:
    """In week 2026-W47, by SMS through the real handlers: a proxy service ordered, dispatched,
    claimed, done and rated 1; another rated 2 (back to its claimant); a micro-wish not
    dispatched. Returns order code → who claimed it (or "")."""
    def placed(phone: str, text: str) -> str:
        text_in(stack, phone, text, client)
        return order_code(phone)

    def served(code: str, answer: str, resident: str) -> str:
        order = stack.orders.orders.get(code)
        text_in(stack, member_phone(stack, order.dispatcher), f"派单 {code}", client)
        claimant = stack.orders.orders.get(code).pool[0]
        clock.advance(1800)
        text_in(stack, member_phone(stack, claimant), f"接单 {code}", client)
        clock.advance(3600)
        text_in(stack, member_phone(stack, claimant), f"完成 {code}", client)
        clock.advance(600)
        text_in(stack, resident, answer, client)
        return claimant

    clock.now = at("2026-11-17 10:00")
    first = placed(RESIDENTS[0], "点单 医保")
    claimants = {first: served(first, "1", RESIDENTS[0])}
    clock.now = at("2026-11-18 10:00")
    second = placed(RESIDENTS[1], "点单 低保")
    claimants[second] = served(second, "2", RESIDENTS[1])
    clock.now = at("2026-11-19 10:00")
    claimants[placed(RESIDENTS[2], f"点单 心愿 {WISH}")] = ""
    assert stack.orders.orders.get(first).status.value == "verified"
    assert stack.orders.orders.get(second).status.value == "in_progress"
    return claimants


def test_the_week_s_orders_and_points_are_in_the_report_and_no_resident_is(client, aws_stack, clock, configured):
    robot = configured
    # GIVEN a week of orders placed, claimed and verified by SMS through the real handlers
    claimants = a_week_of_orders(client, aws_stack, clock)
    first = next(iter(claimants))

    # WHEN the weekly report goes out on Monday
    clock.now = at("2026-11-23 08:00")
    assert [r["week"] for r in run_schedule(client)["sent"]] == ["2026-W47"]

    # THEN its orders section counts them per kind
    report = aws_stack.weekly_reports.stored("changmu", "2026-W47")
    kinds = {k["kind"]: k for k in report["orders"]["kinds"]}
    proxy, wish = kinds["proxy_service"], kinds["micro_wish"]
    assert (proxy["ordered"], proxy["dispatched"], proxy["claimed"], proxy["completed"]) == (2, 2, 2, 1)
    assert (proxy["confirmations"], proxy["satisfaction"]) == (2, 50.0)
    assert proxy["median_seconds_to_claim"] == 1800.0 and proxy["median_seconds_to_complete"] == 5400.0
    assert (wish["ordered"], wish["dispatched"], wish["claimed"]) == (1, 0, 0)
    # AND the member who served the verified order is on the honour roll with the points the ledger credited
    community = aws_stack.directory().communities["changmu"]
    credited = aws_stack.points.entry(f"order:{first}:verified")
    assert credited is not None
    roll = report["orders"]["honour_roll"]
    assert roll[0] == {**roll[0], "id": claimants[first], "name": community.members[claimants[first]].name,
                       "points": credited.points}
    assert any(m["id"] == claimants[first] for g in report["grids"] for m in g["honour_roll"])
    # AND the summary to the chat counts the orders and names nobody
    summary = robot.received[0]["json"]["markdown"]["content"]
    assert "**为民服务（三单）** 点单 3 · 派单 2 · 接单 2 · 办结 1 · 满意率 50%" in summary
    assert community.members[claimants[first]].name not in summary
    # AND no resident's phone, in any form, nor the wish they wrote, is in the report, its page or the summary
    page = aws_stack.weekly_reports.html(report)
    assert community.members[claimants[first]].name in page and "积分榜" in page
    for text in (json.dumps(report, ensure_ascii=False), page, summary):
        for phone in RESIDENTS:
            for form in phone_forms(phone):
                assert form not in text
        assert WISH not in text and "老花镜" not in text


# -- the CLI --------------------------------------------------------------------------------------------
def test_the_cli_writes_the_page_and_the_json_of_a_stage_s_week(client, aws_stack, clock, tmp_path, capsys):
    from tools.weekly_report import main

    done, still_open = a_week_of_two_cases(client, aws_stack, clock)
    page, data = tmp_path / "week.html", tmp_path / "week.json"
    assert main(["--community", "changmu", "--week", "2026-W47", "--html", str(page), "--json", str(data)]) == 0
    report = json.loads(data.read_text(encoding="utf-8"))
    assert (report["week"], report["total"]["cases"], report["total"]["resolved"]) == ("2026-W47", 2, 1)
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg ") == 4 and still_open in html and "卓玛" not in html

    capsys.readouterr()
    assert main(["--community", "changmu", "--week", "2026-W47"]) == 0      # neither file: a summary
    assert "2026-W47" in capsys.readouterr().out
    assert main(["--community", "changmu", "--week", "2026-47"]) == 1
    assert "2026-W47" in capsys.readouterr().err
    assert main(["--community", "nowhere", "--week", "2026-W47"]) == 1
    assert "no community nowhere" in capsys.readouterr().err
    assert main(["--community", "changmu", "--week", "2026-W47", "--stored"]) == 1
    assert "was sent" in capsys.readouterr().err


def test_the_cli_s_demo_runs_a_synthetic_week_through_the_services(tmp_path, monkeypatch):
    from tests.conftest import use_test_environment
    from tools.weekly_report import main

    use_test_environment(monkeypatch)
    data = tmp_path / "demo.json"
    # a smaller demo than the picture in docs/digest-and-weekly.md, to stay fast
    assert main(["--demo", "--demo-per-day", "3", "--demo-weeks-before", "1", "--json", str(data)]) == 0
    report = json.loads(data.read_text(encoding="utf-8"))
    assert report["week"] == "2026-W47" and report["built_at"] == "2026-11-23T08:00:00+08:00"
    assert report["total"]["cases"] >= 7 and report["total"]["acknowledged"] > 0
    assert any(g["members"] for g in report["grids"]) and report["categories"]
