"""services.ops over the in-memory fakes: what each command does to a case, and what it
leaves alone when it is run again or refused."""
from __future__ import annotations

import json

import pytest

from chalicelib.services.ops import OpsService
from tests.conftest import FakeServices

LOCATION = "changmu-01-1"      # level 1 m10, level 2 m06 (data/directory/changmu.yaml)


class FakeRedrive:
    def __init__(self):
        self.asked: list[tuple[str, int]] = []

    def move(self, purpose, limit):
        self.asked.append((purpose, limit))
        return {"moved": 0, "kept": 0, "failed": 0, "more": False}


@pytest.fixture
def office(services: FakeServices):
    redrive = FakeRedrive()
    service = OpsService(services.cases, services.workflow, services.notices, services.directory,
                         services.policy, services.clock, directory_admin=lambda: None, redrive=redrive)
    return service, redrive


def routed(services: FakeServices) -> str:
    case = services.intake.submit({"category": "sanitation", "location": LOCATION, "description": "灯坏了",
                                   "phone": "13912345678"}, source="web")
    services.run_intake()
    return case.code


def run(service, request="lambda:req-1", **event):
    return service.run({"operator": "wangfang", **event}, request=request)


def test_given_a_case_when_escalated_twice_with_the_same_level_then_it_climbs_once(services, office):
    service, _ = office
    code = routed(services)

    first = run(service, command="escalate", case=code, from_level=1, reason="没人接")
    again = run(service, command="escalate", case=code, from_level=1, reason="没人接")

    case = services.cases.get(code)
    assert (first["changed"], again["changed"]) == (True, False)
    assert (case.level, case.holder) == (2, "m06")
    ops_events = [e for e in case.history if e.event == "ops_escalated"]
    assert [(e.actor, json.loads(e.detail)["request"]) for e in ops_events] == [("ops:wangfang", "lambda:req-1")]


def test_given_another_operator_escalated_it_when_mine_runs_then_it_is_refused_not_repeated(services, office):
    service, _ = office
    code = routed(services)
    run(service, command="escalate", case=code, from_level=1, reason="r", operator="lisi")

    mine = run(service, command="escalate", case=code, from_level=1, reason="r")

    assert mine["error"]["code"] == "level_changed" and services.cases.get(code).level == 2


def test_given_a_case_at_the_top_when_escalated_then_it_is_refused_and_unchanged(services, office):
    service, _ = office
    code = routed(services)
    for level in (1, 2, 3, 4):
        assert run(service, command="escalate", case=code, from_level=level, reason="r")["changed"]
    before = services.cases.get(code).to_dict()

    answer = run(service, command="escalate", case=code, from_level=5, reason="r")

    assert answer["error"]["code"] == "at_top" and services.cases.get(code).to_dict() == before


def test_given_a_resolved_case_when_closed_then_nobody_is_texted_and_the_callback_clock_stops(services, office):
    service, _ = office
    code = routed(services)
    services.inbound.accept(services.member("changmu", "m10").phone, f"完成 {code}", "test")
    services.run_replies()
    texts = len(services.sms.sent)

    answer = run(service, command="close", case=code, reason="居民来电满意")

    case = services.cases.get(code)
    assert answer["case"]["status"] == "closed" and case.due_at is None and not case.awaiting_feedback
    assert len(services.sms.sent) == texts


def test_given_a_passed_on_notice_when_resent_then_it_is_refused_for_its_lost_details(services, office):
    service, _ = office
    code = routed(services)
    run(service, command="reassign", case=code, member="m07", reason="r")

    answer = run(service, command="resend", case=code, member="m10")    # transferred_away: names who

    assert answer["error"]["code"] == "not_resendable"


def test_given_show_without_personal_then_nothing_is_written_and_with_it_the_view_is_kept(services, office):
    service, _ = office
    code = routed(services)
    version = services.cases.get(code).version

    plain = run(service, command="show", case=code)
    assert services.cases.get(code).version == version and "reporter_phone" not in plain["case"]
    personal = run(service, command="show", case=code, personal=True, request=None)

    assert personal["case"]["reporter_phone"] == "+8613912345678"
    assert services.cases.get(code).history[-1].event == "ops_viewed"


def test_given_a_redrive_then_the_queue_and_limit_go_to_the_adapter(office):
    service, redrive = office

    answer = run(service, command="redrive", queue="escalation-dlq", max=3)

    assert answer["ok"] and redrive.asked == [("escalation", 3)]
