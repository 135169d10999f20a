"""Create the stage's tables, queues and topics on an AWS emulator from
infra/resources.json: the very definitions that AWS gets through CloudFormation."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from infra.template import render

DEMO_DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "directory"


def create_all(session: Any, stage: str, endpoint_url: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """Create every resource of the template; returns {logical id: name or url}."""
    template = render(stage)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, region_name=region, endpoint_url=endpoint_url)
        return clients[service]

    created: dict[str, Any] = {}
    resources = template["Resources"]
    # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    order = sorted(resources, key=lambda name: 0 if "DeadLetter" in name else 1)
    for logical_id in order:
        resource = resources[logical_id]
        kind, props = resource["Type"], resource["Properties"]
        if kind == "AWS::DynamoDB::Table":
            created[logical_id] = _create_table(client("dynamodb"), props)
        elif kind == "AWS::SQS::Queue":
            created[logical_id] = _create_queue(client("sqs"), props, created)
        elif kind == "AWS::SNS::Topic":
            created[logical_id] = client("sns").create_topic(Name=props["TopicName"])["TopicArn"]
        else:
            raise ValueError(f"the local stack cannot create {kind} ({logical_id})")
    return created


def create_tables(session: Any, stage: str, endpoint_url: str | None = None, region: str = "us-east-1",
                  named_for: str | None = None) -> list[str]:
    """Only the template's DynamoDB tables (DynamoDB Local has no queues or topics);
    returns their names. `named_for`: name them for that stage instead, as
    `gridloop-{named_for}-{purpose}` (tests: tables of their own, defined as `stage`'s)."""
    dynamodb = session.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
    names = []
    for resource in render(stage)["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = dict(resource["Properties"])
            if named_for is not None:
                props["TableName"] = props["TableName"].replace(f"gridloop-{stage}-", f"gridloop-{named_for}-", 1)
            names.append(_create_table(dynamodb, props))
    return names


def _create_table(dynamodb: Any, props: dict[str, Any]) -> str:
    kwargs = {k: props[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode")}
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    dynamodb.create_table(**kwargs)
    dynamodb.get_waiter("table_exists").wait(TableName=props["TableName"],
                                             WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    if props.get("TimeToLiveSpecification"):     # the contacts table's rate-limit windows
        dynamodb.update_time_to_live(TableName=props["TableName"],
                                     TimeToLiveSpecification=props["TimeToLiveSpecification"])
    return props["TableName"]


def _create_queue(sqs: Any, props: dict[str, Any], created: dict[str, Any]) -> str:
    attributes = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        policy = dict(props["RedrivePolicy"])
        dlq_logical = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
        dlq_url = created[dlq_logical]
        policy["deadLetterTargetArn"] = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(policy)
    return sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]


def demo_communities() -> list[Any]:
    from chalicelib.domain.directory import Community

    return [Community.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")))
            for path in sorted(DEMO_DIRECTORY.glob("*.yaml"))]


def load_demo_directory(store: Any, actor: str = "devstack (demo data)") -> list[str]:
    """Import the demo communities through the directory import service, as an operator
    would: each is checked (also against the others) and becomes version 1 with an audit
    record. `store` is a versioned directory store; returns the communities' ids."""
    from chalicelib.services.directory_admin import DirectoryAdmin

    admin = DirectoryAdmin(store)
    return [admin.import_community({path.name: path.read_text(encoding="utf-8")}, "yaml", actor).community_id
            for path in sorted(DEMO_DIRECTORY.glob("*.yaml"))]
