"""Crash at every step: the machinery of tests/faults.

A scenario drives the real handlers (chalice.test.Client over the app, on in-process
moto) through the doors a report or an SMS comes in by. A botocore hook on every client
sees each AWS request our code makes while a handler runs (`Recorder`). A clean run of
the scenario gives the list of those requests; then, for every request k, the scenario
runs again from the same start with a crash injected

- before request k (it is never made), and
- after request k (it took effect, and the process died before it used the answer),

and every delivery that crashed or failed is delivered again, as AWS would: the same SQS
records (same messageId, receive count + 1) after the visibility timeout or the retry's
backoff, the scheduled sweep a minute later, the HTTP request by the client with the same
Idempotency-Key, the gateway's webhook with the same message id. The end state (every
case and every order, the points ledger with each member's balance, the contacts table,
the dead-letter queues) and the SMS sent are then compared with the clean run's
(`World.state`, `compare`).

A crash is `Crash`, a BaseException: no `except Exception` of ours catches it, as none
catches a Lambda timeout or an out-of-memory kill. After it the process is gone: the next
delivery gets a new container (`World.new_process`), with nothing cached.
"""
from __future__ import annotations

import gc
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

START = 1_790_000_000.0          # every run's clock starts here
VISIBILITY_TIMEOUT = 180         # the queues' (infra/resources.json): a crashed batch comes back after it
SCHEDULE_SECONDS = 60            # the sweep runs every minute: a crashed one runs again a minute later
MAX_DELIVERIES = 8               # more than the redrive limit (5): a record still failing then is "stuck"
WORKERS = {"intake": "case_worker", "escalation": "escalation_worker", "sms-inbound": "sms_reply_worker"}


class Crash(BaseException):
    """The process dies here (injected)."""


# -- seeing and breaking our AWS requests -------------------------------------------------
@dataclass(frozen=True)
class Call:
    index: int
    operation: str        # "dynamodb.PutItem"
    target: str           # the table, queue or "sms" it is about
    handler: str          # who made it: "POST /reports", "case_worker", ...
    invocation: int = 0   # which invocation of a handler (calls in one can share a boundary)
    sent: str = ""        # an sns.Publish's "<last 4 digits>: <text>", as compare() lists texts

    @property
    def label(self) -> str:
        return f"{self.handler}: {self.operation} {self.target}".strip()


@dataclass(frozen=True)
class Fault:
    index: int            # the request, in the clean run's order
    when: str             # "before" (never made) or "after" (made, answer lost)

    def describe(self, call: Call) -> str:
        return f"{self.when} #{self.index} {call.label}"


def _target(model: Any, params: dict[str, Any]) -> str:
    """What a request is about, without personal data (never a phone number)."""
    def short(name: str) -> str:
        return re.sub(r"^gridloop-[a-z]+-", "", name)
    if "TableName" in params:
        return short(params["TableName"])
    if "TransactItems" in params:
        tables = sorted({short(next(iter(item.values()))["TableName"]) for item in params["TransactItems"]})
        return "+".join(tables)
    if "QueueUrl" in params:
        return short(params["QueueUrl"].rsplit("/", 1)[-1])
    if "QueueName" in params:
        return short(params["QueueName"])
    if "PhoneNumber" in params:
        return "sms"
    if "RequestItems" in params:
        return "+".join(sorted(short(name) for name in params["RequestItems"]))
    return ""


class Recorder:
    """botocore hooks for every client (bench.hooks.hook_every_client): while armed, each
    request is listed, and the fault, if any, is raised at its place."""

    def __init__(self) -> None:
        self.armed = False
        self.paused = False       # a scenario's setup: no handler is armed while it runs
        self.handler = ""
        self.calls: list[Call] = []
        self.fault: Fault | None = None
        self.fired: Call | None = None
        self.invocations = 0
        self._target = self._sent = ""

    def reset(self, fault: Fault | None) -> None:
        self.calls, self.fault, self.fired, self.armed, self.paused = [], fault, None, False, False

    def handlers(self) -> list[tuple[str, Callable[..., Any]]]:
        return [("before-parameter-build", self.before_parameter_build),
                ("before-call", self.before_call), ("after-call", self.after_call)]

    def before_parameter_build(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.armed:
            self._target = _target(model, params)
            self._sent = f"{params['PhoneNumber'][-4:]}: {params['Message']}" if "PhoneNumber" in params else ""

    def before_call(self, model: Any, **_: Any) -> None:
        if not self.armed:
            return
        from bench.hooks import operation_of
        call = Call(len(self.calls), operation_of(model), self._target, self.handler, self.invocations, self._sent)
        self.calls.append(call)
        self._maybe_crash(call, "before")

    def after_call(self, model: Any, **_: Any) -> None:
        if self.armed and self.calls:
            self._maybe_crash(self.calls[-1], "after")

    def _maybe_crash(self, call: Call, when: str) -> None:
        fault = self.fault
        if fault is not None and self.fired is None and fault.index == call.index and fault.when == when:
            self.fired = call
            raise Crash(fault.describe(call))

    @contextmanager
    def acting_as(self, handler: str) -> Iterator[None]:
        """Arm the hooks while `handler` runs: its requests are ours to count and break."""
        self.handler, self.armed = handler, not self.paused
        self.invocations += 1
        try:
            yield
        finally:
            self.armed = False


# -- one moto for many runs ------------------------------------------------------------------
class World:
    """The app on in-process moto with every resource of infra/resources.json and the demo
    directory, reset to that start before each run (much faster than a new moto: a scenario
    runs a hundred times)."""

    KEEP = ("directory", "directory-history")      # loaded once; no scenario changes them

    def __init__(self, clock: Any, recorder: Recorder, **config: Any):
        import boto3
        from chalice.test import Client
        from moto import mock_aws

        from app import app
        from bench.hooks import hook_every_client
        from chalicelib import bootstrap
        from devstack.resources import create_all, load_demo_directory
        from tests.conftest import _config
        from tests.functional.conftest import PROJECT_DIR

        self.clock, self.recorder = clock, recorder
        self._config = _config(**{"bundle_seconds": 0.0, **config})
        self._bootstrap = bootstrap
        self._mock = mock_aws()
        self._hooks = hook_every_client(recorder.handlers())
        self._mock.start()
        self._hooks.__enter__()
        # Speed only: PynamoDB makes a botocore session (30 ms) per model in each new
        # container, and the runs make hundreds of containers. One session serves them all.
        import botocore.session
        import pynamodb.connection.base as pynamodb_connection
        shared = botocore.session.get_session()
        self._pynamodb_get_session = pynamodb_connection.get_session
        pynamodb_connection.get_session = lambda: shared
        try:
            create_all(boto3.session.Session(), "local")
            self.stack = bootstrap.Container(self._config, clock)
            load_demo_directory(self.stack.directory_store)
            for name in dir(bootstrap.Container):      # make every client and model once
                if name.endswith(("_client", "_model")) and not name.startswith("_"):
                    getattr(self.stack, name)
            bootstrap.use(self.stack)
            self.client = Client(app, stage_name="local", project_dir=str(PROJECT_DIR))
            self.client.__enter__()
            # The Lambda service's and the test's own side: never counted (the recorder is
            # only armed while a handler runs).
            self.sqs = boto3.session.Session().client("sqs", region_name="us-east-1")
            self.dynamodb = boto3.session.Session().client("dynamodb", region_name="us-east-1")
            # Speed only: what exists now (moto, botocore's models, the app) lives as long
            # as the world; the garbage collector need not scan it on every run.
            gc.collect()
            gc.freeze()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            if hasattr(self, "client"):
                self.client.__exit__(None, None, None)
        finally:
            import pynamodb.connection.base as pynamodb_connection
            pynamodb_connection.get_session = self._pynamodb_get_session
            self._bootstrap.use(None)
            self._hooks.__exit__(None, None, None)
            self._mock.stop()
            gc.unfreeze()

    def reset(self) -> None:
        """Back to the start: no cases, no contacts, empty queues, no SMS sent, a new process."""
        tables, queues, sms = self._backends()
        for name, table in tables.items():
            if not name.endswith(tuple(f"-{keep}" for keep in self.KEEP)):
                table.items.clear()
        for queue in queues.values():
            queue._messages, queue._pending_messages = [], set()
        sms.clear()
        self.clock.now = START
        self.new_process()

    def snapshot(self) -> Any:
        """The data as it is now (after a scenario's setup), to start each run from."""
        import copy
        tables, queues, sms = self._backends()
        return copy.deepcopy(({name: t.items for name, t in tables.items()},
                              {name: q._messages for name, q in queues.items()},
                              dict(sms), self.clock.now))

    def restore(self, snapshot: Any) -> None:
        import copy
        items, messages, sent, now = copy.deepcopy(snapshot)
        tables, queues, sms = self._backends()
        for name, table in tables.items():
            table.items = items[name]
        for name, queue in queues.items():
            queue._messages, queue._pending_messages = messages[name], set()
        sms.clear()
        sms.update(sent)
        self.clock.now = now
        self.new_process()

    @staticmethod
    def _backends() -> tuple[dict, dict, dict]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.sns.models import sns_backends
        from moto.sqs.models import sqs_backends
        return (dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables,
                sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues,
                sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages)

    def new_process(self) -> None:
        """A new Lambda container: nothing cached (the directory, queue URLs), no state of
        the one that died. Speed only: it gets the old one's boto3 clients and PynamoDB
        models, which hold no state of ours, instead of making them again (50 ms each)."""
        shared = {name: value for name, value in self.stack.__dict__.items()
                  if name.endswith(("_client", "_model"))}
        self.stack = self._bootstrap.Container(self._config, self.clock)
        self.stack.__dict__.update(shared)
        self._bootstrap.use(self.stack)

    # -- what the run left ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything a run leaves, without what legitimately differs between runs (times,
        versions, provider message ids)."""
        from boto3.dynamodb.types import TypeDeserializer

        from tests.conftest import sent_sms

        cases = {}
        for record in self.stack.case_model.scan():
            cases[record.code] = _case_facts(self.stack.cases.get(record.code))
        contacts = {}     # every attribute, whichever model wrote it
        plain = TypeDeserializer().deserialize
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self._config.name("contacts")):
            for item in page["Items"]:
                contacts[item["phone_key"]["S"]] = {
                    k: plain(v) for k, v in item.items()
                    if k not in ("phone_key", "expires_at", "window_start", "updated_at", "opted_out_at",
                                 "until", "sending_until", "message_id")}
        dead = {}
        for purpose in WORKERS:
            url = self.stack.queue(f"{purpose}-dlq").url
            bodies = []
            for message in self._peek(url):
                reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
                bodies.append((message["Body"], reason))
            if bodies:     # distinct: a poison message delivered twice may be dead-lettered twice
                dead[purpose] = sorted(set(bodies))
        orders = {}
        for record in self.stack.orders_model.scan():
            orders[record.code] = _order_facts(self.stack.orders.orders.get(record.code))
        return {"cases": cases, "orders": orders, "points": self._points(), "contacts": contacts,
                "dead_letters": dead, "sms": sorted(Counter(sent_sms()).items())}

    def _points(self) -> dict[str, Any]:
        """The points ledger: every item of its table, less the times (an entry's row is keyed by
        when it was credited, and a redelivery credits later), and each member's balance as
        the points bank reads it (PointsBank.balance)."""
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer().deserialize
        items, balances = {}, {}
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self._config.name("points")):
            for item in page["Items"]:
                account, key = item["account"]["S"], _ENTRY_TIME.sub(r"\1<t>\2", item["key"]["S"])
                items[f"{account} {key}"] = {k: plain(v) for k, v in item.items() if k not in ("account", "key", "at")}
                kind, _, rest = account.partition(":")
                if kind == "member" and key == "balance":
                    community, _, member = rest.partition(":")
                    balances[account] = self.stack.points.balance(community, member)
        return {"items": items, "balances": balances}

    def _peek(self, url: str) -> list[dict[str, Any]]:
        messages = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                             AttributeNames=["All"], MessageAttributeNames=["All"],
                                             VisibilityTimeout=600).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)


_MESSAGE_ID = re.compile(r"(:)[0-9a-f-]{36}$")
# Whether a notice waited for its phone's send window depends on when it was delivered: a
# crashed batch comes back 180 s later, after a 120 s window has ended, and its text then
# goes at once. The texts sent are compared all the same.
TIMING_EVENTS = frozenset({"notice_bundled"})


def _case_facts(case: Any) -> dict[str, Any]:
    """A case as data, less what differs between two correct runs: times (a redelivery
    comes later) and what follows from them (TIMING_EVENTS), the version (a retry writes
    more often) and SNS message ids."""
    data = case.to_dict()
    for key in ("created_at", "updated_at", "due_at", "resolve_due_at", "yellow_at", "version"):
        data.pop(key, None)
    data["history"] = [(e["event"], e["level"], e["actor"], _MESSAGE_ID.sub(r"\1<id>", e["detail"] or ""))
                       for e in data["history"] if e["event"] not in TIMING_EVENTS]
    data["outbox"] = [(n["id"], n["template"], n["member_id"]) for n in data["outbox"]]
    return _without_times(data)


_ENTRY_TIME = re.compile(r"^(at#)[0-9]{15}(#)")


def _order_facts(order: Any) -> dict[str, Any]:
    """An order as data, as _case_facts makes a case: less its times, version and SNS ids."""
    data = order.to_dict()
    data.pop("version", None)
    data["history"] = [(e["event"], e["level"], e["actor"], _MESSAGE_ID.sub(r"\1<id>", e["detail"] or ""))
                       for e in data["history"] if e["event"] not in TIMING_EVENTS]
    data["outbox"] = [(n["id"], n["template"], n["member_id"]) for n in data["outbox"]]
    return _without_times(data)


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items()
                if not (str(k).endswith("_at") or k in ("at", "until", "not_before", "sending_until"))}
    if isinstance(value, (list, tuple)):
        return [_without_times(v) for v in value]
    return value


# -- delivering, as AWS does -----------------------------------------------------------------
@dataclass
class Delivery:
    """What one run's redeliveries cost: how many crashes, retries and rounds."""
    crashes: int = 0
    retries: int = 0
    stuck: list[str] = field(default_factory=list)


class Run:
    """One run of a scenario: each door delivers until its input is handled."""

    def __init__(self, world: World, start: tuple[Any, dict[str, int]] | None = None):
        """`start`: a snapshot (World.snapshot) and the message numbers used so far, to
        start from; None: from where the world is."""
        self.world = world
        self.delivery = Delivery()
        self._seq: Counter = Counter()
        if start is not None:
            world.restore(start[0])
            self._seq.update(start[1])

    @property
    def stack(self) -> Any:
        return self.world.stack

    @contextmanager
    def unarmed(self) -> Iterator[None]:
        """What a scenario does that is not under test: neither counted nor broken."""
        recorder = self.world.recorder
        paused, recorder.paused = recorder.paused, True
        try:
            yield
        finally:
            recorder.paused = paused

    def _died(self, wait: float) -> None:
        self.delivery.crashes += 1
        self.world.new_process()
        self.world.clock.advance(wait)

    # -- doors -----------------------------------------------------------------------
    def post_report(self, body: dict[str, Any], key: str) -> str:
        """POST /reports, retried by the client with the same Idempotency-Key until 202."""
        for _ in range(MAX_DELIVERIES):
            try:
                with self.world.recorder.acting_as("POST /reports"):
                    response = self.world.client.http.post(
                        "/reports", body=json.dumps(body, ensure_ascii=False),
                        headers={"Content-Type": "application/json", "Idempotency-Key": key})
            except Crash:
                self._died(1)
                continue
            if response.status_code == 202:
                return json.loads(response.body)["code"]
            assert response.status_code == 503, response.body   # ours: the client tries again
            self.delivery.retries += 1
            self.world.clock.advance(1)
        self.delivery.stuck.append(f"POST /reports {key}")
        return ""

    def text(self, sender: str, text: str, gateway_id: str) -> None:
        """An SMS through a gateway (InboundSms.accept, as the webhook handlers call it); a
        gateway whose webhook failed sends it again with the same message id."""
        for _ in range(MAX_DELIVERIES):
            try:
                with self.world.recorder.acting_as("gateway"):
                    self.stack.inbound_sms.accept(sender, text, "faults", gateway_message_id=gateway_id)
                return
            except Crash:
                self._died(1)
        self.delivery.stuck.append(f"gateway {gateway_id}")

    def sweep(self) -> None:
        """The scheduled sweep; a crashed one runs again at the next minute."""
        from tests.functional.conftest import sweep
        for _ in range(MAX_DELIVERIES):
            try:
                with self.world.recorder.acting_as("escalation_sweep"):
                    sweep(self.world.client)
                return
            except Crash:
                self._died(SCHEDULE_SECONDS)
        self.delivery.stuck.append("escalation_sweep")

    def drain(self, purpose: str, order: Callable[[list], list] | None = None) -> list[dict[str, Any]]:
        """Everything now on the queue, to its consumer in one batch, redelivered until
        every record is handled; returns the records. Message ids are the run's own
        (`<purpose>-<n>`), the same in every run, so that what is seeded by them (a
        console report's code) is too."""
        records = self.records(purpose)
        if order is not None:
            records = order(records)
        self.deliver(purpose, records)
        return records

    def records(self, purpose: str) -> list[dict[str, Any]]:
        """Everything now on the queue, as Lambda records with the run's own message ids."""
        records = []
        for message in self._take(purpose):
            self._seq[purpose] += 1
            records.append(_record(message["Body"], f"{purpose}-{self._seq[purpose]}", purpose))
        return records

    def deliver(self, purpose: str, records: list[dict[str, Any]], receives: int = 1) -> None:
        """One batch to the queue's consumer (`receives`: how often SQS has handed these out,
        this time included), redelivered until every record is handled."""
        pending = list(records)
        for _ in range(MAX_DELIVERIES):
            if not pending:
                return
            batch = [dict(r, attributes=dict(r["attributes"], ApproximateReceiveCount=str(receives)))
                     for r in pending]
            try:
                with self.world.recorder.acting_as(WORKERS[purpose]):
                    response = self.world.client.lambda_.invoke(WORKERS[purpose], {"Records": batch}).payload
            except Crash:
                self._died(VISIBILITY_TIMEOUT)     # the whole batch comes back
                receives += 1
                continue
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            pending = [r for r in pending if r["messageId"] in failed]
            if pending:
                self.delivery.retries += len(pending)
                # The longest backoff sqs_batch may ask for at this receive count, whatever
                # failed: from the fourth receive the transient curve (×5) is the longer.
                from chalicelib.sqs_batch import backoff_ceiling
                self.world.clock.advance(max(backoff_ceiling(receives, transient) for transient in (False, True)) + 1)
            receives += 1
        self.delivery.stuck.extend(r["messageId"] for r in pending)

    def _take(self, purpose: str) -> list[dict[str, Any]]:
        """Receive everything on the queue (as the Lambda service does) and delete it: from
        now on the run delivers these records itself, as often as they fail."""
        sqs, url = self.world.sqs, self.stack.queue(purpose).url
        taken = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return taken
            taken.extend(batch)
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])


def _record(body: str, message_id: str, purpose: str) -> dict[str, Any]:
    from tests.functional.conftest import record
    return record(body, message_id, 1, purpose)


# -- comparing ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    fault: str                        # "before #3 case_worker: dynamodb.PutItem cases"
    when: str
    operation: str
    handler: str
    verdict: str                      # "same", "duplicate_sms", "lost_sms", "state_differs", "stuck", "not_reached"
    crashes: int = 0
    retries: int = 0
    duplicates: list[str] = field(default_factory=list)     # texts sent more often than in the clean run
    missing: list[str] = field(default_factory=list)        # texts sent less often
    differences: list[str] = field(default_factory=list)    # paths of state that differ
    sent_unrecorded: str = ""         # at the hard boundary: the text SNS took, not yet recorded

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compare(clean: dict[str, Any], faulty: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(duplicated texts, missing texts, differing state paths)."""
    want, got = Counter(dict(clean["sms"])), Counter(dict(faulty["sms"]))
    duplicates = sorted(f"{to[-4:]}: {text}" for (to, text), n in (got - want).items() for _ in range(n))
    missing = sorted(f"{to[-4:]}: {text}" for (to, text), n in (want - got).items() for _ in range(n))
    differences: list[str] = []
    for part in ("cases", "orders", "points", "contacts", "dead_letters"):
        _diff(clean[part], faulty[part], part, differences)
    return duplicates, missing, differences


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}.{key}: {'only in the clean run' if key in a else 'only after the fault'}")
            else:
                _diff(a[key], b[key], f"{path}.{key}", out)
    elif a != b:
        out.append(f"{path}: {_short(a)} != {_short(b)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "…"


def verdict(duplicates: list[str], missing: list[str], differences: list[str], delivery: Delivery,
            fired: bool) -> str:
    if not fired:
        return "not_reached"
    if delivery.stuck:
        return "stuck"
    if missing:
        return "lost_sms"
    if duplicates:
        return "duplicate_sms"
    if differences:
        return "state_differs"
    return "same"


# -- a scenario, at every boundary ------------------------------------------------------------------
@dataclass
class Sweep:
    """Every boundary of one scenario: the clean run's requests and each fault's outcome."""
    scenario: str
    calls: list[Call]
    outcomes: list[Outcome]
    seconds: float = 0.0
    clean: dict[str, Any] = field(default_factory=dict, repr=False)   # the clean run's end state (World.state)

    def as_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seconds": round(self.seconds, 1),
                "calls": [c.__dict__ for c in self.calls], "outcomes": [o.as_json() for o in self.outcomes]}

    def not_same(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict != "same"]


def send_just_before(calls: list[Call], fault: Fault) -> Call | None:
    """The sns.Publish that took effect just before this fault, with nothing recorded
    since: the fault is after it, or before the next request of the same invocation (the
    same moment: nothing happens in between but our own code). None otherwise."""
    call = calls[fault.index]
    if fault.when == "after":
        return call if call.operation == "sns.Publish" else None
    if fault.index == 0:
        return None
    previous = calls[fault.index - 1]
    same_invocation = previous.invocation == call.invocation
    return previous if same_invocation and previous.operation == "sns.Publish" else None


@dataclass(frozen=True)
class Scenario:
    """`setup` (not under test, run once) returns what `act` needs; `act` is run clean and
    then once per fault; `settle` (not under test either) is what happens later anyway,
    for instance the next sweeps."""
    name: str
    act: Callable[[Run, Any], None]
    setup: Callable[[Run], Any] | None = None
    settle: Callable[[Run, Any], None] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def run(self, run: Run, context: Any) -> None:
        self.act(run, context)
        if self.settle is not None:
            with run.unarmed():
                self.settle(run, context)


def crash_everywhere(world: World, scenario: Scenario, only: Callable[[Call], bool] | None = None) -> Sweep:
    """Run `scenario` clean, then once per fault (before and after each request of the clean
    run, or of those `only` picks), and compare each end state with the clean one."""
    import time

    started = time.perf_counter()
    recorder = world.recorder
    world.reset()
    recorder.reset(None)
    setup = Run(world)
    with setup.unarmed():
        context = scenario.setup(setup) if scenario.setup else None
    start = world.snapshot(), dict(setup._seq)
    clean_run = Run(world, start)
    scenario.run(clean_run, context)
    assert not clean_run.delivery.stuck and clean_run.delivery.crashes == 0, clean_run.delivery
    calls = list(recorder.calls)
    clean = world.state()
    outcomes = []
    for call in calls:
        if only is not None and not only(call):
            continue
        for when in ("before", "after"):
            fault = Fault(call.index, when)
            recorder.reset(fault)
            run = Run(world, start)
            scenario.run(run, context)
            recorder.armed = False
            duplicates, missing, differences = compare(clean, world.state())
            sent = send_just_before(calls, fault)
            outcomes.append(Outcome(
                fault.describe(call), when, call.operation, call.handler,
                verdict(duplicates, missing, differences, run.delivery, recorder.fired is not None),
                run.delivery.crashes, run.delivery.retries, duplicates, missing, differences[:8],
                sent_unrecorded=sent.sent if sent else ""))
    return Sweep(scenario.name, calls, outcomes, time.perf_counter() - started, clean)


def write_summary(name: str, payload: dict[str, Any]) -> None:
    """build/reliability/<name>.json: what tools.reliability_report renders."""
    from tests.functional.conftest import PROJECT_DIR

    folder = PROJECT_DIR / "build" / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
