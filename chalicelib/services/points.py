"""The civility points bank (文明实践积分银行): what earns points, what spends them, and what a
member is told, over the ledger (services.ports.PointsLedger; adapters.points on DynamoDB).

The rules are domain.points'; this service reads what they need (today's credits, a balance,
the catalogue's points and shop) and writes each entry in the ledger's one all-or-nothing
write, so that whatever arrives twice, late or at once, every balance stays the sum of its
entries:

- an order the resident confirmed: its item's points and on-time bonus, up to the member's
  daily cap (in the community's day, UTC+8), never for one's own household; the cap holds
  when two credits race, by the day's counter in the same write;
- a grid case resolved and rated satisfied, and a community event attended (entered by the
  committee, to a member's or a household's account): not capped;
- a redemption at the points shop (积分超市): the shop's receipt is its id, never over the
  balance, never beyond the item's stock;
- a reversal (a verified order or case reopened), once, even when it arrives before the
  credit it undoes (see `reverse`).

Each entry's id is the event that caused it, so a redelivered message changes nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.domain.points import (
    DEFAULT_DAILY_CAP,
    TIMEZONE,
    Entry,
    PointsRefused,
    account_community,
    branch_account,
    credited_on_day,
    day_bounds,
    day_of,
    member_account,
    month_bounds,
    month_of,
    order_award,
    redemption,
    reversal,
    stock_key,
    summary_text,
)

from .ports import ConcurrentUpdate, PointsLedger

log = logging.getLogger("gridloop.points")
log.setLevel(logging.INFO)      # each refusal or void is worth a line; the app logger stays at WARNING

CAP_RETRIES = 5          # another credit of the member's day landed first: read again, award what is left
REVERSE_RETRIES = 3      # the credit landed between our read and our void: read it again and reverse it
EARNING_ACCOUNTS = ("member", "household")


class PointsBank:
    def __init__(self, ledger: PointsLedger, catalogues: Mapping[str, Any], clock: Callable[[], float],
                 daily_cap: int = DEFAULT_DAILY_CAP, *, directory: Callable[[], Any] | None = None,
                 timezone: str = TIMEZONE):
        self._ledger, self._catalogues, self._clock = ledger, catalogues, clock
        self._cap, self._directory, self._zone = daily_cap, directory, timezone

    # -- earning -------------------------------------------------------------------------------
    def credit_order(self, *, community_id: str, member_id: str, order_code: str, item: str, on_time: bool,
                     own_household: bool, at: float) -> Entry | None:
        """Credit the member for an order the resident confirmed done: the catalogue item's
        points, its bonus when done on time, up to what the member's daily cap has left.
        None when nothing is credited: the order came from the member's own household, the
        day's cap is reached, or a reversal came first (`reverse`). Run again, it credits
        nothing more and returns the entry recorded the first time.

        Today's credits come from one Query of the member's day; the ledger's write adds the
        points to the day's counter on the condition that it stays within the cap, so two
        credits at once cannot both pass it: the one refused reads its day again and is given
        what is left."""
        points = self._order_item(community_id, item)
        account = member_account(community_id, member_id)
        entry_id = f"order:{order_code}:verified"
        if own_household:
            log.info("points: no credit for order %s: ordered by %s's own household", order_code, account)
            return None
        start, end = day_bounds(at, self._zone)
        day = day_of(at, self._zone)
        for _ in range(CAP_RETRIES):
            today = self._ledger.entries(account, start, end)
            credited = next((e for e in today if e.id == entry_id), None)
            if credited is not None:
                return credited                      # redelivered: credited already
            entry = order_award(community_id=community_id, member_id=member_id, order_code=order_code,
                                points=points.points, on_time_bonus=points.on_time_bonus, on_time=on_time,
                                own_household=False, credited_today=credited_on_day(today, account), at=at,
                                daily_cap=self._cap)
            if entry is None:
                log.info("points: no credit for order %s: %s reached the daily cap of %d on %s",
                         order_code, account, self._cap, day)
                return self._ledger.get(entry_id)   # (credited on another day, when redelivered late)
            try:
                if self._ledger.record(entry, debit_floor=None, daily=(day, self._cap)):
                    return entry
                return self._recorded_before(entry_id)
            except PointsRefused as refused:
                if refused.reason != "daily_cap":
                    raise
        raise ConcurrentUpdate(entry_id)            # credits kept landing first: the message is retried

    def credit_case(self, *, community_id: str, member_id: str, case_code: str, points: int, at: float,
                    follower: bool = False) -> Entry | None:
        """Credit a member for a grid case resolved and rated satisfied (`follower`: for
        following it up, 跟办, rather than handling it). Not capped. None for 0 points, or
        when a reversal of it came first."""
        if points == 0:
            return None
        entry = Entry(f"case:{case_code}:{member_id}", at, branch_account(community_id),
                      member_account(community_id, member_id), points,
                      "case_followed_up" if follower else "case_resolved", case_code)
        return self._credit(entry)

    def credit_event(self, *, community_id: str, account: str, event: str, points: int, at: float) -> Entry | None:
        """Credit a member's or a household's account for a community event attended, or a
        resident's civility activity, as the committee enters it. Not capped; once per event
        and account. None when a reversal of it came first."""
        self._earning_account(community_id, account)
        entry = Entry(f"event:{community_id}:{event}:{account}", at, branch_account(community_id), account,
                      points, "event_attended", event)
        return self._credit(entry)

    def _credit(self, entry: Entry) -> Entry | None:
        if self._ledger.record(entry, debit_floor=None):
            return entry
        return self._recorded_before(entry.id)

    def _recorded_before(self, entry_id: str) -> Entry | None:
        entry = self._ledger.get(entry_id)
        if entry is None:
            log.info("points: %s not credited: it was reversed before it arrived", entry_id)
        return entry

    # -- undoing -------------------------------------------------------------------------------
    def reverse(self, entry_id: str, at: float) -> Entry | None:
        """Undo an entry (a verified order or case reopened): the same points the other way,
        once however often it is asked. The reversal's debit has no floor: a member who spent
        the points meanwhile goes below zero, and the next credits make it good.

        The choice for a reversal that arrives before its credit (queues deliver out of
        order, and a credit may be in flight when the reopening is handled): when the entry
        is not there, the reversal voids its id, in one conditional write, so that the credit
        when it comes records nothing and returns None. Returned: None (nothing was credited,
        and now nothing will be). If the credit lands between the read and the void, the
        void's condition fails and the credit is reversed as usual. Either way, the end is
        consistent: neither entry, or both. A voided id stays voided, as a reversed one stays
        reversed: the same event never credits again.

        A redemption's reversal gives the points back but not the shop's stock (restock it);
        a reversal is not itself reversed: PointsRefused("not_reversible")."""
        for _ in range(REVERSE_RETRIES):
            original = self._ledger.get(entry_id)
            if original is None:
                if self._ledger.void(entry_id, at):
                    log.info("points: %s reversed before it was recorded: it is void", entry_id)
                    return None
                continue                             # it was recorded meanwhile: reverse it
            if original.reason == "reversal":
                raise PointsRefused("not_reversible")
            undone = reversal(original, at)
            if self._ledger.record(undone, debit_floor=None):
                return undone
            return self._ledger.get(undone.id)
        raise ConcurrentUpdate(entry_id)

    # -- spending ------------------------------------------------------------------------------
    def redeem(self, *, community_id: str, account: str, item: str, receipt: str, at: float) -> Entry:
        """Spend points at the points shop (积分超市) on one `item` of its catalogue, with the
        shop's receipt number as the entry's id: the same receipt twice redeems once (and
        returns the first redemption). PointsRefused: over_balance (not enough points, even
        when two redemptions race: the ledger checks the balance in its write), out_of_stock,
        unknown_item, receipt_used (that receipt was for another account or item)."""
        self._earning_account(community_id, account)
        price = self._shop_item(community_id, item).points
        entry_id = f"redeem:{community_id}:{receipt}"
        try:
            entry = redemption(community_id=community_id, account=account, item=item, points=price,
                               receipt=receipt, at=at, held=self._ledger.balance(account))
            if self._ledger.record(entry, debit_floor=0, stock=(stock_key(community_id, item), 1)):
                return entry
        except PointsRefused as refused:
            if refused.reason not in ("over_balance", "out_of_stock"):
                raise
            earlier = self._ledger.get(entry_id)      # a redelivered receipt, after its points were spent
            if earlier is None:
                log.info("points: redemption %s of %s refused: %s", entry_id, item, refused.reason)
                raise
            return _same_receipt(earlier, account, item)
        earlier = self._ledger.get(entry_id)
        if earlier is None:
            raise PointsRefused("receipt_void")
        return _same_receipt(earlier, account, item)

    def restock(self, community_id: str, item: str, count: int) -> int:
        """Add `count` of a shop item to its stock; returns the stock now."""
        self._shop_item(community_id, item)
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise PointsRefused("not_positive")
        return self._ledger.restock(community_id, item, count)

    def shop(self, community_id: str) -> list[dict[str, Any]]:
        """The points shop's items, in the catalogue's order, with their price and stock."""
        items = self._catalogue(community_id).shop
        stocks = self._ledger.stocks(community_id)
        return [{"item": code, "name": dict(item.name), "points": item.points, "stock": stocks.get(code, 0)}
                for code, item in items.items()]

    # -- reading -------------------------------------------------------------------------------
    def balance(self, community_id: str, member_id: str) -> int:
        return self._ledger.balance(member_account(community_id, member_id))

    def account_balance(self, account: str) -> int:
        return self._ledger.balance(account)

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id ("order:AP3ZUM:verified", "redeem:changmu:R-0001"), if recorded."""
        return self._ledger.get(entry_id)

    def stock(self, community_id: str, item: str) -> int:
        return self._ledger.stock(community_id, item)

    def statement(self, account: str, month: str) -> list[Entry]:
        """The account's entries of a local month "YYYY-MM", oldest first: one Query."""
        start, end = month_bounds(month, self._zone)
        return self._ledger.entries(account, start, end)

    def sms_summary(self, community_id: str, member_id: str, lang: str, now: float) -> str:
        """What 积分 by SMS answers: the balance and this month's totals, in one segment."""
        account = member_account(community_id, member_id)
        held = self._ledger.balance(account)
        month = self.statement(account, month_of(now, self._zone))
        return summary_text(community=self._community_name(community_id, lang), account=account, balance=held,
                            month=month, lang=lang)

    # -- the catalogue -------------------------------------------------------------------------
    def _catalogue(self, community_id: str) -> Any:
        catalogue = self._catalogues.get(community_id)
        if catalogue is None:
            raise PointsRefused("unknown_community")
        return catalogue

    def _order_item(self, community_id: str, item: str) -> Any:
        found = self._catalogue(community_id).items.get(item)
        if found is None:
            raise PointsRefused("unknown_item")
        return found

    def _shop_item(self, community_id: str, item: str) -> Any:
        found = self._catalogue(community_id).shop.get(item)
        if found is None:
            raise PointsRefused("unknown_item")
        return found

    def _earning_account(self, community_id: str, account: str) -> None:
        if account.split(":", 1)[0] not in EARNING_ACCOUNTS or account_community(account) != community_id:
            raise PointsRefused("unknown_account")

    def _community_name(self, community_id: str, lang: str) -> str:
        community = None
        if self._directory is not None:
            community = self._directory().communities.get(community_id)
        if community is None:
            return community_id
        return community.name.get(lang) or community.name.get("zh") or community_id


def _same_receipt(earlier: Entry, account: str, item: str) -> Entry:
    if earlier.debit != account or earlier.ref != item:
        raise PointsRefused("receipt_used")
    return earlier
