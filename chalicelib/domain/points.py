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

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .segments import segments

ACCOUNT_KINDS = ("member", "household", "branch", "shop")
DEFAULT_DAILY_CAP = 50
TIMEZONE = "Asia/Shanghai"       # the communities' days and months (UTC+8): "today", "this month"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CAPPED_REASONS = ("order_verified",)    # what the daily cap counts (order_award's credited_today)


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


def stock_key(community_id: str, item: str) -> str:
    """The shop item's stock, as PointsLedger.record's `stock` names it: "shop:<community>#<item>"."""
    return f"{shop_account(community_id)}#{item}"


def account_community(account: str) -> str | None:
    """The community an account belongs to (member:changmu:m06 → changmu)."""
    parts = account.split(":")
    return parts[1] if len(parts) >= 2 and parts[0] in ACCOUNT_KINDS and parts[1] else None


# -- days and months, in the community's time zone ------------------------------------------------

def day_of(at: float, timezone: str = TIMEZONE) -> str:
    """The local day of `at`, "YYYY-MM-DD": the daily cap's day."""
    return datetime.fromtimestamp(at, ZoneInfo(timezone)).strftime("%Y-%m-%d")


def day_bounds(at: float, timezone: str = TIMEZONE) -> tuple[float, float]:
    """[start, end) of the local day of `at`, as epoch seconds."""
    local = datetime.fromtimestamp(at, ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def month_of(at: float, timezone: str = TIMEZONE) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(timezone)).strftime("%Y-%m")


def month_bounds(month: str, timezone: str = TIMEZONE) -> tuple[float, float]:
    """[start, end) of a local month "YYYY-MM"; ValueError for anything else."""
    match = MONTH.match(month or "")
    if not match:
        raise ValueError(f"a month is YYYY-MM, such as 2026-12, not {month!r}")
    year, number = int(match.group(1)), int(match.group(2))
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.timestamp(), end.timestamp()


def credited_on_day(entries: Iterable[Entry], account: str) -> int:
    """What the daily cap has counted of these entries: the capped credits to the account (a
    reversal later does not give the day's cap back)."""
    return sum(e.points for e in entries if e.credit == account and e.reason in CAPPED_REASONS)


# -- the SMS answer to 积分 ------------------------------------------------------------------------

SUMMARY = {
    "zh": {"head": "【{community}】积分余额 {balance}", "month": "；本月 +{earned}（{count}笔）",
           "spent": "，兑换 -{spent}", "taken": "，扣回 -{taken}", "none": "；本月暂无积分变动", "end": "。"},
    "en": {"head": "[{community}] Points: {balance}", "month": ". This month +{earned} ({count})",
           "spent": ", spent -{spent}", "taken": ", taken back -{taken}", "none": ". Nothing this month",
           "end": "."},
}


def summary_text(*, community: str, account: str, balance: int, month: Iterable[Entry], lang: str = "zh") -> str:
    """What 积分 by SMS answers: the balance, and this month's totals (earned, with how many
    entries; spent at the shop; taken back by reversals), never every line, so that it is one
    SMS segment whatever the numbers. A long community name is shortened to keep it so."""
    words = SUMMARY.get(lang, SUMMARY["zh"])
    month = list(month)
    credits = [e for e in month if e.credit == account]
    spent = sum(e.points for e in month if e.debit == account and e.reason == "redeemed")
    taken = sum(e.points for e in month if e.debit == account and e.reason != "redeemed")
    tail = ""
    if credits or spent or taken:
        tail = words["month"].format(earned=sum(e.points for e in credits), count=len(credits))
        tail += words["spent"].format(spent=spent) if spent else ""
        tail += words["taken"].format(taken=taken) if taken else ""
    else:
        tail = words["none"]
    name = community
    while True:
        text = words["head"].format(community=name, balance=balance) + tail + words["end"]
        if segments(text) == 1 or not name:
            return text
        name = name[:-1]
