"""The infrastructure definitions: one source for AWS and the local stack."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.template import merge_template, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_every_resource_is_named_for_its_stage(stage):
    resources = render(stage)["Resources"]
    names = [props.get("TableName") or props.get("QueueName") or props.get("TopicName")
             for props in (r["Properties"] for r in resources.values())]
    assert names and all(n.startswith(f"gridloop-{stage}-") for n in names)
    assert "${Stage}" not in json.dumps(resources)


def test_every_queue_has_a_dead_letter_queue():
    resources = render("dev")["Resources"]
    queues = {k: r for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    main = {k: r for k, r in queues.items() if not k.endswith("DeadLetterQueue")}
    assert set(main) == {"IntakeQueue", "EscalationQueue", "SmsInboundQueue"}
    for _logical_id, queue in main.items():
        redrive = queue["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues
        assert redrive["maxReceiveCount"] >= 5
        # visibility at least six times the function timeout (30 s)
        assert queue["Properties"]["VisibilityTimeout"] >= 180


def test_sweep_index_is_sparse_and_keys_only():
    table = render("dev")["Resources"]["CasesTable"]["Properties"]
    index = next(i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "open-due")
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["due_shard", "due_at"]
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"


def test_directory_history_table_keeps_every_version_and_matches_its_model():
    from chalicelib.adapters.directory_versions import build_directory_history_model

    table = render("dev")["Resources"]["DirectoryHistoryTable"]["Properties"]
    assert table["TableName"] == "gridloop-dev-directory-history"
    assert table["KeySchema"] == [{"AttributeName": "community_id", "KeyType": "HASH"},
                                  {"AttributeName": "version", "KeyType": "RANGE"}]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == \
        {"community_id": "S", "version": "N"}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    model = build_directory_history_model(table["TableName"], "us-east-1", None)
    assert (model._hash_keyname, model._range_keyname) == ("community_id", "version")


def test_merge_template_turns_on_partial_batch_responses_for_every_queue_handler(monkeypatch):
    monkeypatch.setenv("GRIDLOOP_STAGE", "dev")
    from app import app

    resources = merge_template("dev")["Resources"]
    sqs_handlers = [s.name for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
    assert sorted(sqs_handlers) == ["case_worker", "escalation_worker", "sms_reply_worker"]
    for handler in ("CaseWorker", "EscalationWorker", "SmsReplyWorker"):
        event = resources[handler]["Properties"]["Events"][f"{handler}SqsEventSource"]
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_chalice_package_gives_a_valid_template_with_partial_batch_responses(packaged_dev_path):
    out = packaged_dev_path.parent          # the session's `make package STAGE=dev` (conftest.py)
    template = json.loads(packaged_dev_path.read_text())
    sources = [e for r in template["Resources"].values()
               for e in r.get("Properties", {}).get("Events", {}).values() if e["Type"] == "SQS"]
    assert len(sources) == 3
    assert all(e["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for e in sources)
    assert {"CasesTable", "DirectoryTable", "IntakeQueue", "IntakeDeadLetterQueue"} <= set(template["Resources"])
    # Nothing that only runs locally ships to Lambda.
    import zipfile
    shipped = zipfile.ZipFile(out / "deployment.zip").namelist()
    assert "app.py" in shipped and any(n.startswith("chalicelib/") for n in shipped)
    assert not any(n.startswith(("devstack/", "tests/", "bench/", "infra/", "tools/")) for n in shipped)
    lint = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(packaged_dev_path)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
