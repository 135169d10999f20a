"""The points bank (chalicelib/services/points.py) over the in-memory ledger (tests/fakes.py):
orders credited once however often they arrive, the daily cap, nothing for one's own
household, the points shop (balance, stock, receipts), reversals in either order, statements
by the community's month and the one-segment 积分 answer."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.bootstrap import DATA
from chalicelib.domain.points import (
    Entry,
    PointsRefused,
    balance,
    branch_account,
    household_account,
    member_account,
    shop_account,
)
from chalicelib.domain.segments import segments
from chalicelib.domain.service_catalogue import ServiceCatalogue
from chalicelib.services.points import PointsBank
from tests.fakes import FakeClock, InMemoryPointsLedger

SHANGHAI = ZoneInfo("Asia/Shanghai")
M06, M07 = member_account("changmu", "m06"), member_account("changmu", "m07")
BRANCH, SHOP = branch_account("changmu"), shop_account("changmu")
HOUSEHOLD = household_account("changmu", "changmu-03-2-301")
ALLOWANCE = "subsistence_allowance_application"      # 20 points, 5 more on time
INSURANCE = "medical_insurance_payment"              # 10 points, 2 more on time


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def ledger():
    return InMemoryPointsLedger()


@pytest.fixture
def bank(ledger, directory):
    catalogue = ServiceCatalogue.from_dict(json.loads((DATA / "services" / "changmu.json").read_text("utf-8")))
    return PointsBank(ledger, {"changmu": catalogue}, FakeClock(at("2026-12-03 09:00")),
                      directory=lambda: directory)


def credit(bank, code="AP3ZUM", item=ALLOWANCE, on_time=True, member="m06", when="2026-12-03 10:00", own=False):
    return bank.credit_order(community_id="changmu", member_id=member, order_code=code, item=item, on_time=on_time,
                             own_household=own, at=at(when))


def redeem(bank, receipt="R-0001", item="washing_powder", account=M06, when="2026-12-03 15:00"):
    return bank.redeem(community_id="changmu", account=account, item=item, receipt=receipt, at=at(when))


def consistent(ledger) -> None:
    """Every balance the ledger keeps is the sum of its entries, and they sum to zero."""
    entries = list(ledger.recorded.values())
    assert all(ledger.balances[a] == balance(entries, a) for a in ledger.balances)
    assert sum(ledger.balances.values()) == 0


# -- orders -----------------------------------------------------------------------------------------

def test_given_a_confirmed_order_when_its_credit_is_delivered_twice_then_the_member_is_credited_once(bank, ledger):
    # GIVEN an order done on time and confirmed
    # WHEN its credit arrives, and arrives again (SQS delivers at least once)
    first, again = credit(bank), credit(bank)

    # THEN the member holds the item's points and bonus once, issued by the branch
    assert first == again and (first.id, first.points, first.debit) == ("order:AP3ZUM:verified", 25, BRANCH)
    assert bank.balance("changmu", "m06") == 25 and len(ledger.recorded) == 1
    # AND a late redelivery, on another day whose cap is full, still finds the credit
    for index in range(2):
        credit(bank, code=f"DAY2X{index}", when="2026-12-04 09:00")
    assert credit(bank, when="2026-12-04 10:00") == first
    consistent(ledger)


def test_given_a_member_near_the_daily_cap_then_an_order_earns_what_is_left_and_then_nothing(bank, ledger):
    # GIVEN 45 points credited today (cap 50)
    credit(bank, code="AAAAA1")
    credit(bank, code="AAAAA2", on_time=False)

    # WHEN two more orders are confirmed today, and one tomorrow
    capped = credit(bank, code="AAAAA3", item=INSURANCE)
    nothing = credit(bank, code="AAAAA4", item=INSURANCE)
    tomorrow = credit(bank, code="AAAAA5", item=INSURANCE, when="2026-12-04 00:30")

    # THEN the first earns the 5 the cap leaves, the second nothing, and a new day starts afresh
    assert capped.points == 5 and nothing is None and tomorrow.points == 12
    assert bank.balance("changmu", "m06") == 62
    # AND the day's cap counted from one Query of the member's day per credit
    assert ledger.earned[(M06, "2026-12-03")] == 50 and ledger.earned[(M06, "2026-12-04")] == 12


def test_given_two_credits_racing_for_the_cap_then_the_later_one_rereads_and_gets_what_is_left(bank, ledger):
    # GIVEN a member with 20 points today, and another credit landing between this credit's
    # read of the day and its write
    credit(bank, code="BBBBB1", on_time=False)
    real = ledger.entries
    raced = []

    def stale_read(account, since, until):
        found = real(account, since, until)
        if not raced:
            raced.append(None)
            ledger.entries = real                               # the rival reads and writes as usual
            raced[0] = credit(bank, code="BBBBB2")              # 25 more, after this read
            ledger.entries = stale_read
        return found
    ledger.entries = stale_read

    # WHEN this credit (25) is written on what it read (20 credited: 25 fits)
    late = credit(bank, code="BBBBB3")

    # THEN the day's counter refuses it, it reads again and is given the 5 left: the cap holds
    assert raced[0].points == 25 and late.points == 5
    assert ledger.earned[(M06, "2026-12-03")] == 50 == bank.balance("changmu", "m06")


def test_given_an_order_from_the_members_own_household_then_it_earns_nothing(bank, ledger):
    assert credit(bank, own=True) is None
    assert ledger.recorded == {} and bank.balance("changmu", "m06") == 0


def test_given_an_item_the_catalogue_lacks_then_the_credit_is_refused(bank):
    with pytest.raises(PointsRefused, match="unknown_item"):
        credit(bank, item="massage")
    with pytest.raises(PointsRefused, match="unknown_community"):
        bank.credit_order(community_id="garang", member_id="m01", order_code="AP3ZUM", item=ALLOWANCE,
                          on_time=True, own_household=False, at=at("2026-12-03 10:00"))


# -- cases and events -------------------------------------------------------------------------------

def test_given_a_resolved_case_and_an_event_then_each_is_credited_once_to_its_account(bank, ledger):
    handled = bank.credit_case(community_id="changmu", member_id="m06", case_code="7KQ2XM", points=6,
                               at=at("2026-12-03 11:00"))
    followed = bank.credit_case(community_id="changmu", member_id="m07", case_code="7KQ2XM", points=3,
                                at=at("2026-12-03 11:00"), follower=True)
    event = dict(community_id="changmu", account=HOUSEHOLD, event="2026-12-05-free-clinic", points=5,
                 at=at("2026-12-05 10:00"))
    attended, again = bank.credit_event(**event), bank.credit_event(**event)

    assert (handled.id, handled.reason) == ("case:7KQ2XM:m06", "case_resolved")
    assert (followed.id, followed.reason) == ("case:7KQ2XM:m07", "case_followed_up")
    assert attended == again and attended.id == f"event:changmu:2026-12-05-free-clinic:{HOUSEHOLD}"
    assert ledger.balances[HOUSEHOLD] == 5 and ledger.balances[BRANCH] == -14
    # an account of another community, or the shop's, earns nothing
    for account in (member_account("garang", "m01"), SHOP):
        with pytest.raises(PointsRefused, match="unknown_account"):
            bank.credit_event(**{**event, "account": account})


# -- the points shop --------------------------------------------------------------------------------

def test_given_too_few_points_when_an_item_is_redeemed_then_it_is_refused_and_nothing_moves(bank, ledger):
    # GIVEN 25 points and rice (60) in stock
    credit(bank)
    bank.restock("changmu", "rice", 3)

    # WHEN the member asks for the rice
    with pytest.raises(PointsRefused, match="over_balance"):
        redeem(bank, item="rice")

    # THEN the points and the stock are as they were
    assert bank.balance("changmu", "m06") == 25 and bank.stock("changmu", "rice") == 3
    assert list(ledger.recorded) == ["order:AP3ZUM:verified"]


def test_given_a_receipt_redeemed_twice_then_it_redeems_once_and_another_use_of_it_is_refused(bank, ledger):
    # GIVEN 25 points and washing powder (20) in stock
    credit(bank)
    bank.restock("changmu", "washing_powder", 5)

    # WHEN the shop's receipt is entered twice (the second time with 5 points left)
    first, again = redeem(bank), redeem(bank)

    # THEN it is one redemption: 20 points to the shop, one bag out of stock
    assert first == again and (first.id, first.debit, first.credit) == ("redeem:changmu:R-0001", M06, SHOP)
    assert bank.balance("changmu", "m06") == 5 and bank.stock("changmu", "washing_powder") == 4
    # AND the same receipt for another item or account is a mistake, refused
    with pytest.raises(PointsRefused, match="receipt_used"):
        redeem(bank, item="towel")
    consistent(ledger)


def test_given_no_stock_then_a_redemption_is_refused_and_the_points_stay(bank):
    credit(bank)
    with pytest.raises(PointsRefused, match="out_of_stock"):
        redeem(bank)
    assert bank.balance("changmu", "m06") == 25
    with pytest.raises(PointsRefused, match="unknown_item"):
        redeem(bank, item="television")


def test_given_the_shop_then_its_items_come_in_the_catalogues_order_with_prices_and_stock(bank, ledger):
    bank.restock("changmu", "rice", 4)
    assert bank.restock("changmu", "rice", 2) == 6
    shop = bank.shop("changmu")
    assert [(i["item"], i["points"], i["stock"]) for i in shop] == [
        ("washing_powder", 20, 0), ("towel", 25, 0), ("rice", 60, 6), ("cooking_oil", 80, 0)]
    assert shop[2]["name"]["zh"].startswith("大米") and ledger.calls["stocks"] == 1
    with pytest.raises(PointsRefused, match="not_positive"):
        bank.restock("changmu", "rice", 0)


# -- reversals --------------------------------------------------------------------------------------

def test_given_a_credited_order_when_it_is_reversed_twice_then_it_is_undone_once_even_below_zero(bank, ledger):
    # GIVEN a credit of 25, of which 20 were spent
    earned = credit(bank)
    bank.restock("changmu", "washing_powder", 1)
    redeem(bank)

    # WHEN the order is reopened and its credit reversed, twice
    undone, again = bank.reverse(earned.id, at("2026-12-03 16:00")), bank.reverse(earned.id, at("2026-12-03 17:00"))

    # THEN one reversal of 25 back to the branch: the member owes 20 (no floor on a reversal)
    assert undone == again and (undone.id, undone.debit, undone.credit) == (f"reversal:{earned.id}", M06, BRANCH)
    assert bank.balance("changmu", "m06") == -20
    # AND a reversal is not itself reversed
    with pytest.raises(PointsRefused, match="not_reversible"):
        bank.reverse(undone.id, at("2026-12-03 18:00"))
    consistent(ledger)


def test_given_a_reversal_that_arrives_before_its_credit_then_neither_is_recorded(bank, ledger):
    # WHEN the reopening is handled before the credit's message arrives
    assert bank.reverse("order:AP3ZUM:verified", at("2026-12-03 09:30")) is None

    # THEN the credit, when it comes, records nothing: balance 0, no entry
    assert credit(bank) is None
    assert bank.balance("changmu", "m06") == 0 and ledger.recorded == {}
    assert bank.reverse("order:AP3ZUM:verified", at("2026-12-03 11:00")) is None


# -- statements and the 积分 answer ------------------------------------------------------------------

def test_given_entries_across_months_then_a_statement_is_the_local_months_in_one_query(bank, ledger):
    credit(bank, code="MONTH1", when="2026-11-30 23:30")     # 15:30 UTC: November in Changmu
    credit(bank, code="MONTH2", when="2026-12-01 00:10")     # 16:10 UTC on 30 November: December in Changmu
    credit(bank, code="MONTH3", when="2026-12-31 23:59")
    credit(bank, code="MONTH4", when="2027-01-01 00:00")
    ledger.calls.clear()

    december = bank.statement(M06, "2026-12")

    assert [e.ref for e in december] == ["MONTH2", "MONTH3"] and ledger.calls["entries"] == 1
    with pytest.raises(ValueError, match="YYYY-MM"):
        bank.statement(M06, "2026-13")


def test_given_a_month_of_entries_then_the_sms_answer_is_the_balance_and_totals_in_one_segment(bank, ledger):
    # GIVEN last month's credit, and this month two credits and a redemption
    credit(bank, code="OLD001", when="2026-11-20 10:00")
    credit(bank, code="NEW001", when="2026-12-01 10:00")
    credit(bank, code="NEW002", item=INSURANCE, when="2026-12-02 10:00")
    bank.restock("changmu", "washing_powder", 2)
    redeem(bank, when="2026-12-02 11:00")
    ledger.calls.clear()

    # WHEN the member texts 积分
    zh = bank.sms_summary("changmu", "m06", "zh", at("2026-12-03 09:00"))
    en = bank.sms_summary("changmu", "m06", "en", at("2026-12-03 09:00"))

    # THEN one segment says the balance and this month's totals, read in a GetItem and a Query each
    assert zh == "【常牧家园】积分余额 42；本月 +37（2笔），兑换 -20。"
    assert en == "[Changmu Homeland] Points: 42. This month +37 (2), spent -20."
    assert segments(zh) == segments(en) == 1
    assert (ledger.calls["balance"], ledger.calls["entries"]) == (2, 2)
    # AND a member with nothing is told so
    nothing = bank.sms_summary("changmu", "m07", "zh", at("2026-12-03 09:00"))
    assert nothing == "【常牧家园】积分余额 0；本月暂无积分变动。"


def test_whatever_the_numbers_the_sms_answer_is_one_segment():
    from chalicelib.domain.points import summary_text

    huge = [Entry(f"e{n}", 1.0, BRANCH, M06, 999_999, "order_verified") for n in range(999)]
    huge += [Entry("s", 2.0, M06, SHOP, 9_999_999, "redeemed"), Entry("r", 3.0, M06, BRANCH, 9_999_999, "reversal")]
    for lang in ("zh", "en"):
        text = summary_text(community="常牧家园文明实践积分银行示范社区", account=M06, balance=-99_999_999,
                            month=huge, lang=lang)
        assert segments(text) == 1, text
        assert "-99999999" in text and "999笔" in text if lang == "zh" else "(999)" in text
