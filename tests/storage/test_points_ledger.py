"""The points bank's ledger (chalicelib/adapters/points.py) and the points bank over it, on both
engines: an entry is kept once by its id with both balances in one TransactWriteItems; a
refused one (over the balance, out of stock, over the day's cap) writes nothing; a balance
is one GetItem and a month one Query.

Then the races, with real threads lined up by a barrier, each run once for each of STAGGERS
(a subtest each) on accounts of its own: two redemptions against one balance, a credit
against its reversal, the same credit twice at once and two credits against the daily cap.
Whatever the interleaving, every balance is the sum of its entries and never goes where the
rules say it may not.
"""
from __future__ import annotations

import botocore.client
import pytest

from chalicelib.adapters.points import DynamoPointsLedger
from chalicelib.domain.points import (
    Entry,
    PointsRefused,
    balance,
    branch_account,
    day_bounds,
    day_of,
    member_account,
    shop_account,
    stock_key,
)
from tests.storage.conftest import at_once

STAGGERS = (0.0, 0.0, 0.002, 0.01, 0.03)     # seconds between the threads' starts, one per run
BRANCH, SHOP = branch_account("changmu"), shop_account("changmu")
M06 = member_account("changmu", "m06")
ALLOWANCE = "subsistence_allowance_application"      # 20 points, 5 more on time


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


@pytest.fixture
def ledger(bare_stack):
    return DynamoPointsLedger(bare_stack.points_model)


@pytest.fixture
def bank(bare_stack):
    return bare_stack.points


def issued(at: float, points: int, account: str = M06, entry_id: str = "event:changmu:e1:m06") -> Entry:
    return Entry(entry_id, at, BRANCH, account, points, "event_attended", "e1")


def every_entry(ledger, accounts, since, until) -> list[Entry]:
    return list({e.id: e for a in accounts for e in ledger.entries(a, since, until)}.values())


def each_run(subtests, race) -> None:
    for run, stagger in enumerate(STAGGERS):
        with subtests.test(run=run, stagger=stagger):
            race(run, stagger)


# -- the adapter's contract -------------------------------------------------------------------------

def test_an_entry_is_recorded_once_with_both_balances_and_reads_back_by_id_and_by_month(ledger, clock, operations):
    # GIVEN an entry of 30 points from the branch to a member
    entry = issued(clock.now, 30)

    # WHEN it is recorded, and recorded again
    del operations[:]
    first, again = ledger.record(entry, debit_floor=None), ledger.record(entry, debit_floor=None)

    # THEN it is new once (one TransactWriteItems each), and both balances moved once
    assert (first, again) == (True, False)
    assert operations == ["TransactWriteItems", "TransactWriteItems"]
    del operations[:]
    assert (ledger.balance(M06), ledger.balance(BRANCH)) == (30, -30)
    assert operations == ["GetItem", "GetItem"]                       # a balance is one GetItem
    # AND it reads back by id and under both accounts, the month in one Query each
    assert ledger.get(entry.id) == entry and ledger.get("event:nothing") is None
    del operations[:]
    assert ledger.entries(M06, clock.now - 60, clock.now + 60) == [entry]
    assert operations == ["Query"]
    assert ledger.entries(BRANCH, clock.now - 60, clock.now + 60) == [entry]
    # AND [since, until) is exact to the fraction of a second
    assert ledger.entries(M06, clock.now + 0.0004, clock.now + 60) == []
    assert ledger.entries(M06, clock.now - 60, clock.now) == []
    assert "Scan" not in operations


def test_entries_read_back_oldest_first_and_only_the_accounts_own(ledger, clock):
    times = [clock.now + offset for offset in (120.0, 0.5, 60.25)]
    for index, at in enumerate(times):
        ledger.record(issued(at, 5 + index, entry_id=f"event:changmu:e{index}:m06"), debit_floor=None)
    ledger.record(issued(clock.now, 7, member_account("changmu", "m07"), "event:changmu:e0:m07"), debit_floor=None)

    found = ledger.entries(M06, clock.now, clock.now + 3600)

    assert [e.at for e in found] == sorted(times) and {e.credit for e in found} == {M06}


def test_a_debit_below_its_floor_out_of_stock_or_over_the_cap_is_refused_and_writes_nothing(ledger, clock):
    ledger.record(issued(clock.now, 30), debit_floor=None)
    ledger.restock("changmu", "towel", 1)
    spend = Entry("redeem:changmu:R-1", clock.now, M06, SHOP, 31, "redeemed", "towel")

    with pytest.raises(PointsRefused, match="over_balance"):
        ledger.record(spend, stock=(stock_key("changmu", "towel"), 1))
    with pytest.raises(PointsRefused, match="over_balance"):          # a member with no balance item at all
        ledger.record(Entry("redeem:changmu:R-2", clock.now, member_account("changmu", "m07"), SHOP, 1,
                            "redeemed", "towel"))
    with pytest.raises(PointsRefused, match="out_of_stock"):
        ledger.record(Entry("redeem:changmu:R-3", clock.now, M06, SHOP, 10, "redeemed", "rice"),
                      stock=(stock_key("changmu", "rice"), 1))
    day = day_of(clock.now)
    ledger.record(issued(clock.now, 40, entry_id="order:AAAAA1:verified"), debit_floor=None, daily=(day, 50))
    with pytest.raises(PointsRefused, match="daily_cap"):
        ledger.record(issued(clock.now, 11, entry_id="order:AAAAA2:verified"), debit_floor=None, daily=(day, 50))

    # nothing of the refused entries was written: no marker, no rows, no stock taken
    assert ledger.balance(M06) == 70 and ledger.stock("changmu", "towel") == 1
    assert [ledger.get(i) for i in ("redeem:changmu:R-1", "redeem:changmu:R-3", "order:AAAAA2:verified")] == [None] * 3
    assert len(ledger.entries(M06, clock.now - 1, clock.now + 1)) == 2
    # and one within floor, stock and cap goes through, taking its item
    assert ledger.record(Entry("redeem:changmu:R-4", clock.now, M06, SHOP, 25, "redeemed", "towel"),
                         stock=(stock_key("changmu", "towel"), 1))
    assert (ledger.balance(M06), ledger.stock("changmu", "towel"), ledger.stocks("changmu")) == (45, 0, {"towel": 0})


def test_a_voided_id_is_never_recorded_and_a_recorded_one_cannot_be_voided(ledger, clock):
    assert ledger.void("order:VOID01:verified", clock.now) is True
    assert ledger.void("order:VOID01:verified", clock.now) is True       # still void
    assert ledger.record(issued(clock.now, 5, entry_id="order:VOID01:verified"), debit_floor=None) is False
    assert ledger.get("order:VOID01:verified") is None and ledger.balance(M06) == 0
    ledger.record(issued(clock.now, 5), debit_floor=None)
    assert ledger.void("event:changmu:e1:m06", clock.now) is False


def test_a_transaction_conflict_is_tried_again_and_records_the_entry_once(ledger, clock, monkeypatch):
    """DynamoDB cancels a transaction that meets another on the same item (the branch's balance
    is in every credit) with TransactionConflict; DynamoDB Local runs transactions one at a time
    and never does, so the conflict is made here, on the first attempt."""
    import pynamodb.transactions
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    real, attempts = pynamodb.transactions.TransactWrite._commit, []

    def conflicting(self):
        attempts.append(1)
        if len(attempts) == 1:
            reasons = [None, None, None, None, CancellationReason(code="TransactionConflict")]
            raise TransactWriteError("conflict", cause=VerboseClientError(
                {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}, "TransactWriteItems",
                cancellation_reasons=reasons))
        return real(self)
    monkeypatch.setattr(pynamodb.transactions.TransactWrite, "_commit", conflicting)

    assert ledger.record(issued(clock.now, 9), debit_floor=None) is True
    assert len(attempts) == 2 and (ledger.balance(M06), ledger.balance(BRANCH)) == (9, -9)


# -- the races ----------------------------------------------------------------------------------------

def test_two_redemptions_against_one_balance_spend_it_once_and_never_below_zero(bank, clock, subtests):
    def race(run: int, stagger: float) -> None:
        # GIVEN a household holding 30 points, and 5 towels (25 points each) in the shop
        account = f"household:changmu:changmu-0{run + 1}-1-101"
        bank.credit_event(community_id="changmu", account=account, event=f"race-{run}", points=30, at=clock.now)
        bank.restock("changmu", "towel", 5)
        before = bank.stock("changmu", "towel")

        def redeem(receipt: str):
            try:
                return bank.redeem(community_id="changmu", account=account, item="towel", receipt=receipt,
                                   at=clock.now)
            except PointsRefused as refused:
                return refused.reason

        # WHEN two towels are redeemed at once, on two receipts
        outcomes = at_once(lambda: redeem(f"R-{run}-A"), lambda: redeem(f"R-{run}-B"), stagger=stagger)

        # THEN one is redeemed and the other refused over the balance: 5 points left, one towel gone
        assert sorted(o if isinstance(o, str) else "redeemed" for o in outcomes) == ["over_balance", "redeemed"]
        assert bank.account_balance(account) == 5 and bank.stock("changmu", "towel") == before - 1

    each_run(subtests, race)


def test_a_credit_racing_its_reversal_ends_with_neither_or_both(bank, ledger, clock, subtests):
    def race(run: int, stagger: float) -> None:
        # GIVEN a case resolved and rated satisfied, then reopened at the same moment
        member, code = f"rev{run}", f"REV{run:03d}"
        account = member_account("changmu", member)
        credit = lambda: bank.credit_case(community_id="changmu", member_id=member, case_code=code,  # noqa: E731
                                          points=8, at=clock.now)
        reverse = lambda: bank.reverse(f"case:{code}:{member}", clock.now + 1)  # noqa: E731

        # WHEN the credit and its reversal are handled at once (either may start first)
        calls = (credit, reverse) if run % 2 == 0 else (reverse, credit)
        at_once(*calls, stagger=stagger)

        # THEN the member holds nothing, and the ledger has neither entry or both
        entries = ledger.entries(account, clock.now - 60, clock.now + 60)
        assert bank.account_balance(account) == 0 == balance(entries, account)
        assert sorted(e.reason for e in entries) in ([], ["case_resolved", "reversal"])
        # AND neither asked again changes anything
        credit(), reverse()
        assert bank.account_balance(account) == 0
        assert len(ledger.entries(account, clock.now - 60, clock.now + 60)) == len(entries)

    each_run(subtests, race)


def test_the_same_credit_from_two_threads_is_recorded_once(bank, ledger, clock, subtests):
    def race(run: int, stagger: float) -> None:
        member = f"twice{run}"
        credit = lambda: bank.credit_order(  # noqa: E731
            community_id="changmu", member_id=member, order_code=f"TWC{run:03d}", item=ALLOWANCE, on_time=True,
            own_household=False, at=clock.now)

        first, second = at_once(credit, credit, stagger=stagger)

        account = member_account("changmu", member)
        assert first == second and first.points == 25
        assert bank.account_balance(account) == 25
        assert [e.id for e in ledger.entries(account, clock.now - 60, clock.now + 60)] == [first.id]

    each_run(subtests, race)


def test_two_credits_racing_the_daily_cap_never_pass_it(bank, ledger, clock, subtests):
    def race(run: int, stagger: float) -> None:
        # GIVEN a member credited 20 of the day's cap of 50
        member = f"cap{run}"
        account = member_account("changmu", member)

        def credit(code: str, on_time: bool = True):
            return bank.credit_order(community_id="changmu", member_id=member, order_code=code, item=ALLOWANCE,
                                     on_time=on_time, own_household=False, at=clock.now)
        credit(f"CAP{run}00", on_time=False)

        # WHEN two orders worth 25 each are credited at once
        first, second = at_once(lambda: credit(f"CAP{run}01"), lambda: credit(f"CAP{run}02"), stagger=stagger)

        # THEN together they get the 30 the cap leaves, 25 and 5: the day ends at the cap exactly
        assert sorted(e.points for e in (first, second)) == [5, 25]
        start, end = day_bounds(clock.now)
        assert bank.account_balance(account) == 50 == balance(ledger.entries(account, start, end), account)

    each_run(subtests, race)


def test_after_the_races_every_balance_is_the_sum_of_its_entries(bank, ledger, clock):
    """The branch's balance is in every credit of the community: it too is exact."""
    for index in range(6):
        bank.credit_case(community_id="changmu", member_id="m06", case_code=f"SUM{index:03d}", points=3,
                         at=clock.now + index)
    at_once(*(lambda i=i: bank.credit_case(community_id="changmu", member_id=f"m{10 + i}", case_code="SUMALL",
                                           points=2, at=clock.now) for i in range(4)))
    entries = every_entry(ledger, [BRANCH], clock.now - 60, clock.now + 60)
    assert ledger.balance(BRANCH) == balance(entries, BRANCH) == -26
