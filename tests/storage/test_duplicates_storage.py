"""What one problem reported many times needs of the tables, on both engines: the sparse
by-place index (open cases only, by building and category, oldest first), a merge's two cases
in one all-or-nothing write, the phones' followed cases, and the case worker folding a
report through the real adapters.
"""
from __future__ import annotations

import pytest

from chalicelib.domain.case import Status
from chalicelib.domain.duplicates import place_key
from chalicelib.services.ports import ConcurrentUpdate
from tests.storage.cases import T0, received, stored_routed

PHONE = "+8613912345678"
LOCATION = "changmu-05-2"
KEY = place_key("changmu", "b05", "water_pipe")


def placed(case):
    case.place_key = place_key("changmu", "b05", case.category)
    return case


def test_the_by_place_index_holds_the_open_cases_of_a_building_and_category_oldest_first(stack):
    # GIVEN two open water_pipe cases in 5号楼, one of another category, and one resolved
    first = received(stack, "place-1", location=LOCATION, category="water_pipe", now=T0)
    second = received(stack, "place-2", location="changmu-05-1", category="water_pipe", now=T0 + 10)
    other = received(stack, "place-3", location=LOCATION, category="heating", now=T0 + 20)
    done = received(stack, "place-4", location=LOCATION, category="water_pipe", now=T0 + 30)
    for case in (first, second, other, done):
        stack.cases.add(placed(case))
    done.status = Status.CLOSED
    stack.cases.save(done)

    # WHEN the case worker asks for the building's open water_pipe cases since T0
    found = stack.cases.open_at_place(KEY, T0)

    # THEN the two open ones, oldest first, with their place and status; a later `since` cuts
    assert [(r.code, r.location, r.status) for r in found] == [
        (first.code, LOCATION, "received"), (second.code, "changmu-05-1", "received")]
    assert [r.code for r in stack.cases.open_at_place(KEY, T0 + 5)] == [second.code]


def test_a_merge_saves_both_cases_or_neither(stack):
    # GIVEN two stored cases, one of which changed since it was read
    original = stored_routed(stack, "merge-1", location=LOCATION, category="water_pipe")
    duplicate = stored_routed(stack, "merge-2", location=LOCATION, category="water_pipe")
    stale = stack.cases.get(duplicate.code)
    fresh = stack.cases.get(duplicate.code)
    fresh.description = "changed meanwhile"
    stack.cases.save(fresh)

    # WHEN they are saved together with the stale copy
    assert original.absorb(stale, T0 + 100, "m14")
    assert stale.mark_duplicate(original.code, T0 + 100, "m14")
    with pytest.raises(ConcurrentUpdate):
        stack.cases.save_all([original, stale])

    # THEN neither changed; with a fresh copy both are saved, versions bumped
    assert stack.cases.get(original.code).affected == 1
    assert stack.cases.get(duplicate.code).status is Status.ASSIGNED
    original = stack.cases.get(original.code)
    current = stack.cases.get(duplicate.code)
    original.absorb(current, T0 + 200, "m14")
    current.mark_duplicate(original.code, T0 + 200, "m14")
    stack.cases.save_all([original, current])
    assert stack.cases.get(original.code).affected == 2
    assert stack.cases.get(duplicate.code).duplicate_of == original.code


def test_a_phones_followed_cases_are_a_set(stack):
    stack.follows.follow(PHONE, "AAA222", T0)
    stack.follows.follow(PHONE, "AAA222", T0 + 1)          # again: no change
    stack.follows.follow(PHONE, "BBB333", T0 + 2)
    assert stack.follows.followed_by(PHONE) == ["AAA222", "BBB333"]
    assert stack.follows.followed_by("+8613900000000") == []


def test_the_case_worker_folds_a_second_report_through_the_tables(stack):
    # GIVEN a leak reported in 5号楼2单元 and routed
    first = stack.intake.submit({"category": "water_pipe", "location": LOCATION, "description": "漏水",
                                 "phone": PHONE})
    stack.workflow.route(stack.cases.get(first.code))
    # WHEN a neighbour reports the same problem in the same building
    second = stack.intake.submit({"category": "water_pipe", "location": "changmu-05-3", "description": "也漏水"})
    stack.workflow.route(stack.cases.get(second.code))
    # THEN one case with two residents; the second points to it
    assert stack.cases.get(second.code).duplicate_of == first.code
    assert stack.cases.get(first.code).affected == 2
