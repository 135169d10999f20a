"""The block list table: in the template for every stage, keyed as the model is, by a
sender's pseudonym, never a phone number or an address."""
from __future__ import annotations

import pytest

from infra.template import render


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_block_list_table_is_keyed_by_sender_and_recoverable(stage):
    from chalicelib.adapters.admission import build_blocklist_model

    table = render(stage)["Resources"]["BlocklistTable"]["Properties"]
    assert table["TableName"] == f"gridloop-{stage}-blocklist"
    assert table["KeySchema"] == [{"AttributeName": "sender", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    model = build_blocklist_model(table["TableName"], "us-east-1", None)
    assert model._hash_keyname == "sender"


def test_a_block_list_key_holds_no_phone_number_or_address():
    from chalicelib.domain.privacy import sender_key

    phone, ip = sender_key(phone="+8613800138000"), sender_key(ip="203.0.113.7")
    assert phone.startswith("phone:") and ip.startswith("ip:")
    assert not any(part in phone + ip for part in ("13800138000", "0013", "203.0.113", "113.7"))
    assert sender_key(phone="+8613800138000") == phone          # the same sender, the same key
