"""The records that make an inbound SMS's answers, counts and opt-outs happen once
(services.answers) live on the contacts table: the template expires them by the attribute
the models write, keys them by a pseudonym of the phone, and they outlive every message
that could still come back for them."""
from __future__ import annotations

from infra.template import render


def test_the_records_expire_by_the_contacts_tables_ttl_attribute():
    from chalicelib.adapters.answers import build_answer_model
    from chalicelib.adapters.dynamo import build_contacts_model

    table = render("prod")["Resources"]["ContactsTable"]["Properties"]
    ttl = table["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    for build in (build_answer_model, build_contacts_model):
        model = build(table["TableName"], "us-east-1", None)
        assert model._hash_keyname == "phone_key"
        assert ttl["AttributeName"] in model.get_attributes()


def test_the_records_outlive_a_message_in_its_queue_and_then_in_its_dead_letter_queue():
    from chalicelib.services.answers import KEEP_SECONDS, SENDING_SECONDS

    resources = render("prod")["Resources"]
    queue = resources["SmsInboundQueue"]["Properties"]
    dead_letters = resources["SmsInboundDeadLetterQueue"]["Properties"]
    # A redelivery, or a redrive from the dead-letter queue, finds the records still there.
    assert KEEP_SECONDS > queue["MessageRetentionPeriod"] + dead_letters["MessageRetentionPeriod"]
    # A record still "sending" after this long belongs to a worker that died: longer than
    # an invocation (the visibility timeout is six of them), shorter than the timeout itself,
    # so the crashed batch's redelivery may send it.
    assert 30 < SENDING_SECONDS < queue["VisibilityTimeout"]
