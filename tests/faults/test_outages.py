"""Outages: throttling and 5xx errors from DynamoDB, SQS and SNS, injected where AWS would
answer them, so that botocore's own retries see them as they would see AWS's.

- Every client (boto3's and PynamoDB's) retries in botocore's standard mode, AWS_ATTEMPTS
  attempts in all, with full-jitter exponential backoff, and times out well within
  Lambda's 30 s (chalicelib/bootstrap.py).
- A burst shorter than the retries is absorbed: the report goes through, nothing twice.
- A longer one fails the request (503; the client retries with its Idempotency-Key) or the
  record, and nothing is lost. A failed record comes back (ChangeMessageVisibility) within
  seconds when its failure may pass by itself (a throttle, a 5xx, a timeout, a lost race:
  1-2 s, then about 10 s, 50 s, 250 s: ×5), after about 30 s, doubling, when not (SNS
  refusing a number); on a real queue too; and goes to the dead-letter queue on the
  redrive limit with its reason.
- SNS down: the notice stays in the case's outbox, each failure is recorded on the case
  (notice_failed), the message comes back with growing backoff, and when SNS is back the
  SMS goes out once.
- A write whose answer is lost (a read timeout after it took effect) is retried by
  botocore; the retry finds it done and nothing happens twice.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from chalicelib.sqs_batch import JITTER, MAX_BACKOFF, backoff_ceiling
from tests.conftest import sent_sms
from tests.functional.conftest import (
    STAIRWELL_LEADER,
    case,
    dead_letters,
    failed_ids,
    invoke,
    member_phone,
    post_report,
    receive_all,
    record,
    records_from,
    report,
    run_queue,
)

RESIDENT = "+8613912345678"            # conftest.report()'s phone, as stored


# -- errors where AWS would answer ------------------------------------------------------------------
class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def _error(service: str, status: int, code: str) -> tuple[int, dict[str, str], bytes]:
    message = "injected by tests/faults/test_outages.py"
    if service == "sns":     # the query protocol: XML
        body = (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
                f'<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>')
        return status, {"Content-Type": "text/xml"}, body.encode()
    prefix = {"dynamodb": "com.amazonaws.dynamodb.v20120810", "sqs": "com.amazonaws.sqs"}[service]
    body = json.dumps({"__type": f"{prefix}#{code}", "message": message})
    return status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}, body.encode()


ERRORS = {   # what each service answers when it throttles, or fails on its side
    ("dynamodb", "throttled"): (400, "ProvisionedThroughputExceededException"),
    ("dynamodb", "5xx"): (500, "InternalServerError"),
    ("sqs", "throttled"): (400, "RequestThrottled"),
    ("sqs", "5xx"): (503, "ServiceUnavailable"),
    ("sns", "throttled"): (400, "Throttling"),
    ("sns", "5xx"): (500, "InternalError"),
    ("dynamodb", "race"): (400, "ConditionalCheckFailedException"),   # someone saved first
    ("sns", "refused"): (400, "InvalidParameter"),                    # SNS will not text that number
}


class Outage:
    """On every client of the container, moto's answer goes through here: an operation
    can be made to fail `times` attempts in a row (None: until told otherwise), or only
    for requests that carry a text, or to lose its answer after it took effect. A kind
    of ERRORS, or "timeout": no answer in time (never reaches moto). Counts HTTP attempts
    per operation."""

    def __init__(self, stack: Container):
        from moto.core.models import botocore_stubber
        self._moto = botocore_stubber
        self.failing: dict[str, list] = {}        # "sns.Publish" → [kind, attempts left or None]
        self.failing_for: dict[tuple[str, str], str] = {}   # ("sns.Publish", a phone's digits) → kind
        self.lost: dict[str, int] = {}            # "dynamodb.PutItem" → answers still to lose
        self.attempts: Counter = Counter()
        clients = [stack.sqs_client, stack.sns_client]
        for name in dir(Container):
            if name.endswith("_model") and not name.startswith("_"):
                clients.append(getattr(stack, name)._get_connection().connection.client)
        for client in clients:
            client.meta.events.unregister("before-send", self._moto)
            client.meta.events.register("before-send", self._answer)

    def fail(self, operation: str, kind: str, times: int | None) -> None:
        self.failing[operation] = [kind, times]

    def fail_for(self, operation: str, text: str, kind: str) -> None:
        """Every attempt of `operation` whose request carries `text` fails, until healed."""
        self.failing_for[(operation, text)] = kind

    def heal(self, operation: str) -> None:
        self.failing.pop(operation, None)

    def lose_answer(self, operation: str, times: int = 1) -> None:
        self.lost[operation] = times

    def _answer(self, event_name: str, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ReadTimeoutError

        _, service, name = event_name.split(".")
        operation = f"{service}.{name}"
        self.attempts[operation] += 1
        rule = self.failing.get(operation)
        sent = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        kind = next((k for (o, text), k in self.failing_for.items() if o == operation and text in sent), None)
        if kind is None and rule is not None and (rule[1] is None or rule[1] > 0):
            if rule[1] is not None:
                rule[1] -= 1
            kind = rule[0]
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)                 # never reaches moto
        if kind is not None:
            status, headers, body = _error(service, *ERRORS[(service, kind)])
            return AWSResponse(request.url, status, headers, _Raw(body))    # never reaches moto
        response = self._moto(event_name=event_name, request=request, **kwargs)
        if self.lost.get(operation):
            self.lost[operation] -= 1
            raise ReadTimeoutError(endpoint_url=request.url)                 # it took effect
        return response


class Sleeps:
    """botocore's backoff, recorded instead of slept (only botocore's: the rest of the
    process keeps the real clock)."""

    def __init__(self, monkeypatch: Any):
        import time

        import botocore.endpoint
        self.taken: list[float] = []
        real = time

        class Time:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            @staticmethod
            def sleep(seconds: float) -> None:
                sleeps.taken.append(seconds)
        sleeps = self
        monkeypatch.setattr(botocore.endpoint, "time", Time())


@pytest.fixture
def outage(aws_stack):
    return Outage(aws_stack)


@pytest.fixture
def sleeps(monkeypatch):
    return Sleeps(monkeypatch)


def report_and_route(client: Any, stack: Any) -> str:
    response = post_report(client, report(), headers={"Idempotency-Key": "outage-1"})
    assert response.status_code == 202, response.body
    run_queue(client, stack, "intake")
    return response.json_body["code"]


def assert_routed_and_told_once(stack: Any, code: str) -> None:
    stored = case(stack, code)
    assert (stored.status.value, stored.holder, stored.outbox) == ("assigned", STAIRWELL_LEADER, [])
    leader = member_phone(stack, STAIRWELL_LEADER)
    assert Counter(to for to, text in sent_sms() if code in text) == {leader: 1, RESIDENT: 1}


# -- the clients' retries ----------------------------------------------------------------------------
def test_every_client_retries_in_standard_mode_and_times_out_within_lambdas_time(aws_stack, summary):
    clients = {"sqs": aws_stack.sqs_client, "sns": aws_stack.sns_client}
    for name in dir(Container):
        if name.endswith("_model") and not name.startswith("_"):
            clients[name] = getattr(aws_stack, name)._get_connection().connection.client
    for name, client in clients.items():
        config = client.meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": Container.AWS_ATTEMPTS}, name
        assert (config.connect_timeout, config.read_timeout) == (Container.AWS_CONNECT_TIMEOUT,
                                                                 Container.AWS_READ_TIMEOUT), name
    # One call's worst case: every attempt connects at the last moment and then hangs,
    # with the longest backoff between (throttling: at most 1, 2, 4 s). It must fit in
    # the Lambda's 30 s with room to record what failed.
    backoff = sum(min(2 ** i, 20) for i in range(Container.AWS_ATTEMPTS - 1))
    worst = Container.AWS_ATTEMPTS * (Container.AWS_CONNECT_TIMEOUT + Container.AWS_READ_TIMEOUT) + backoff
    assert worst <= 27
    summary.extra["clients"] = {"mode": "standard", "attempts": Container.AWS_ATTEMPTS, "worst_case_s": worst,
                                "connect_timeout": Container.AWS_CONNECT_TIMEOUT,
                                "read_timeout": Container.AWS_READ_TIMEOUT, "clients": sorted(clients)}


# -- bursts the retries absorb ---------------------------------------------------------------------------
BURSTS = [("dynamodb.TransactWriteItems", "throttled"), ("dynamodb.PutItem", "throttled"),
          ("dynamodb.PutItem", "5xx"), ("sqs.SendMessage", "throttled"), ("sqs.SendMessage", "5xx"),
          ("sns.Publish", "throttled"), ("sns.Publish", "5xx")]


@pytest.mark.parametrize("operation,kind", BURSTS)
def test_a_burst_of_errors_shorter_than_the_retries_is_absorbed(client, aws_stack, outage, sleeps, summary,
                                                                operation, kind):
    # GIVEN the service fails the next AWS_ATTEMPTS - 1 attempts of the operation
    failures = Container.AWS_ATTEMPTS - 1
    outage.fail(operation, kind, failures)

    # WHEN a report comes in and is routed (the report's write is a TransactWriteItems, its
    # routing a PutItem, its queueing a SendMessage, its two texts Publish)
    code = report_and_route(client, aws_stack)

    # THEN it went through as if nothing had happened: every failed attempt retried
    assert_routed_and_told_once(aws_stack, code)
    assert outage.failing[operation][1] == 0
    # AND botocore backed off between them: full jitter under an exponential cap (1 s base
    # for throttling, 50 ms for other errors)
    base = 1.0 if kind == "throttled" else 0.05
    assert len(sleeps.taken) == failures
    assert all(0 <= slept <= base * 2 ** i for i, slept in enumerate(sleeps.taken)), sleeps.taken
    summary.add(fault=f"{operation} {kind}", injected=failures, attempts=outage.attempts[operation],
                backoff=[round(s, 3) for s in sleeps.taken], outcome="absorbed by botocore: routed, 2 SMS once")


# -- longer outages ------------------------------------------------------------------------------------------
def test_sqs_down_longer_than_the_retries_answers_503_and_the_clients_retry_makes_one_report(
        client, aws_stack, outage, sleeps, summary):
    outage.fail("sqs.SendMessage", "5xx", None)
    first = post_report(client, report(), headers={"Idempotency-Key": "outage-2"})
    assert first.status_code == 503 and first.json_body["error"]["code"] == "unavailable"
    assert outage.attempts["sqs.SendMessage"] == Container.AWS_ATTEMPTS

    outage.heal("sqs.SendMessage")
    again = post_report(client, report(), headers={"Idempotency-Key": "outage-2"})
    assert again.status_code == 202
    run_queue(client, aws_stack, "intake")
    assert_routed_and_told_once(aws_stack, again.json_body["code"])
    summary.add(fault="sqs.SendMessage 5xx, longer than the retries", injected="until healed",
                attempts=Container.AWS_ATTEMPTS, outcome="POST answers 503; the client's retry (same key) "
                                                         "makes one report, routed and told once")


def test_dynamodb_down_longer_than_the_retries_fails_the_record_and_the_retry_routes_it(
        client, aws_stack, outage, sleeps, summary):
    post_report(client, report())
    records = records_from(receive_all(aws_stack, "intake"), "intake")
    outage.fail("dynamodb.PutItem", "throttled", None)

    response = invoke(client, "intake", records)
    assert failed_ids(response) == [records[0]["messageId"]] and sent_sms() == []

    outage.heal("dynamodb.PutItem")
    retry = [dict(records[0], attributes=dict(records[0]["attributes"], ApproximateReceiveCount="2"))]
    assert failed_ids(invoke(client, "intake", retry)) == []
    code = json.loads(records[0]["body"])["case"]["code"]
    assert_routed_and_told_once(aws_stack, code)
    summary.add(fault="dynamodb.PutItem throttled, longer than the retries", injected="until healed",
                attempts=Container.AWS_ATTEMPTS, outcome="record failed and retried; routed and told once")


def test_sns_down_keeps_the_notice_records_each_failure_and_sends_once_when_back(
        client, aws_stack, clock, outage, sleeps, monkeypatch, summary):
    # GIVEN a report to route, and SNS refusing every text (throttled for good)
    code = post_report(client, report(phone=...)).json_body["code"]
    [message] = receive_all(aws_stack, "intake")
    delays: list[int] = []
    queue = aws_stack.queue("intake")
    monkeypatch.setattr(queue, "retry_later", lambda handle, seconds: delays.append(seconds))
    outage.fail("sns.Publish", "throttled", None)

    # WHEN the case worker gets it three times
    for receives in (1, 2, 3):
        response = invoke(client, "intake", [record(message["Body"], message["MessageId"], receives)])
        assert failed_ids(response) == [message["MessageId"]]
        clock.advance(delays[-1])

    # THEN it is routed, the notice kept in the outbox, each failure recorded on the case
    stored = case(aws_stack, code)
    assert stored.status.value == "assigned" and [n.template for n in stored.outbox] == ["assigned"]
    failures = [e for e in stored.history if e.event == "notice_failed"]
    assert len(failures) == 3 and all(e.detail.startswith(f"assigned:{code}.") for e in failures)
    # AND the message comes back within seconds, later each time (a throttle may pass)
    assert_backs_off(delays, transient=True)
    assert outage.attempts["sns.Publish"] == 3 * Container.AWS_ATTEMPTS and sent_sms() == []

    # WHEN SNS is back and the message comes once more
    outage.heal("sns.Publish")
    assert failed_ids(invoke(client, "intake", [record(message["Body"], message["MessageId"], 4)])) == []

    # THEN the holder is told once, and the case says so after its failures
    assert [to for to, text in sent_sms()] == [member_phone(aws_stack, STAIRWELL_LEADER)]
    events = [e.event for e in case(aws_stack, code).history]
    assert events.index("notified") > max(i for i, e in enumerate(events) if e == "notice_failed")
    assert case(aws_stack, code).outbox == []
    summary.add(fault="sns.Publish throttled for good, then back", injected="3 deliveries × 4 attempts",
                attempts=outage.attempts["sns.Publish"], backoff=delays,
                outcome="notice kept, notice_failed ×3 on the case, retried at ~2/10/50 s; sent once when back")
    retried(summary, "sns.Publish throttled, then back", "ClientError (Throttling)", True, delays,
            "sent once when SNS was back (receive 4)")


# -- when a failed record comes back ----------------------------------------------------------------------
# At most (seconds) after the first failure, and growing: 2 s, then ×5, when it may pass by
# itself (sqs_batch.is_transient); 30 s, then doubling, when not. Jitter down to 3/4 of it.
FIRST_RETRY = {True: 2, False: 30}
GROWTH = {True: 5, False: 2}


def assert_backs_off(delays: list[int], transient: bool) -> None:
    ceilings = [backoff_ceiling(receives, transient) for receives in range(1, len(delays) + 1)]
    assert ceilings[0] == FIRST_RETRY[transient]
    assert all(later == min(MAX_BACKOFF, GROWTH[transient] * earlier)
               for earlier, later in zip(ceilings, ceilings[1:], strict=False))
    assert delays and all(max(1, int(JITTER * ceiling)) <= d <= ceiling
                          for d, ceiling in zip(delays, ceilings, strict=True)), (delays, ceilings)


def retried(summary: Any, fault: str, error: str, transient: bool, delays: list[int], outcome: str) -> None:
    """A row of docs/reliability.md's retry timings: what failed, and when it came back."""
    summary.extra.setdefault("retries", []).append(
        {"fault": fault, "error": error, "transient": transient, "delays": delays, "outcome": outcome})


# What fails for good while the case worker routes a report (a PutItem) and tells its holder
# (a Publish); whether that may pass by itself; the error the consumer sees.
RETRIES = [("dynamodb.PutItem", "throttled", True, "PutError (ProvisionedThroughputExceededException)"),
           ("dynamodb.PutItem", "5xx", True, "PutError (InternalServerError)"),
           ("dynamodb.PutItem", "race", True, "ConcurrentUpdate (ConditionalCheckFailed on every reread)"),
           ("sns.Publish", "5xx", True, "InternalErrorException (InternalError, HTTP 500)"),
           ("sns.Publish", "timeout", True, "ReadTimeoutError"),
           ("sns.Publish", "refused", False, "InvalidParameterException (InvalidParameter)")]


@pytest.mark.parametrize("operation,kind,transient,error", RETRIES)
def test_a_failed_record_comes_back_in_seconds_when_its_failure_may_pass_and_later_when_not(
        client, aws_stack, clock, outage, sleeps, monkeypatch, summary, operation, kind, transient, error):
    # GIVEN a report to route, and the operation failing for good
    post_report(client, report(phone=...))
    [message] = receive_all(aws_stack, "intake")
    delays: list[int] = []
    monkeypatch.setattr(aws_stack.queue("intake"), "retry_later", lambda handle, seconds: delays.append(seconds))
    outage.fail(operation, kind, None)
    limit = aws_stack.config.max_receive_count

    # WHEN the case worker gets it as often as SQS hands it out before its redrive limit
    for receives in range(1, limit + 1):
        response = invoke(client, "intake", [record(message["Body"], message["MessageId"], receives)])
        assert failed_ids(response) == ([message["MessageId"]] if receives < limit else [])
        clock.advance(delays[-1] if receives < limit else 0)

    # THEN each failure asked it back: within seconds, then ×5, when it may pass; after
    # about 30 s, doubling, when not
    assert len(delays) == limit - 1
    assert_backs_off(delays, transient)
    # AND on the last receive it went to the dead-letter queue, with its reason
    [letter] = dead_letters(aws_stack, "intake")
    assert letter["body"] == message["Body"] and letter["source_queue"] == "gridloop-local-intake"
    assert letter["reason"].startswith(f"failed {limit} times, last: {error.split()[0]}("), letter["reason"]
    retried(summary, f"{operation} {kind}, for good", error, transient, delays,
            f"dead-lettered on receive {limit} with its reason")


def test_on_a_real_queue_a_throttled_record_is_back_within_seconds_and_a_refused_one_is_not(
        client, aws_stack, outage, sleeps, summary):
    # GIVEN two reports whose holders differ, and SNS throttling texts to one holder and
    # refusing the other's number
    codes = {post_report(client, report(location=location, phone=...)).json_body["code"]: member
             for location, member in (("changmu-01-1", "m10"), ("changmu-03-2", "m30"))}
    throttled, refused = (member_phone(aws_stack, m) for m in ("m10", "m30"))
    outage.fail_for("sns.Publish", throttled.lstrip("+"), "throttled")
    outage.fail_for("sns.Publish", refused.lstrip("+"), "refused")
    asked: dict[str, int] = {}
    queue = aws_stack.queue("intake")
    real = queue.retry_later
    # AND both received from the queue, as the event source mapping does: hidden for the
    # queue's visibility timeout (180 s) unless the consumer says otherwise
    messages = receive_all(aws_stack, "intake", delete=False)
    holder = {m["MessageId"]: codes[json.loads(m["Body"])["case"]["code"]] for m in messages}
    handles = {m["ReceiptHandle"]: holder[m["MessageId"]] for m in messages}

    def retry_later(handle: str, seconds: int) -> None:
        asked[handles[handle]] = seconds
        real(handle, seconds)
    queue.retry_later = retry_later

    # WHEN the case worker gets both in one batch, and both fail
    records = [dict(r, receiptHandle=m["ReceiptHandle"])
               for r, m in zip(records_from(messages, "intake"), messages, strict=True)]
    response = invoke(client, "intake", records)
    failed_at = time.monotonic()
    assert sorted(failed_ids(response)) == sorted(holder)

    # THEN the throttled one is back on the queue within seconds, the refused one is not
    back: dict[str, float] = {}
    while "m10" not in back and time.monotonic() - failed_at < 6:
        for m in aws_stack.sqs_client.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10,
                                                      WaitTimeSeconds=0).get("Messages", []):
            back[holder[m["MessageId"]]] = round(time.monotonic() - failed_at, 1)
        time.sleep(0.1)
    assert 1 <= asked["m10"] <= 2 and 22 <= asked["m30"] <= 30, asked
    assert "m10" in back and 0.5 <= back["m10"] <= asked["m10"] + 1.5, back
    assert "m30" not in back
    summary.extra["real_queue"] = {"throttled_asked": asked["m10"], "throttled_back_after": back["m10"],
                                   "refused_asked": asked["m30"]}


def test_a_write_whose_answer_is_lost_is_retried_and_the_retry_finds_it_done(
        client, aws_stack, outage, sleeps, summary):
    # GIVEN the routing write takes effect but its answer is lost (a read timeout)
    outage.lose_answer("dynamodb.PutItem")

    # WHEN a report is routed
    code = report_and_route(client, aws_stack)

    # THEN botocore retried the write, its condition (the version) failed as it was done,
    # the worker read the case again and found nothing to do but send: once
    assert outage.attempts["dynamodb.PutItem"] >= 2
    assert_routed_and_told_once(aws_stack, code)
    assert [e.event for e in case(aws_stack, code).history].count("assigned") == 1
    summary.add(fault="dynamodb.PutItem answer lost (read timeout after it took effect)", injected=1,
                attempts=outage.attempts["dynamodb.PutItem"], outcome="retried; found done; routed and told once")
