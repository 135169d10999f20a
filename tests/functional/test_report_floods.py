"""Report floods from one phone or one address are limited, and a block list refuses them,
through the real handlers on moto (docs/operations.md "Floods and the block list").

These stacks run with small limits: 3 new reports per phone and 5 per source address in
each hour (the defaults are 5 and 60). Every web request comes from chalice's 127.0.0.1
unless a test gives it another address.
"""
from __future__ import annotations

import json
import logging

import pytest
from chalice.local import LambdaEventConverter

from chalicelib.domain.messages import render
from chalicelib.domain.privacy import sender_key
from tests.functional.conftest import (
    PROJECT_DIR,
    count_cases,
    dead_letters,
    invoke,
    post_report,
    receive_all,
    records_from,
    report,
    sms_to,
)

PER_PHONE, PER_IP, WINDOW = 3, 5, 3600
FLOODER = "+8613800138000"
NEIGHBOUR = "+8613900139000"


@pytest.fixture
def stack(aws_credentials, clock):
    from tests.conftest import moto_stack

    with moto_stack(clock, reports_per_phone=PER_PHONE, reports_per_ip=PER_IP,
                    report_window_seconds=WINDOW) as container:
        yield container


@pytest.fixture
def client(stack):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


@pytest.fixture
def from_address(monkeypatch):
    """Web requests come from this source address, as API Gateway would say."""
    def use(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
    return use


def seconds_left(clock) -> int:
    """Until the current (fixed) window ends."""
    return int((clock.now // WINDOW + 1) * WINDOW - clock.now)


def blocklist(stack, *argv: str) -> int:
    from tools.blocklist import main
    return main(list(argv), container=stack)


def sms_in(stack, client, sender: str, text: str, message_id: str | None = None) -> dict:
    stack.inbound_sms.accept(sender, text, "test-gateway", gateway_message_id=message_id)
    [message] = receive_all(stack, "sms-inbound")
    return invoke(client, "sms-inbound", records_from([message], "sms-inbound"))


# -- the web form --------------------------------------------------------------------------------

def test_a_phone_over_its_limit_gets_429_and_nothing_is_stored_or_queued(client, stack, clock):
    codes = [post_report(client, report(phone=FLOODER, description=f"漏水 {n}")).json_body["code"]
             for n in range(PER_PHONE)]
    assert len(set(codes)) == PER_PHONE

    refused = post_report(client, report(phone=FLOODER, description="漏水 again"))

    assert refused.status_code == 429
    assert refused.json_body == {"error": {"code": "rate_limited", "field": "phone",
                                           "message": refused.json_body["error"]["message"]}}
    assert "phone number" in refused.json_body["error"]["message"]
    assert refused.headers["Retry-After"] == str(seconds_left(clock))
    assert count_cases(stack) == PER_PHONE
    assert len(receive_all(stack, "intake")) == PER_PHONE
    # another resident is not held back by it, and the flooder may report again next window
    assert post_report(client, report(phone=NEIGHBOUR)).status_code == 202
    clock.advance(seconds_left(clock))
    assert post_report(client, report(phone=FLOODER, description="漏水 later")).status_code == 202


def test_a_retried_report_is_found_again_and_counts_nothing(client, stack):
    first = post_report(client, report(phone=FLOODER), headers={"Idempotency-Key": "kiosk-1"})
    for n in range(PER_PHONE - 1):
        assert post_report(client, report(phone=FLOODER, description=f"漏水 {n}")).status_code == 202
    # at the limit, the retry of the first report still finds it: a retry is not a flood
    retry = post_report(client, report(phone=FLOODER), headers={"Idempotency-Key": "kiosk-1"})
    assert (retry.status_code, retry.json_body["code"]) == (202, first.json_body["code"])
    assert post_report(client, report(phone=FLOODER, description="漏水 new")).status_code == 429


def test_an_address_over_its_limit_gets_429_whatever_the_phones(client, stack, from_address):
    from_address("203.0.113.7")
    for n in range(PER_IP):
        body = report(phone=f"+86139001390{n:02d}") if n % 2 else report(phone=..., name=...)
        assert post_report(client, body).status_code == 202

    refused = post_report(client, report(phone="+8613700137000"))

    assert refused.status_code == 429
    assert (refused.json_body["error"]["code"], refused.json_body["error"]["field"]) == ("rate_limited", None)
    assert "address" in refused.json_body["error"]["message"]
    assert count_cases(stack) == PER_IP
    from_address("198.51.100.20")                        # the next address is another sender
    assert post_report(client, report(phone="+8613700137000")).status_code == 202


def test_a_blocked_phone_or_address_gets_403_until_it_is_removed(client, stack, from_address, capsys):
    assert blocklist(stack, "add", "--phone", "138 0013 8000", "--note", "flooded the form", "--actor", "ops") == 0
    assert blocklist(stack, "add", "--ip", "203.0.113.7", "--actor", "ops") == 0
    capsys.readouterr()

    by_phone = post_report(client, report(phone="13800138000"))
    from_address("203.0.113.7")
    by_address = post_report(client, report(phone=NEIGHBOUR))

    assert (by_phone.status_code, by_phone.json_body["error"]["code"], by_phone.json_body["error"]["field"]) == \
        (403, "blocked", "phone")
    assert (by_address.status_code, by_address.json_body["error"]["code"], by_address.json_body["error"]["field"]) \
        == (403, "blocked", None)
    assert count_cases(stack) == 0 and receive_all(stack, "intake") == []

    assert blocklist(stack, "list") == 0
    listed = capsys.readouterr().out
    assert "+86138****8000" in listed and "203.0.113.*" in listed and "flooded the form" in listed
    assert "13800138000" not in listed and "203.0.113.7" not in listed       # nor kept in the table
    assert not [item for item in stack.blocklist_model.scan() if "0013" in json.dumps(item.attribute_values)]
    assert blocklist(stack, "list", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["kind"], r["shown"], r["actor"]) for r in rows} == {("phone", "+86138****8000", "ops"),
                                                                     ("ip", "203.0.113.*", "ops")}

    assert blocklist(stack, "remove", "--ip", "203.0.113.7") == 0
    assert post_report(client, report(phone=NEIGHBOUR)).status_code == 202
    assert blocklist(stack, "remove", "--ip", "203.0.113.7") == 2            # not on it any more


def test_a_sender_seen_in_the_logs_is_blocked_by_its_key(client, stack, caplog):
    for n in range(PER_PHONE + 1):
        post_report(client, report(phone=FLOODER, description=f"漏水 {n}"))
    [line] = [r.getMessage() for r in caplog.records if "report refused" in r.getMessage()]
    key = sender_key(phone=FLOODER)
    assert key in line and "138" not in line.replace(key, "")

    assert blocklist(stack, "add", "--key", key) == 0
    assert post_report(client, report(phone=FLOODER)).json_body["error"]["code"] == "blocked"
    assert blocklist(stack, "add", "--key", "phone:123") == 1                  # not a key


# -- SMS -------------------------------------------------------------------------------------------

def test_an_sms_flood_gets_one_polite_answer_then_silence_and_is_kept(client, stack):
    for n in range(PER_PHONE):
        sms_in(stack, client, FLOODER, f"{n + 1}号楼1单元门口有个大坑")
    answered = len(sms_to(FLOODER))
    for n in range(2):
        assert sms_in(stack, client, FLOODER, f"{n + 5}号楼1单元门口有个大坑") == {"batchItemFailures": []}

    assert count_cases(stack) == PER_PHONE
    assert sms_to(FLOODER)[answered:] == [render("reports_limited", "zh")]          # once
    letters = dead_letters(stack, "sms-inbound")
    assert [json.loads(letter["body"])["text"] for letter in letters] == [
        "5号楼1单元门口有个大坑", "6号楼1单元门口有个大坑"]
    assert all(f"more than {PER_PHONE} new reports from one phone" in letter["reason"] for letter in letters)


def test_web_and_sms_reports_from_one_phone_count_together(client, stack):
    for n in range(PER_PHONE - 1):
        assert post_report(client, report(phone=FLOODER, description=f"漏水 {n}")).status_code == 202
    sms_in(stack, client, FLOODER, "3号楼2单元门口有个大坑")
    assert count_cases(stack) == PER_PHONE

    assert post_report(client, report(phone=FLOODER)).status_code == 429
    sms_in(stack, client, FLOODER, "3号楼1单元门口有个大坑")
    assert count_cases(stack) == PER_PHONE and len(dead_letters(stack, "sms-inbound")) == 1


def test_a_redelivered_sms_report_at_the_limit_finds_its_report(client, stack):
    for n in range(PER_PHONE):
        sms_in(stack, client, FLOODER, f"{n + 1}号楼1单元门口有个大坑", message_id=f"SM{n}")
    sms_in(stack, client, FLOODER, "3号楼1单元门口有个大坑", message_id="SM2")   # the gateway retried
    assert count_cases(stack) == PER_PHONE and dead_letters(stack, "sms-inbound") == []


def test_a_blocked_phone_s_sms_are_ignored_silently_and_logged_by_key(client, stack, caplog):
    assert blocklist(stack, "add", "--phone", FLOODER) == 0
    caplog.set_level(logging.INFO)

    for text in ("3号楼2单元门口有个大坑", "帮助", "查询", "收到 ABC234", "1"):
        assert sms_in(stack, client, FLOODER, text) == {"batchItemFailures": []}

    assert count_cases(stack) == 0 and sms_to(FLOODER) == [] and dead_letters(stack, "sms-inbound") == []
    said = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(said) == 5 and all(sender_key(phone=FLOODER) in line for line in said)
    assert not any("13800138000" in r.getMessage() for r in caplog.records)


def test_a_member_s_phone_on_the_block_list_still_works_by_reply(client, stack):
    """The directory says who is a member; the block list is for residents' reports."""
    from tests.functional.conftest import member_phone

    leader = member_phone(stack, "m10")
    assert blocklist(stack, "add", "--phone", leader) == 0
    sms_in(stack, client, leader, "帮助")
    assert sms_to(leader) == [render("no_open_cases", "zh")]


# -- the write itself ----------------------------------------------------------------------------

@pytest.mark.parametrize("reasons, raised", [
    (["None", "ConditionalCheckFailed", "None", "None"], "CodeTaken"),
    (["ConditionalCheckFailed", "ConditionalCheckFailed", "None", "None"], "CodeTaken"),     # a retry, found
    (["ConditionalCheckFailed", "None", "None", "ConditionalCheckFailed"], "Blocked"),
    (["None", "None", "None", "ConditionalCheckFailed"], "RateLimited"),
    (["TransactionConflict", "None", "None", "None"], "TransactWriteError"),                 # after 3 tries
])
def test_a_cancelled_write_says_why_in_that_order(stack, monkeypatch, reasons, raised):
    """One blocked sender check, the case, two counts: what each cancellation reason means.
    (moto never conflicts; DynamoDB does when one sender's reports meet in one instant.)"""
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    from chalicelib.adapters import admission as adapter
    from chalicelib.domain.admission import ReportLimits, admission_for

    tries = []

    class Cancelled:
        def __init__(self, **_):
            pass

        def __enter__(self):
            return self

        def condition_check(self, *args, **kwargs): pass
        def save(self, *args, **kwargs): pass
        def update(self, *args, **kwargs): pass

        def __exit__(self, *exc):
            tries.append(1)
            cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "x"}},
                                       "TransactWriteItems",
                                       cancellation_reasons=[CancellationReason(code) for code in reasons])
            raise TransactWriteError("Failed to write transaction items", cause)

    monkeypatch.setattr(adapter, "TransactWrite", Cancelled)
    monkeypatch.setattr(adapter.time, "sleep", lambda _: None)
    admission = admission_for(ReportLimits(3, 5), 1_790_000_000.0, phone=FLOODER, ip="203.0.113.7")
    admission = type(admission)(admission.blocks[:1], admission.quotas, admission.now)
    record = stack.case_model("ABC234")
    with pytest.raises(Exception) as failure:
        adapter.add_admitted(record, admission, stack.contacts_model, stack.blocklist_model)
    assert type(failure.value).__name__ == raised
    assert len(tries) == (3 if raised == "TransactWriteError" else 1)
    if raised == "RateLimited":
        assert failure.value.sender == sender_key(ip="203.0.113.7")
