"""infra/resources.json, rendered for one stage.

The same rendering serves AWS (the merge template for `chalice package`) and the
local stack (devstack.resources creates these resources on the emulator).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).with_name("resources.json")


def render(stage: str) -> dict[str, Any]:
    """resources.json with ${Stage} substituted, and the Stage parameter gone."""
    template = json.loads(RESOURCES.read_text(encoding="utf-8"))
    allowed = template["Parameters"]["Stage"]["AllowedValues"]
    if stage not in allowed:
        raise ValueError(f"stage must be one of {allowed}")
    del template["Parameters"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str) and "${Stage}" in node["Fn::Sub"]:
                text = node["Fn::Sub"].replace("${Stage}", stage)
                return text if not re.search(r"\$\{", text) else {"Fn::Sub": text}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(template)


def merge_template(stage: str) -> dict[str, Any]:
    """What `chalice package --merge-template` adds to Chalice's own template: our
    resources, partial batch responses on every SQS event source (Chalice
    cannot switch those on itself), each function's own IAM policy (infra/iam.py), and the
    checkov rules that do not apply, with why (infra/checkov.py)."""
    from chalice.utils import to_cfn_resource_name

    from app import app

    template = render(stage)
    resources = template["Resources"]
    for source in app.event_sources:
        if type(source).__name__ == "SQSEventConfig":
            function = to_cfn_resource_name(source.name)
            resources[function] = {"Properties": {"Events": {
                f"{function}SqsEventSource": {"Properties": {
                    "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}}}
        elif type(source).__name__ == "SNSEventConfig":
            resources[to_cfn_resource_name(source.name)] = _sns_subscriber(source.topic, stage, resources)
    _least_privilege(app, stage, resources)
    # The operators' alarms (to AlertsTopic) and dashboard (infra/observability.py).
    from infra import iam, observability
    resources.update(observability.resources(stage, iam.functions_of(app)))
    # After the roles' policies: the rules of checkov that do not apply, each with why.
    from infra import checkov
    checkov.apply(app, resources)
    if "SmsInboundTopic" in resources:
        # AWS only: End User Messaging may publish members' replies to the topic.
        resources["SmsInboundTopicPolicy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "SmsInboundTopic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "EndUserMessagingTwoWaySms", "Effect": "Allow",
                "Principal": {"Service": "sms-voice.amazonaws.com"}, "Action": "sns:Publish",
                "Resource": {"Ref": "SmsInboundTopic"},
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}}}
    return template


def _least_privilege(app: Any, stage: str, resources: dict[str, Any]) -> None:
    """Each function's role gets its own policy from infra/iam.py in place of Chalice's
    (.chalice/policy-{stage}.json: logs only), and each function the name `chalice deploy`
    would give it, so that its policy names its log group exactly. A function without a
    policy in infra/iam.py raises: nothing is packaged with a role we did not write."""
    from infra import iam

    for function in iam.functions_of(app):
        role = iam.role_logical_id(function)
        document = iam.policy_document(function, stage)
        resources[role] = {"Properties": {"Policies": [{"PolicyName": f"{role}Policy",
                                                        "PolicyDocument": document}]}}
        target = resources.setdefault(iam.function_logical_id(function), {})
        target.setdefault("Properties", {})["FunctionName"] = iam.function_name(function, stage)


def _sns_subscriber(topic_name: str, stage: str, resources: dict[str, Any]) -> dict[str, Any]:
    """Chalice subscribes the function to the topic by its name (an Fn::Sub ARN), which
    CloudFormation cannot order: the function waits for our topic. SNS invokes Lambda
    asynchronously; an event that still fails after Lambda's two retries goes to the
    function's dead-letter queue, the sms-inbound DLQ (chalicelib/handlers.sms_from_sns)."""
    # app.py names the topic for the stage it was imported under; match on the purpose.
    purpose = re.sub(r"^gridloop-[a-z]+-", "", topic_name)
    topic_name = f"gridloop-{stage}-{purpose}"
    topic = next((logical_id for logical_id, r in resources.items()
                  if r["Type"] == "AWS::SNS::Topic" and r["Properties"].get("TopicName") == topic_name), None)
    if topic is None:
        raise ValueError(f"infra/resources.json has no SNS topic {topic_name}")
    return {"DependsOn": [topic], "Properties": {"DeadLetterQueue": {
        "Type": "SQS", "TargetArn": {"Fn::GetAtt": ["SmsInboundDeadLetterQueue", "Arn"]}}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage")
    parser.add_argument("--merge", action="store_true", help="the chalice package merge template")
    args = parser.parse_args()
    rendered = merge_template(args.stage) if args.merge else render(args.stage)
    print(json.dumps(rendered, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
