"""Create the stage's tables, queues and topics on an AWS emulator from
infra/resources.json: the very definitions that AWS gets through CloudFormation, created
through the emulator's own CloudFormation (moto's) as one stack."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.template import RESOURCES, render

DEMO_DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "directory"


def stack_name(stage: str) -> str:
    return f"gridloop-{stage}"


def create_all(session: Any, stage: str, endpoint_url: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """Create every resource of infra/resources.json as the stack gridloop-{stage}, through the
    emulator's CloudFormation with the Stage parameter, then what moto's CloudFormation leaves
    out (`complete_what_moto_skips`). Returns {logical id: table name, queue URL or topic ARN}."""
    render(stage)        # the template's own check of the stage, with its message
    cloudformation = session.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    name = stack_name(stage)
    cloudformation.create_stack(StackName=name, TemplateBody=RESOURCES.read_text(encoding="utf-8"),
                                Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}])
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":      # moto creates the stack before it answers
        raise RuntimeError(f"the emulator could not create stack {name}: {stack['StackStatus']} "
                           f"{stack.get('StackStatusReason', '')}")
    created = {r["LogicalResourceId"]: r["PhysicalResourceId"]
               for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
               for r in page["StackResourceSummaries"]}
    complete_what_moto_skips(session.client("dynamodb", region_name=region, endpoint_url=endpoint_url), stage)
    return created


def complete_what_moto_skips(dynamodb: Any, stage: str) -> None:
    """The one place where the local stack departs from CloudFormation. moto's CloudFormation
    (5.2) creates a table without its TimeToLiveSpecification and
    PointInTimeRecoverySpecification; these set them as CloudFormation would, through the
    table APIs, and only where the table lacks them (a later moto may set them itself).
    tests/infra/test_local_stack_parity.py checks the created resources against the template."""
    for resource in render(stage)["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        table = props["TableName"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
            if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
                dynamodb.update_continuous_backups(
                    TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def create_tables(session: Any, stage: str, endpoint_url: str | None = None, region: str = "us-east-1",
                  named_for: str | None = None) -> list[str]:
    """Only the template's DynamoDB tables, through the DynamoDB API (DynamoDB Local has no
    CloudFormation, queues or topics; the storage tests and the bench's sweep use it);
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
