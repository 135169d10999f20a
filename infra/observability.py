"""The operators' alarms and dashboard, added to the packaged template (AWS only: the local
stack has no CloudWatch). Every alarm notifies gridloop-{stage}-alerts (AlertsTopic).

The metrics in namespace "gridloop" are the ones the code declares
(chalicelib.services.telemetry.METRICS) and prints as EMF lines; the alarms and the
dashboard read them under their own dimensions plus `service` (the all-communities set).
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.services.telemetry import METRICS, NAMESPACE

SERVICE = "gridloop"          # POWERTOOLS_SERVICE_NAME in .chalice/config.json
PERIOD = 300                  # seconds: every alarm looks at five-minute windows
# The queues and their dead-letter queues, by logical id in infra/resources.json.
QUEUES = {"intake": "IntakeQueue", "escalation": "EscalationQueue", "sms-inbound": "SmsInboundQueue"}
DEAD_LETTER_QUEUES = {"intake": "IntakeDeadLetterQueue", "escalation": "EscalationDeadLetterQueue",
                      "sms-inbound": "SmsInboundDeadLetterQueue"}
# A report should be routed within seconds; a quarter of an hour in the queue means the
# case worker is failing or throttled, and the stairwell leader's 30 minutes are running.
OLDEST_INTAKE_SECONDS = 900


def _alarm(name: str, description: str, namespace: str, metric: str, dimensions: dict[str, Any],
           statistic: str, threshold: float, comparison: str = "GreaterThanThreshold") -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": name, "AlarmDescription": description,
        "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "Statistic": statistic, "Period": PERIOD, "EvaluationPeriods": 1, "Threshold": threshold,
        "ComparisonOperator": comparison,
        # No data is good news: no messages, no errors, no failed texts.
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlertsTopic"}], "OKActions": [{"Ref": "AlertsTopic"}]}}


def alarms(stage: str, functions: list[str]) -> dict[str, dict[str, Any]]:
    """Logical id → AWS::CloudWatch::Alarm."""
    from chalice.utils import to_cfn_resource_name

    from infra.iam import function_logical_id

    prefix = f"gridloop-{stage}"
    found: dict[str, dict[str, Any]] = {}
    for purpose, queue in DEAD_LETTER_QUEUES.items():
        found[f"{queue}NotEmptyAlarm"] = _alarm(
            f"{prefix}-{purpose}-dlq-not-empty",
            f"Messages wait in {prefix}-{purpose}-dlq: read their reason, fix, then redrive "
            "(docs/operations.md, Runbook).",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": f"{prefix}-{purpose}-dlq"},
            "Maximum", 0)
    found["IntakeOldestMessageAlarm"] = _alarm(
        f"{prefix}-intake-oldest-message",
        f"A report has waited over {OLDEST_INTAKE_SECONDS} s in {prefix}-intake: the case worker is not routing.",
        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": f"{prefix}-intake"},
        "Maximum", OLDEST_INTAKE_SECONDS)
    for function in functions:
        found[f"{to_cfn_resource_name(function)}ErrorsAlarm"] = _alarm(
            f"{prefix}-{function.replace('_', '-')}-errors",
            f"The Lambda function of {function} failed (an error or a timeout of a whole invocation).",
            "AWS/Lambda", "Errors", {"FunctionName": {"Ref": function_logical_id(function)}}, "Sum", 0)
    found["SmsFailedAlarm"] = _alarm(
        f"{prefix}-sms-failed",
        "SNS refused or could not be asked to send a text: someone was not told (it is retried).",
        NAMESPACE, "SmsFailed", {"service": SERVICE}, "Sum", 0)
    found["TopLevelRemindersAlarm"] = _alarm(
        f"{prefix}-stuck-at-top",
        "A case at the top level (the area chief) passed its acknowledge limit and was reminded.",
        NAMESPACE, "TopLevelReminders", {"service": SERVICE}, "Sum", 0)
    return found


def _widget(title: str, metrics: list[Any], stat: str = "Sum", x: int = 0, y: int = 0) -> dict[str, Any]:
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": "${AWS::Region}", "view": "timeSeries",
                           "stat": stat, "period": PERIOD, "metrics": metrics}}


def _search(metric: str, dimensions: tuple[str, ...], stat: str, label: str) -> list[Any]:
    schema = ",".join((NAMESPACE, "service", *dimensions))
    return [{"expression": f"SEARCH('{{{schema}}} MetricName=\"{metric}\"', '{stat}', {PERIOD})",
             "label": label, "id": metric[0].lower() + metric[1:]}]


def dashboard_body(stage: str, functions: list[str]) -> dict[str, Any]:
    """The dashboard as data: one widget per metric of METRICS (all communities, split by
    the metric's own dimensions), one by community for reports, then the queues and the
    functions."""
    from infra.iam import function_name

    prefix = f"gridloop-{stage}"
    widgets: list[dict[str, Any]] = []
    for name, spec in METRICS.items():
        stat = "p90" if spec.unit == "Seconds" else "Sum"
        if spec.dimensions:
            metrics = _search(name, spec.dimensions, stat, name)
        else:
            metrics = [[NAMESPACE, name, "service", SERVICE, {"stat": stat}]]
        widgets.append(_widget(f"{name} ({spec.unit.lower()}): {spec.meaning}", metrics, stat))
    widgets.append(_widget("ReportsReceived by community", _search("ReportsReceived", ("community", "source"),
                                                                   "Sum", "ReportsReceived")))
    widgets.append(_widget("Messages waiting, by queue", [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"{prefix}-{purpose}"]
        for purpose in (*QUEUES, *(f"{p}-dlq" for p in DEAD_LETTER_QUEUES))], "Maximum"))
    widgets.append(_widget("Age of the oldest message (s)", [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"{prefix}-{purpose}"] for purpose in QUEUES],
        "Maximum"))
    widgets.append(_widget("Function errors", [
        ["AWS/Lambda", "Errors", "FunctionName", function_name(f, stage)] for f in functions]))
    for index, widget in enumerate(widgets):
        widget["x"], widget["y"] = (index % 2) * 12, (index // 2) * 6
    return {"widgets": widgets}


def resources(stage: str, functions: list[str]) -> dict[str, dict[str, Any]]:
    """The alarms and the dashboard, by logical id."""
    found = alarms(stage, functions)
    found["OperatorsDashboard"] = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": f"gridloop-{stage}",
        # Fn::Sub fills in ${AWS::Region}; the body has no other ${...}.
        "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(stage, functions), ensure_ascii=False)}}}
    return found
