"""The case repository (chalicelib/adapters/dynamo.py) on both engines: what it stores
reads back whole; a taken code and a stale save are refused, also when they race; and
every index the services read (the sweep's open-due shards, by-grid, by-holder,
by-reporter, by-id) holds exactly the cases it should, in the order the services need.
"""
from __future__ import annotations

import botocore.client
import pytest

from chalicelib.adapters.dynamo import DynamoCaseRepository
from chalicelib.services.ports import CodeTaken, ConcurrentUpdate
from tests.storage.cases import COMMITTEE, HOLDER, LOCATION, T0, all_sent, policy_of, received, stored_routed
from tests.storage.conftest import at_once

PHONE = "+8613912345678"
G2_LOCATION = "changmu-06-1"      # grid g2, stairwell leader m15


@pytest.fixture
def operations(monkeypatch):
    """The names of the AWS operations made through botocore from now on."""
    made: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        made.append(operation_name)
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return made


# -- add, get, save ------------------------------------------------------------------------------

def test_a_stored_case_reads_back_whole_by_code_and_by_id(stack):
    # GIVEN a case added as received and saved once routed, with a reporter's phone
    case = stored_routed(stack, "read-back", phone=PHONE)

    # WHEN it is read by its code and by its id (the by-id index)
    by_code, by_id = stack.cases.get(case.code), stack.cases.get_by_id(case.id)

    # THEN both are the case as saved, with the version its two writes gave it
    assert case.version == 2
    assert by_code.to_dict() == case.to_dict()
    assert by_id.to_dict() == case.to_dict()
    # AND what is not there is None
    assert stack.cases.get("NOSUCH") is None
    assert stack.cases.get_by_id("no-such-id") is None


def test_two_adds_of_one_code_at_once_store_one_case_and_tell_the_other_its_code_is_taken(stack):
    # GIVEN two different cases that drew the same code
    first, second = received(stack, "same-seed"), received(stack, "same-seed")
    second.description = "另一件事"

    def add(case):
        try:
            stack.cases.add(case)
            return "added", case.description
        except CodeTaken:
            return "taken", case.description

    # WHEN both are added at the same moment
    outcomes = at_once(lambda: add(first), lambda: add(second))

    # THEN one is stored, whole, and the other is refused as CodeTaken
    assert sorted(outcome for outcome, _ in outcomes) == ["added", "taken"]
    [winner] = [description for outcome, description in outcomes if outcome == "added"]
    stored = stack.cases.get(first.code)
    assert (stored.description, stored.version) == (winner, 1)


def test_the_same_report_sent_twice_at_once_with_one_idempotency_key_is_one_case(stack):
    # GIVEN a kiosk that sends one report twice at once, with its Idempotency-Key
    payload = {"category": "sanitation", "location": LOCATION, "description": "楼道垃圾好几天没人清"}

    # WHEN intake takes both at the same moment
    first, second = at_once(lambda: stack.intake.submit(payload, idempotency_key="kiosk-7-0001"),
                            lambda: stack.intake.submit(payload, idempotency_key="kiosk-7-0001"))

    # THEN both answers are the one case that was stored (the adapter's CodeTaken told the loser)
    assert (first.code, first.id) == (second.code, second.id)
    assert [record.code for record in stack.case_model.scan()] == [first.code]


def test_a_save_from_a_stale_read_is_refused_and_changes_nothing(stack):
    # GIVEN one routed case, read by two workers
    case = stored_routed(stack, "stale-read")
    mine, theirs = stack.cases.get(case.code), stack.cases.get(case.code)
    policy = policy_of(stack, case)

    # WHEN the other worker saves its change first
    theirs.acknowledge(HOLDER, T0 + 60, policy)
    stack.cases.save(theirs)
    mine.resolve(HOLDER, T0 + 61, policy)

    # THEN this worker's save is refused as ConcurrentUpdate, and the stored case is theirs
    with pytest.raises(ConcurrentUpdate):
        stack.cases.save(mine)
    stored = stack.cases.get(case.code)
    assert stored.to_dict() == theirs.to_dict()
    assert (stored.status.value, stored.version) == ("acknowledged", 3)


def test_two_saves_from_one_read_at_once_let_exactly_one_through(stack):
    # GIVEN one routed case, read by two workers
    case = stored_routed(stack, "save-race")
    acknowledging, resolving = stack.cases.get(case.code), stack.cases.get(case.code)
    policy = policy_of(stack, case)
    acknowledging.acknowledge(HOLDER, T0 + 60, policy)
    resolving.resolve(HOLDER, T0 + 60, policy)

    def save(changed):
        try:
            stack.cases.save(changed)
            return changed.status.value
        except ConcurrentUpdate:
            return "refused"

    # WHEN both save at the same moment
    outcomes = at_once(lambda: save(acknowledging), lambda: save(resolving))

    # THEN exactly one write went through, and it is what is stored
    assert sorted(outcomes) in (["acknowledged", "refused"], ["refused", "resolved"])
    [status] = [o for o in outcomes if o != "refused"]
    stored = stack.cases.get(case.code)
    assert (stored.status.value, stored.version) == (status, 3)


# -- the sweep's index (open-due) -------------------------------------------------------------

def test_the_sweep_finds_every_due_case_in_every_shard_and_no_case_not_yet_due(stack):
    # GIVEN twelve routed cases, a minute apart, so spread over the index's shards
    cases = [stored_routed(stack, f"due-{n}", now=T0 + 60 * n) for n in range(12)]
    assert len({stack.cases.shard_of(c.code) for c in cases}) == 4

    # WHEN the sweep looks at the moment the eighth one's acknowledge limit passes
    found = dict(stack.cases.due(cases[7].due_at))

    # THEN it finds the first eight, each at its deadline, and none of the rest
    assert found == {c.code: c.due_at for c in cases[:8]}


def test_only_cases_with_a_running_clock_are_in_the_sweep_index(stack):
    # GIVEN a case in each state
    policy = policy_of(stack, received(stack, "policy"))
    waiting = received(stack, "received", now=T0)                   # its routing deadline runs
    waiting.due_at = T0 + 120
    stack.cases.add(waiting)
    assigned = stored_routed(stack, "assigned")                    # the acknowledge clock
    acknowledged = stored_routed(stack, "acknowledged")            # the resolve clock (yellow card)
    acknowledged.acknowledge(HOLDER, T0 + 10, policy)
    resolved = stored_routed(stack, "resolved", phone=PHONE)       # the call-back's clock
    resolved.resolve(HOLDER, T0 + 10, policy)
    closed = stored_routed(stack, "closed")
    closed.resolve(HOLDER, T0 + 10, policy)
    assert closed.escalate(closed.due_at, policy, closed.due_at + 1)      # nobody answered the call-back
    suspended = stored_routed(stack, "suspended")
    suspended.suspend(COMMITTEE, "等待供暖公司", policy, T0 + 10)
    for case in (acknowledged, resolved, closed, suspended):
        stack.cases.save(all_sent(case, T0 + 11))
    assert (closed.status.value, suspended.is_suspended) == ("closed", True)

    # WHEN the sweep looks a year later
    found = {code for code, _ in stack.cases.due(T0 + 365 * 86400)}

    # THEN it finds the cases whose clocks run, and not the closed or the suspended one
    assert found == {case.code for case in (waiting, assigned, acknowledged, resolved)}
    # AND those are not filtered out but absent: their items carry no index key (sparse)
    for case in (closed, suspended):
        item = stack.case_model.get(case.code)
        assert (item.due_shard, item.due_at) == (None, None)


def test_a_notice_held_for_quiet_hours_brings_the_case_to_the_sweep_then_and_keeps_its_clock(stack):
    # GIVEN a routed case whose "assigned" notice is held until 10 minutes after routing
    case = received(stack, "held")
    stack.cases.add(case)
    community = stack.directory().communities[case.community_id]
    policy = policy_of(stack, case)
    case.route(community.chain_for(case.location, policy.steps, at=T0 + 1), policy, T0 + 1,
               responsibility=community.responsibility(case.location, at=T0 + 1),
               grid_id=community.grid_of(case.location))
    [notice] = case.outbox
    case.hold(notice, T0 + 600, T0 + 1)
    stack.cases.save(case)
    acknowledge_limit = case.due_at
    assert acknowledge_limit > T0 + 600

    # WHEN the sweep looks just before and at the end of the hold
    before, at_end = dict(stack.cases.due(T0 + 599)), dict(stack.cases.due(T0 + 600))

    # THEN it finds the case when its notice is due, not later at its deadline
    assert (before, at_end) == ({}, {case.code: T0 + 600})
    # AND the case read back keeps its own clock and its held notice
    stored = stack.cases.get(case.code)
    assert stored.due_at == acknowledge_limit
    assert [(n.template, n.not_before) for n in stored.outbox] == [("assigned", T0 + 600)]


# -- by-grid (the SLA report) ------------------------------------------------------------------

def test_the_grid_index_holds_routed_cases_only_and_is_read_page_by_page_without_a_scan(stack, operations):
    # GIVEN five routed cases in g1 a second apart, one in g2, and one not yet routed
    codes = [stored_routed(stack, f"grid-{n}", now=T0 + n).code for n in range(5)]
    stored_routed(stack, "grid-elsewhere", location=G2_LOCATION)
    unrouted = received(stack, "grid-unrouted", now=T0 + 2)
    stack.cases.add(unrouted)

    # WHEN g1 is read two items a page
    operations.clear()
    rows = list(DynamoCaseRepository(stack.case_model, page_size=2).sla_facts("changmu", "g1", T0 - 1, T0 + 10))

    # THEN it gets the five routed cases, oldest first, with their projected facts, over three Queries
    assert [row["code"] for row in rows] == codes
    assert {(r["status"], r["level"], r["holder"], r["category"], r["grid_id"]) for r in rows} == {
        ("assigned", 1, HOLDER, "sanitation", "g1")}
    assert operations == ["Query"] * 3
    # AND the unrouted case carries no grid key (sparse)
    assert stack.case_model.get(unrouted.code).grid_key is None


# -- by-holder and by-reporter (SMS replies without a code) -------------------------------------------

def test_the_holder_index_lists_a_members_open_cases_latest_change_first(stack):
    # GIVEN three cases m10 holds, one they resolved, one another member holds, one nobody holds yet
    policy = policy_of(stack, received(stack, "policy"))
    older, newer = stored_routed(stack, "held-old", now=T0), stored_routed(stack, "held-new", now=T0 + 100)
    done = stored_routed(stack, "held-done", now=T0 + 200)
    done.resolve(HOLDER, T0 + 300, policy)
    stack.cases.save(all_sent(done, T0 + 300))
    stored_routed(stack, "held-by-m15", location=G2_LOCATION)
    waiting = received(stack, "held-by-nobody")
    stack.cases.add(waiting)

    # WHEN m10's open cases are listed
    listed = stack.cases.open_held_by("changmu", HOLDER)

    # THEN only the two open ones, the latest change first
    assert [(ref.code, ref.status) for ref in listed] == [(newer.code, "assigned"), (older.code, "assigned")]

    # WHEN the older one is acknowledged
    older.acknowledge(HOLDER, T0 + 400, policy)
    stack.cases.save(older)

    # THEN it comes first, with its new status
    assert [(ref.code, ref.status) for ref in stack.cases.open_held_by("changmu", HOLDER)] == [
        (older.code, "acknowledged"), (newer.code, "assigned")]
    # AND the key is per community (member ids are), and absent while nobody holds a case
    assert stack.case_model.get(older.code).holder_key == f"changmu#{HOLDER}"
    assert stack.cases.open_held_by("garang", HOLDER) == []
    assert stack.case_model.get(waiting.code).holder_key is None


def test_the_reporter_index_lists_a_phones_reports_newest_first_keyed_without_the_phone(stack):
    # GIVEN two reports from one phone, one from another phone and one without a phone
    policy = policy_of(stack, received(stack, "policy"))
    first = stored_routed(stack, "reported-1", now=T0, phone=PHONE)
    second = stored_routed(stack, "reported-2", now=T0 + 100, phone=PHONE)
    stored_routed(stack, "reported-elsewhere", now=T0 + 150, phone="+8613900000001")
    anonymous = stored_routed(stack, "reported-anonymous", now=T0 + 200)
    # AND the newer one resolved, waiting for the reporter's call-back answer
    second.resolve(HOLDER, T0 + 300, policy)
    stack.cases.save(all_sent(second, T0 + 300))

    # WHEN the phone's reports are listed
    listed = stack.cases.reported_by(PHONE)

    # THEN they are its two, newest first, with whether each waits for an answer
    assert [(r.code, r.status, r.awaiting_feedback) for r in listed] == [
        (second.code, "resolved", True), (first.code, "assigned", False)]
    assert [r.code for r in stack.cases.reported_by(PHONE, limit=1)] == [second.code]
    # AND no key holds the phone number, and a report without a phone has no key at all
    assert "13912345678" not in stack.case_model.get(first.code).reporter_key
    assert stack.case_model.get(anonymous.code).reporter_key is None
