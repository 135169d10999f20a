"""A demo week for the weekly joint-meeting report: synthetic reports, run through the real
services on an in-process moto stack with a fake clock, so that the report has something
to show (`python -m tools.weekly_report --demo`).

Residents report through IntakeService.submit and the case worker's routing; members answer
`收到 CODE` / `完成 CODE` by SMS through the one inbound path and the reply worker; the
escalation sweep and worker run whenever a clock is due. Nothing is written to the cases
table but by those services. Who answers, and how fast, is drawn from a seeded random
generator with a profile per grid (grid 3 slower than the others), so the same seed gives
the same week. No resident's phone or name is used: the reports carry neither.

Cases from the three weeks before the report's week are run too, so that still-open older
cases (some climbed to the committee and the area chief) are in its open lists.
"""
from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEMO_WEEK = "2026-W47"
COMMUNITY = "changmu"
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKS_BEFORE = 3

# November on the plateau: heating and water pipes lead.
CATEGORIES = {"heating": 14, "sanitation": 12, "water_pipe": 10, "stairwell_light": 8, "neighbour_dispute": 5,
              "elderly_care": 5, "medical_insurance": 3, "subsistence_allowance": 2, "security": 3, "other": 4,
              "gas_leak": 1}
DESCRIPTIONS = {"heating": "暖气不热", "sanitation": "楼道垃圾没人清", "water_pipe": "水管漏水",
                "stairwell_light": "楼道灯坏了", "neighbour_dispute": "邻里噪音纠纷",
                "elderly_care": "独居老人需要探望", "medical_insurance": "代缴医保",
                "subsistence_allowance": "申请低保", "security": "夜里有陌生人", "other": "其他问题",
                "gas_leak": "闻到煤气味"}


@dataclass(frozen=True)
class Profile:
    """How a grid's members answer: the chance to acknowledge within the limit, to resolve
    within it, and to leave a case unresolved."""
    acknowledge: float
    resolve: float
    abandon: float


PROFILES = {"g1": Profile(0.92, 0.9, 0.03), "g2": Profile(0.85, 0.85, 0.05),
            "g3": Profile(0.6, 0.65, 0.15), "g4": Profile(0.8, 0.8, 0.08)}
DEFAULT_PROFILE = Profile(0.8, 0.8, 0.05)


@contextmanager
def demo_stack(start: float) -> Iterator[tuple[Any, Clock]]:
    """The real adapters on an in-process moto, every resource of infra/resources.json and
    the demo directory, with a clock that the demo moves."""
    import os

    import boto3
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.config import Config
    from devstack.resources import create_all, load_demo_directory

    # moto accepts any credentials; these never reach AWS (mock_aws intercepts every call).
    for key, value in {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",  # nosec B105
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(key, value)
    clock = Clock(start)
    with mock_aws():
        create_all(boto3.session.Session(), "local")
        config = Config(stage="local", region="us-east-1", endpoint_url=None, time_scale=1.0,
                        directory_ttl=300.0, due_shards=4, max_receive_count=5, bundle_seconds=0.0)
        container = bootstrap.Container(config, clock)
        load_demo_directory(container.directory_store)
        yield container, clock


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class DemoWeek:
    """Runs the synthetic reports and answers through the container's services."""

    def __init__(self, container: Any, clock: Clock, seed: int = 47):
        # Seeded on purpose: the same demo week every time; nothing secret is drawn.
        self.c, self.clock, self.random = container, clock, random.Random(seed)  # nosec B311
        self.events: list[tuple[float, int, str, str, str | None]] = []   # (at, n, action, code, member)
        self.tracked: dict[str, float | None] = {}                        # open code → its due_at
        self.planned: set[tuple[str, str, int, str]] = set()
        self._n = 0

    def run(self, week_name: str = DEMO_WEEK, reports_per_day: int = 9, weeks_before: int = WEEKS_BEFORE) -> None:
        from chalicelib.domain.weekly import Week

        week = Week.parse(week_name)
        community = self.c.directory().communities[COMMUNITY]
        places = sorted(community.locations)
        first = week.monday - timedelta(days=7 * weeks_before)
        for offset in range(7 * (weeks_before + 1)):
            day = first + timedelta(days=offset)
            count = reports_per_day if day >= week.monday else max(2, reports_per_day // 3)
            for _ in range(self.random.randint(count - 2, count + 2)):
                moment = datetime.combine(day, time(7), tzinfo=SHANGHAI) + timedelta(
                    minutes=self.random.randint(0, 14 * 60))
                category = self.random.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
                self._push(moment.timestamp(), "report", json.dumps(
                    {"category": category, "location": self.random.choice(places),
                     "description": DESCRIPTIONS[category]}, ensure_ascii=False), None)
        end = datetime.combine(week.sunday + timedelta(days=1), time(8), tzinfo=SHANGHAI).timestamp()
        while True:
            next_event = self.events[0][0] if self.events else end
            due = min((d for d in self.tracked.values() if d is not None), default=end)
            at = min(next_event, due, end)
            if at >= end:
                self.clock.now = end
                self._sweep()
                return
            self.clock.now = max(self.clock.now, at)
            if due <= next_event:
                self._sweep()
            else:
                _, _, action, code, member = heapq.heappop(self.events)
                getattr(self, "_" + action)(code, member)

    # -- residents and members --------------------------------------------------------------
    def _report(self, body: str, _: str | None) -> None:
        case = self.c.intake.submit(json.loads(body), source="web")
        for message_id, message in self._drain("intake"):
            self.c.workflow.route(self.c.intake.parse_queue_message(message, message_id))
        self._look(case.code)

    def _acknowledge(self, code: str, member: str | None) -> None:
        case = self.c.cases.get(code)
        if case.holder == member and case.status.value == "assigned":
            self._sms(member, f"收到 {code}")
        self._look(code)

    def _resolve(self, code: str, member: str | None) -> None:
        case = self.c.cases.get(code)
        if case.holder == member and case.status.value == "acknowledged":
            self._sms(member, f"完成 {code}")
        self._look(code)

    def _sms(self, member_id: str, text: str) -> None:
        phone = self.c.directory().member(COMMUNITY, member_id).phone
        self.c.inbound_sms.accept(phone, text, "demo")
        for message_id, message in self._drain("sms-inbound"):
            self.c.workflow.reply(message, message_id)

    def _sweep(self) -> None:
        self.c.workflow.sweep()
        for _, message in self._drain("escalation"):
            self.c.workflow.escalate(message)
            self._look(json.loads(message)["code"])

    # -- what happens next to a case ----------------------------------------------------------
    def _look(self, code: str) -> None:
        """Read the case and plan its holder's next answer, once per holder and state."""
        case = self.c.cases.get(code)
        if not case.is_open:
            self.tracked.pop(code, None)
            return
        self.tracked[code] = case.due_at
        if case.holder is None or (code, case.holder, case.level, case.status.value) in self.planned:
            return
        self.planned.add((code, case.holder, case.level, case.status.value))
        profile = PROFILES.get(case.grid_id or "", DEFAULT_PROFILE)
        now = self.clock.now
        if case.status.value == "assigned" and case.due_at is not None:
            limit = max(60.0, case.due_at - now)
            if self.random.random() < profile.acknowledge:
                self._push(now + limit * self.random.uniform(0.05, 0.85), "acknowledge", code, case.holder)
        elif case.status.value == "acknowledged" and case.resolve_due_at is not None:
            if self.random.random() < profile.abandon:
                return                                  # left open: the meeting will see it
            limit = max(600.0, case.resolve_due_at - now)
            share = (self.random.uniform(0.1, 0.9) if self.random.random() < profile.resolve
                     else self.random.uniform(1.05, 1.6))
            self._push(now + limit * share, "resolve", code, case.holder)

    def _push(self, at: float, action: str, code: str, member: str | None) -> None:
        self._n += 1
        heapq.heappush(self.events, (at, self._n, action, code, member))

    def _drain(self, purpose: str) -> list[tuple[str, str]]:
        """Everything on one of the stack's queues, deleted: (message id, body)."""
        sqs, url = self.c.sqs_client, self.c.queue(purpose).url
        taken = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return taken
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
            taken.extend((m["MessageId"], m["Body"]) for m in batch)


def demo_report(week: str = DEMO_WEEK, seed: int = 47, reports_per_day: int = 9,
                weeks_before: int = WEEKS_BEFORE) -> dict[str, Any]:
    """Runs the demo weeks and builds the report of `week` (the report is built on Monday
    08:00 after it, as the schedule would)."""
    from chalicelib.domain.weekly import Week

    start = datetime.combine(Week.parse(week).monday - timedelta(days=7 * weeks_before), time(0),
                             tzinfo=SHANGHAI).timestamp()
    with demo_stack(start) as (container, clock):
        DemoWeek(container, clock, seed).run(week, reports_per_day, weeks_before)
        return container.weekly_reports.build(COMMUNITY, week)
