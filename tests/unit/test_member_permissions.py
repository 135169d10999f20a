"""Members act only on cases they hold or supervise: every member SMS command × every
relation a phone can have to a case.

THE RULE (what every cell below follows):

  A sender acts on a case only through a relation the case itself records, and only with
  the commands that relation gives:

    holder (主办)                          收到, 完成, 延期, 转办, 取消; 位置 for an SMS report
                                          nobody could place (held by the member on triage duty)
    follower (跟办) of the current level   完成
    a member eligible on a level above     收到 and 完成 (taking the case over), 同意 / 不同意
    the committee (两委) and the area chief  what their level above gives, 挂起 / 恢复, 取消,
                                          and 位置 (standing in for the member on triage duty)

  Standing in for someone (a level above, the follower, the committee) needs the member to
  be available now: at home and not on leave. A member on leave keeps only what they hold
  (refusing the holder's own 完成 or 转办 would leave the case stuck with them).
  A reply without a code (收到, OK, 完成, DONE, 1, 2) names no case: it applies only to a
  case the sender holds. `1 CODE` / `2 CODE` are 收到 / 完成 with that code.

  Everyone else is refused with an answer and the case does not change:
    - a member of the same community with no such relation: "not responsible"
      (refused_not_on_chain); one with a relation that does not give the command:
      "may not do that" (refused_not_allowed);
    - a member of another community: "no such case" (unknown_case), so that one
      community's codes are invisible to another's members;
    - a phone that is no member's: "not registered" (unknown_sender) for a command with a
      code; `1` / `2` are its answer to a call-back (nothing waits for one: no_feedback_case);
      收到 / OK / 完成 / DONE alone are a thank-you and get no answer at all, and anything
      else it sends (位置 3-2 too) is a report of its own;
    - a reply without a code from a member who holds nothing: "no open cases".

The case: a burst pipe (water_pipe, Changmu's "property" chain) at changmu-01-1. Level 1 is
property management, m45 holding with the stairwell leader m10 following (跟办); level 2
the grid member m06; level 3 the grid chief m02; level 4 the committee (m03 holds, m05 is
eligible); level 5 the area chief m01. m08 is grid 3's member and has nothing to do with it;
m07 is one of grid 1's volunteers (协办), which gives no say over a case either.
"""
from __future__ import annotations

import dataclasses

import pytest

from chalicelib.domain import sms
from chalicelib.domain.messages import render
from chalicelib.services.workflow import CaseWorkflow

DAY = 86400
STRANGER = "+8613800000077"
LOCATION = "changmu-01-1"
TRANSFER_TO = "m46"        # property management's other member: an available target for 转办

# -- the relations -----------------------------------------------------------------------
# name → (community, member id or None for a phone that is no member's, on leave from just
# after the case was set up)
RELATIONS = {
    "holder": ("changmu", "m45", False),
    "follower": ("changmu", "m10", False),
    "supervisor": ("changmu", "m06", False),        # one level up
    "committee": ("changmu", "m05", False),
    "area_chief": ("changmu", "m01", False),
    "other_grid": ("changmu", "m08", False),
    "volunteer": ("changmu", "m07", False),
    "other_community": ("garang", "m04", False),
    "resident": (None, None, False),
    "supervisor_on_leave": ("changmu", "m06", True),
    "holder_on_leave": ("changmu", "m45", True),
}
# For 位置: an SMS report nobody could place, held by m09, the member on triage duty.
PLACING_RELATIONS = {
    "triage_holder": ("changmu", "m09", False),
    "committee": ("changmu", "m05", False),
    "area_chief": ("changmu", "m01", False),
    "other_grid": ("changmu", "m08", False),
    "volunteer": ("changmu", "m07", False),
    "other_community": ("garang", "m04", False),
    "resident": (None, None, False),
    "committee_on_leave": ("changmu", "m05", True),
    "triage_holder_on_leave": ("changmu", "m09", True),
}

# -- the commands -------------------------------------------------------------------------
# id → (text, the state the case is put in first so that the command can apply, the
# history event it records when it acts). The state is what the command needs: 延期 an
# accepted case, 同意 / 不同意 a pending extension, 恢复 a suspended case.
COMMANDS = {
    "ack": ("收到 {code}", "assigned", "acknowledged"),
    "ack-OK": ("OK {code}", "assigned", "acknowledged"),
    "ack-1": ("1 {code}", "assigned", "acknowledged"),
    "resolve": ("完成 {code}", "assigned", "resolved"),
    "resolve-DONE": ("DONE {code}", "assigned", "resolved"),
    "resolve-2": ("2 {code}", "assigned", "resolved"),
    "extend": ("延期 {code} 3 等配件", "acknowledged", "extension_requested"),
    "approve": ("同意 {code}", "extension_pending", "extension_approved"),
    "refuse": ("不同意 {code}", "extension_pending", "extension_refused"),
    "suspend": ("挂起 {code} 等住户在家", "assigned", "suspended"),
    "resume": ("恢复 {code}", "suspended", "resumed"),
    "transfer": ("转办 {code} {transfer_to} 物业另一位负责", "assigned", "transferred"),
    "cancel": ("取消 {code} 重复报事", "assigned", "cancelled"),
    "bare-ack": ("收到", "assigned", "acknowledged"),
    "bare-OK": ("OK", "assigned", "acknowledged"),
    "bare-1": ("1", "assigned", "acknowledged"),
    "bare-resolve": ("完成", "assigned", "resolved"),
    "bare-DONE": ("DONE", "assigned", "resolved"),
    "bare-2": ("2", "assigned", "resolved"),
}
# Every action a member's SMS can take on a case is in the table above, or for 位置 (which
# only places an SMS report nobody placed) in PLACING below; a new one must be added, with its
# row of outcomes. 帮助 and 查询 change nothing.
NOT_ACTING = {sms.Action.HELP, sms.Action.QUERY}
# 合并 acts on two cases, which this one-case matrix cannot say: who may merge what is the
# table of tests/unit/test_merge_by_sms.py.
NOT_ACTING |= {sms.Action.MERGE}

# -- the outcomes -------------------------------------------------------------------------
ACTS = "acts"
NOT_ON_CHAIN, NOT_ALLOWED = "refused_not_on_chain", "refused_not_allowed"
UNKNOWN_CASE, UNKNOWN_SENDER = "unknown_case", "unknown_sender"
NO_OPEN, NO_FEEDBACK, SILENCE = "no_open_cases", "no_feedback_case", None   # SILENCE: no answer

# Short names for the matrix: ACTS; MAY_NOT (a relation that does not give the command);
# NO_RELATION; NO_CASE (another community's code); STRANGER_ (a phone that is no member's).
MAY_NOT, NO_RELATION, NO_CASE, STRANGER_ = NOT_ALLOWED, NOT_ON_CHAIN, UNKNOWN_CASE, UNKNOWN_SENDER

# Columns in COMMANDS' order:
#   收到 OK 1 CODE | 完成 DONE 2 CODE | 延期 | 同意 不同意 | 挂起 恢复 | 转办 | 取消 |
#   without a code: 收到 OK 1 | 完成 DONE 2
_COLUMNS = list(COMMANDS)
_NOTHING_HELD = [NO_OPEN] * 6
_MATRIX = {
    "holder": [ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, MAY_NOT, MAY_NOT, MAY_NOT, MAY_NOT, ACTS, ACTS,
               ACTS, ACTS, ACTS, ACTS, ACTS, ACTS],
    "follower": [MAY_NOT, MAY_NOT, MAY_NOT, ACTS, ACTS, ACTS, MAY_NOT, MAY_NOT, MAY_NOT, MAY_NOT, MAY_NOT,
                 MAY_NOT, MAY_NOT, *_NOTHING_HELD],
    "supervisor": [ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, MAY_NOT, ACTS, ACTS, MAY_NOT, MAY_NOT, MAY_NOT, MAY_NOT,
                   *_NOTHING_HELD],
    "committee": [ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, MAY_NOT, ACTS, ACTS, ACTS, ACTS, MAY_NOT, ACTS,
                  *_NOTHING_HELD],
    "area_chief": [ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, MAY_NOT, ACTS, ACTS, ACTS, ACTS, MAY_NOT, ACTS,
                   *_NOTHING_HELD],
    "other_grid": [NO_RELATION] * 13 + _NOTHING_HELD,
    "volunteer": [NO_RELATION] * 13 + _NOTHING_HELD,
    "other_community": [NO_CASE] * 13 + _NOTHING_HELD,
    "resident": [STRANGER_, STRANGER_, NO_FEEDBACK, STRANGER_, STRANGER_, NO_FEEDBACK,
                 STRANGER_, STRANGER_, STRANGER_, STRANGER_, STRANGER_, STRANGER_, STRANGER_,
                 SILENCE, SILENCE, NO_FEEDBACK, SILENCE, SILENCE, NO_FEEDBACK],
    "supervisor_on_leave": [NO_RELATION] * 13 + _NOTHING_HELD,
    "holder_on_leave": [ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, ACTS, MAY_NOT, MAY_NOT, MAY_NOT, MAY_NOT, ACTS, ACTS,
                        ACTS, ACTS, ACTS, ACTS, ACTS, ACTS],
}
EXPECTED = {(relation, command): outcome
            for relation, row in _MATRIX.items() for command, outcome in zip(_COLUMNS, row, strict=False)}


def test_the_matrix_has_every_relation_and_every_command():
    assert all(len(row) == len(COMMANDS) for row in _MATRIX.values())
    assert set(_MATRIX) == set(RELATIONS)
    acting = {sms.parse(text.format(code="ABC234", transfer_to="+8613900000000")).action
              for text, _, _ in [*COMMANDS.values(), *PLACING_COMMANDS.values()]}
    assert acting == set(sms.Action) - NOT_ACTING, "a member command is missing from the matrix"


# -- the harness ---------------------------------------------------------------------------

@pytest.fixture
def world(services):
    """The fake services on Changmu's own policy book (the property chain has a follower)."""
    from chalicelib.bootstrap import Container
    from chalicelib.services.intake import IntakeService
    from tests.conftest import _config

    policies = Container(_config(), services.clock).policies
    services.intake = IntakeService(services.cases, services.intake_queue, services.directory,
                                    services.categories, policies, services.clock)
    services.workflow = CaseWorkflow(services.cases, services.notices, services.sms, services.escalation_queue,
                                     services.directory, policies, services.clock,
                                     intake=services.intake, contacts=services.contacts)
    return services


def phone_of(services, community: str | None, member_id: str | None) -> str:
    return services.member(community, member_id).phone if member_id else STRANGER


def reply(services, sender: str, text: str) -> str:
    services.inbound.accept(sender, text, gateway="test")
    [body] = services.inbound_queue.take()
    return services.workflow.reply(body)


def case_in_state(services, state: str):
    """A burst-pipe report routed to m45, then brought to `state` by the members who may."""
    code = services.intake.submit({"category": "water_pipe", "location": LOCATION,
                                   "description": "水管爆了"}).code
    services.run_intake()
    case = services.cases.get(code)
    assert (case.holder, case.chain[0].followers, case.chain[1].holder) == ("m45", ("m10",), "m06")
    if state in ("acknowledged", "extension_pending"):
        assert reply(services, phone_of(services, "changmu", "m45"), f"收到 {code}") == "acknowledge"
    if state == "extension_pending":
        assert reply(services, phone_of(services, "changmu", "m45"), f"延期 {code} 3 等配件") == "extend"
    if state == "suspended":
        assert reply(services, phone_of(services, "changmu", "m03"), f"挂起 {code} 等住户") == "suspend"
    services.sms.sent.clear()
    return services.cases.get(code)


def put_on_leave(services, member_id: str) -> None:
    """`member_id` goes on leave from now for five days: the directory changes, the
    case's chain (a snapshot from routing) does not."""
    community, now = services.store.communities["changmu"], services.clock()
    members = dict(community.members)     # a copy: the demo directory is shared by every test
    members[member_id] = dataclasses.replace(members[member_id], leave=((now - 60, now + 5 * DAY),))
    services.store.communities["changmu"] = dataclasses.replace(community, members=members)
    services.clock.advance(301)          # past the directory cache's 300 s
    assert not services.member("changmu", member_id).available(services.clock())


@pytest.mark.parametrize("relation,command", sorted(EXPECTED), ids=[f"{r}-{c}" for r, c in sorted(EXPECTED)])
def test_a_member_acts_only_through_a_relation_the_case_records(world, relation, command):
    community, member_id, on_leave = RELATIONS[relation]
    text, state, event = COMMANDS[command]
    expected = EXPECTED[relation, command]
    case = case_in_state(world, state)
    if on_leave:
        put_on_leave(world, member_id)
    sender = phone_of(world, community, member_id)
    before = world.cases.get(case.code).to_dict()
    events = len(before["history"])

    reply(world, sender, text.format(code=case.code, transfer_to=phone_of(world, "changmu", TRANSFER_TO)))

    after = world.cases.get(case.code)
    answers = [t for to, t in world.sms.sent if to == sender]
    if expected == ACTS:
        acted = [e for e in after.history[events:] if e.event == event]
        assert [e.actor for e in acted] == [member_id], f"{relation} did not act: {after.history[events:]}"
        refusals = {render(t, lang, code=case.code) for t in (NOT_ON_CHAIN, NOT_ALLOWED) for lang in ("zh", "en")}
        assert not refusals & set(answers)
    else:
        assert after.to_dict() == before, f"{relation} changed the case with {command!r}"
        # A member is answered in their language; a resident in the one their text reads as.
        langs = [world.member(community, member_id).lang] if member_id else ["zh", "en"]
        assert answers in ([[]] if expected is SILENCE
                           else [[render(expected, lang, code=case.code)] for lang in langs])


# -- 位置: placing an SMS report ------------------------------------------------------------------
# The same rule: the triage holder holds it; the committee and the area chief stand in for
# the member on triage duty (so only while available); nobody else may.
NEW_REPORT = "a report of its own"
PLACING_COMMANDS = {      # id → (text, the state it needs, the event it records), as COMMANDS
    "locate": ("位置 {code} 3-2", "awaiting its place", "located"),
    "bare-locate": ("位置 3-2", "awaiting its place", "located"),
}
_PLACING = {   # locate, bare-locate
    "triage_holder": [ACTS, ACTS],
    "committee": [ACTS, NO_OPEN],
    "area_chief": [ACTS, NO_OPEN],
    "other_grid": [NO_RELATION, NO_OPEN],
    "volunteer": [NO_RELATION, NO_OPEN],
    "other_community": [NO_CASE, NO_OPEN],
    "resident": [STRANGER_, NEW_REPORT],       # "位置 3-2" from a resident is a report of its own
    "committee_on_leave": [NO_RELATION, NO_OPEN],
    "triage_holder_on_leave": [ACTS, ACTS],
}
PLACING_EXPECTED = {(relation, command): outcome for relation, row in _PLACING.items()
                    for command, outcome in zip(PLACING_COMMANDS, row, strict=False)}


@pytest.mark.parametrize("relation,command", sorted(PLACING_EXPECTED),
                         ids=[f"{r}-{c}" for r, c in sorted(PLACING_EXPECTED)])
def test_only_the_triage_holder_or_who_stands_in_for_triage_places_an_sms_report(world, relation, command):
    community, member_id, on_leave = PLACING_RELATIONS[relation]
    text, _, event = PLACING_COMMANDS[command]
    assert reply(world, STRANGER, "我家门口的井盖被人偷走了") == "report:triage"
    [code] = list(world.cases.items)
    assert world.cases.get(code).holder == "m09"
    world.sms.sent.clear()
    if on_leave:
        put_on_leave(world, member_id)
    sender = phone_of(world, community, member_id)
    before = world.cases.get(code).to_dict()

    reply(world, sender, text.format(code=code))

    after = world.cases.get(code)
    answers = [t for to, t in world.sms.sent if to == sender]
    expected = PLACING_EXPECTED[relation, command]
    if expected == ACTS:
        assert [e.actor for e in after.history if e.event == event] == [member_id]
        assert after.location == "changmu-03-2"
    elif expected == NEW_REPORT:
        assert after.to_dict() == before
        assert [c for c in world.cases.items if c != code], "no report of its own was made"
    else:
        assert after.to_dict() == before, f"{relation} changed the case with {command!r}"
        lang = world.member(community, member_id).lang if member_id else "zh"
        assert answers == [render(expected, lang, code=code)]
