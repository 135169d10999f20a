"""The operators' alarms and dashboard in the packaged template (infra/observability.py), and
the tables' and queues' settings they rely on."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.services.telemetry import METRICS
from infra.template import render

ROOT = Path(__file__).resolve().parents[2]
ALERTS = [{"Ref": "AlertsTopic"}]


def alarms(resources) -> dict[str, dict]:
    return {r["Properties"]["AlarmName"]: r["Properties"] for r in resources.values()
            if r["Type"] == "AWS::CloudWatch::Alarm"}


def dimensions(alarm) -> dict:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_every_alarm_notifies_the_alerts_topic(packaged_dev):
    found = alarms(packaged_dev)
    assert found and "AlertsTopic" in packaged_dev
    for name, alarm in found.items():
        assert name.startswith("gridloop-dev-")
        assert alarm["AlarmActions"] == ALERTS and alarm["OKActions"] == ALERTS, name


@pytest.mark.parametrize("purpose", ["intake", "escalation", "sms-inbound"])
def test_a_dead_letter_queue_with_any_message_alarms(packaged_dev, purpose):
    alarm = alarms(packaged_dev)[f"gridloop-dev-{purpose}-dlq-not-empty"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dimensions(alarm) == {"QueueName": f"gridloop-dev-{purpose}-dlq"}
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    # the queue it watches is the one the template makes
    assert any(r["Properties"].get("QueueName") == f"gridloop-dev-{purpose}-dlq" for r in packaged_dev.values()
               if r["Type"] == "AWS::SQS::Queue")


def test_an_intake_message_older_than_a_quarter_of_an_hour_alarms(packaged_dev):
    alarm = alarms(packaged_dev)["gridloop-dev-intake-oldest-message"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert dimensions(alarm) == {"QueueName": "gridloop-dev-intake"}
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == \
        ("Maximum", "GreaterThanThreshold", 900)


def test_every_function_s_errors_alarm(packaged_dev, monkeypatch):
    monkeypatch.setenv("GRIDLOOP_STAGE", "dev")
    from app import app
    from infra.iam import function_logical_id, functions_of

    found = alarms(packaged_dev)
    for function in functions_of(app):
        alarm = found[f"gridloop-dev-{function.replace('_', '-')}-errors"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert dimensions(alarm) == {"FunctionName": {"Ref": function_logical_id(function)}}
        assert function_logical_id(function) in packaged_dev
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


@pytest.mark.parametrize("name, metric", [("gridloop-dev-sms-failed", "SmsFailed"),
                                          ("gridloop-dev-stuck-at-top", "TopLevelReminders")])
def test_our_own_metrics_alarm_in_all_communities(packaged_dev, name, metric):
    alarm = alarms(packaged_dev)[name]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("gridloop", metric, "Sum")
    # the dimension set every metric is printed under (services.telemetry), with no community
    assert dimensions(alarm) == {"service": "gridloop"} and METRICS[metric].dimensions == ()
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def emitted_metric_names() -> set[str]:
    """The names the code passes to Telemetry.count / .seconds, read from the source."""
    call = re.compile(r"""\.(?:count|seconds)\(\s*["']([A-Za-z]+)["']""")
    names = set()
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        names |= set(call.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_metric_the_code_emits_is_declared_and_on_the_dashboard(packaged_dev):
    emitted = emitted_metric_names()
    assert {"ReportsReceived", "SmsFailed", "TopLevelReminders"} <= emitted   # the search works
    assert emitted <= set(METRICS), emitted - set(METRICS)
    (dashboard,) = [r["Properties"] for r in packaged_dev.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert dashboard["DashboardName"] == "gridloop-dev"
    body = json.loads(dashboard["DashboardBody"]["Fn::Sub"].replace("${AWS::Region}", "us-east-1"))
    shown = json.dumps(body)
    missing = [name for name in METRICS if f'\\"{name}\\"' not in shown and f'"{name}"' not in shown]
    assert missing == []
    for queue in ("intake", "escalation", "sms-inbound", "intake-dlq", "escalation-dlq", "sms-inbound-dlq"):
        assert f'"gridloop-dev-{queue}"' in shown
    assert all(w["properties"]["metrics"] for w in body["widgets"])


def test_every_table_can_be_recovered_to_a_point_in_time():
    tables = {k: r["Properties"] for k, r in render("prod")["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert len(tables) >= 6
    for logical_id, table in tables.items():
        assert table.get("PointInTimeRecoverySpecification") == {"PointInTimeRecoveryEnabled": True}, logical_id


def test_tables_whose_records_expire_have_ttl_on_the_attribute_their_models_write():
    from chalicelib.adapters.digests import build_digest_model
    from chalicelib.adapters.dynamo import build_contacts_model

    resources = render("prod")["Resources"]
    for logical_id, build in (("ContactsTable", build_contacts_model), ("DigestsTable", build_digest_model)):
        table = resources[logical_id]["Properties"]
        assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert "expires_at" in build(table["TableName"], "us-east-1", None).get_attributes()
    # Cases, the directory, its history and the block list are kept: no TTL.
    for logical_id in ("CasesTable", "DirectoryTable", "DirectoryHistoryTable", "BlocklistTable"):
        assert "TimeToLiveSpecification" not in resources[logical_id]["Properties"]


def test_every_queue_s_visibility_timeout_is_at_least_six_times_the_function_timeout():
    timeout = json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_timeout"]
    queues = [r["Properties"] for r in render("prod")["Resources"].values()
              if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]]
    assert len(queues) == 3
    assert all(q["VisibilityTimeout"] >= 6 * timeout for q in queues)
