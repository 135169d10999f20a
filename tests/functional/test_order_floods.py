"""A resident's service orders (点单) are limited per phone, and the block list refuses them,
through the real handlers on moto, as reports are (tests/functional/test_report_floods.py).

This stack allows 2 new orders per phone in each day (the default is 5), and keeps reports
roomy, so that what is counted is the orders' own limit.
"""
from __future__ import annotations

import json
import logging

import pytest

from chalicelib.domain.orders.texts import render_order
from chalicelib.domain.privacy import sender_key
from tests.functional.conftest import dead_letters, invoke, receive_all, records_from, sms_to

PER_PHONE, WINDOW = 2, 86400.0
RESIDENT = "+8613709741001"      # a registered household of changmu, unit 3-2 (data/directory)


@pytest.fixture
def stack(aws_credentials, clock):
    from tests.conftest import moto_stack

    with moto_stack(clock, orders_per_phone=PER_PHONE, order_window_seconds=WINDOW) as container:
        yield container


@pytest.fixture
def client(stack):
    from chalice.test import Client

    from app import app
    from tests.functional.conftest import PROJECT_DIR

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


def sms_in(stack, client, sender: str, text: str, message_id: str | None = None) -> dict:
    stack.inbound_sms.accept(sender, text, "test-gateway", gateway_message_id=message_id)
    [message] = receive_all(stack, "sms-inbound")
    return invoke(client, "sms-inbound", records_from([message], "sms-inbound"))


def count_orders(stack) -> int:
    return sum(1 for _ in stack.orders_model.scan())


def test_an_order_flood_gets_one_polite_answer_then_silence_and_is_kept(client, stack):
    # GIVEN a resident who has ordered as often as a day allows
    for item in ("医保", "低保"):
        sms_in(stack, client, RESIDENT, f"点单 {item}")
    answered = len(sms_to(RESIDENT))
    # WHEN they order twice more the same day
    for item in ("理发", "医保 3-2-501"):
        assert sms_in(stack, client, RESIDENT, f"点单 {item}") == {"batchItemFailures": []}
    # THEN no order is made, they are told once, and both messages are kept with the reason
    assert count_orders(stack) == PER_PHONE
    assert sms_to(RESIDENT)[answered:] == [render_order("orders_limited", "zh", community="常牧家园")]
    letters = dead_letters(stack, "sms-inbound")
    assert [json.loads(letter["body"])["text"] for letter in letters] == ["点单 理发", "点单 医保 3-2-501"]
    assert all(f"more than {PER_PHONE} new orders from one phone" in letter["reason"] for letter in letters)


def test_the_next_day_counts_from_zero(client, stack, clock):
    for item in ("医保", "低保", "理发"):
        sms_in(stack, client, RESIDENT, f"点单 {item}")
    assert count_orders(stack) == PER_PHONE
    clock.advance(WINDOW)
    sms_in(stack, client, RESIDENT, "点单 理发 3-2")
    assert count_orders(stack) == PER_PHONE + 1


def test_a_redelivered_order_sms_at_the_limit_finds_its_order(client, stack):
    for n, item in enumerate(("医保", "低保")):
        sms_in(stack, client, RESIDENT, f"点单 {item}", message_id=f"SM{n}")
    sms_in(stack, client, RESIDENT, "点单 低保", message_id="SM1")     # the gateway retried
    assert count_orders(stack) == PER_PHONE and dead_letters(stack, "sms-inbound") == []


def test_orders_and_reports_are_counted_apart(client, stack):
    # GIVEN a resident at their limit of orders
    for item in ("医保", "低保", "理发"):
        sms_in(stack, client, RESIDENT, f"点单 {item}")
    # WHEN they report a problem
    sms_in(stack, client, RESIDENT, "3号楼2单元楼道灯坏了")
    # THEN it is a report, as ever
    assert sum(1 for _ in stack.case_model.scan()) == 1


def test_a_household_head_s_orders_for_linked_households_are_not_limited(client, stack):
    community = stack.directory().communities["changmu"]
    head = next(m for m in community.members.values() if m.linked_units)
    unit = community.unit_label(head.linked_units[0])
    for item in ("理发", "医保", "低保"):
        sms_in(stack, client, head.phone, f"代点 {unit} {item}")
    assert count_orders(stack) == PER_PHONE + 1


def test_a_blocked_phone_s_orders_are_ignored_silently_and_logged_by_key(client, stack, caplog):
    from tools.blocklist import main

    assert main(["add", "--phone", RESIDENT], container=stack) == 0
    caplog.set_level(logging.INFO)
    assert sms_in(stack, client, RESIDENT, "点单 医保") == {"batchItemFailures": []}
    assert count_orders(stack) == 0 and sms_to(RESIDENT) == []
    [line] = [r.getMessage() for r in caplog.records if "SMS order ignored" in r.getMessage()]
    assert sender_key(phone=RESIDENT) in line and "13709741001" not in line
