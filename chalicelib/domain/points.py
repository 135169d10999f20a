"""The civility points bank (文明实践积分银行): a double-entry ledger, as a time bank keeps one.

Every movement of points is one `Entry` from one account to another: the branch issues the
points a member earns (`branch:<community>` → `member:<community>:<id>`), a redemption at the
points shop moves them on (`member:…` → `shop:<community>`), and a reversal is the same entry
the other way. A balance is the sum of an account's entries, never a number someone types.

Each entry's id is the event that caused it ("order:AP3ZUM:verified", "reversal:…"), so a
redelivered message that tries to credit twice makes the same entry twice, which the store
keeps once. What earns how much (the catalogue's points, its on-time bonus, nothing for an order
the member's own household placed, a daily cap) is decided here; the store's conditional write
keeps a balance from going below zero, even under concurrent redemptions.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ACCOUNT_KINDS = ("member", "household", "branch", "shop")
DEFAULT_DAILY_CAP = 50


class PointsRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason      # machine word: own_household, over_balance, not_positive, ...


@dataclass(frozen=True)
class Entry:
    id: str                  # the event that caused it: one entry per event, however often it arrives
    at: float
    debit: str               # the account the points leave
    credit: str              # the account they go to
    points: int              # always positive
    reason: str              # order_verified, case_resolved, event_attended, redeemed, reversal
    ref: str | None = None   # the order's or case's code, the shop item, the reversed entry's id

    def __post_init__(self) -> None:
        if not isinstance(self.points, int) or isinstance(self.points, bool) or self.points <= 0:
            raise PointsRefused("not_positive")
        if self.debit == self.credit:
            raise PointsRefused("same_account")
        for account in (self.debit, self.credit):
            if account.split(":", 1)[0] not in ACCOUNT_KINDS:
                raise PointsRefused("unknown_account")


def member_account(community_id: str, member_id: str) -> str:
    return f"member:{community_id}:{member_id}"


def household_account(community_id: str, household: str) -> str:
    return f"household:{community_id}:{household}"


def branch_account(community_id: str) -> str:
    return f"branch:{community_id}"


def shop_account(community_id: str) -> str:
    return f"shop:{community_id}"


def balance(entries: Iterable[Entry], account: str) -> int:
    """What the account holds: everything credited to it, less everything debited."""
    return sum(e.points if e.credit == account else -e.points if e.debit == account else 0 for e in entries)


def order_award(*, community_id: str, member_id: str, order_code: str, points: int, on_time_bonus: int,
                on_time: bool, own_household: bool, credited_today: int, at: float,
                daily_cap: int = DEFAULT_DAILY_CAP) -> Entry | None:
    """The credit for an order the resident confirmed done (rated satisfied): the item's points,
    its bonus when done on time, up to what the member's daily cap has left; None when nothing
    is due (the cap is reached, or the item earns nothing). An order the member's own household
    placed earns nothing: PointsRefused("own_household")."""
    if own_household:
        raise PointsRefused("own_household")
    due = min(points + (on_time_bonus if on_time else 0), max(0, daily_cap - credited_today))
    if due <= 0:
        return None
    return Entry(f"order:{order_code}:verified", at, branch_account(community_id),
                 member_account(community_id, member_id), due, "order_verified", order_code)


def reversal(entry: Entry, at: float) -> Entry:
    """The entry undone (a verified case reopened): the same points the other way, once."""
    return Entry(f"reversal:{entry.id}", at, entry.credit, entry.debit, entry.points, "reversal", entry.id)


def redemption(*, community_id: str, account: str, item: str, points: int, receipt: str, at: float,
               held: int) -> Entry:
    """Points spent at the points shop (积分超市) for `item`, with the shop's receipt number as
    the entry's id. `held`: the account's balance as read; the store checks it again in its
    write, so two redemptions at once cannot both spend the same points."""
    if points > held:
        raise PointsRefused("over_balance")
    return Entry(f"redeem:{community_id}:{receipt}", at, account, shop_account(community_id), points, "redeemed",
                 item)
