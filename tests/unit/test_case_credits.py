"""What a grid case earns in the points bank (domain.case_credits): the resolver and the 跟办
followers of the level that resolved it, once a resident rates it satisfied; a reopening after
that rating reverses the round, and a later resolution is a new round with its own entries."""
from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.case_credits import CasePoints, CasePointsError, credits_due, reversals_due
from chalicelib.domain.policy import PolicyBook, PolicyError
from tests.unit.test_case import CHAIN, DAY, POLICY, T0, resolved_by

POINTS = CasePoints(resolved=5, followed_up=2)
FOLLOWED = [replace(CHAIN[0], followers=("f1", "s1")), *CHAIN[1:]]   # s1 holds and is listed too


def paid(credits):
    return sorted((c.entry_id, c.points, c.follower) for c in credits)


def test_given_a_resolved_case_not_yet_rated_then_nothing_is_due():
    case = resolved_by("s1", chain=FOLLOWED)
    assert credits_due(case, POINTS) == [] and reversals_due(case, POINTS) == []


def test_given_a_satisfied_rating_then_the_resolver_and_each_other_follower_earn_at_the_rating_time():
    case = resolved_by("s1", chain=FOLLOWED)
    assert case.feedback(True, T0 + DAY, POLICY)
    credits = credits_due(case, POINTS)
    assert paid(credits) == [("case:ABC234:f1", 2, True), ("case:ABC234:s1", 5, False)]
    assert {c.at for c in credits} == {T0 + DAY}
    assert reversals_due(case, POINTS) == []


def test_given_a_not_satisfied_answer_before_any_rating_then_nothing_is_due_or_reversed():
    case = resolved_by("s1", chain=FOLLOWED)
    assert case.feedback(False, T0 + DAY, POLICY)
    assert credits_due(case, POINTS) == [] and reversals_due(case, POINTS) == []


def test_given_a_reopening_then_the_round_is_reversed_and_the_next_resolution_is_a_new_round():
    # GIVEN a case rated 1 by its reporter, then reopened by a follower's 2
    case = resolved_by("s1", chain=FOLLOWED)
    case.feedback(True, T0 + DAY, POLICY)
    case.history.append(replace(case.history[-1], at=T0 + DAY + 1, event="reopened", actor="+8613912345600"))
    assert paid(reversals_due(case, POINTS)) == [("case:ABC234:f1", 2, True), ("case:ABC234:s1", 5, False)]
    # WHEN it is resolved again at level 2 and rated satisfied
    case.history.append(replace(case.history[-1], at=T0 + 2 * DAY, event="resolved", level=2, actor="g1"))
    case.history.append(replace(case.history[-1], at=T0 + 3 * DAY, event="satisfied", actor="+8613912345678"))
    # THEN the new round's credits have their own ids; the first round stays reversed
    assert ("case:ABC234.2:g1", 5, False) in paid(credits_due(case, POINTS))
    assert all(".2" not in c.entry_id for c in reversals_due(case, POINTS))


def test_given_an_operator_resolved_it_then_only_the_followers_earn():
    case = resolved_by("s1", chain=FOLLOWED)
    case.feedback(True, T0 + DAY, POLICY)
    resolved = next(i for i, e in enumerate(case.history) if e.event == "resolved")
    case.history[resolved] = replace(case.history[resolved], actor="ops:k1")
    assert paid(credits_due(case, POINTS)) == [("case:ABC234:f1", 2, True), ("case:ABC234:s1", 2, True)]


def test_given_no_points_in_the_policy_then_nothing_is_due():
    case = resolved_by("s1", chain=FOLLOWED)
    case.feedback(True, T0 + DAY, POLICY)
    assert credits_due(case, CasePoints()) == []


@pytest.mark.parametrize("points", [
    {"case_resolved": -1}, {"case_resolved": 101}, {"case_resolved": 2.5}, {"case_resolved": True},
    {"case_closed": 5}, [5, 2], "5",
])
def test_given_bad_points_then_the_policy_is_refused_naming_the_key(points):
    with pytest.raises(CasePointsError, match="points"):
        CasePoints.from_dict(points)


def test_given_a_policy_file_then_its_points_are_read_and_a_bad_value_is_a_policy_error():
    import json
    from pathlib import Path
    data = json.loads(Path("chalicelib/data/policies/changmu.json").read_text())
    assert PolicyBook.from_dict(data).points == CasePoints(5, 2)
    with pytest.raises(PolicyError, match="case_followed_up"):
        PolicyBook.from_dict({**data, "points": {"case_followed_up": -2}})
