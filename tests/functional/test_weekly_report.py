"""The weekly joint-meeting report through the real scheduled handler on moto, to a group
robot on 127.0.0.1; and the CLI, against the same stack and with its in-process demo."""
from __future__ import annotations

import json

import pytest

from tests.functional.conftest import member_phone, routed_report, text_in
from tests.functional.test_digest import KEY, Robot, at
from tests.functional.test_digest import run_schedule as run_digest_schedule


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
