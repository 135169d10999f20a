"""What the status page may say of a case (domain.public_status): its state, the steps a
resident cares about with the role that held it, and when its own clock expects the next."""
from __future__ import annotations

from dataclasses import fields

from chalicelib.domain.case import Case
from chalicelib.domain.directory import Level
from chalicelib.domain.policy import EscalationPolicy
from chalicelib.domain.public_status import STEPS, Expected, PublicStatus, Step, public_status
from tests.unit.builders import tiny

T0 = 1_000_000.0
POLICY = EscalationPolicy("test-v1", {1: 1800, 2: 7200, 3: 14400, 4: 86400, 5: 86400},
                          resolve_seconds={1: 86400, 2: 86400, 3: 86400, 4: 86400, 5: 86400})
CHAIN = [Level(1, "stairwell_leader", "sl", ("sl", "bl")), Level(2, "grid_member", "gm", ("gm",)),
         Level(3, "grid_chief", "chief", ("chief",)), Level(4, "committee", "k1", ("k1", "k2")),
         Level(5, "area_chief", "area", ("area",))]
COMMUNITY = tiny()


def received(location: str = "tiny-01-1") -> Case:
    return Case.receive(id="id-1", code="ABC234", community_id="tiny", category="water_pipe", location=location,
                        description="水管漏水，卓玛家", now=T0, reporter_phone="+8613912345678", reporter_name="卓玛")


def routed() -> Case:
    case = received()
    case.route(CHAIN, POLICY, T0)
    return case


def test_given_a_routed_case_when_shown_then_it_is_with_the_first_role_and_due_to_be_taken_on_by_its_ack_deadline():
    case = routed()

    status = public_status(case, COMMUNITY)

    assert status.state == "assigned" and status.role == "stairwell_leader"
    assert [(s.kind, s.role) for s in status.steps] == [("received", None), ("assigned", "stairwell_leader")]
    assert status.expected == Expected("acknowledged", T0 + 1800, "stairwell_leader")


def test_given_an_escalated_then_acknowledged_case_when_shown_then_each_step_names_its_role_and_the_resolve_limit():
    case = routed()
    assert case.escalate(case.due_at, POLICY, case.due_at)
    case.acknowledge("gm", T0 + 2000, POLICY)

    status = public_status(case, COMMUNITY)

    assert [(s.kind, s.role) for s in status.steps] == [
        ("received", None), ("assigned", "stairwell_leader"), ("escalated", "grid_member"),
        ("acknowledged", "grid_member")]
    assert status.state == "acknowledged"
    assert status.expected == Expected("resolved", case.resolve_due_at, "grid_member")


def test_given_a_resolved_case_when_shown_then_it_has_no_expected_time_and_no_holder():
    case = routed()
    case.acknowledge("sl", T0 + 60, POLICY)
    case.resolve("sl", T0 + 120, POLICY)

    status = public_status(case, COMMUNITY)

    assert status.state == "resolved" and status.expected is None and status.role is None
    assert status.steps[-1] == Step(T0 + 120, "resolved", "stairwell_leader")


def test_given_an_sms_report_without_a_place_when_shown_then_its_place_is_being_checked():
    case = received(location="tiny")         # triage: the community's id as its location

    assert public_status(case, COMMUNITY).state == "triage"
    assert public_status(received(), COMMUNITY).state == "received"


def test_given_any_case_when_shown_then_nothing_personal_is_in_what_the_page_gets():
    # GIVEN a case with a reporter's phone and name, members' ids on its events and notices
    case = routed()
    case.acknowledge("sl", T0 + 60, POLICY)
    case.outbox.clear()
    # WHEN it is shown THEN the status carries codes, kinds, roles and times only
    status = public_status(case, COMMUNITY)
    assert {f.name for f in fields(PublicStatus)} == {"code", "state", "category", "location", "community_id",
                                                      "role", "steps", "expected", "affected", "duplicate_of"}
    assert {f.name for f in fields(Step)} == {"at", "kind", "role"}
    text = repr(status)
    for personal in ("+8613912345678", "卓玛", "水管漏水", "sl", "bl", "gm"):
        assert f"'{personal}'" not in text, personal
    assert set(STEPS.values()) >= {s.kind for s in status.steps}
