"""Case: the aggregate. Its fields (all saved, in one conditional write), how it is
received, what it answers (queries), its history (`_record`) and its plain form. Its
transitions come from the mixins it is composed of, one module per concern."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..directory import Level
from .clocks import ClocksMixin
from .duplicates import DuplicatesMixin
from .member_actions import MemberActionsMixin
from .model import OPEN_STATUSES, Authority, Event, Notice, Status
from .operator_actions import OperatorActionsMixin
from .outbox import OutboxMixin
from .routing import RoutingMixin
from .triage import TriageMixin


@dataclass
class Case(RoutingMixin, ClocksMixin, MemberActionsMixin, TriageMixin, OperatorActionsMixin, DuplicatesMixin,
           OutboxMixin):
    id: str
    code: str
    community_id: str
    category: str
    location: str
    description: str
    created_at: float
    source: str = "web"
    reporter_phone: str | None = None
    reporter_name: str | None = None
    reporter_lang: str = "zh"             # the language the reporter is answered in ("zh", "en")
    dedupe_key: str | None = None         # what makes two submissions "the same report"
    request_hash: str | None = None
    priority: str = "normal"              # "urgent" takes the category's urgent chain, if it has one
    status: Status = Status.RECEIVED
    level: int = 0                        # 0 until routed; then 1 (stairwell) .. 5 (area chief)
    holder: str | None = None
    chain: list[Level] = field(default_factory=list)
    policy_version: str | None = None
    ack_limits: dict[int, int] | None = None      # the policy's limits when the case was routed
    resolve_limits: dict[int, int] | None = None
    yellow_at: float | None = None
    working_limits: list[str] | None = None       # which of those count working time ("resolve:2")
    grid_id: str | None = None
    place_key: str | None = None          # domain.duplicates.place_key: found by later reports while open
    responsibility: dict[str, list[str]] = field(default_factory=dict)   # lead, supervise, follow, assist
    suspended: dict[str, Any] | None = None       # 挂起: by, reason, and the clocks' time left
    extension: dict[str, Any] | None = None       # 延期 asked for, waiting for the level above
    awaiting_feedback: bool = False       # resolved, the reporter asked 满意/不满意 (call-back)
    co_reporters: list[dict[str, Any]] = field(default_factory=list)   # followers (duplicates.py)
    duplicate_of: str | None = None       # status duplicate: the case it was merged into
    due_at: float | None = None           # when the case's running clock next fires; open cases only
    timer: str | None = None              # which clock that is: "ack", "yellow" or "red"
    resolve_due_at: float | None = None   # the resolve limit of the current holder, once acknowledged
    updated_at: float = 0.0
    history: list[Event] = field(default_factory=list)
    outbox: list[Notice] = field(default_factory=list)
    notice_seq: int = 0
    version: int = 0                      # optimistic lock, kept by the repository

    @classmethod
    def receive(cls, *, id: str, code: str, community_id: str, category: str, location: str,
                description: str, now: float, source: str = "web",
                reporter_phone: str | None = None, reporter_name: str | None = None,
                dedupe_key: str | None = None, request_hash: str | None = None,
                priority: str = "normal", reporter_lang: str = "zh") -> Case:
        case = cls(id=id, code=code, community_id=community_id, category=category,
                   location=location, description=description, created_at=now, updated_at=now,
                   source=source, reporter_phone=reporter_phone, reporter_name=reporter_name,
                   reporter_lang=reporter_lang, dedupe_key=dedupe_key, request_hash=request_hash,
                   priority=priority)
        case._record(now, "received", detail=source)
        return case

    # -- queries -------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def level_role(self) -> str | None:
        rung = self._rung(self.level)
        return rung.role if rung else None

    @property
    def is_suspended(self) -> bool:
        return self.suspended is not None

    def authority(self, member_id: str) -> Authority:
        if member_id == self.holder:
            return Authority.HOLDER
        if any(member_id in rung.eligible for rung in self.chain if rung.level > self.level):
            return Authority.ABOVE
        current = self._rung(self.level)
        if current is not None and member_id in current.followers:
            return Authority.FOLLOWER
        if member_id in self.responsibility.get("supervise", ()) or member_id in self.responsibility.get("lead", ()):
            return Authority.OVERSIGHT
        return Authority.NONE

    def sla_facts(self) -> dict[str, Any]:
        """What SLA reporting needs, derived from the history: who acknowledged and
        resolved it, at which level and how fast, and the escalations and supervisions
        (督办) by level. Stored with the case so a report reads them by grid, no Scan."""
        facts: dict[str, Any] = {"escalations": {}, "supervisions_yellow": {}, "supervisions_red": {},
                                 "breaches": 0}
        held: int | None = None     # the level the case was at: empty levels are skipped
        for event in self.history:
            if event.event in ("escalated", "reminded") and event.level is not None:
                if event.event == "escalated":
                    level = str(held if held is not None else event.level - 1)
                else:
                    level = str(event.level)
                facts["escalations"][level] = facts["escalations"].get(level, 0) + 1
                facts["breaches"] += 1
            elif event.event in ("supervised_yellow", "supervised_red") and event.level is not None:
                key = "supervisions_" + event.event.rsplit("_", 1)[1]
                facts[key][str(event.level)] = facts[key].get(str(event.level), 0) + 1
                facts["breaches"] += event.event == "supervised_red"
            elif event.event == "acknowledged" and "acknowledged_at" not in facts:
                facts.update(acknowledged_at=event.at, acknowledged_by=event.actor,
                             acknowledged_level=event.level,
                             seconds_to_acknowledge=round(event.at - self.created_at, 3))
            elif event.event == "resolved":
                facts.update(resolved_at=event.at, resolved_by=event.actor, resolved_level=event.level,
                             seconds_to_resolve=round(event.at - self.created_at, 3))
            if event.event in ("assigned", "escalated", "taken_over", "ops_escalated") and event.level is not None:
                held = event.level
        return facts

    def _rung(self, level: int) -> Level | None:
        return next((r for r in self.chain if r.level == level), None)

    def _record(self, now: float, event: str, level: int | None = None,
                actor: str | None = None, detail: str | None = None) -> None:
        self.history.append(Event(now, event, level, actor, detail))
        self.updated_at = now

    # -- plain form ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        data = dict(data)
        data["status"] = Status(data["status"])
        for limits in ("ack_limits", "resolve_limits"):
            if data.get(limits):   # JSON keys are strings
                data[limits] = {int(k): int(v) for k, v in data[limits].items()}
        data["chain"] = [Level(r["level"], r["role"], r.get("holder"), tuple(r.get("eligible", ())),
                               tuple(r.get("followers", ()))) for r in data.get("chain", ())]
        data["history"] = [Event(**e) for e in data.get("history", ())]
        data["co_reporters"] = [dict(entry) for entry in data.get("co_reporters") or ()]
        data["outbox"] = [Notice(n["id"], n["member_id"], n["template"], dict(n.get("params") or {}),
                                 n.get("not_before"))
                          for n in data.get("outbox", ())]
        return cls(**data)
