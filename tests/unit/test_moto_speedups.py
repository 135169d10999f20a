"""The local stack's moto speed-ups change how fast moto's SQS answers, never what it answers."""
from __future__ import annotations

import time

import pytest


@pytest.fixture
def sped_up(monkeypatch):
    """moto with devstack.moto_speedups applied for this test only."""
    from moto import backends
    from moto.sqs import models

    from devstack import moto_speedups

    for module, name in ((models, "unix_time"), (models, "unix_time_millis"), (backends, "list_of_moto_modules")):
        monkeypatch.setattr(module, name, getattr(module, name))     # restored afterwards
    monkeypatch.setattr(moto_speedups, "_applied", False)
    original = {"unix_time": models.unix_time, "unix_time_millis": models.unix_time_millis,
                "modules": list(backends.list_of_moto_modules())}
    moto_speedups.apply()
    return original


def test_given_the_speed_ups_when_moto_reads_the_clock_then_it_reads_the_same_instant(sped_up):
    from moto.sqs import models

    assert abs(models.unix_time() - sped_up["unix_time"]()) < 0.05
    assert abs(models.unix_time_millis() - sped_up["unix_time_millis"]()) < 50
    assert abs(models.unix_time() - time.time()) < 0.05


def test_given_the_speed_ups_when_moto_converts_a_given_datetime_then_it_is_moto_s_own_answer(sped_up):
    from datetime import datetime

    from moto.sqs import models

    moment = datetime(2026, 12, 3, 6, 15)
    assert models.unix_time(moment) == sped_up["unix_time"](moment)
    assert models.unix_time_millis(moment) == sped_up["unix_time_millis"](moment)


def test_given_the_speed_ups_when_the_server_lists_moto_s_modules_then_it_is_the_same_list(sped_up):
    from moto import backends

    assert list(backends.list_of_moto_modules()) == sped_up["modules"]
    assert "sqs" in sped_up["modules"] and "sns" in sped_up["modules"]


def test_given_the_speed_ups_when_messages_are_delayed_received_and_waiting_then_the_queue_counts_them_right(
        sped_up, aws_credentials):
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="speedups")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        for body in ("a", "b", "c"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert len(received) == 2
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"],
                counts["ApproximateNumberOfMessagesDelayed"]) == ("1", "2", "1")
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0)
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in again) == sorted(["c", received[0]["Body"]])
