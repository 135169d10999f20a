"""Figure 2: the escalation sweep's DynamoDB read units, 10,000 closed cases vs none.

On DynamoDB Local (AWS's own engine, so ConsumedCapacity is computed as DynamoDB
computes it): the tables from infra/resources.json, a handful of open overdue cases,
and the sweep (CaseWorkflow.sweep over the real DynamoCaseRepository) run once with
no closed case in the table and once more after 10,000 closed cases are added.
Every Query the sweep makes gets ReturnConsumedCapacity=TOTAL from a
'before-parameter-build' hook, and the ConsumedCapacity of each answer is summed in
'after-call'. ScannedCount (items the queries read) is summed alongside.

If DynamoDB Local cannot be installed or started, the same runs on moto, whose
ConsumedCapacity is a made-up constant: the output says so loudly, and ScannedCount
is then the only meaningful number.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.hooks import hook_every_client

OPEN_OVERDUE = 5
T0 = 1_790_000_000.0
SWEEP_AT = T0 + 30 * 86400.0          # every open case is long overdue by then
WRITE_BATCH = 25                      # BatchWriteItem's limit


@dataclass
class QueryMeter:
    measuring: bool = False
    queries: int = 0
    read_units: float = 0.0
    scanned: int = 0
    missing_capacity: int = 0
    injected: int = 0

    def before_parameter_build(self, params: dict[str, Any], **_: Any) -> None:
        # PynamoDB asks for TOTAL itself today; the bench must not depend on that.
        if self.measuring:
            params["ReturnConsumedCapacity"] = "TOTAL"
            self.injected += 1

    def after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        if not self.measuring:
            return
        self.queries += 1
        self.scanned += int(parsed.get("ScannedCount", 0))
        capacity = parsed.get("ConsumedCapacity")
        if not capacity or "CapacityUnits" not in capacity:
            self.missing_capacity += 1
        else:
            self.read_units += float(capacity["CapacityUnits"])


@dataclass
class SweepRun:
    closed: int
    queued: int
    queries: int
    read_units: float
    scanned: int


@dataclass
class Result:
    engine: str
    real_capacity: bool               # False on the moto fallback
    fallback_reason: str | None
    runs: list[SweepRun] = field(default_factory=list)
    control_scan_units: float | None = None   # a filtered Scan for the same due cases
    seconds: float = 0.0


class RecordingQueue:
    """The escalation queue, kept in memory: the sweep's reads are what is measured."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> None:
        self.sent.append(body)

    def send_batch(self, bodies: Any) -> None:
        self.sent.extend(bodies)


def _env() -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "GRIDLOOP_STAGE": "local"}.items():
        os.environ[key] = value


@contextlib.contextmanager
def _engine(use_moto: bool) -> Iterator[tuple[str | None, str, bool, str | None]]:
    """(endpoint url, label, real capacity?, why we fell back)."""
    reason = "asked for (--sweep-on-moto)" if use_moto else None
    if not use_moto:
        from devstack import dynamodb_local
        try:
            with dynamodb_local.running() as (url, label):
                yield url, label, True, None
                return
        except dynamodb_local.Unavailable as error:
            reason = str(error)
    from moto import mock_aws
    with mock_aws():
        yield None, "moto (in process)", False, reason


def _closed_case(index: int, directory: Any, policy: Any, taken: set[str], cases: Any = None) -> Any:
    """A closed case as the workflow leaves it: routed, resolved by its holder, closed when
    its call-back got no answer, every notice sent. With `cases`, each step is saved through
    the repository as the services save it (add, then one save per step)."""
    from chalicelib.domain.case import Case
    from chalicelib.domain.codes import code_for, report_id_for

    def step() -> None:
        if cases is not None:
            cases.save(case)

    locations = directory.locations()
    location = locations[index % len(locations)]
    community = directory.communities[location.community_id]
    seed = f"bench-closed-{index}"
    attempt = 0
    while code_for(seed, attempt) in taken:      # as intake does when a code is taken
        attempt += 1
    taken.add(code_for(seed, attempt))
    now = T0 - 86400.0 * (1 + index % 300)
    case = Case.receive(id=report_id_for(seed), code=code_for(seed, attempt), community_id=community.id,
                        category="sanitation", location=location.code,
                        description=f"closed bench case {index}", now=now, source="web",
                        dedupe_key=seed, request_hash=f"h{index}")
    if cases is not None:
        cases.add(case)
    case.route(community.chain_for(location.code), policy, now + 1)
    step()
    for notice in list(case.outbox):
        case.mark_sent(notice, now + 2, f"sms-{index}-a", notice.member_id)
    step()
    case.resolve(case.holder, now + 600)
    step()
    for notice in list(case.outbox):
        case.mark_sent(notice, now + 601, f"sms-{index}-b", notice.member_id)
    step()
    # Nobody answered the call-back: the sweep closed it when its time was up.
    assert case.escalate(case.due_at, policy, case.due_at + 1) and case.status.value == "closed"
    step()
    return case


def _open_overdue(index: int, directory: Any, policy: Any, cases: Any) -> None:
    """An open case routed at T0 and never acknowledged, written the way the services do."""
    from chalicelib.domain.case import Case
    from chalicelib.domain.codes import code_for, report_id_for

    locations = directory.locations()
    location = locations[(index * 11) % len(locations)]
    community = directory.communities[location.community_id]
    seed = f"bench-open-{index}"
    case = Case.receive(id=report_id_for(seed), code=code_for(seed), community_id=community.id,
                        category="water_pipe", location=location.code, description="still open",
                        now=T0, dedupe_key=seed, request_hash=f"o{index}")
    cases.add(case)
    case.route(community.chain_for(location.code), policy, T0 + 1)
    cases.save(case)


def _write_closed(count: int, directory: Any, policy: Any, cases: Any, model: Any,
                  client: Any) -> list[str]:
    """`count` closed cases. The first few go through the repository (add, then one save
    per step, as the services do); the rest are the same items, written 25 at a time.
    Returns the code of the first repository-written case and of the last case."""
    through_repository = min(3, count)
    taken: set[str] = set(client_codes(client, model.Meta.table_name))
    codes: list[str] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        pending = {model.Meta.table_name: batch[:]}
        batch.clear()
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    for index in range(count):
        if index < through_repository:
            case = _closed_case(index, directory, policy, taken, cases)
            version = case.version
            codes.append(case.code)
        else:
            case = _closed_case(index, directory, policy, taken)
            # Same shape as a repository write: its own record, at the version those saves reach.
            batch.append({"PutRequest": {"Item": cases._to_record(case, version=version).serialize()}})
            if len(batch) == WRITE_BATCH:
                flush()
    if batch:
        flush()
    codes.append(case.code)
    return codes


def _control_scan(client: Any, table: str) -> float:
    """Read units of finding the same due cases with a filtered Scan instead of the sparse
    index: proof that the meter sees what closed cases cost when a read does touch them."""
    units = 0.0
    for page in client.get_paginator("scan").paginate(
            TableName=table, ReturnConsumedCapacity="TOTAL",
            FilterExpression="#s IN (:r, :a, :k) AND due_at <= :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":r": {"S": "received"}, ":a": {"S": "assigned"},
                                       ":k": {"S": "acknowledged"}, ":now": {"N": repr(SWEEP_AT)}}):
        units += float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
    return units


def client_codes(client: Any, table: str) -> list[str]:
    """Every case code in the table (outside any measurement)."""
    codes: list[str] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="code"):
        codes.extend(item["code"]["S"] for item in page["Items"])
    return codes


def _check_shapes(client: Any, table: str, codes: tuple[str, str]) -> None:
    """A batch-written case has the same attributes, of the same types, as a repository-written one."""
    items = [client.get_item(TableName=table, Key={"code": {"S": c}}, ConsistentRead=True).get("Item")
             for c in codes]
    if not all(items):
        raise RuntimeError(f"closed cases {codes} were not written")
    shapes = [{k: next(iter(v)) for k, v in item.items()} for item in items]
    if shapes[0] != shapes[1]:
        raise RuntimeError(f"batch-written cases differ from the repository's: {shapes[0]} vs {shapes[1]}")


def run(closed: int = 10_000, use_moto: bool = False) -> Result:
    _env()
    started = time.perf_counter()
    import boto3

    from chalicelib.bootstrap import Container
    from chalicelib.config import Config
    from chalicelib.domain.directory import Directory
    from chalicelib.services.workflow import CaseWorkflow
    from devstack.resources import create_tables, demo_communities

    meter = QueryMeter()
    with _engine(use_moto) as (url, label, real, reason):
        result = Result(engine=label, real_capacity=real, fallback_reason=reason)
        with hook_every_client([("before-parameter-build.dynamodb.Query", meter.before_parameter_build),
                                ("after-call.dynamodb.Query", meter.after_call)]):
            session = boto3.session.Session()
            create_tables(session, "local", url)
            config = Config(stage="local", region="us-east-1", endpoint_url=url, time_scale=1.0,
                            directory_ttl=300.0, due_shards=4, max_receive_count=5)
            container = Container(config, clock=lambda: SWEEP_AT)
            directory = Directory(demo_communities())
            policy, cases = container.policy, container.cases
            workflow = CaseWorkflow(cases, container.notices, container.sms, RecordingQueue(),
                                    lambda: directory, policy, container.clock)
            ddb = session.client("dynamodb", region_name="us-east-1", endpoint_url=url)

            for index in range(OPEN_OVERDUE):
                _open_overdue(index, directory, policy, cases)

            def sweep(closed_now: int) -> None:
                meter.__dict__.update(queries=0, read_units=0.0, scanned=0, missing_capacity=0, injected=0)
                meter.measuring = True
                try:
                    queued = workflow.sweep()
                finally:
                    meter.measuring = False
                if meter.missing_capacity:
                    raise RuntimeError(f"{meter.missing_capacity} of the sweep's queries came back "
                                       "without ConsumedCapacity: the measurement did not work")
                if meter.queries == 0 or meter.injected != meter.queries:
                    raise RuntimeError(f"the hooks saw {meter.injected} Query requests and {meter.queries} "
                                       "answers: the measurement did not work")
                result.runs.append(SweepRun(closed_now, queued, meter.queries, meter.read_units,
                                            meter.scanned))

            sweep(0)
            written = _write_closed(closed, directory, policy, cases, container.case_model, ddb)
            if closed > 3:
                _check_shapes(ddb, container.case_model.Meta.table_name, (written[0], written[-1]))
            stored = len(client_codes(ddb, container.case_model.Meta.table_name))
            if stored != closed + OPEN_OVERDUE:
                raise RuntimeError(f"the table holds {stored} cases, not {closed + OPEN_OVERDUE}")
            sweep(closed)
            result.control_scan_units = _control_scan(ddb, container.case_model.Meta.table_name)
    result.seconds = time.perf_counter() - started
    return result
