"""Parity: what the code uses is in the packaged template with the settings the code relies
on, and the local stack (moto's CloudFormation, devstack.resources.create_all) creates
exactly what the template says.

What the code uses is read from the code itself: every `self._model(build_..., "purpose")`
of the composition root (the PynamoDB models: keys, indexes, the TTL attribute), every
purpose literal given to `name`/`resource_name`/`queue` in chalicelib/ and app.py, the
app's queue consumers and topic subscribers, and the resources of infra/iam.py, which
tests/infra/test_iam_policies.py proves equal to what each function does.
"""
from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from pathlib import Path

import pytest

from infra import iam
from infra.template import render

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"


# -- what the code uses ----------------------------------------------------------------------
def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            yield (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)), node.args


def model_builders() -> dict[str, list]:
    """{purpose: [PynamoDB model class, ...]} of every `self._model(build, "purpose")` in bootstrap."""
    builders = {}
    for module in pkgutil.iter_modules([str(ROOT / "chalicelib" / "adapters")]):
        loaded = importlib.import_module(f"chalicelib.adapters.{module.name}")
        builders.update({n: getattr(loaded, n) for n in dir(loaded) if n.startswith("build_")})
    models: dict[str, list] = {}
    for name, args in _calls(ROOT / "chalicelib" / "bootstrap.py"):
        if name == "_model" and len(args) == 2 and isinstance(args[1], ast.Constant):
            purpose = args[1].value
            models.setdefault(purpose, []).append(
                builders[args[0].id](f"gridloop-{STAGE}-{purpose}", "us-east-1", None))
    return models


def named_purposes() -> set[str]:
    """Purpose literals the code names resources by."""
    files = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
    return {args[0].value for path in files for name, args in _calls(path)
            if name in ("name", "resource_name", "queue") and args
            and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)}


def iam_resources() -> set[str]:
    return {r for grants in iam.POLICIES.values() for g in grants for r in g.resources}


@pytest.fixture(scope="module")
def by_name(packaged_dev):
    """{physical name: resource} of the packaged template's tables, queues and topics."""
    names = {}
    for resource in packaged_dev.values():
        props = resource.get("Properties", {})
        name = props.get("TableName") or props.get("QueueName") or props.get("TopicName")
        if isinstance(name, str):
            names[name] = resource
    return names


def test_the_code_uses_tables_queues_and_topics_the_template_has(by_name):
    models = model_builders()
    assert {"cases", "contacts", "directory", "directory-history", "blocklist", "digests"} <= set(models)
    purposes = (set(models) | named_purposes() | {p.split("/")[0] for kind, _, p in
                (r.partition(":") for r in iam_resources()) if kind in ("table", "index", "queue")})
    # app.py's consumers and subscriber, and the dead-letter queues of sqs_batch
    assert {"intake", "escalation", "sms-inbound", "sms-inbound-topic", "intake-dlq"} <= purposes
    missing = sorted(p for p in purposes if f"gridloop-{STAGE}-{p}" not in by_name)
    assert not missing, f"the code uses resources the template lacks: {missing}"


def _keys(schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


def test_every_table_has_the_keys_indexes_and_ttl_its_models_define(by_name):
    for purpose, models in model_builders().items():
        table = by_name[f"gridloop-{STAGE}-{purpose}"]
        assert table["Type"] == "AWS::DynamoDB::Table"
        props = table["Properties"]
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        for model in models:
            schema = model._get_schema()
            assert _keys(props["KeySchema"]) == _keys(schema["key_schema"]), (purpose, model.__name__)
            for attribute in schema["attribute_definitions"]:
                assert types[attribute["AttributeName"]] == attribute["AttributeType"], (purpose, attribute)
            for index in schema.get("global_secondary_indexes", []):
                spec = indexes[index["index_name"]]
                assert _keys(spec["KeySchema"]) == _keys(index["key_schema"]), index["index_name"]
                assert spec["Projection"] == index["projection"], index["index_name"]
            if "expires_at" in model.get_attributes():        # the adapters' TTL attribute
                assert props.get("TimeToLiveSpecification") == {"AttributeName": "expires_at", "Enabled": True}, purpose
        assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_every_consumed_queue_redrives_to_its_dlq_as_the_code_expects(by_name, packaged_dev):
    from app import app
    from chalicelib.config import Config

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    lambda_timeout = config["stages"][STAGE].get("lambda_timeout", config["lambda_timeout"])
    max_receive_count = Config.from_env().max_receive_count    # what sqs_batch dead-letters after
    consumed = [s.queue.split("-", 2)[2] for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
    assert sorted(consumed) == ["escalation", "intake", "sms-inbound"]
    for purpose in consumed:
        queue = by_name[f"gridloop-{STAGE}-{purpose}"]["Properties"]
        dlq_logical_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert packaged_dev[dlq_logical_id]["Properties"]["QueueName"] == f"gridloop-{STAGE}-{purpose}-dlq"
        assert queue["RedrivePolicy"]["maxReceiveCount"] == max_receive_count
        assert queue["VisibilityTimeout"] >= 6 * lambda_timeout
        for props in (queue, packaged_dev[dlq_logical_id]["Properties"]):
            assert not props.get("FifoQueue"), "the code sends without a MessageGroupId: standard queues"
            assert props.get("SqsManagedSseEnabled") is True


def test_the_topic_the_code_subscribes_to_is_a_topic(by_name):
    assert by_name[f"gridloop-{STAGE}-sms-inbound-topic"]["Type"] == "AWS::SNS::Topic"


# -- the local stack: moto's CloudFormation, then what it skips --------------------------------
def test_the_local_stack_creates_what_the_template_says(aws_credentials):
    import boto3
    from moto import mock_aws

    from devstack.resources import create_all

    template = render("local")["Resources"]
    with mock_aws():
        session = boto3.session.Session()
        created = create_all(session, "local")
        assert set(created) == set(template)
        ddb, sqs, sns = (session.client(s, region_name="us-east-1") for s in ("dynamodb", "sqs", "sns"))
        topics = {t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]}
        for logical_id, resource in template.items():
            props = resource["Properties"]
            if resource["Type"] == "AWS::DynamoDB::Table":
                table = ddb.describe_table(TableName=props["TableName"])["Table"]
                assert table["KeySchema"] == props["KeySchema"]
                assert sorted(table["AttributeDefinitions"], key=str) == sorted(props["AttributeDefinitions"], key=str)
                assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
                made = {i["IndexName"]: (i["KeySchema"], i["Projection"])
                        for i in table.get("GlobalSecondaryIndexes", [])}
                assert made == {i["IndexName"]: (i["KeySchema"], i["Projection"])
                                for i in props.get("GlobalSecondaryIndexes", [])}
                ttl = ddb.describe_time_to_live(TableName=props["TableName"])["TimeToLiveDescription"]
                if "TimeToLiveSpecification" in props:
                    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
                else:
                    assert ttl["TimeToLiveStatus"] == "DISABLED"
                pitr = ddb.describe_continuous_backups(TableName=props["TableName"])["ContinuousBackupsDescription"]
                expected = "ENABLED" if props.get("PointInTimeRecoverySpecification") else "DISABLED"
                assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == expected, logical_id
            elif resource["Type"] == "AWS::SQS::Queue":
                url = sqs.get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
                    if key in props:
                        assert attributes[key] == str(props[key]), (logical_id, key)
                assert attributes["SqsManagedSseEnabled"] == "true"
                assert "FifoQueue" not in attributes or attributes["FifoQueue"] == "false"
                if "RedrivePolicy" in props:
                    redrive = json.loads(attributes["RedrivePolicy"])
                    dlq = template[props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]
                    assert redrive["deadLetterTargetArn"].endswith(":" + dlq["Properties"]["QueueName"])
                    assert redrive["maxReceiveCount"] == props["RedrivePolicy"]["maxReceiveCount"]
            elif resource["Type"] == "AWS::SNS::Topic":
                assert props["TopicName"] in topics
            else:
                pytest.fail(f"the parity test does not know {resource['Type']} ({logical_id}): add it here")
