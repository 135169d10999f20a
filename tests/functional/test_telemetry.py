"""Metrics and JSON logs as a deployed function prints them (chalicelib.observability).

GRIDLOOP_TELEMETRY=1 switches on what AWS_LAMBDA_FUNCTION_NAME switches on in Lambda:
Powertools' EMF metrics and JSON logs, printed on stdout, which capsys reads back. A
report's life runs through the real handlers on moto: reported on the web, routed, left
unanswered until it climbs, acknowledged and resolved by SMS, then checked for its
yellow and red supervision, console and SMS reports, a dead letter and a redrive.
"""
from __future__ import annotations

import json

import pytest

from chalicelib.services.telemetry import METRICS
from tests.functional.conftest import (
    GRID_MEMBER,
    STAIRWELL_LEADER,
    escalate_due,
    invoke,
    member_phone,
    post_report,
    record,
    report,
    run_queue,
    send_to,
    sweep,
    text_in,
)

MINUTE = 60


@pytest.fixture
def telemetry_on(monkeypatch):
    monkeypatch.setenv("GRIDLOOP_TELEMETRY", "1")


@pytest.fixture
def stack(telemetry_on, aws_stack):       # the container is built with telemetry on
    return aws_stack


class Printed:
    """What the handlers printed: EMF lines and JSON log lines, each parsed."""

    def __init__(self, out: str):
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        self.emf = [line for line in lines if "_aws" in line]
        self.logs = [line for line in lines if "_aws" not in line and "level" in line]

    def values(self, name: str, **dimensions: str) -> list[float]:
        """Every value of metric `name` printed with exactly these dimensions (and service)."""
        wanted = {"service": "gridloop", **dimensions}
        found: list[float] = []
        for line in self.emf:
            (directive,) = line["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "gridloop"
            if name not in [m["Name"] for m in directive["Metrics"]]:
                continue
            for keys in directive["Dimensions"]:
                if {k: line[k] for k in keys} == wanted:
                    value = line[name]
                    found += value if isinstance(value, list) else [value]
        return found

    def total(self, name: str, **dimensions: str) -> float:
        return sum(self.values(name, **dimensions))


def test_a_reports_life_prints_its_metrics_by_community_and_in_all(client, stack, clock, capsys):
    capsys.readouterr()
    # a web report, routed to the stairwell leader
    response = post_report(client, report())
    code = response.json_body["code"]
    run_queue(client, stack, "intake")
    # unanswered for 30 minutes: it climbs to the grid member
    clock.advance(30 * MINUTE + 1)
    assert escalate_due(client, stack) == 1
    # who acknowledges it 10 minutes later and resolves it an hour after the report
    clock.advance(10 * MINUTE)
    text_in(stack, member_phone(stack, GRID_MEMBER), f"收到 {code}", client)
    clock.advance(20 * MINUTE - 1)
    text_in(stack, member_phone(stack, GRID_MEMBER), f"完成 {code}", client)
    printed = Printed(capsys.readouterr().out)

    for community in ({}, {"community": "changmu"}):      # every metric in all and by community
        assert printed.total("ReportsReceived", source="web", **community) == 1
        assert printed.total("CaseTransitions", from_status="received", to_status="assigned", **community) == 1
        assert printed.total("CaseTransitions", from_status="assigned", to_status="acknowledged", **community) == 1
        assert printed.total("CaseTransitions", from_status="acknowledged", to_status="resolved", **community) == 1
        assert printed.total("Escalations", level="1", **community) == 1
        assert printed.total("SlaBreaches", **community) == 1
        assert printed.values("TimeToAcknowledge", **community) == [pytest.approx(40 * MINUTE + 1)]
        assert printed.values("TimeToResolve", **community) == [pytest.approx(60 * MINUTE)]
    # texts: the reporter's code, the leader's, the grid member's and the leader's stand-down,
    # the reporter's call-back; the case worker's and the escalation worker's are the community's
    assert printed.total("SmsSent") == 5
    assert printed.total("SmsSegments") >= printed.total("SmsSent")
    assert printed.total("SmsSent", community="changmu") == 5
    assert printed.total("EscalationsQueued") == 1
    assert printed.total("SmsFailed") == 0


def test_supervisions_and_top_level_reminders_are_counted_by_colour_and_level(client, stack, clock, capsys):
    response = post_report(client, report())
    code = response.json_body["code"]
    run_queue(client, stack, "intake")
    text_in(stack, member_phone(stack, STAIRWELL_LEADER), f"收到 {code}", client)
    acknowledged = stack.cases.get(code)
    capsys.readouterr()
    clock.now = acknowledged.due_at + 1
    sweep(client)
    run_queue(client, stack, "escalation")
    clock.now = acknowledged.resolve_due_at + 1
    sweep(client)
    run_queue(client, stack, "escalation")
    printed = Printed(capsys.readouterr().out)
    assert printed.total("Supervisions", colour="yellow", level="2") == 1
    assert printed.total("Supervisions", colour="red", level="2", community="changmu") == 1
    assert printed.total("SlaBreaches") == 1                       # red only: yellow is a warning

    # another case climbs to the area chief, who does not answer either
    other = post_report(client, report(description="路灯坏了")).json_body["code"]
    run_queue(client, stack, "intake")
    for minutes in (30, 120, 240, 1440, 1440):
        clock.advance(minutes * MINUTE + 1)
        escalate_due(client, stack)
    printed = Printed(capsys.readouterr().out)
    assert stack.cases.get(other).level == 5
    assert printed.total("TopLevelReminders") >= 1
    assert [printed.total("Escalations", level=str(level)) for level in (1, 2, 3, 4)] == [1, 1, 1, 1]


def test_console_and_sms_reports_dead_letters_and_redrives_are_counted(client, stack, capsys):
    capsys.readouterr()
    send_to(stack, "intake", json.dumps({"category": "water_pipe", "location": "changmu-03-2",
                                         "description": "水管漏水", "source": "console"}, ensure_ascii=False))
    send_to(stack, "intake", "not json")
    run_queue(client, stack, "intake")
    text_in(stack, "+8613900139000", "5号楼1单元门口路灯坏了好几天", client)
    redriven = record(json.dumps({"kind": "nothing"}), purpose="intake")
    redriven["messageAttributes"] = {"message_id": {"stringValue": "the-first-id", "dataType": "String"}}
    invoke(client, "intake", [redriven])
    printed = Printed(capsys.readouterr().out)
    assert printed.total("ReportsReceived", source="console") == 1
    assert printed.total("ReportsReceived", source="sms", community="changmu") == 1
    assert printed.total("DeadLettered", queue="intake") == 2
    assert printed.total("Redriven", queue="intake") == 1


def test_a_text_sns_refuses_is_counted_as_failed(client, stack, monkeypatch, capsys):
    def refuse(**_):
        raise ConnectionError("SNS is unreachable")
    monkeypatch.setattr(stack.sns_client, "publish", refuse)
    post_report(client, report())
    capsys.readouterr()
    run_queue_allowing_failures(client, stack)
    printed = Printed(capsys.readouterr().out)
    assert printed.total("SmsFailed") == 1 and printed.total("SmsFailed", community="changmu") == 1
    assert printed.total("SmsSent") == 0


def run_queue_allowing_failures(client, stack) -> None:
    from tests.functional.conftest import receive_all, records_from
    invoke(client, "intake", records_from(receive_all(stack, "intake"), "intake"))


def test_log_lines_are_json_with_the_function_the_case_and_the_community(client, stack, capsys):
    from tests.functional.conftest import receive_all, records_from
    post_report(client, report())
    capsys.readouterr()
    messages = receive_all(stack, "intake")
    # a failing text makes the case worker log a warning, while it handles the case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stack.sns_client, "publish", lambda **_: (_ for _ in ()).throw(ConnectionError("down")))
        invoke(client, "intake", records_from(messages, "intake"))
    printed = Printed(capsys.readouterr().out)
    (warning,) = [line for line in printed.logs if line["message"].startswith("SMS for")]
    code = warning["message"].split()[2].rstrip(":")
    assert warning["level"] == "WARNING" and warning["service"] == "gridloop"
    assert warning["function"] == "case_worker"
    assert warning["case"] == code and warning["community"] == "changmu"


def test_every_metric_the_code_emits_is_declared():
    """What the adapter refuses: a metric not in METRICS, or with other dimensions."""
    from chalicelib.observability import PowertoolsTelemetry
    telemetry = PowertoolsTelemetry.__new__(PowertoolsTelemetry)
    telemetry._points, telemetry._case_community = {}, None
    with pytest.raises(ValueError):
        telemetry.count("NotAMetric")
    with pytest.raises(ValueError):
        telemetry.count("Escalations")                     # needs its level
    with pytest.raises(ValueError):
        telemetry.seconds("SmsSent", 1.0)                  # a Count
    assert all(spec.unit in ("Count", "Seconds") for spec in METRICS.values())
