"""The Lambda service in miniature, for the local stack: the context object, SQS event
source mappings (pollers that hand Lambda-shaped batches to the very handlers Lambda
runs), scheduled events, and policy files reloaded on save. Local only, never shipped."""
from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any


class LambdaContext:
    """Enough of Lambda's context object for the handlers and Powertools."""

    def __init__(self, function_name: str, timeout_s: int = 30):
        self.function_name = f"gridloop-local-{function_name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.time() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the Lambda service hands a function for a batch of SQS messages."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v["DataType"]}
                              for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": "us-east-1"} for m in messages]}


POLL_WAIT_SECONDS = 5     # long polling: an idle poller asks again every 5 s; a message wakes it at once


class QueuePoller(threading.Thread):
    """The Lambda service's SQS event source mapping, in miniature: one of the concurrent
    pollers of a queue (Lambda starts with five; GRIDLOOP_POLLERS sets how many here)."""

    def __init__(self, sqs: Any, queue_name: str, handler: Callable, name: str, batch_size: int,
                 stop: threading.Event, number: int = 0):
        super().__init__(name=f"poller-{name}-{number}", daemon=True)
        self.sqs, self.handler, self.function, self.batch_size, self.stop = sqs, handler, name, batch_size, stop
        self.url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self.arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception as error:   # keep polling; the message stays on the queue
                print(f"[{self.function}] poll failed: {error!r}", file=sys.stderr, flush=True)
                self.stop.wait(1)

    def poll_once(self) -> None:
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=POLL_WAIT_SECONDS,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        try:
            result = self.handler(sqs_event(messages, self.arn), LambdaContext(self.function)) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception as error:
            print(f"[{self.function}] batch failed: {error!r}", file=sys.stderr, flush=True)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        # A failed message is left as Lambda leaves it: it comes back when the visibility the
        # handler gave it (sqs_batch's backoff) or the queue's timeout ends, as in AWS.


class Scheduler(threading.Thread):
    def __init__(self, handler: Callable, name: str, every: float, stop: threading.Event):
        super().__init__(name=f"schedule-{name}", daemon=True)
        self.handler, self.function, self.every, self.stop = handler, name, every, stop

    def run(self) -> None:
        while not self.stop.wait(self.every):
            event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                     "source": "aws.events", "account": "123456789012",
                     "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": "us-east-1",
                     "resources": [f"arn:aws:events:us-east-1:123456789012:rule/gridloop-local-{self.function}"],
                     "detail": {}}
            try:
                self.handler(event, LambdaContext(self.function))
            except Exception as error:
                print(f"[{self.function}] failed: {error!r}", file=sys.stderr, flush=True)


class PolicyWatcher(threading.Thread):
    """Reads the policy files again when one is edited, as a deploy would in AWS: new
    cases take the new limits, running cases keep theirs. A broken file is reported and
    the policy in force stays."""

    def __init__(self, container: Any, stop: threading.Event, every: float = 1.0, echo: bool = True):
        super().__init__(name="policy-watcher", daemon=True)
        self.container, self.stop, self.every, self.echo = container, stop, every, echo
        self.seen = self.stamp()

    def stamp(self) -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in self.container.policy_files()}

    def run(self) -> None:
        while not self.stop.wait(self.every):
            stamp = self.stamp()
            if stamp == self.seen:
                continue
            self.seen = stamp
            try:
                self.container.reload_policies()
            except Exception as error:
                if self.echo:
                    print(f"[policy] not reloaded, the policy in force stays: {error}", file=sys.stderr, flush=True)
                continue
            if not self.echo:
                continue
            versions = ", ".join(sorted(b.version for b in self.container.policies.books.values()))
            print(f"[policy] reloaded: {versions}", flush=True)


def warm_clients(container: Any) -> None:
    """Build every AWS client before the first request. Lambda builds them once, on its one
    thread; here each HTTP request has a thread of its own, and the first burst's threads
    would each build the same clients at once (PynamoDB does not lock its lazy client)."""
    for name in dir(type(container)):
        if name.endswith(("_model", "_client")):
            built = getattr(container, name)
            if hasattr(built, "_get_connection"):
                built._get_connection().connection.client   # noqa: B018 - built on first access


def service_sqs_client(container: Any) -> Any:
    """The Lambda service's own SQS client: not the functions' (their read timeout is shorter
    than a long poll), with a connection for each poller."""
    import boto3
    from botocore.config import Config as BotoConfig

    config = BotoConfig(read_timeout=POLL_WAIT_SECONDS + 10, connect_timeout=2, max_pool_connections=128,
                        retries={"mode": "standard", "total_max_attempts": 3})
    return boto3.session.Session().client("sqs", region_name=container.config.region,
                                          endpoint_url=container.config.endpoint_url, config=config)


def queue_pollers(app: Any, app_module: Any, container: Any, pollers: int,
                  stop: threading.Event) -> list[QueuePoller]:
    """`pollers` concurrent pollers for each SQS event source of the app."""
    sqs = service_sqs_client(container)
    return [QueuePoller(sqs, source.queue, getattr(app_module, source.name), source.name,
                        source.batch_size, stop, number)
            for source in app.event_sources if type(source).__name__ == "SQSEventConfig"
            for number in range(pollers)]
