"""Figure 8: the party members' service loop (点单 → 派单 → 接单 → 完成 → 1), its budgets.

The real path, in process, on moto, as tests/functional/test_orders_by_sms.py drives it: every
SMS goes through the one inbound path (`container.inbound_sms.accept`, onto the sms-inbound
queue), the queue is received as the Lambda service would and handed to the `sms_reply_worker`
handler as a Lambda-shaped SQS event, one SMS a batch. Each order lives its whole life: a
registered resident's `点单 <item>`, the committee's `派单 CODE`, the pool's notices, the
first pool member's `接单 CODE` and `完成 CODE`, and the resident's `1`.

Three budgets:

1. SMS segments over a standard order's whole life (a resident's `点单 医保`): the distinct
   messages along the path (the resident's code, the committee's dispatch request, the pool
   notice, the resident's confirmation request), each pool member's copy of the pool notice
   counted once as the pool notice (the fan-out is shown apart); and every template of
   chalicelib/domain/orders/texts.py, rendered as the service renders it (`render_order`)
   with the longest values the demo data can produce, in one segment.
2. AWS requests our own code makes from an order's SMS to its first pool notice, counted as
   figure 1 counts a report's to its first SMS: in the reply worker's invocation for the `点单`
   SMS, everything up to and including the SNS Publish of the committee's dispatch request
   (the SMS the committee answers with `派单`: the way on to the pool), plus, for the `派单` SMS,
   everything from the start of the invocation up to and including the SNS Publish of the
   first pool notice. What follows each of those in the same handling (the resident's code,
   the writes that record each SMS as sent, the other pool notices) is printed as information,
   with the whole of both. Counted with bench/hooks.py (a 'before-call' hook on every botocore
   client; a 'before-send' one for HTTP attempts);
   counting is paused while the bench plays the Lambda service (ReceiveMessage, deleting what
   the worker processed) and the SMS gateway (putting the inbound SMS on the queue, counted
   apart as information). Averaged over the orders; the container is warm first (directory
   loaded, queue URLs looked up), and what a cold one adds is printed once.
3. A member's balance (`container.points.balance`) is one GetItem and a month's statement
   (`container.points.statement`) one Query, never a Scan, on the real adapters, with the
   points the orders above earned in the table.
"""
from __future__ import annotations

import re
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.hooks import hook_every_client, operation_of
from bench.requests_per_report import SteppingClock, _env, _lambda_event, bootstrap_app, queue_endpoint

# The demo directory's registered residents (data/directory/changmu.yaml `households`):
# their SMS need no place.
RESIDENTS = ("+8613709741001", "+8613709741002", "+8613709741003", "+8613709741004")
# What a resident orders by SMS (chalicelib/data/services/changmu.json, orderable by residents).
ITEMS = ("医保", "低保", "理发")
STANDARD = (RESIDENTS[0], ITEMS[0])       # the standard order: 点单 医保, as in the functional test
STEP_SECONDS = 60.0                       # the clock between two SMS of an order
ORDER_SECONDS = 86400.0                   # and between two orders: each credit its own day (no daily cap)
CODE = re.compile(r"点单([0-9A-Z]{6})")
PLACE, DISPATCH = "点单", "派单"
LATER = ("接单", "完成", "1")              # the rest of the life, information only


@dataclass
class Tally:
    """Requests seen while counting, per bucket; the SNS Publishes with their recipients."""
    counting: bool = False
    bucket: str = "untracked"
    calls: dict[str, Counter] = field(default_factory=dict)
    publishes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)   # bucket -> (phone, text)
    params: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)     # bucket -> (operation, params)
    sends: Counter = field(default_factory=Counter)     # bucket -> HTTP attempts (retries included)
    last_params: dict = field(default_factory=dict)
    first_notice_sent: bool = False

    def before_parameter_build(self, params: Any = None, **_: Any) -> None:
        """The call's own parameters (before-call sees them serialised): kept for before_call."""
        self.last_params = dict(params or {})

    def before_call(self, model: Any, **_: Any) -> None:
        if not self.counting:
            return
        operation = operation_of(model)
        params = self.last_params
        self.calls.setdefault(self.bucket, Counter())[operation] += 1
        self.params.setdefault(self.bucket, []).append((operation, dict(params or {})))
        if operation == "sns.Publish":
            self.publishes.setdefault(self.bucket, []).append(
                ((params or {}).get("PhoneNumber", ""), (params or {}).get("Message", "")))
            message = (params or {}).get("Message", "")
            if self.bucket.endswith(f":{DISPATCH}") or (self.bucket.endswith(f":{PLACE}")
                                                      and f"{DISPATCH} " in message):
                self.first_notice_sent = True     # the dispatch request / the first pool notice: see after_call

    def after_call(self, **_: Any) -> None:
        if self.first_notice_sent:
            # What follows the dispatch request in the 点单's handling, and the first pool notice
            # in the 派单's, is not on the way to the pool notice: not budgeted.
            self.first_notice_sent = False
            self.bucket = self.bucket + ":after"

    def before_send(self, **_: Any) -> None:
        if self.counting:
            self.sends[self.bucket] += 1


@dataclass
class Life:
    """The standard order's whole life: per step, the SMS sent (phone, text)."""
    code: str
    pool: list[str]
    steps: list[tuple[str, list[tuple[str, str]]]]
    status: str
    path: list[tuple[str, list[str]]] = field(default_factory=list)   # step -> its requests, in order

    def messages(self) -> list[tuple[str, str, list[str]]]:
        """(step, text, recipients): each distinct text of a step once, with who got it."""
        found = []
        for step, sent in self.steps:
            by_text: dict[str, list[str]] = {}
            for phone, text in sent:
                by_text.setdefault(text, []).append(phone)
            found.extend((step, text, phones) for text, phones in by_text.items())
        return found

    @property
    def segments(self) -> int:
        from chalicelib.domain.segments import segments
        return sum(segments(text) for _, text, _ in self.messages())

    @property
    def billed(self) -> int:
        """Segments as the operator bills them: every copy of every text."""
        from chalicelib.domain.segments import segments
        return sum(segments(text) for _, sent in self.steps for _, text in sent)


@dataclass
class Reads:
    """The points reads, each measured alone: requests per operation, and what they read."""
    balance: Counter
    statement: Counter
    empty_balance: Counter          # a member who earned nothing (no balance item)
    summary: Counter                # what 积分 by SMS reads (information)
    member: str
    points: int
    entries: int
    month: str
    statement_request: dict         # the statement's request (table, key condition)


@dataclass
class Result:
    orders: int
    place: Counter                  # the 点单 SMS's, to and including the committee's dispatch request
    place_after: Counter            # the rest of the 点单's handling (the resident's code, the records)
    dispatch: Counter               # the 派单 SMS's, to and including the first pool notice
    dispatch_after: Counter         # the rest of the 派单's handling (the other pool notices...)
    later: dict[str, Counter]       # 接单, 完成, 1: information
    inbound: Counter                # the gateway's side: the inbound SMS onto the queue (information)
    warmup: Counter
    unattributed: Counter
    attempts: float                 # HTTP attempts (retries included) per order, to the pool notice
    attempts_all: float             # the same over the whole life
    pool_sizes: list[int]
    first_pool_ok: int              # orders whose 派单's first Publish was a pool notice to a pool member
    life: Life
    templates: dict[str, dict[str, tuple[int, bool, str, bool]]]   # template -> lang -> (segments, cut, text, to UCS-2)
    reads: Reads
    problems: list[str]
    seconds: float

    @property
    def per_place(self) -> float:
        return sum(self.place.values()) / self.orders

    @property
    def per_dispatch(self) -> float:
        return sum(self.dispatch.values()) / self.orders

    @property
    def whole_place_and_dispatch(self) -> float:
        """Information: every request of the 点单's and the 派单's whole handling, per order."""
        return sum(sum(c.values()) for c in (self.place, self.place_after, self.dispatch, self.dispatch_after)) \
            / self.orders

    @property
    def to_pool_notice(self) -> float:
        """The budgeted figure: requests per order, 点单 SMS → first pool notice."""
        return (sum(self.place.values()) + sum(self.dispatch.values()) + sum(self.unattributed.values())) \
            / self.orders


def run(orders: int = 60) -> Result:
    import logging
    points_log = logging.getLogger("gridloop.points")   # INFO by its own level: not the bench's output
    level = points_log.level
    points_log.setLevel(logging.WARNING)
    try:
        return _run(orders)
    finally:
        points_log.setLevel(level)


def _run(orders: int) -> Result:
    _env()
    started = time.perf_counter()
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.config import Config
    from devstack.resources import create_all, load_demo_directory

    tally = Tally()
    clock = SteppingClock(time.time())
    began = clock.now
    config = Config(stage="local", region="us-east-1", endpoint_url=None, time_scale=1.0,
                    directory_ttl=300.0, due_shards=4, max_receive_count=5)
    problems: list[str] = []
    pool_sizes: list[int] = []
    first_pool_ok = 0
    life: Life | None = None

    with mock_aws(), hook_every_client([("before-parameter-build", tally.before_parameter_build),
                                        ("before-call", tally.before_call), ("after-call", tally.after_call)],
                                       first=[("before-send", tally.before_send)]):
        create_all(boto3.session.Session(), "local")
        container = bootstrap.Container(config, clock)
        load_demo_directory(container.directory_store)
        bootstrap.use(container)
        # The Lambda service's side: its own client, never counted.
        lambda_service = boto3.session.Session().client("sqs", region_name="us-east-1")
        inbound_url, inbound_arn = queue_endpoint(lambda_service, config.name("sms-inbound"))
        try:
            # Warm the container as a warm Lambda container is; counted apart.
            tally.counting, tally.bucket = True, "warmup"
            container.directory()
            for purpose in ("sms-inbound", "escalation", "intake"):
                _ = container.queue(purpose).url
            tally.counting = False
            directory = container.directory()

            with Client(bootstrap_app(), stage_name="local") as client:
                def sms(bucket: str, phone: str, text: str) -> list[tuple[str, str]]:
                    """One SMS in: the gateway puts it on the queue, the Lambda service hands it
                    to the reply worker. Returns the SMS our code published meanwhile."""
                    clock.now += STEP_SECONDS
                    tally.counting, tally.bucket = True, f"{bucket}:inbound"
                    container.inbound_sms.accept(phone, text, "bench")
                    tally.counting = False
                    messages = lambda_service.receive_message(
                        QueueUrl=inbound_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                        AttributeNames=["All"]).get("Messages", [])
                    if len(messages) != 1:
                        raise RuntimeError(f"{bucket}: {len(messages)} messages on the sms-inbound queue, not 1")
                    tally.counting, tally.bucket = True, bucket
                    answer = client.lambda_.invoke("sms_reply_worker", _lambda_event(messages, inbound_arn)).payload
                    tally.counting = False
                    if (answer or {}).get("batchItemFailures"):
                        raise RuntimeError(f"{bucket}: sms_reply_worker failed: {answer}")
                    lambda_service.delete_message_batch(QueueUrl=inbound_url, Entries=[
                        {"Id": "0", "ReceiptHandle": messages[0]["ReceiptHandle"]}])
                    return tally.publishes.get(bucket, []) + tally.publishes.get(bucket + ":after", [])

                def phone_of(member_id: str) -> str:
                    return directory.member("changmu", member_id).phone

                for i in range(orders):
                    clock.now += ORDER_SECONDS
                    resident, item = RESIDENTS[i % len(RESIDENTS)], ITEMS[(i // len(RESIDENTS)) % len(ITEMS)]
                    key = f"order:{i}"
                    steps: list[tuple[str, list[tuple[str, str]]]] = []
                    sent = sms(f"{key}:{PLACE}", resident, f"点单 {item}")
                    steps.append((f"{PLACE} {item}", sent))
                    codes = [CODE.search(text).group(1) for phone, text in sent if phone == resident
                             and CODE.search(text)]
                    if not codes:
                        raise RuntimeError(f"{key}: no code came back to the resident: {sent}")
                    code = codes[0]
                    order = container.orders.orders.get(code)
                    sent = sms(f"{key}:{DISPATCH}", phone_of(order.dispatcher), f"派单 {code}")
                    steps.append((f"{DISPATCH} {code}", sent))
                    order = container.orders.orders.get(code)
                    if order.status.value != "pooled" or not order.pool:
                        raise RuntimeError(f"{key}: after 派单 the order is {order.status.value}, pool {order.pool}")
                    pool_sizes.append(len(order.pool))
                    first = tally.publishes.get(f"{key}:{DISPATCH}", [])
                    pool_phones = {phone_of(m) for m in order.pool}
                    if len(first) == 1 and first[0][0] in pool_phones and f"接单 {code}" in first[0][1]:
                        first_pool_ok += 1
                    else:
                        problems.append(f"{key}: the 派单's first Publish was not a pool notice: {first}")
                    claimant = phone_of(order.pool[0])
                    for word, who, text in (("接单", claimant, f"接单 {code}"), ("完成", claimant, f"完成 {code}"),
                                            ("1", resident, "1")):
                        steps.append((text, sms(f"{key}:{word}", who, text)))
                    order = container.orders.orders.get(code)
                    if order.status.value != "verified":
                        problems.append(f"{key}: order {code} ended {order.status.value}, not verified")
                    if (resident, item) == STANDARD and life is None:
                        roles = {resident: "the resident", phone_of(order.dispatcher): "the committee member",
                                 **{phone_of(m): "a pool member" for m in order.pool}}
                        path = [(step, [label(op, params, roles) for op, params in tally.params.get(bucket, [])])
                                for step, bucket in ((f"{PLACE} SMS, to the dispatch request", f"{key}:{PLACE}"),
                                                     (f"{DISPATCH} SMS, to the first pool notice", f"{key}:{DISPATCH}"),
                                                     (f"{PLACE} SMS, after it", f"{key}:{PLACE}:after"),
                                                     (f"{DISPATCH} SMS, after it", f"{key}:{DISPATCH}:after"),
                                                     *((f"{w} SMS", f"{key}:{w}") for w in LATER))]
                        life = Life(code=code, pool=list(order.pool), steps=steps, status=order.status.value,
                                    path=path)
            reads = measure_reads(container, tally, clock, began)
        finally:
            tally.counting = False
            bootstrap.use(None)
        templates = template_segments(container)

    place, place_after, dispatch, after, inbound, unattributed = (Counter(), Counter(), Counter(), Counter(),
                                                                  Counter(), Counter())
    later: dict[str, Counter] = {word: Counter() for word in LATER}
    known = {"warmup", "reads"}
    for i in range(orders):
        key = f"order:{i}"
        for bucket, into in ((f"{key}:{PLACE}", place), (f"{key}:{PLACE}:after", place_after),
                             (f"{key}:{DISPATCH}", dispatch),
                             (f"{key}:{DISPATCH}:after", after),
                             *((f"{key}:{word}", later[word]) for word in LATER)):
            known.add(bucket)
            into.update(tally.calls.get(bucket, Counter()))
        for step in (PLACE, DISPATCH, *LATER):
            known.add(f"{key}:{step}:inbound")
            inbound.update(tally.calls.get(f"{key}:{step}:inbound", Counter()))
    for bucket, counter in tally.calls.items():
        if bucket not in known and not bucket.startswith("reads:"):
            unattributed.update(counter)
    if life is None:
        raise RuntimeError("the standard order was not among the orders run (run at least one)")
    budgeted = {f"order:{i}:{step}" for i in range(orders) for step in (PLACE, DISPATCH)} \
        | {bucket for bucket in tally.sends if bucket not in known and not bucket.startswith("reads:")}
    to_notice = sum(n for bucket, n in tally.sends.items() if bucket in budgeted)
    whole = sum(n for bucket, n in tally.sends.items()
                if bucket.startswith("order:") and not bucket.endswith(":inbound"))
    return Result(orders=orders, place=place, place_after=place_after, dispatch=dispatch,
                  dispatch_after=after, later=later,
                  inbound=inbound, warmup=tally.calls.get("warmup", Counter()), unattributed=unattributed,
                  attempts=to_notice / orders, attempts_all=whole / orders, pool_sizes=pool_sizes,
                  first_pool_ok=first_pool_ok, life=life,
                  templates=templates, reads=reads, problems=problems, seconds=time.perf_counter() - started)


def label(operation: str, params: dict, roles: dict[str, str]) -> str:
    """One request, as the breakdown names it: the operation, its table (and index) or its
    SMS's recipient, and for a conditional put whether it creates the item or saves a version."""
    service, _, name = operation.partition(".")
    if operation == "sns.Publish":
        return f"Publish to {roles.get(params.get('PhoneNumber', ''), 'someone else')}"
    if service != "dynamodb":
        return operation

    def short(table: str | None) -> str:
        return (table or "?").split("-", 2)[-1]     # gridloop-local-orders → orders

    if name == "TransactWriteItems":
        tables = Counter(short(next(iter(item.values())).get("TableName")) for item in params.get("TransactItems", []))
        return f"{name} ({', '.join(f'{t} ×{n}' for t, n in tables.items())})"
    where = short(params.get("TableName")) + (f"/{params['IndexName']}" if params.get("IndexName") else "")
    condition = params.get("ConditionExpression") or ""
    note = " if new" if "attribute_not_exists" in condition else " on its version" if condition else ""
    return f"{name} {where}{note}"


def measure_reads(container: Any, tally: Tally, clock: SteppingClock, started: float) -> Reads:
    """container.points.balance and .statement, each alone, for the member who earned most."""
    from chalicelib.domain.points import member_account, month_of

    bank = container.points
    community = container.directory().communities["changmu"]
    earned = {m: bank.balance("changmu", m) for m in community.members}     # uncounted
    member = max(earned, key=lambda m: earned[m])
    idle = next(m for m in sorted(community.members) if earned[m] == 0)
    account = member_account("changmu", member)
    # The month of the member's most entries (the orders span several): read uncounted first.
    months = {month_of(at) for at in (started + n * 86400.0 for n in range(int((clock.now - started) // 86400) + 2))}
    month = max(sorted(months), key=lambda m: len(bank.statement(account, m)))

    def counted(name: str, call: Any) -> tuple[Counter, Any]:
        bucket = f"reads:{name}"
        tally.counting, tally.bucket = True, bucket
        try:
            value = call()
        finally:
            tally.counting = False
        return tally.calls.get(bucket, Counter()), value

    balance, points = counted("balance", lambda: bank.balance("changmu", member))
    statement, entries = counted("statement", lambda: bank.statement(account, month))
    empty, _ = counted("empty", lambda: bank.balance("changmu", idle))
    summary, _ = counted("summary", lambda: bank.sms_summary("changmu", member, "zh", clock.now))
    request = next((p for op, p in tally.params.get("reads:statement", []) if op == "dynamodb.Query"), {})
    return Reads(balance=balance, statement=statement, empty_balance=empty, summary=summary, member=member,
                 points=points, entries=len(entries), month=month,
                 statement_request={k: request.get(k) for k in ("TableName", "IndexName", "KeyConditionExpression",
                                                                "ConsistentRead") if k in request})


def template_segments(container: Any) -> dict[str, dict[str, tuple[int, bool, str, bool]]]:
    """Every order template in each of its languages, rendered by `render_order` (as the
    service renders it: a long checklist, reason, item or place is cut to fit) with the
    longest values the demo data can produce; (segments, whether something was cut, the text,
    whether a cut took a field down to its first character, unmarked: render_order marks a cut
    "..." in a GSM-7 text and "…" in a UCS-2 one, and drops the mark only at one character)."""
    from chalicelib.domain.orders.texts import ORDER_TEMPLATES, STATES, render_order
    from chalicelib.domain.segments import segments
    from chalicelib.services.orders import checklist_text

    directory = container.directory()
    communities = list(directory.communities.values())
    catalogues = [container.orders.catalogue(c.id) for c in communities]
    items = [item for catalogue in catalogues if catalogue for item in catalogue.items.values()]
    names = [m.name for c in communities for m in c.members.values()]
    result: dict[str, dict[str, tuple[int, bool, str, bool]]] = {}
    for template, texts in sorted(ORDER_TEMPLATES.items()):
        result[template] = {}
        for lang in sorted(texts):
            def longest(values: Any) -> str:
                return max((str(v) for v in values), key=len)
            # An item's name with the longest wish it can carry (services.orders._wish: 16 characters).
            wish = "“" + "给孤寡老人买一台收音机和一副老花镜谢谢"[:16] + "”"
            values = {
                "community": longest(c.name.get(lang, c.name.get("zh", c.id)) for c in communities),
                "code": "ABC234",
                "item": longest(i.name.get(lang, i.name["zh"]) + (wish if i.kind == "micro_wish" else "")
                                for i in items),
                # with the longest flat a member is told (services.orders._door)
                "location": longest(loc.short_name.get(lang, loc.code) for c in communities
                                    for loc in c.locations.values()) + ("1201室" if lang == "zh" else " flat 1201"),
                # what a sender may order, a word each (services.order_replies._place)
                "items": longest(" / ".join(i.keywords[0] if i.keywords else i.name.get(lang, i.code)
                                            for i in catalogue.orderable_by(who))
                                 for catalogue in catalogues if catalogue
                                 for who in ("resident", "household_head", "committee")),
                "bring": longest(checklist_text(i, lang) for i in items),
                "reason": "居民说办事人员没有上门，材料也没有交回来，请尽快处理" if lang == "zh"
                          else "the resident says nobody came and the papers were not returned",
                "name": longest(names),
                "steps": max(len(i.checklist) for i in items),
                "state": longest(s.get(lang, s["zh"]) for s in STATES.values()),
            }
            wanted = {n for _, n, _, _ in string.Formatter().parse(texts[lang]) if n}
            params = {k: values[k] for k in wanted}
            text = render_order(template, lang, **params)
            whole = texts[lang].format(**{k: str(v) for k, v in params.items()})
            result[template][lang] = (segments(text), text != whole, text,
                                      text != whole and "…" not in text and "..." not in text)
    return result
