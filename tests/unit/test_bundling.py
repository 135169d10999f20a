"""Bundling: a phone gets at most one text per send window (two minutes); what comes in
between waits and goes as one text when the window ends (services.notices).

Over the in-memory fakes (tests/fakes.py: InMemoryCases takes and joins the windows in
its save, as DynamoDB's transaction does). Demo directory, location changmu-01-1:
level 1 m10 (stairwell leader), 2 m06 (grid member).
"""
from __future__ import annotations

import pytest

from chalicelib.domain.case import Status
from chalicelib.domain.messages import BRIEFS, TEMPLATES, brief, render_bundle
from chalicelib.domain.segments import segments
from chalicelib.services.notices import BUNDLE_SECONDS, NoticeDelivery
from chalicelib.services.workflow import CaseWorkflow

LOCATION = "changmu-01-1"


@pytest.fixture
def services(services):
    """The fake services with bundling on, and the communities' policies (urgent, quiet hours)."""
    from chalicelib.bootstrap import Container
    from tests.conftest import _config

    policies = Container(_config(), services.clock).policies
    services.notices = NoticeDelivery(
        services.cases, services.sms, services.directory, services.categories, services.clock,
        contacts=services.contacts,
        policy_for=lambda case: policies.for_case(case.community_id, case.category, case.priority),
        windows=services.cases.send_windows)
    services.workflow = CaseWorkflow(services.cases, services.notices, services.sms, services.escalation_queue,
                                     services.directory, policies, services.clock,
                                     intake=services.intake, contacts=services.contacts)
    return services


def report(services, location=LOCATION, category="sanitation", **extra):
    """A report submitted and routed by the case worker; returns its code."""
    code = services.intake.submit({"category": category, "location": location,
                                   "description": "楼道里有垃圾", **extra}).code
    services.run_intake()
    return code


def phone(services, member_id, community="changmu"):
    return services.member(community, member_id).phone


def sweep(services) -> None:
    services.workflow.sweep()
    services.run_escalations()


def events(services, code) -> list[str]:
    return [e.event for e in services.cases.get(code).history]


class TestTwoCasesForOneMember:
    def test_the_first_goes_at_once_and_the_second_waits(self, services):
        first = report(services)
        services.clock.advance(30)
        second = report(services)

        leader = phone(services, "m10")
        texts = services.sms.to(leader)
        assert len(texts) == 1 and first in texts[0]
        held = services.cases.get(second)
        assert held.status is Status.ASSIGNED            # the case moved; only its text waits
        (notice,) = held.outbox
        assert notice.not_before == pytest.approx(services.clock.now - 30 + BUNDLE_SECONDS)
        assert "notice_bundled" in events(services, second)

    def test_when_the_window_ends_the_sweep_sends_the_waiting_one(self, services):
        report(services)
        services.clock.advance(30)
        second = report(services)
        services.sms.sent.clear()

        services.clock.advance(BUNDLE_SECONDS - 30 - 1)
        sweep(services)
        assert services.sms.sent == []                   # not before the window ends

        services.clock.advance(1)
        sweep(services)
        (text,) = services.sms.to(phone(services, "m10"))
        assert second in text and "新事项" in text        # one notice alone: its own full text
        assert services.cases.get(second).outbox == []


def test_given_three_cases_within_a_window_then_the_second_and_third_go_as_one_text(services):
    first = report(services)
    services.clock.advance(20)
    second = report(services)
    services.clock.advance(20)
    third = report(services)
    leader = phone(services, "m10")
    assert len(services.sms.to(leader)) == 1

    services.clock.advance(BUNDLE_SECONDS)
    sweep(services)

    texts = services.sms.to(leader)
    assert len(texts) == 2 and first in texts[0]
    bundle = texts[1]
    assert second in bundle and third in bundle and "2条通知" in bundle
    # Both cases record the one text that carried their notice.
    ids = {[e for e in services.cases.get(code).history if e.event == "notified"][-1].detail.rsplit(":", 1)[1]
           for code in (second, third)}
    assert len(ids) == 1
    sweep(services)                                      # nothing is left to send
    assert len(services.sms.to(leader)) == 2


def test_given_a_window_ended_with_cases_waiting_when_a_new_case_comes_then_all_go_in_one_text_at_once(services):
    report(services)
    services.clock.advance(10)
    second = report(services)
    services.clock.advance(BUNDLE_SECONDS)               # the window has ended; no sweep yet
    third = report(services)

    leader = phone(services, "m10")
    texts = services.sms.to(leader)
    assert len(texts) == 2
    assert second in texts[1] and third in texts[1]      # the waiting one did not lose its turn


def test_given_the_phone_had_a_text_then_the_residents_code_still_goes_at_once(services):
    resident = "+8613912345678"
    report(services, phone=resident)
    services.clock.advance(5)
    second = report(services, phone=resident)
    texts = services.sms.to(resident)
    assert len(texts) == 2 and second in texts[1]        # a direct answer never waits


def test_given_an_urgent_case_then_its_notices_never_wait(services):
    member = phone(services, "m06")
    report(services, category="neighbour_dispute")       # the grid member follows it: a text
    before = len(services.sms.to(member))
    assert before == 1
    gas = report(services, category="gas_leak")          # within the grid member's window
    texts = services.sms.to(member)
    assert len(texts) == before + 1 and gas in texts[-1]


def test_given_the_bundle_send_fails_then_the_retry_sends_each_notice_once(services, monkeypatch):
    report(services)
    services.clock.advance(10)
    second = report(services)
    services.clock.advance(10)
    third = report(services)
    services.clock.advance(BUNDLE_SECONDS)
    real_send, failed = services.sms.send, []

    def down_once(to, text, case_id=None):
        if not failed:
            failed.append(text)
            raise ConnectionError("gateway down")
        return real_send(to, text, case_id)

    monkeypatch.setattr(services.sms, "send", down_once)
    services.workflow.sweep()
    for body in services.escalation_queue.take():
        try:
            services.workflow.escalate(body)
        except ConnectionError:
            pass
    assert failed
    services.clock.advance(BUNDLE_SECONDS)               # the failed attempt took the window
    sweep(services)
    leader = phone(services, "m10")
    delivered = " ".join(services.sms.to(leader)[1:])
    assert delivered.count(second) == 1 and delivered.count(third) == 1
    assert all(services.cases.get(code).outbox == [] for code in (second, third))


# -- the words ---------------------------------------------------------------------------------

@pytest.mark.parametrize("template", sorted(BRIEFS))
def test_every_brief_has_both_languages_and_renders_with_a_real_case(template):
    params = dict(code="7KQ2XM", location="3号楼2单元", category="环境卫生", holder="王芳", by="王芳",
                  to="王芳", role="网格员", days=3, into="XYZ789", duplicate="XYZ789", affected=3)
    for lang in ("zh", "en"):
        assert lang in BRIEFS[template] and template in TEMPLATES
        line = brief(template, lang, **params)
        assert "7KQ2XM" in line and "{" not in line


def test_a_template_without_a_brief_goes_in_without_the_community_name():
    line = brief("refused_not_on_chain", "zh", code="7KQ2XM", community="常牧家园")
    assert line.startswith("抱歉") and not line.endswith("。")


def test_three_assignments_in_one_text_cost_fewer_segments_than_three_texts():
    lines = [brief("assigned", "zh", code=code, location="3号楼2单元", category="环境卫生")
             for code in ("7KQ2XM", "8PR3YN", "9ST4ZP")]
    bundle = render_bundle(lines, "zh", "常牧家园")
    assert bundle.startswith("【常牧家园】3条通知") and all(code in bundle for code in ("7KQ2XM", "8PR3YN", "9ST4ZP"))
    assert segments(bundle) < 3


def test_given_two_notices_held_for_quiet_hours_then_they_go_as_one_text_in_the_morning(services):
    # Garang's nights are quiet from 22:00 to 07:00; the fake clock reads 22:13 in Beijing.
    # A stairwell light goes to property management with the stairwell leader following:
    # the following notice asks for nothing before morning.
    first = report(services, location="garang-01-1", category="stairwell_light")
    services.clock.advance(15 * 60)
    # another category: the same one would join the first case (services.duplicates)
    second = report(services, location="garang-01-1", category="heating")
    follower = services.cases.get(first).chain[0].followers[0]
    assert follower == services.cases.get(second).chain[0].followers[0]
    follower_phone = phone(services, follower, community="garang")
    assert services.sms.to(follower_phone) == []

    services.clock.advance(9 * 3600)                     # past 07:00
    sweep(services)

    (text,) = services.sms.to(follower_phone)
    assert first in text and second in text and "2条通知" in text
