"""The inbound SMS topic in the template: AWS End User Messaging publishes members' replies
to gridloop-{stage}-sms-inbound-topic, and sms_inbound_sns is subscribed to it."""
from __future__ import annotations

from pathlib import Path

import pytest

from infra.template import render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def packaged(packaged_dev):
    return packaged_dev        # the session's `make package STAGE=dev` (tests/infra/conftest.py)


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_the_inbound_topic_is_named_for_its_stage(stage):
    topic = render(stage)["Resources"]["SmsInboundTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Properties"]["TopicName"] == f"gridloop-{stage}-sms-inbound-topic"


def test_the_subscriber_is_subscribed_to_that_topic_and_waits_for_it(packaged):
    function = packaged["SmsInboundSns"]
    assert function["Properties"]["Handler"] == "app.sms_inbound_sns"
    [event] = function["Properties"]["Events"].values()
    assert event["Type"] == "SNS"
    assert event["Properties"]["Topic"]["Fn::Sub"].endswith(":gridloop-dev-sms-inbound-topic")
    # The subscription names the topic by ARN, not by Ref: DependsOn orders the two.
    assert "SmsInboundTopic" in function["DependsOn"]


def test_an_event_that_keeps_failing_ends_in_the_sms_inbound_dead_letter_queue(packaged):
    dlq = packaged["SmsInboundSns"]["Properties"]["DeadLetterQueue"]
    assert dlq == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["SmsInboundDeadLetterQueue", "Arn"]}}
    # The function's role may send to it (its own policy, infra/iam.py).
    [policy] = packaged["SmsInboundSnsRole"]["Properties"]["Policies"]
    queues = next(s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "AsyncDeadLetters")
    assert queues["Action"] == ["sqs:SendMessage"]
    assert queues["Resource"]["Fn::Sub"].endswith(":gridloop-dev-sms-inbound-dlq")


def test_end_user_messaging_may_publish_to_the_topic_and_nobody_else_is_named(packaged):
    policy = packaged["SmsInboundTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "SmsInboundTopic"}]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sms-voice.amazonaws.com"}
    assert statement["Action"] == "sns:Publish" and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_the_gateway_routes_are_in_the_api_and_no_secret_ships_in_a_deployed_stage(packaged):
    from app import app

    assert {"/sms/twilio", "/sms/tencent"} <= set(app.routes)
    assert all(app.routes[path]["POST"] for path in ("/sms/twilio", "/sms/tencent"))
    for resource in packaged.values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        assert not {"GRIDLOOP_TWILIO_AUTH_TOKEN", "GRIDLOOP_TENCENT_CALLBACK_TOKEN"} & set(variables)
