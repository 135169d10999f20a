"""Create the stage's tables, queues and topics on the local stack from
infra/resources.json: the very definitions that AWS gets through CloudFormation. Queues
and topics go through the emulator's own CloudFormation (moto's), as one stack; tables
go through the DynamoDB API of whichever engine holds them (DynamoDB Local under
`make run`, moto elsewhere), by one code path: `create_tables`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.template import render

DEMO_DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "directory"
TABLE = "AWS::DynamoDB::Table"


def stack_name(stage: str) -> str:
    return f"gridloop-{stage}"


def create_all(session: Any, stage: str, endpoint_url: str | None = None, region: str = "us-east-1",
               dynamodb_endpoint_url: str | None = None) -> dict[str, Any]:
    """Create every resource of infra/resources.json for `stage`: the queues and topics as the
    stack gridloop-{stage}, through the emulator's CloudFormation at `endpoint_url`; the tables
    through `create_tables`, at `dynamodb_endpoint_url` (default: the emulator's). Returns
    {logical id: table name, queue URL or topic ARN}."""
    import json

    template = render(stage)        # the template's own check of the stage, with its message
    template["Resources"] = {k: r for k, r in template["Resources"].items() if r["Type"] != TABLE}
    created = create_tables(session, stage, dynamodb_endpoint_url or endpoint_url, region)
    cloudformation = session.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    name = stack_name(stage)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":      # moto creates the stack before it answers
        raise RuntimeError(f"the emulator could not create stack {name}: {stack['StackStatus']} "
                           f"{stack.get('StackStatusReason', '')}")
    created.update({r["LogicalResourceId"]: r["PhysicalResourceId"]
                    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
                    for r in page["StackResourceSummaries"]})
    return created


def create_tables(session: Any, stage: str, endpoint_url: str | None = None, region: str = "us-east-1",
                  named_for: str | None = None) -> dict[str, str]:
    """The template's DynamoDB tables, through the DynamoDB API (DynamoDB Local has no
    CloudFormation); returns {logical id: table name}. `named_for`: name them for that stage
    instead, as `gridloop-{named_for}-{purpose}` (tests: tables of their own, defined as
    `stage`'s)."""
    dynamodb = session.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
    names = {}
    for logical_id, resource in render(stage)["Resources"].items():
        if resource["Type"] == TABLE:
            props = dict(resource["Properties"])
            if named_for is not None:
                props["TableName"] = props["TableName"].replace(f"gridloop-{stage}-", f"gridloop-{named_for}-", 1)
            names[logical_id] = _create_table(dynamodb, props)
    return names


def _create_table(dynamodb: Any, props: dict[str, Any]) -> str:
    """CreateTable with the template's keys, indexes and billing, then what CloudFormation
    sets through other calls: the TTL, and point-in-time recovery where the engine has it
    (DynamoDB Local has no backups: UnknownOperationException)."""
    from botocore.exceptions import ClientError

    kwargs = {k: props[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode")}
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    dynamodb.create_table(**kwargs)
    dynamodb.get_waiter("table_exists").wait(TableName=props["TableName"],
                                             WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    if props.get("TimeToLiveSpecification"):     # the contacts table's rate-limit windows
        dynamodb.update_time_to_live(TableName=props["TableName"],
                                     TimeToLiveSpecification=props["TimeToLiveSpecification"])
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        try:
            dynamodb.update_continuous_backups(TableName=props["TableName"],
                                               PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "UnknownOperationException":
                raise
    return props["TableName"]


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
