"""Poison messages and dead letters, on moto's real queues (redrive policy included):

- every consumer answers with a partial batch response: one failing record does not fail
  the others, and it comes back later with backoff;
- a message whose failure persists goes to its dead-letter queue on the configured
  receive (maxReceiveCount, 5), with the reason, where it came from and the id it had;
  one whose whole invocation keeps failing is moved there by SQS's own redrive, without them;
- a redrive from the dead-letter queue, as the console does it, processes what is now
  valid once, changes nothing for what was handled meanwhile, and sends what is still
  invalid back with its reason.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.conftest import sent_sms
from tests.functional.conftest import (
    FlakySms,
    all_cases,
    case,
    failed_ids,
    invoke,
    member_phone,
    post_report,
    report,
    routed_report,
    send_to,
    sms_to,
    snapshot,
    sweep,
)

MINUTE = 60.0
RESIDENT = "+8613912345678"            # conftest.report()'s phone, as stored
MAX_RECEIVES = 5                       # the queues' maxReceiveCount (infra/resources.json)


# -- the Lambda service's side, on moto's queues --------------------------------------------------
def lambda_record(message: dict[str, Any], purpose: str) -> dict[str, Any]:
    """A received message as the event source mapping hands it over: its own receipt
    handle, receive count and message attributes."""
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
                              for name, value in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:gridloop-local-{purpose}", "awsRegion": "us-east-1",
    }


class EventSource:
    """What Lambda's event source mapping does for one queue: receive a batch, invoke the
    consumer, delete what it handled. A failed record is left to come back; the test
    plays its backoff out at once (visibility 0) instead of waiting."""

    def __init__(self, client: Any, stack: Any, purpose: str):
        self.client, self.stack, self.purpose = client, stack, purpose
        self.sqs, self.url = stack.sqs_client, stack.queue(purpose).url
        self.backoffs: list[int] = []          # what the consumer asked (ChangeMessageVisibility)
        self.seen: list[dict[str, Any]] = []   # every message received, each time
        real = stack.queue(purpose).retry_later

        def retry_later(handle: str, seconds: int) -> None:
            self.backoffs.append(seconds)
            real(handle, seconds)
        stack.queue(purpose).retry_later = retry_later

    def poll(self, crash: BaseException | None = None) -> dict[str, Any] | None:
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return None
        self.seen.extend(messages)
        failed = {m["MessageId"] for m in messages}
        response: dict[str, Any] = {"crashed": True}
        crashed = type(crash) if crash is not None else ()   # () catches nothing
        try:
            if crash is not None:
                raise crash
            response = invoke(self.client, self.purpose, [lambda_record(m, self.purpose) for m in messages])
            failed = set(failed_ids(response))
        except crashed:
            pass
        for message in messages:
            if message["MessageId"] in failed:     # its backoff (or visibility timeout) is over
                self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return response

    def left(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def dead_letters(stack: Any, purpose: str) -> list[dict[str, Any]]:
    """Every message in the queue's DLQ with its attributes; taken off it."""
    sqs, url = stack.sqs_client, stack.queue(f"{purpose}-dlq").url
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append({"body": message["Body"],
                          **{k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def redrive(stack: Any, purpose: str) -> int:
    """The console's "Start DLQ redrive": every message back to its source queue, body and
    message attributes as they are (a new message, with a new id); returns how many."""
    sqs, url = stack.sqs_client, stack.queue(f"{purpose}-dlq").url
    moved = 0
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return moved
        for message in batch:
            attributes = {k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
                          for k, v in message.get("MessageAttributes", {}).items()}
            sqs.send_message(QueueUrl=stack.queue(purpose).url, MessageBody=message["Body"],
                             MessageAttributes=attributes)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def events(stack: Any, code: str) -> list[str]:
    return [e.event for e in case(stack, code).history]


# -- partial batch responses ------------------------------------------------------------------
class FailTo:
    """SNS refusing texts to some phones (every other text goes)."""

    def __init__(self, monkeypatch: Any, sender: Any, phones: set[str]):
        self.real, self.phones = sender.send, phones
        monkeypatch.setattr(sender, "send", self)

    def __call__(self, phone: str, text: str, case_id: str | None = None) -> Any:
        if phone in self.phones:
            raise ConnectionError("SNS is unreachable")
        return self.real(phone, text, case_id)


def three_reports(client: Any) -> list[str]:
    """Reports at three units whose stairwell leaders differ (m10, m30, m13)."""
    return [post_report(client, report(location=location, phone=...)).json_body["code"]
            for location in ("changmu-01-1", "changmu-03-2", "changmu-02-1")]


def test_the_case_worker_fails_only_the_record_whose_sms_failed(client, aws_stack, monkeypatch, summary):
    codes = three_reports(client)
    source = EventSource(client, aws_stack, "intake")
    FailTo(monkeypatch, aws_stack.sms, {member_phone(aws_stack, "m30")})

    response = source.poll()

    failed = failed_ids(response)
    assert len(failed) == 1
    done = [c for c in codes if case(aws_stack, c).outbox == []]
    assert len(done) == 2 and all(case(aws_stack, c).status.value == "assigned" for c in codes)
    [pending] = set(codes) - set(done)
    assert case(aws_stack, pending).holder == "m30" and "notice_failed" in events(aws_stack, pending)
    # About 30 s, with jitter: Python's own ConnectionError is no error of botocore's, so not
    # known to pass by itself (what does come back in seconds: tests/faults/test_outages.py).
    assert source.backoffs and 22 <= source.backoffs[0] <= 30
    summary.add(consumer="case_worker", fault="SNS refuses one holder's phone", records=3, failed=1,
                outcome="2 routed and notified; 1 routed, notice kept and failed, retried with backoff")


def test_the_escalation_worker_fails_only_the_record_whose_sms_failed(client, aws_stack, clock, monkeypatch,
                                                                     summary):
    codes = []
    for location in ("changmu-01-1", "changmu-03-2", "changmu-02-1"):
        codes.append(routed_report(client, aws_stack, location=location, phone=...))
    clock.advance(31 * MINUTE)
    sweep(client)
    source = EventSource(client, aws_stack, "escalation")
    leader_of_first = member_phone(aws_stack, "m10")          # told the first case moved on
    FailTo(monkeypatch, aws_stack.sms, {leader_of_first})

    response = source.poll()

    assert len(failed_ids(response)) == 1
    assert all(case(aws_stack, c).level == 2 for c in codes)    # every case escalated
    assert [c for c in codes if case(aws_stack, c).outbox] == [codes[0]]
    summary.add(consumer="escalation_worker", fault="SNS refuses one previous holder's phone", records=3,
                failed=1, outcome="3 escalated; 2 notified; 1 notice kept and failed, retried with backoff")


def test_the_reply_worker_fails_only_the_record_whose_answer_failed(client, aws_stack, monkeypatch, summary):
    code = routed_report(client, aws_stack)
    residents = ["+8613800138000", "+8613800138001", "+8613800138002"]
    for phone in residents:
        aws_stack.inbound_sms.accept(phone, f"查询 {code}", "test", gateway_message_id=f"q-{phone}")
    source = EventSource(client, aws_stack, "sms-inbound")
    FailTo(monkeypatch, aws_stack.sms, {residents[1]})

    response = source.poll()

    assert len(failed_ids(response)) == 1
    assert [len(sms_to(p)) for p in residents] == [1, 0, 1]
    # WHEN it comes back and SNS works again THEN that resident is answered, once
    monkeypatch.undo()
    assert failed_ids(source.poll()) == []
    assert [len(sms_to(p)) for p in residents] == [1, 1, 1]
    summary.add(consumer="sms_reply_worker", fault="SNS refuses one answer", records=3, failed=1,
                outcome="2 answered; 1 retried and answered once when SNS came back")


# -- the redrive limit ----------------------------------------------------------------------------
def _persistent(client: Any, stack: Any, clock: Any, purpose: str) -> str:
    """A message on `purpose` whose SMS will not go: returns its case's code."""
    if purpose == "intake":
        return post_report(client, report()).json_body["code"]
    code = routed_report(client, stack)
    if purpose == "escalation":
        clock.advance(31 * MINUTE)
        sweep(client)
    else:
        clock.advance(10 * MINUTE)
        stack.inbound_sms.accept(member_phone(stack, "m10"), f"完成 {code}", "test", gateway_message_id="done-1")
    return code


@pytest.mark.parametrize("purpose", ["intake", "escalation", "sms-inbound"])
def test_a_failure_that_persists_is_dead_lettered_with_its_reason_on_the_last_receive(
        client, aws_stack, clock, monkeypatch, summary, purpose):
    code = _persistent(client, aws_stack, clock, purpose)
    source = EventSource(client, aws_stack, purpose)
    flaky = FlakySms(monkeypatch, aws_stack.sms, failures=None)
    before = len(sent_sms())

    rounds = 0
    while source.poll() is not None:
        rounds += 1
        assert rounds <= MAX_RECEIVES

    # THEN it was received exactly maxReceiveCount times, failing (with growing backoff) until
    # the last, when it went to the DLQ with its reason, its source and the id it had
    assert rounds == MAX_RECEIVES and flaky.calls == MAX_RECEIVES
    assert len(source.backoffs) == MAX_RECEIVES - 1
    assert all(b <= c * 2 for b, c in zip(source.backoffs, source.backoffs[1:], strict=False))
    assert source.left() == 0
    original = source.seen[0]
    assert {m["MessageId"] for m in source.seen} == {original["MessageId"]}
    [letter] = dead_letters(aws_stack, purpose)
    assert letter["body"] == original["Body"]
    assert letter["reason"].startswith(f"failed {MAX_RECEIVES} times, last: ConnectionError")
    assert letter["source_queue"] == f"gridloop-local-{purpose}"
    assert letter["message_id"] == original["MessageId"]
    # AND nothing is lost: the notice is still in the case's outbox, each try recorded
    assert case(aws_stack, code).outbox and events(aws_stack, code).count("notice_failed") == MAX_RECEIVES
    assert len(sent_sms()) == before
    summary.add(consumer=purpose, fault="SMS sender failing for good (a ConnectionError, not known to pass)",
                receives=rounds, backoffs=source.backoffs,
                outcome=f"dead-lettered on receive {MAX_RECEIVES} with its reason; notice kept on the case")


def test_a_message_whose_whole_invocation_keeps_failing_is_moved_by_sqs_itself_without_a_reason(
        client, aws_stack, summary):
    # A crash (a timeout, say) fails the whole batch before our code can dead-letter it: SQS's
    # redrive policy moves it on the receive after the last (docs/roadmap.md).
    post_report(client, report())
    source = EventSource(client, aws_stack, "intake")
    crashes = 0
    while source.poll(crash=TimeoutError("Task timed out after 30.00 seconds")) is not None:
        crashes += 1

    assert crashes == MAX_RECEIVES
    [letter] = dead_letters(aws_stack, "intake")
    assert "reason" not in letter and "message_id" not in letter
    summary.add(consumer="intake", fault="every invocation times out", receives=crashes,
                outcome="moved to the DLQ by SQS's redrive policy, without a reason (known)")


# -- redrive -----------------------------------------------------------------------------------------
class SnsSwitch:
    """SNS down (every text refused) or up, as the test says."""

    def __init__(self, monkeypatch: Any, sender: Any):
        self.real, self.down = sender.send, False
        monkeypatch.setattr(sender, "send", self)

    def __call__(self, phone: str, text: str, case_id: str | None = None) -> Any:
        if self.down:
            raise ConnectionError("SNS is unreachable")
        return self.real(phone, text, case_id)


def drain(source: EventSource) -> None:
    while source.poll() is not None:
        pass


def test_a_redrive_from_the_dead_letter_queues_processes_what_is_now_valid_once(
        client, aws_stack, clock, monkeypatch, summary):
    sns = SnsSwitch(monkeypatch, aws_stack.sms)
    intake, escalation = EventSource(client, aws_stack, "intake"), EventSource(client, aws_stack, "escalation")
    # GIVEN a case routed while SNS works, unanswered for 31 minutes
    other = routed_report(client, aws_stack, location="changmu-03-2", phone=...)
    clock.advance(31 * MINUTE)
    sweep(client)
    # AND while SNS is down: its escalation (made, its notices kept) dead-lettered after 5
    # receives; a console report (made and routed, its notices kept) too; and a message
    # that is not JSON, dead-lettered at once
    sns.down = True
    drain(escalation)
    send_to(aws_stack, "intake", json.dumps({"category": "sanitation", "location": "changmu-01-1",
                                             "description": "楼道垃圾", "source": "console"}, ensure_ascii=False))
    send_to(aws_stack, "intake", "not json {")
    drain(intake)
    [made] = [c for c in all_cases(aws_stack) if c.code != other]
    assert made.outbox and case(aws_stack, other).outbox and case(aws_stack, other).holder == "m06"
    # AND once SNS is back, the new holder of the escalated case, who knew of it anyway,
    # accepts it by SMS: that sends its waiting notices (the case is handled meanwhile)
    sns.down = False
    aws_stack.inbound_sms.accept(member_phone(aws_stack, "m06"), f"收到 {other}", "test", gateway_message_id="ok-1")
    drain(EventSource(client, aws_stack, "sms-inbound"))
    assert case(aws_stack, other).outbox == [] and case(aws_stack, other).status.value == "acknowledged"
    handled, texts_before = snapshot(aws_stack, other), Counter(sent_sms())

    # WHEN an operator redrives both dead-letter queues, as the console does
    assert redrive(aws_stack, "intake") == 2 and redrive(aws_stack, "escalation") == 1
    drain(intake)
    drain(escalation)

    # THEN the console report is still one report (not a second one from the redriven
    # message's new id), and what it had to say went out once
    assert sorted(c.code for c in all_cases(aws_stack)) == sorted([made.code, other])
    assert case(aws_stack, made.code).outbox == []
    new_texts = Counter(sent_sms()) - texts_before
    assert new_texts and all(made.code in text for _, text in new_texts)
    assert all(n == 1 for n in new_texts.values())
    assert [t for t in sms_to(member_phone(aws_stack, "m45")) if made.code in t] == []   # sanitation: not 物业
    # AND the escalation, handled meanwhile, changed nothing and sent nothing
    assert snapshot(aws_stack, other) == handled
    # AND what is still invalid is back in the DLQ with its reason
    [letter] = dead_letters(aws_stack, "intake")
    assert letter["body"] == "not json {" and letter["reason"].startswith("not JSON")
    assert dead_letters(aws_stack, "escalation") == []
    summary.add(consumer="intake + escalation", fault="redrive from the DLQs (console)", records=3,
                outcome="console report: one report, notified once; escalation handled meanwhile: "
                        "no change, no SMS; bad JSON: back in the DLQ with its reason")


# -- the service loop (orders) in the same consumers ---------------------------------------------------
HOUSEHOLDS = ("+8613709741001", "+8613709741002", "+8613709741003")   # registered households (data/directory)


def order_placed(client: Any, stack: Any, phone: str = HOUSEHOLDS[0]) -> str:
    """The household texts 点单 医保 and the reply worker places it: its code."""
    from tests.functional.conftest import text_in
    text_in(stack, phone, "点单 医保", client)
    [code] = [o.code for o in orders(stack) if o.orderer_phone == phone]
    return code


def order_dispatched(client: Any, stack: Any) -> str:
    from tests.functional.conftest import text_in
    code = order_placed(client, stack)
    text_in(stack, member_phone(stack, stack.orders.orders.get(code).dispatcher), f"派单 {code}", client)
    assert stack.orders.orders.get(code).status.value == "pooled"
    return code


def orders(stack: Any) -> list[Any]:
    return [stack.orders.orders.get(record.code) for record in stack.orders_model.scan()]


def order_events(stack: Any, code: str) -> list[str]:
    return [e.event for e in stack.orders.orders.get(code).history]


def test_the_reply_worker_fails_only_the_record_whose_order_notice_failed(client, aws_stack, monkeypatch, summary):
    # GIVEN three households' 点单 in one batch, and SNS refusing the second household's phone
    for n, phone in enumerate(HOUSEHOLDS):
        aws_stack.inbound_sms.accept(phone, "点单 医保", "test", gateway_message_id=f"order-{n}")
    source = EventSource(client, aws_stack, "sms-inbound")
    FailTo(monkeypatch, aws_stack.sms, {HOUSEHOLDS[1]})

    response = source.poll()

    # THEN only that record failed: its order is stored with its notices kept and the failure
    # recorded; the other two households have their code
    assert len(failed_ids(response)) == 1
    by_phone = {o.orderer_phone: o for o in orders(aws_stack)}
    assert set(by_phone) == set(HOUSEHOLDS)
    assert [len(sms_to(p)) for p in HOUSEHOLDS] == [1, 0, 1]
    pending = by_phone[HOUSEHOLDS[1]]
    # (the committee's dispatch request goes first, and went: the resident's code is kept)
    assert [n.template for n in pending.outbox] == ["order_received"]
    assert "notice_failed" in order_events(aws_stack, pending.code)
    assert [o.outbox for p, o in by_phone.items() if p != HOUSEHOLDS[1]] == [[], []]
    # WHEN it comes back and SNS works again THEN it is told its code once, and the committee once
    monkeypatch.undo()
    assert failed_ids(source.poll()) == []
    assert [len(sms_to(p)) for p in HOUSEHOLDS] == [1, 1, 1]
    assert aws_stack.orders.orders.get(pending.code).outbox == []
    dispatcher = member_phone(aws_stack, pending.dispatcher)
    assert len([t for t in sms_to(dispatcher) if f"派单 {pending.code}" in t]) == 1
    summary.add(consumer="sms_reply_worker (orders)", fault="SNS refuses one household's phone (点单)", records=3,
                failed=1, outcome="3 orders stored; 2 told at once; 1 notice kept and failed, retried and "
                                  "told once when SNS came back; each dispatch request sent once")


def _order_message(client: Any, stack: Any, clock: Any, purpose: str) -> str:
    """A message on `purpose` whose order notices will not go: 派单 of a placed order (its
    pool's notices), or the timer of a dispatched order nobody claimed (the committee's)."""
    if purpose == "sms-inbound":
        code = order_placed(client, stack)
        stack.inbound_sms.accept(member_phone(stack, stack.orders.orders.get(code).dispatcher), f"派单 {code}",
                                 "test", gateway_message_id="dispatch-1")
        return code
    code = order_dispatched(client, stack)
    clock.advance(3 * 24 * 60 * MINUTE)
    assert sweep(client)["orders"] == 1
    return code


@pytest.mark.parametrize("purpose", ["sms-inbound", "escalation"])
def test_an_order_notice_failing_for_good_is_dead_lettered_and_a_redrive_sends_it_once(
        client, aws_stack, clock, monkeypatch, summary, purpose):
    code = _order_message(client, aws_stack, clock, purpose)
    source = EventSource(client, aws_stack, purpose)
    sns = SnsSwitch(monkeypatch, aws_stack.sms)
    sns.down = True
    before = Counter(sent_sms())

    rounds = 0
    while source.poll() is not None:
        rounds += 1
        assert rounds <= MAX_RECEIVES

    # THEN it failed on every receive and went to the DLQ with its reason on the last one; the
    # order's change is saved, its notices kept in its outbox, each try recorded
    assert rounds == MAX_RECEIVES and source.left() == 0
    order = aws_stack.orders.orders.get(code)
    expected = ("pooled", 0) if purpose == "sms-inbound" else ("pooled", 1)
    assert (order.status.value, order.level) == expected
    kept = [(n.member_id, n.template) for n in order.outbox]
    assert kept and order_events(aws_stack, code).count("notice_failed") == MAX_RECEIVES
    [letter] = dead_letters(aws_stack, purpose)
    assert letter["reason"].startswith(f"failed {MAX_RECEIVES} times, last: ConnectionError")
    assert letter["source_queue"] == f"gridloop-local-{purpose}"
    assert Counter(sent_sms()) == before
    # WHEN SNS is back and an operator redrives the DLQ, as the console does (a new message id;
    # dead_letters() took the letter off to read it: it goes back first)
    sns.down = False
    send_to(aws_stack, f"{purpose}-dlq", letter["body"])
    assert redrive(aws_stack, purpose) == 1
    while source.poll() is not None:
        pass
    # THEN every kept notice went out once, and the order changed no more
    new_texts = Counter(sent_sms()) - before
    assert sorted(new_texts.values()) == [1] * len(kept)
    assert sorted(phone for phone, _ in new_texts) == sorted(member_phone(aws_stack, m) for m, _ in kept)
    again = aws_stack.orders.orders.get(code)
    assert again.outbox == [] and (again.status.value, again.level) == expected
    assert dead_letters(aws_stack, purpose) == []
    what = "派单 (the pool's notices)" if purpose == "sms-inbound" else "an order's timer (the committee's notice)"
    summary.add(consumer=f"{purpose} (orders)", fault=f"SMS sender failing for good: {what}", receives=rounds,
                notices_kept=len(kept),
                outcome=f"dead-lettered on receive {MAX_RECEIVES} with its reason; notices kept on the order; "
                        f"redriven once SNS was back: each sent once, the order unchanged")
