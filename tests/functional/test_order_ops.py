"""The operators' commands on service orders through the `ops` function: an order a committee
member enters after a home visit, read, called off; each mistake refused naming its field."""
from __future__ import annotations

from tests.functional.conftest import member_phone, sms_to
from tests.functional.test_ops import ops

RESIDENT = "+8613912340000"


def run_every_order_command(client, stack) -> None:
    """Each order command once, for the ops function's least-privilege policy (infra/iam.py)."""
    placed = ops(client, command="order-place", community="changmu", item="medical_insurance_payment", place="5-1",
                 phone=RESIDENT)
    assert placed["ok"], placed
    assert ops(client, command="order-show", order=placed["order"]["code"])["ok"]
    assert ops(client, command="order-cancel", order=placed["order"]["code"], reason="居民已自行理发")["ok"]


def test_a_committee_member_enters_an_order_after_a_visit(client, aws_stack):
    # WHEN the office enters an order for a resident met on a home visit
    placed = ops(client, command="order-place", community="changmu", item="subsistence_allowance_application",
                 place="3-2", phone="13912340000")
    # THEN it is an order of the committee's, for that household, and the resident has its code
    assert placed["ok"] and placed["changed"] is True, placed
    order = placed["order"]
    assert (order["item"], order["location"], order["ordered_by"], order["status"]) == (
        "subsistence_allowance_application", "changmu-03-2", "committee", "ordered")
    assert any(order["code"] in text for text in sms_to(RESIDENT))
    # AND the committee member who dispatches it is asked to
    assert any(f"派单 {order['code']}" in t for t in sms_to(member_phone(aws_stack, order["dispatcher"])))
    assert "phone" not in str(order) and RESIDENT not in str(order)


def test_an_order_for_someone_without_a_phone_is_confirmed_by_the_member_named(client, aws_stack):
    placed = ops(client, command="order-place", community="changmu", item="micro_wish", place="11-2",
                 member="m20", wish="想要一个收音机", value_yuan=80)
    assert placed["ok"], placed
    stored = aws_stack.orders.orders.get(placed["order"]["code"])
    assert (stored.confirmer, stored.wish, stored.value_yuan) == ("m20", "想要一个收音机", 80)


def test_a_service_the_committee_may_not_order_is_refused(client, aws_stack):
    refused = ops(client, command="order-place", community="changmu", item="haircut_at_home", place="3-2",
                  phone=RESIDENT)
    assert (refused["ok"], refused["error"]["code"]) == (False, "refused")


def test_order_commands_refuse_what_is_wrong_naming_the_field(client, aws_stack):
    assert ops(client, command="order-place", community="changmu", item="no_such", place="3-2",
               phone=RESIDENT)["error"]["field"] == "item"
    assert ops(client, command="order-place", community="changmu", item="haircut_at_home", place="99-9",
               phone=RESIDENT)["error"]["field"] == "place"
    assert ops(client, command="order-place", community="changmu", item="haircut_at_home",
               place="3-2")["error"]["field"] == "phone"
    assert ops(client, command="order-place", community="changmu", item="haircut_at_home", place="3-2",
               phone="12")["error"]["field"] == "phone"
    assert ops(client, command="order-show", order="ZZZZZZ")["error"]["code"] == "not_found"
    assert ops(client, command="order-cancel", order="ABC234")["error"]["field"] == "reason"


def test_cancelling_an_order_tells_its_pool_and_a_second_cancel_changes_nothing(client, aws_stack):
    placed = ops(client, command="order-place", community="changmu", item="medical_insurance_payment",
                 place="3-2", phone=RESIDENT)["order"]
    service = aws_stack.orders
    order = service.dispatch(service.orders.get(placed["code"]), placed["dispatcher"])
    first = ops(client, command="order-cancel", order=order.code, reason="居民已自行理发")
    again = ops(client, command="order-cancel", order=order.code, reason="居民已自行理发")
    assert (first["order"]["status"], first["changed"], again["changed"]) == ("cancelled", True, False)
    for member_id in order.pool:
        assert any("已撤销" in t for t in sms_to(member_phone(aws_stack, member_id)))


def test_an_order_entered_for_a_resident_who_replied_stop_is_not_texted_to_them(client, aws_stack):
    # GIVEN a resident who replied 退订
    from tests.functional.conftest import text_in
    text_in(aws_stack, RESIDENT, "退订", client)
    before = len(sms_to(RESIDENT))
    # WHEN the office enters an order for them
    placed = ops(client, command="order-place", community="changmu", item="subsistence_allowance_application",
                 place="3-2", phone="13912340000")
    # THEN the order stands and the committee is asked to dispatch it, but the resident gets no SMS
    assert placed["ok"], placed
    assert len(sms_to(RESIDENT)) == before
    assert any(f"派单 {placed['order']['code']}" in t
               for t in sms_to(member_phone(aws_stack, placed["order"]["dispatcher"])))


def test_two_runs_of_the_cli_place_two_orders(aws_stack, capsys):
    # GIVEN the office's terminal WHEN it places an order twice, one run each
    import json

    from tools.ops import main
    event = json.dumps({"command": "order-place", "community": "changmu", "item": "subsistence_allowance_application",
                        "place": "3-2", "phone": "13912340000"})
    codes = []
    for _ in range(2):
        assert main([event, "--operator", "wangwu"], container=aws_stack) == 0
        codes.append(json.loads(capsys.readouterr().out)["order"]["code"])
    # THEN they are two orders: each run is its own request
    assert len(set(codes)) == 2
