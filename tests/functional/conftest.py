"""Helpers for the functional suite: the Chalice app, driven through `chalice.test.Client`,
on the in-process moto stack of `aws_stack` (tests/conftest.py).

Queue consumers are fed the way Lambda's event source mapping feeds them: messages are
received from the real (moto) queue and wrapped in a Lambda-shaped SQS event, each record
with its own messageId and receive count.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sent_sms

PROJECT_DIR = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
WORKERS = {"intake": "case_worker", "escalation": "escalation_worker",
           "sms-inbound": "sms_reply_worker"}

# Demo directory (data/directory/changmu.yaml): building 1, unit 1.
LOCATION = "changmu-01-1"
STAIRWELL_LEADER = "m10"      # level 1 for changmu-01-1
GRID_MEMBER = "m06"           # level 2 for changmu-01-1


@pytest.fixture(scope="package", autouse=True)
def _botocore_reads_each_model_once():
    """Speed only: every test builds new boto3 sessions, and each session would parse
    botocore's JSON service models again (most of a test's time). Parse each file once."""
    from botocore import loaders

    cache: dict[tuple[str, str], Any] = {}
    load_file = loaders.JSONFileLoader.load_file
    list_services = loaders.Loader.list_available_services

    def cached_load_file(self, file_path):
        if ("file", file_path) not in cache:
            cache[("file", file_path)] = load_file(self, file_path)
        return cache[("file", file_path)]

    def cached_list_services(self, type_name):
        key = ("services", f"{type_name}:{self.search_paths}")
        if key not in cache:
            cache[key] = list_services(self, type_name)
        return list(cache[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loaders.JSONFileLoader, "load_file", cached_load_file)
        patch.setattr(loaders.Loader, "list_available_services", cached_list_services)
        yield


@pytest.fixture
def client(aws_stack):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


def report(**overrides: Any) -> dict[str, Any]:
    body = {"category": "sanitation", "location": LOCATION,
            "description": "楼道灯坏了 the stairwell light is out",
            "phone": "13912345678", "name": "卓玛"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def post_report(client, body: Any = None, headers: dict[str, str] | None = None,
                content_type: str | None = "application/json"):
    if body is None:
        body = report()
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    all_headers = dict(headers or {})
    if content_type is not None:
        all_headers.setdefault("Content-Type", content_type)
    return client.http.post("/reports", headers=all_headers, body=raw)


def member_phone(aws_stack, member_id: str, community: str = "changmu") -> str:
    return aws_stack.directory().member(community, member_id).phone


def sms_to(phone: str) -> list[str]:
    return [text for to, text in sent_sms() if to == phone]


# -- queues ---------------------------------------------------------------------
def receive_all(aws_stack, purpose: str, delete: bool = True) -> list[dict[str, Any]]:
    """Everything now visible on a queue, with attributes; deleted unless told not to."""
    sqs, url = aws_stack.sqs_client, aws_stack.queue(purpose).url
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    AttributeNames=["All"], MessageAttributeNames=["All"],
                                    WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        if delete:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])


def dead_letters(aws_stack, purpose: str) -> list[dict[str, Any]]:
    """(body, reason, source_queue) of every message in a queue's dead-letter queue."""
    return [{"body": m["Body"],
             "reason": m.get("MessageAttributes", {}).get("reason", {}).get("StringValue"),
             "source_queue": m.get("MessageAttributes", {}).get("source_queue", {}).get("StringValue")}
            for m in receive_all(aws_stack, f"{purpose}-dlq")]


def record(body: str, message_id: str | None = None, receive_count: int = 1,
           purpose: str = "intake") -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4()}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count),
                       "SentTimestamp": "1790000000000", "SenderId": "AIDAEXAMPLE",
                       "ApproximateFirstReceiveTimestamp": "1790000000000"},
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:gridloop-local-{purpose}",
        "awsRegion": "us-east-1",
    }


def records_from(messages: Iterable[dict[str, Any]], purpose: str,
                 receive_count: int | None = None) -> list[dict[str, Any]]:
    """Lambda records for messages received from a queue, keeping their SQS ids."""
    return [record(m["Body"], m["MessageId"],
                   receive_count or int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                   purpose) for m in messages]


def invoke(client, purpose: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Run a queue's consumer over a batch; returns its partial batch response."""
    response = client.lambda_.invoke(WORKERS[purpose], {"Records": records})
    return response.payload


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]


def run_queue(client, aws_stack, purpose: str) -> list[dict[str, Any]]:
    """Feed everything on a queue to its consumer, as the event source mapping would;
    returns the records given. Fails the test if any record is reported as failed."""
    records = records_from(receive_all(aws_stack, purpose), purpose)
    for start in range(0, len(records), 10):
        response = invoke(client, purpose, records[start:start + 10])
        assert failed_ids(response) == [], response
    return records


def case(aws_stack, code: str):
    return aws_stack.cases.get(code)


def sweep(client) -> dict[str, Any]:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/gridloop-local-escalation_sweep"])
    return client.lambda_.invoke("escalation_sweep", event).payload


@pytest.fixture(scope="module")
def shared_stack():
    """Like `aws_stack`, but one per module: for tests that change nothing (bad requests).
    Each such test still checks that nothing was queued or stored."""
    from tests.conftest import moto_stack, use_test_environment
    from tests.fakes import FakeClock

    with pytest.MonkeyPatch.context() as patch:
        use_test_environment(patch)
        with moto_stack(FakeClock()) as container:
            yield container


@pytest.fixture(scope="module")
def shared_client(shared_stack):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


def count_cases(stack) -> int:
    return sum(1 for _ in stack.case_model.scan())


def all_cases(stack) -> list:
    """Every stored case (read back through the repository)."""
    return [stack.cases.get(record.code) for record in stack.case_model.scan()]


def snapshot(stack, code: str) -> dict[str, Any]:
    """A stored case as plain data, to tell whether anything changed."""
    return stack.cases.get(code).to_dict()


def send_to(stack, purpose: str, body: str) -> None:
    """Put a message on a queue as a console user or another system would."""
    stack.sqs_client.send_message(QueueUrl=stack.queue(purpose).url, MessageBody=body)


def routed_report(client, stack, **overrides: Any) -> str:
    """Post a report and let the case worker route it; returns its code."""
    response = post_report(client, report(**overrides))
    assert response.status_code == 202, response.body
    run_queue(client, stack, "intake")
    return response.json_body["code"]


def text_in(stack, sender: str, text: str, client=None) -> None:
    """An SMS from `sender` arrives: through the one inbound path onto the sms-inbound queue,
    then, given a client, through sms_reply_worker."""
    stack.inbound_sms.accept(sender, text, "test-gateway")
    if client is not None:
        run_queue(client, stack, "sms-inbound")


def escalate_due(client, stack) -> int:
    """The scheduled sweep, then the escalation worker over what it queued; returns how many."""
    queued = sweep(client)["queued"]
    run_queue(client, stack, "escalation")
    return queued


class FlakySms:
    """The SMS sender failing its first `failures` calls (every call with None), or just the
    calls numbered in `fail_on` (1-based); otherwise sending for real."""

    def __init__(self, monkeypatch, sender, failures: int | None = 0, fail_on: Iterable[int] = ()):
        self.real, self.failures, self.fail_on, self.calls = sender.send, failures, set(fail_on), 0
        monkeypatch.setattr(sender, "send", self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.failures is None or self.calls <= self.failures or self.calls in self.fail_on:
            raise ConnectionError("SNS is unreachable")
        return self.real(*args, **kwargs)
