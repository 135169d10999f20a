"""The points bank's ledger (chalicelib/domain/points.py): double entries, balances as sums,
the rules of what an order earns, reversals and redemptions."""
from __future__ import annotations

import pytest

from chalicelib.domain.points import (
    Entry,
    PointsRefused,
    balance,
    branch_account,
    member_account,
    order_award,
    redemption,
    reversal,
    shop_account,
)

M06 = member_account("changmu", "m06")
BRANCH, SHOP = branch_account("changmu"), shop_account("changmu")


def award(**overrides):
    args = dict(community_id="changmu", member_id="m06", order_code="AP3ZUM", points=20, on_time_bonus=5,
                on_time=True, own_household=False, credited_today=0, at=1.0)
    return order_award(**{**args, **overrides})


def test_an_order_done_on_time_earns_its_points_and_bonus_from_the_branch():
    entry = award()
    assert (entry.id, entry.debit, entry.credit, entry.points) == ("order:AP3ZUM:verified", BRANCH, M06, 25)
    assert award(on_time=False).points == 20
    assert award().id == entry.id                # the same event again: the same entry, kept once by the store


def test_the_daily_cap_limits_what_a_day_earns_and_the_members_own_household_earns_nothing():
    assert award(credited_today=40).points == 10
    assert award(credited_today=50) is None
    with pytest.raises(PointsRefused, match="own_household"):
        award(own_household=True)


def test_a_balance_is_the_sum_of_the_entries_and_a_reversal_undoes_one_once():
    earned = award()
    other = award(order_code="K7QX2C", on_time=False)
    entries = [earned, other]
    assert balance(entries, M06) == 45 and balance(entries, BRANCH) == -45
    undone = reversal(earned, 2.0)
    assert (undone.debit, undone.credit, undone.id) == (M06, BRANCH, "reversal:order:AP3ZUM:verified")
    assert balance([*entries, undone], M06) == 20
    assert balance([*entries, undone], M06) + balance([*entries, undone], BRANCH) == 0     # double entry


def test_a_redemption_moves_points_to_the_shop_and_never_more_than_held():
    spent = redemption(community_id="changmu", account=M06, item="washing_powder", points=15, receipt="R-0001",
                       at=3.0, held=25)
    assert (spent.debit, spent.credit, spent.points, spent.id) == (M06, SHOP, 15, "redeem:changmu:R-0001")
    with pytest.raises(PointsRefused, match="over_balance"):
        redemption(community_id="changmu", account=M06, item="rice", points=30, receipt="R-0002", at=3.0, held=25)


@pytest.mark.parametrize("points, debit, credit, reason", [
    (0, BRANCH, M06, "not_positive"), (-5, BRANCH, M06, "not_positive"), (True, BRANCH, M06, "not_positive"),
    (5, M06, M06, "same_account"), (5, "bank:x", M06, "unknown_account"),
])
def test_an_entry_that_cannot_be_is_refused(points, debit, credit, reason):
    with pytest.raises(PointsRefused, match=reason):
        Entry("e", 0.0, debit, credit, points, "order_verified")
