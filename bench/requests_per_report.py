"""Figure 1: AWS requests our own code makes per report, POST /reports → first SMS.

The real path, in process, on moto: POST /reports through chalice.test.Client (the
HTTP handler included), then the intake queue read in batches of 10 and handed to the
case worker handler as the Lambda service would. Every request made by a client that
botocore creates during the bench is seen by a 'before-call' hook; the Lambda
service's own work (ReceiveMessage, and deleting what the worker processed) is done
with counting paused, because it is not our code's.

Per report, requests are attributed to the report whose handling made them: the
HTTP request's to that report; in the worker, everything from the start of routing
one record to the start of the next. The budgeted figure stops at (and includes)
the SNS Publish of the report's first SMS; what follows it (recording the notice as
sent) is reported as information.

Reports are routed as if each came more than a send window (two minutes) after the one
before: the container's clock steps on by that much at each record. Every report's
notices then go at once, taking their phone's window in the routing write itself; in a
burst to one phone they would wait and go as one text later (services.notices), which
costs fewer texts but is not this figure's path.

The container is warm before counting starts, as a warm Lambda container is: the
directory is loaded into its cache and the intake queue's URL is looked up. Those
one-off requests are counted apart and printed as the cost of a cold container.

The same measurement runs through the report page (`run(..., via="page")`): each report is
the page's form posted to `POST /` (urlencoded, with a fresh idempotency key of the form's
own shape), and its code read from the page that answers.
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bench.hooks import hook_every_client, operation_of

BATCH = 10         # the case worker's batch size (app.py)
WAVE = 50          # reports posted before the worker catches up
VIAS = ("api", "page")   # POST /reports (JSON), or the report page's form (POST /)
PAGE_CODE = re.compile(rb'<p class="code" translate="no">([A-Z0-9]+)</p>')   # done.html


@dataclass
class Tally:
    """Requests seen while counting, per bucket."""
    counting: bool = False
    bucket: str = "untracked"
    calls: dict[str, Counter] = field(default_factory=dict)   # bucket -> Counter(operation)
    sends: int = 0          # HTTP attempts (retries included), warm-up excepted

    def before_call(self, model: Any, **_: Any) -> None:
        if not self.counting:
            return
        operation = operation_of(model)
        self.calls.setdefault(self.bucket, Counter())[operation] += 1
        if operation == "sns.Publish" and self.bucket.startswith("report:") \
                and self.bucket.endswith(":worker"):
            # The report's first SMS: what follows in its handling is bookkeeping.
            self.bucket = self.bucket + ":after"

    def before_send(self, **_: Any) -> None:
        if self.counting and self.bucket != "warmup":
            self.sends += 1


@dataclass
class Result:
    reports: int
    via: str
    to_first_sms: float             # the budgeted figure
    total: float                    # including recording the SMS as sent
    breakdown_first: Counter
    breakdown_after: Counter
    warmup: Counter
    unattributed: Counter
    attempts: float
    missing_sms: int
    batches: int
    seconds: float
    folded: int = 0                 # reports the case worker folded into an open case (duplicates)


@dataclass
class SteppingClock:
    """The container's clock: the bench moves it on."""
    now: float

    def __call__(self) -> float:
        return self.now


def _env() -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "GRIDLOOP_STAGE": "local"}.items():
        os.environ[key] = value
    os.environ.pop("GRIDLOOP_AWS_ENDPOINT", None)


def queue_endpoint(sqs: Any, name: str) -> tuple[str, str]:
    """(URL, ARN) of a queue, as the Lambda service's side looks them up (never counted)."""
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the Lambda service hands the function for these received SQS messages."""
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    } for m in messages]}


def _json_report(i: int, location: Any, category: str) -> tuple[str, str, dict[str, str]]:
    """POST /reports: path, body and headers of report i."""
    body: dict[str, Any] = {"category": category, "location": location.code,
                            "description": f"bench report {i}: 楼道灯坏了"}
    if i % 3 == 0:
        body.update(phone="13800138000", name="住户")
    return "/reports", json.dumps(body, ensure_ascii=False), {"Content-Type": "application/json"}


def _page_report(i: int, location: Any, category: str) -> tuple[str, str, dict[str, str]]:
    """The report page's form (chalicelib/web/templates/form.html), filled in and posted to /."""
    unit = location.code.rsplit("-", 1)[1] if location.unit_id else "unknown"   # pages.UNKNOWN_UNIT
    building = location.code.rsplit("-", 1)[0] if location.unit_id else location.code
    fields = {"key": f"web-{uuid.uuid4().hex}", "community": location.community_id, "lang": "zh",
              "building": building, "unit": unit, "category": category,
              "description": f"bench report {i}: 楼道灯坏了", "phone": "13800138000" if i % 3 == 0 else "",
              "new": "1"}      # past "already reported?": the resident says theirs is a new problem
    return "/", urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"}


def _code(via: str, response: Any) -> str:
    if via == "api":
        if response.status_code != 202:
            raise RuntimeError(f"POST /reports answered {response.status_code}: {response.body!r}")
        return json.loads(response.body)["code"]
    found = PAGE_CODE.search(response.body) if response.status_code == 200 else None
    if not found:
        raise RuntimeError(f"POST / answered {response.status_code} without a code: {response.body[:500]!r}")
    return found.group(1).decode()


def run(reports: int = 1000, via: str = "api") -> Result:
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}, not {via!r}")
    _env()
    started = time.perf_counter()
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.config import Config
    from chalicelib.services.notices import BUNDLE_SECONDS
    from devstack.resources import create_all, load_demo_directory

    tally = Tally()
    clock = SteppingClock(time.time())
    # Every third report comes from one phone and all from 127.0.0.1: the limits on new
    # reports are checked in each report's write (and so counted here), never reached.
    config = Config(stage="local", region="us-east-1", endpoint_url=None, time_scale=1.0,
                    directory_ttl=300.0, due_shards=4, max_receive_count=5,
                    reports_per_phone=10 * reports, reports_per_ip=10 * reports)

    with mock_aws(), hook_every_client([("before-call", tally.before_call)],
                                       first=[("before-send", tally.before_send)]):
        create_all(boto3.session.Session(), "local")
        container = bootstrap.Container(config, clock)
        load_demo_directory(container.directory_store)
        bootstrap.use(container)
        # The Lambda service's side: its own client; hooked like every client, but
        # counting is always off while it is used.
        lambda_service = boto3.session.Session().client("sqs", region_name="us-east-1")
        intake_url, intake_arn = queue_endpoint(lambda_service, config.name("intake"))

        # Each record's handling starts with routing: that is where attribution moves on.
        workflow = container.workflow
        route = workflow.route

        def traced_route(case: Any) -> Any:
            clock.now += BUNDLE_SECONDS + 1     # each phone's window has ended
            tally.bucket = f"report:{case.code}:worker"
            try:
                return route(case)
            finally:
                tally.bucket = "worker:between-records"

        workflow.route = traced_route   # instance attribute: the bench's probe only

        try:
            # Warm the container as a warm Lambda container is; counted apart.
            tally.counting, tally.bucket = True, "warmup"
            container.directory()
            _ = container.queue("intake").url   # resolving the queue's URL is part of the warm-up
            tally.counting = False

            directory = container.directory()
            locations = directory.locations()
            categories = list(container.categories)
            codes: list[str] = []
            batches: list[int] = []
            with Client(bootstrap_app(), stage_name="local") as client:
                make = _page_report if via == "page" else _json_report

                def post(i: int) -> None:
                    path, body, headers = make(i, locations[(i * 7) % len(locations)],
                                               categories[i % len(categories)])
                    tally.counting, tally.bucket = True, f"http:{i}"
                    response = client.http.post(path, body=body, headers=headers)
                    tally.counting = False
                    code = _code(via, response)
                    codes.append(code)
                    # The HTTP request's requests belong to its report.
                    tally.calls[f"report:{code}:http"] = tally.calls.pop(f"http:{i}", Counter())

                def drain(expected: int) -> int:
                    """The Lambda service's part: receive in batches of 10, invoke the
                    worker, delete what it processed."""
                    handled = idle = 0
                    while handled < expected:
                        messages = lambda_service.receive_message(
                            QueueUrl=intake_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=0,
                            AttributeNames=["All"]).get("Messages", [])
                        if not messages:
                            idle += 1
                            if idle > 20:
                                raise RuntimeError(f"the intake queue ran dry after {handled} of {expected}")
                            continue
                        idle = 0
                        event = _lambda_event(messages, intake_arn)
                        tally.counting, tally.bucket = True, "worker:between-records"
                        answer = client.lambda_.invoke("case_worker", event).payload
                        tally.counting = False
                        failed = (answer or {}).get("batchItemFailures", [])
                        if failed:
                            raise RuntimeError(f"the case worker failed {len(failed)} records: {answer}")
                        lambda_service.delete_message_batch(QueueUrl=intake_url, Entries=[
                            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                            for n, m in enumerate(messages)])
                        handled += len(messages)
                        batches.append(len(messages))
                    return handled

                # In waves, as reports keep arriving while the worker keeps up (moto's
                # queues slow down with their length, AWS's do not).
                for wave in range(0, reports, WAVE):
                    for i in range(wave, min(wave + WAVE, reports)):
                        post(i)
                    drain(min(wave + WAVE, reports) - wave)
            # A report folded into an open case (services.duplicates) is routed nowhere: its first
            # SMS is its reporter's code, and with no phone it has none. Read uncounted.
            folded = {code for code in codes if getattr(container.cases.get(code), "duplicate_of", None)}
        finally:
            tally.counting = False
            bootstrap.use(None)

    first, after, unattributed = Counter(), Counter(), Counter()
    known = {"warmup"}
    missing = 0
    for code in codes:
        buckets = (f"report:{code}:http", f"report:{code}:worker", f"report:{code}:worker:after")
        known.update(buckets)
        http, worker, later = (tally.calls.get(b, Counter()) for b in buckets)
        first.update(http)
        first.update(worker)
        after.update(later)
        if worker["sns.Publish"] == 0 and code not in folded:
            missing += 1
    for bucket, counter in tally.calls.items():
        if bucket not in known:
            unattributed.update(counter)
    # Requests made outside any one report's handling are charged to the budgeted figure.
    n_first = sum(first.values()) + sum(unattributed.values())
    n_after = sum(after.values())
    return Result(reports=reports, via=via, to_first_sms=n_first / reports, total=(n_first + n_after) / reports,
                  breakdown_first=first, breakdown_after=after,
                  warmup=tally.calls.get("warmup", Counter()), unattributed=unattributed,
                  attempts=tally.sends / reports, missing_sms=missing, batches=len(batches),
                  seconds=time.perf_counter() - started, folded=len(folded))


def bootstrap_app() -> Any:
    from app import app
    return app
