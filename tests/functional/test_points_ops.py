"""The points bank's operators' commands through the `ops` function, as a console test event
invokes it, on the moto stack (its points table created from infra/resources.json): the
shop restocked and listed, an event credited to a household and a member, a redemption by
receipt, a month's statement; each run again changes nothing, and each mistake is refused
naming its field. Also through `python -m tools.ops` (`make ops ARGS='points-statement ...'`)."""
from __future__ import annotations

import json

from tests.functional.test_ops import OPERATOR, ops

HOUSEHOLD = "changmu-03-2-301"


def run_every_points_command(client, stack) -> None:
    """Each points command once, for the ops function's least-privilege policy (infra/iam.py)."""
    assert ops(client, command="shop-restock", community="changmu", item="towel", count=3)["stock"] >= 3
    assert ops(client, command="shop-list", community="changmu")["items"]
    assert ops(client, command="points-credit", community="changmu", member="m06", event="iam-clinic",
               points=30)["ok"]
    assert ops(client, command="points-redeem", community="changmu", member="m06", item="towel",
               receipt="R-IAM-1")["ok"]
    assert ops(client, command="points-statement", community="changmu", member="m06")["entries"]


def test_given_a_stocked_shop_when_points_are_credited_and_spent_then_the_statement_shows_both(client, aws_stack):
    # GIVEN rice restocked (twice: it adds up)
    ops(client, command="shop-restock", community="changmu", item="rice", count=4)
    restocked = ops(client, command="shop-restock", community="changmu", item="rice", count=2)
    assert restocked["ok"] and restocked["stock"] == 6

    # WHEN a household is credited for two events, and redeems rice (60) on a receipt
    for event in ("2026-09-20-free-clinic", "2026-09-21-feast"):
        credited = ops(client, command="points-credit", community="changmu", household=HOUSEHOLD, event=event,
                       points=35)
        assert credited["ok"] and credited["changed"] is True
    redeemed = ops(client, command="points-redeem", community="changmu", household=HOUSEHOLD, item="rice",
                   receipt="R-20260921-0001")

    # THEN 10 points are left and 5 bags of rice
    assert redeemed["ok"] and redeemed["changed"] is True and redeemed["receipt"] == "R-20260921-0001"
    assert (redeemed["balance"], redeemed["stock"]) == (10, 5)
    assert redeemed["entry"] | {"at": None} == {
        "id": "redeem:changmu:R-20260921-0001", "at": None, "points": -60, "reason": "redeemed", "ref": "rice",
        "other": "shop:changmu"}
    # AND the month's statement lists the three entries, oldest first, with the balance
    statement = ops(client, command="points-statement", community="changmu", household=HOUSEHOLD)
    assert statement["month"] == "2026-09" and statement["balance"] == 10 and statement["count"] == 3
    assert [e["points"] for e in statement["entries"]] == [35, 35, -60]
    assert ops(client, command="points-statement", community="changmu", household=HOUSEHOLD,
               month="2026-08")["entries"] == []
    # AND the shop's list says what is left
    shop = {i["item"]: i for i in ops(client, command="shop-list", community="changmu")["items"]}
    assert (shop["rice"]["points"], shop["rice"]["stock"], shop["towel"]["stock"]) == (60, 5, 0)
    assert shop["rice"]["name"]["zh"] == "大米（5公斤）"


def test_given_a_command_run_again_then_nothing_more_moves(client, aws_stack):
    ops(client, command="shop-restock", community="changmu", item="washing_powder", count=2)
    credit = dict(command="points-credit", community="changmu", member="m06", event="2026-09-21-cleanup", points=25)
    redeem = dict(command="points-redeem", community="changmu", member="m06", item="washing_powder",
                  receipt="R-0007")

    first, again = ops(client, **credit), ops(client, **credit)
    other = ops(client, **{**credit, "points": 40})            # the same event typed with other points
    spent, spent_again = ops(client, **redeem), ops(client, **redeem)

    assert first["changed"] and not again["changed"] and not other["changed"]
    assert "credited before with 25 points" in other["note"]
    assert spent["changed"] and not spent_again["changed"] and spent_again["entry"] == spent["entry"]
    assert spent_again["balance"] == 5 and spent_again["stock"] == 1


def test_given_wrong_points_commands_then_each_is_refused_naming_its_field_and_nothing_moves(client, aws_stack):
    def refused(**event):
        answer = ops(client, **event)
        assert answer["ok"] is False, answer
        return answer["error"]["code"], answer["error"]["field"]

    ops(client, command="points-credit", community="changmu", member="m06", event="e1", points=20)
    assert refused(command="points-redeem", community="changmu", member="m06", item="rice",
                   receipt="R-1") == ("over_balance", "item")
    assert refused(command="points-redeem", community="changmu", member="m06", item="washing_powder",
                   receipt="R-2") == ("out_of_stock", "item")
    assert refused(command="points-redeem", community="changmu", member="m06", item="television",
                   receipt="R-3") == ("unknown_item", "item")
    assert refused(command="shop-restock", community="changmu", item="television", count=1) == ("unknown_item", "item")
    assert refused(command="points-credit", community="changmu", member="nobody", event="e1",
                   points=5) == ("invalid_field", "member")
    assert refused(command="points-statement", community="nowhere", member="m06") == ("not_found", "community")
    assert refused(command="shop-list", community="garang") == ("unknown_community", "community")
    assert refused(command="points-credit", community="changmu", event="e1", points=5) == ("missing_field", "member")
    answer = ops(client, command="points-statement", community="changmu", member="m06")
    assert answer["balance"] == 20 and answer["count"] == 1


def test_given_the_cli_then_points_statement_is_the_same_command_as_its_json(aws_stack, client, capsys):
    from tools.ops import command_of, main

    ops(client, command="points-credit", community="changmu", member="m06", event="cli-clinic", points=12)
    words = ["--operator", OPERATOR, "points-statement", "--community", "changmu", "--member", "m06",
             "--month", "2026-09"]
    as_json = [json.dumps({"command": "points-statement", "community": "changmu", "member": "m06",
                           "month": "2026-09"}), "--operator", OPERATOR]
    assert command_of(words) == command_of(as_json)

    assert main(words, container=aws_stack) == 0
    # The answer is the indented JSON document printed; a JSON log handler that an earlier test
    # installed may print one-line log records before it.
    out = capsys.readouterr().out
    printed = json.loads(out[out.index("{\n"):])
    assert printed["balance"] == 12 and printed["entries"][0]["id"] == "event:changmu:cli-clinic:member:changmu:m06"
    assert main(["points-redeem", "--community", "changmu", "--member", "m06", "--item", "rice",
                 "--receipt", "R-9"], container=aws_stack) == 1
