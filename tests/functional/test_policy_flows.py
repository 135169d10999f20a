"""The community's escalation policy through the real handlers on moto: routing by
category, urgent cases, 延期 / 同意 / 不同意, 挂起 / 恢复, 转办 and leave."""
from __future__ import annotations

import dataclasses

import pytest

from tests.functional.conftest import (
    GRID_MEMBER,
    STAIRWELL_LEADER,
    case,
    escalate_due,
    member_phone,
    routed_report,
    sms_to,
    sweep,
    text_in,
)

MINUTE = 60.0
GRID_CHIEF = "m02"           # grid 1's chief: level 3 for changmu-01-1
COMMITTEE = "m03"            # the first committee member (两委)
MEDIATOR = "m41"             # 暖心调解室
PROPERTY_MANAGER = "m45"     # 物业
OTHER_LEADER = "m11"         # building 2's leader, in the same community


def acknowledged_report(client, aws_stack, **overrides) -> str:
    code = routed_report(client, aws_stack, **overrides)
    holder = case(aws_stack, code).holder
    text_in(aws_stack, member_phone(aws_stack, holder), f"收到 {code}", client)
    assert case(aws_stack, code).status.value == "acknowledged"
    return code


# -- routing by category -----------------------------------------------------------------

def test_a_gas_leak_reaches_the_grid_member_and_the_grid_chief_at_once(client, aws_stack, clock):
    # WHEN a resident reports a gas leak
    code = routed_report(client, aws_stack, category="gas_leak", description="楼道里有煤气味")
    # THEN it starts at the grid member (level 2), and the grid chief is told at the same time
    stored = case(aws_stack, code)
    assert (stored.level, stored.holder, stored.policy_version) == (2, GRID_MEMBER, "changmu-2026-11-24#urgent")
    assert "新事项" in sms_to(member_phone(aws_stack, GRID_MEMBER))[-1]
    assert "紧急事项" in sms_to(member_phone(aws_stack, GRID_CHIEF))[-1]
    assert sms_to(member_phone(aws_stack, STAIRWELL_LEADER)) == []
    # AND it runs on clock time: five minutes to acknowledge, day or night
    assert stored.due_at == pytest.approx(clock.now + 5 * MINUTE)
    # AND the grid chief may take it over by acknowledging it
    text_in(aws_stack, member_phone(aws_stack, GRID_CHIEF), f"收到 {code}", client)
    taken = case(aws_stack, code)
    assert (taken.status.value, taken.level, taken.holder) == ("acknowledged", 3, GRID_CHIEF)


def test_a_dispute_goes_to_the_mediation_room_with_the_grid_member_following(client, aws_stack):
    code = routed_report(client, aws_stack, category="neighbour_dispute", description="邻居噪音纠纷")
    stored = case(aws_stack, code)
    assert (stored.level, stored.level_role, stored.holder) == (2, "mediation_room", MEDIATOR)
    assert "新事项" in sms_to(member_phone(aws_stack, MEDIATOR))[-1]
    assert "跟办" in sms_to(member_phone(aws_stack, GRID_MEMBER))[-1]
    # AND the following grid member may close it when the mediation is done
    text_in(aws_stack, member_phone(aws_stack, GRID_MEMBER), f"完成 {code}", client)
    done = case(aws_stack, code)
    assert (done.status.value, done.holder) == ("resolved", MEDIATOR)
    assert [(e.event, e.actor) for e in done.history if e.event == "resolved"] == [("resolved", GRID_MEMBER)]


def test_a_proxy_service_request_goes_to_the_committee(client, aws_stack):
    code = routed_report(client, aws_stack, category="medical_insurance", description="帮忙缴纳医保")
    stored = case(aws_stack, code)
    assert (stored.level, stored.level_role, stored.holder) == (4, "committee", COMMITTEE)


def test_every_case_names_its_five_level_responsibility(client, aws_stack):
    code = routed_report(client, aws_stack)
    stored = case(aws_stack, code)
    assert stored.responsibility["lead"] == ["m01"]
    assert stored.responsibility["follow"] == [STAIRWELL_LEADER]
    assert COMMITTEE in stored.responsibility["supervise"]
    assert stored.responsibility["assist"]          # grid 1's party volunteers
    assert stored.grid_id == "g1"


# -- 延期: extension ------------------------------------------------------------------------

def test_an_approved_extension_moves_the_deadline(client, aws_stack, clock):
    # GIVEN the stairwell leader acknowledged a case (one working day to resolve)
    code = acknowledged_report(client, aws_stack)
    before = case(aws_stack, code)
    leader, grid_member = member_phone(aws_stack, STAIRWELL_LEADER), member_phone(aws_stack, GRID_MEMBER)
    # WHEN the leader asks for two more days and the grid member above approves
    text_in(aws_stack, leader, f"延期 {code} 2 等配件", client)
    assert "申请延期2天" in sms_to(grid_member)[-1]
    assert case(aws_stack, code).extension["days"] == 2
    text_in(aws_stack, grid_member, f"同意 {code}", client)
    # THEN the resolve limit and the yellow alarm move by two working days
    after = case(aws_stack, code)
    policy = aws_stack.policies.for_case("changmu", after.category)
    two_days = 2 * policy.day_seconds("resolve", 1)
    assert after.resolve_due_at == pytest.approx(policy.after("resolve", 1, before.resolve_due_at, two_days))
    assert after.due_at == pytest.approx(policy.after("resolve", 1, before.due_at, two_days))
    assert after.extension is None and "已获同意" in sms_to(leader)[-1]
    # AND at the old deadline nothing happens
    clock.now = before.resolve_due_at + 1
    assert sweep(client) == {"queued": 0, "orders": 0}


def test_a_refused_extension_keeps_the_deadline(client, aws_stack):
    code = acknowledged_report(client, aws_stack)
    before = case(aws_stack, code)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"延期 {code} 3 住户不在家", client)
    text_in(aws_stack, member_phone(aws_stack, GRID_MEMBER), f"不同意 {code}", client)
    after = case(aws_stack, code)
    assert (after.resolve_due_at, after.due_at, after.extension) == (before.resolve_due_at, before.due_at, None)
    assert "未获同意" in sms_to(member_phone(aws_stack, STAIRWELL_LEADER))[-1]
    assert [e.event for e in after.history if e.event.startswith("extension")] == [
        "extension_requested", "extension_refused"]


def test_only_the_level_above_decides_an_extension(client, aws_stack):
    code = acknowledged_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"延期 {code} 2 等配件", client)
    # the holder cannot approve their own request
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"同意 {code}", client)
    assert case(aws_stack, code).extension is not None
    assert "无权" in sms_to(member_phone(aws_stack, STAIRWELL_LEADER))[-1]


# -- 挂起 / 恢复: suspension ----------------------------------------------------------------

def test_a_suspended_case_does_not_move_until_resumed(client, aws_stack, clock):
    # GIVEN a case waiting for the stairwell leader to acknowledge it (30 minutes)
    code = routed_report(client, aws_stack)
    committee = member_phone(aws_stack, COMMITTEE)
    clock.advance(10 * MINUTE)
    # WHEN a committee member suspends it
    text_in(aws_stack, committee, f"挂起 {code} 等待住户回家", client)
    suspended = case(aws_stack, code)
    assert suspended.is_suspended and suspended.due_at is None
    assert "已挂起" in sms_to(member_phone(aws_stack, STAIRWELL_LEADER))[-1]
    # THEN days pass and it does not climb
    for _ in range(3):
        clock.advance(24 * 60 * MINUTE)
        assert escalate_due(client, aws_stack) == 0
    assert (case(aws_stack, code).level, case(aws_stack, code).status.value) == (1, "assigned")
    # WHEN it is resumed, the 20 minutes it had left run from now
    text_in(aws_stack, committee, f"恢复 {code}", client)
    resumed = case(aws_stack, code)
    assert not resumed.is_suspended
    assert resumed.due_at == pytest.approx(clock.now + 20 * MINUTE)
    clock.advance(21 * MINUTE)
    assert escalate_due(client, aws_stack) == 1
    assert case(aws_stack, code).level == 2
    events = [e["event"] for e in client.http.get(f"/reports/{code}").json_body["history"]]
    assert events.index("suspended") < events.index("resumed") < events.index("escalated")


def test_a_stairwell_leader_cannot_suspend_a_case(client, aws_stack):
    code = routed_report(client, aws_stack)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"挂起 {code} 不想办", client)
    assert not case(aws_stack, code).is_suspended


# -- 转办: transfer ---------------------------------------------------------------------------

def test_the_holder_transfers_a_case_to_another_member(client, aws_stack, clock):
    code = routed_report(client, aws_stack)
    target = member_phone(aws_stack, OTHER_LEADER)
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"转办 {code} {target} 我在外地", client)
    moved = case(aws_stack, code)
    assert (moved.holder, moved.level, moved.status.value) == (OTHER_LEADER, 1, "assigned")
    assert moved.due_at == pytest.approx(clock.now + 30 * MINUTE)
    assert "转办给您" in sms_to(target)[-1]
    assert "已转办" in sms_to(member_phone(aws_stack, STAIRWELL_LEADER))[-1]
    # AND the new holder acts on it
    text_in(aws_stack, target, f"收到 {code}", client)
    assert case(aws_stack, code).status.value == "acknowledged"


def test_a_transfer_to_someone_outside_the_community_is_refused(client, aws_stack):
    code = routed_report(client, aws_stack)
    outsider = next(iter(aws_stack.directory().communities["garang"].members.values())).phone
    text_in(aws_stack, member_phone(aws_stack, STAIRWELL_LEADER), f"转办 {code} {outsider} 换人", client)
    assert case(aws_stack, code).holder == STAIRWELL_LEADER
    assert "无法转办" in sms_to(member_phone(aws_stack, STAIRWELL_LEADER))[-1]


# -- leave ----------------------------------------------------------------------------------

def test_a_member_on_leave_is_skipped_and_the_skip_recorded(client, aws_stack, clock):
    # GIVEN the stairwell leader of changmu-01-1 (who also leads building 1) is on leave now
    community = aws_stack.directory().communities["changmu"]
    leader = community.members[STAIRWELL_LEADER]
    on_leave = dataclasses.replace(leader, leave=((clock.now - 3600, clock.now + 7 * 86400),))
    changed = dataclasses.replace(community, members={**community.members, STAIRWELL_LEADER: on_leave},
                                  locations={})
    aws_stack.directory_store.put_community(changed)
    aws_stack.directory_cache.invalidate()
    # WHEN a report comes in
    code = routed_report(client, aws_stack)
    # THEN it goes to the grid member, and the history says level 1 was skipped
    stored = case(aws_stack, code)
    assert (stored.level, stored.holder) == (2, GRID_MEMBER)
    assert ("level_skipped", 1) in [(e.event, e.level) for e in stored.history]
    assert sms_to(member_phone(aws_stack, STAIRWELL_LEADER)) == []


# -- quiet hours (Garang's policy: 22:00-07:00) ----------------------------------------------

def test_a_call_back_at_night_waits_for_the_morning_and_an_assignment_does_not(client, aws_stack, clock):
    from tests.conftest import sent_sms
    # GIVEN it is 22:13 in Garang (the test clock), and a resident with a phone reports
    assert aws_stack.policies.for_case("garang", "sanitation").quiet_hours.ends_after(clock.now) is not None
    code = routed_report(client, aws_stack, location="garang-01-1", description="楼道垃圾没人清")
    reporter, holder = "+8613912345678", member_phone(aws_stack, "m05", "garang")
    # THEN the code and the assignment go at once: one answers the resident, the other asks for action
    assert len(sms_to(reporter)) == 1 and code in sms_to(holder)[-1]
    # WHEN the holder resolves it at night
    text_in(aws_stack, holder, f"收到 {code}", client)
    text_in(aws_stack, holder, f"完成 {code}", client)
    # THEN the call-back is held, not sent and not dropped
    held = case(aws_stack, code)
    assert len(sms_to(reporter)) == 1
    [notice] = held.outbox
    assert notice.template == "reporter_resolved" and notice.not_before is not None
    assert [e.event for e in held.history].count("notice_held") == 1
    assert held.due_at == pytest.approx(clock.now + 3 * 86400)          # the call-back clock is untouched
    before = len(sent_sms())
    assert escalate_due(client, aws_stack) == 0                         # nothing is due yet
    # WHEN the quiet hours end, the sweep brings the case back and the call-back goes out
    clock.now = notice.not_before + 1
    assert escalate_due(client, aws_stack) == 1
    assert len(sent_sms()) == before + 1 and "不满意回复2" in sms_to(reporter)[-1]
    after = case(aws_stack, code)
    assert after.outbox == [] and after.status.value == "resolved" and after.awaiting_feedback
    assert after.due_at == held.due_at
    assert escalate_due(client, aws_stack) == 0                         # and not again
