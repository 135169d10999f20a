"""A case: one resident's report as it moves up the grid until someone closes it.

Every transition is a method that checks it is allowed, changes the state,
appends to the history and queues the notices it causes in the case's outbox.
The outbox is saved with the state in one write, and delivered afterwards, so a
crash between the two never loses a notice (see services.notices).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any, Iterable

from .directory import Level
from .policy import EscalationPolicy


class Status(str, Enum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({Status.RECEIVED, Status.ASSIGNED, Status.ACKNOWLEDGED})


class Authority(str, Enum):
    HOLDER = "holder"
    ABOVE = "above"        # a member of a level above the holder on this case's chain
    NONE = "none"


class TransitionRefused(Exception):
    """The actor may not do this to the case; the case is unchanged."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason   # machine word: not_on_chain, already_resolved, ...


@dataclass(frozen=True)
class Event:
    at: float
    event: str
    level: int | None = None
    actor: str | None = None          # member id, when a person did it
    detail: str | None = None


@dataclass(frozen=True)
class Notice:
    """One message a transition causes, waiting in the outbox until sent."""
    id: str                 # "<code>.<n>": unique, stable across retries
    member_id: str
    template: str           # key into the message catalogue
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
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
    dedupe_key: str | None = None         # what makes two submissions "the same report"
    request_hash: str | None = None
    status: Status = Status.RECEIVED
    level: int = 0                        # 0 until routed; then 1 (stairwell) .. 5 (area chief)
    holder: str | None = None
    chain: list[Level] = field(default_factory=list)
    policy_version: str | None = None
    ack_limits: dict[int, int] | None = None      # the policy's limits when the case was routed
    resolve_limits: dict[int, int] | None = None
    yellow_at: float | None = None
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
                dedupe_key: str | None = None, request_hash: str | None = None) -> "Case":
        case = cls(id=id, code=code, community_id=community_id, category=category,
                   location=location, description=description, created_at=now, updated_at=now,
                   source=source, reporter_phone=reporter_phone, reporter_name=reporter_name,
                   dedupe_key=dedupe_key, request_hash=request_hash)
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

    def authority(self, member_id: str) -> Authority:
        if member_id == self.holder:
            return Authority.HOLDER
        if any(member_id in rung.eligible for rung in self.chain if rung.level > self.level):
            return Authority.ABOVE
        return Authority.NONE

    def overdue(self, now: float) -> bool:
        return self.due_at is not None and self.due_at <= now

    # -- transitions ------------------------------------------------------------
    def route(self, chain: Iterable[Level], policy: EscalationPolicy, now: float) -> None:
        """Give a received case to the first level that has someone at home."""
        if self.status is not Status.RECEIVED:
            raise TransitionRefused(f"already_{self.status.value}")
        self.chain = list(chain)
        self._adopt(policy)
        self._route_to_first_holder(self._policy(policy), now)

    def _route_to_first_holder(self, policy: EscalationPolicy, now: float) -> None:
        if all(rung.holder is None for rung in self.chain):
            # Nobody on the whole chain is at home: keep it on a timer so the sweep
            # retries, and say so once rather than on every retry.
            if not any(e.event == "unroutable" for e in self.history):
                self._record(now, "unroutable")
            self._set_timer("ack", policy.ack_deadline(1, now))
            return
        target = self._next_held_rung(above=0, now=now)
        assert target is not None
        self._hand_to(target, policy, now, event="assigned")
        self._notify(target.holder, "assigned")

    def escalate(self, expected_due_at: float, policy: EscalationPolicy, now: float,
                 current_chain: Iterable[Level] | None = None) -> bool:
        """Move an unacknowledged, overdue case one level up (or remind at the top).

        `expected_due_at` is the deadline the sweep saw: if the case has since been
        acknowledged, escalated or resolved, the request is stale and does nothing.
        A case that found nobody at home is routed again on `current_chain`, the
        directory as it is now. Returns whether anything changed.
        """
        if self.due_at is None or abs(self.due_at - expected_due_at) > 1e-3 or not self.overdue(now):
            return False
        if self.status is Status.RECEIVED:        # was unroutable: try again
            if current_chain is not None:
                self.chain = list(current_chain)
            self._adopt(policy)
            self._route_to_first_holder(self._policy(policy), now)
            return True
        policy = self._policy(policy)
        if self.status is Status.ACKNOWLEDGED:
            return self._supervise(policy, now)
        if self.status is not Status.ASSIGNED:
            return False
        previous = self.holder
        target = self._next_held_rung(above=self.level, now=now)
        if target is None:
            # At the top: repeat the notice instead of climbing.
            self._set_timer("ack", policy.ack_deadline(self.level, now))
            self._record(now, "reminded", level=self.level)
            self._notify(self.holder, "reminder")
            return True
        self._hand_to(target, policy, now, event="escalated")
        self._notify(target.holder, "escalated_to_you")
        if previous and previous != target.holder:
            self._notify(previous, "escalated_away", role=target.role)
        return True

    def acknowledge(self, member_id: str, now: float, policy: EscalationPolicy | None = None) -> bool:
        """接单. Returns False when it was already acknowledged by this member. With a
        policy that has resolve limits, the resolve clock starts."""
        authority = self._check_can_act(member_id)
        if self.status is Status.ACKNOWLEDGED and member_id == self.holder:
            return False
        if self.status not in (Status.ASSIGNED, Status.ACKNOWLEDGED):
            raise TransitionRefused(f"not_acknowledgeable_{self.status.value}")
        if authority is Authority.ABOVE:
            self._take_over(member_id, now)
        self.status = Status.ACKNOWLEDGED
        self._record(now, "acknowledged", level=self.level, actor=member_id)
        self._notify(member_id, "acknowledged")
        # The acknowledge clock stops; the resolve clock starts for whoever holds it now.
        self._set_timer(None)
        deadlines = self._policy(policy).resolve_deadlines(self.level, now) if policy else None
        if deadlines:
            self.resolve_due_at = deadlines[1]
            self._set_timer("yellow", deadlines[0])
        return True

    def resolve(self, member_id: str, now: float) -> bool:
        """办结. Returns False when it was already resolved."""
        authority = self._check_can_act(member_id)
        if self.status is Status.RESOLVED:
            return False
        if self.status not in (Status.ASSIGNED, Status.ACKNOWLEDGED):
            raise TransitionRefused(f"not_resolvable_{self.status.value}")
        if authority is Authority.ABOVE:
            self._take_over(member_id, now)
        self.status = Status.RESOLVED
        self._set_timer(None)                       # every clock of the case ends
        self.resolve_due_at = None
        self._record(now, "resolved", level=self.level, actor=member_id)
        self._notify(member_id, "resolved")
        return True

    def mark_sent(self, notice: Notice, now: float, message_id: str | None, recipient: str) -> None:
        """Move a delivered notice from the outbox into the history."""
        if notice in self.outbox:
            self.outbox.remove(notice)
            self._record(now, "notified", level=self.level, actor=recipient,
                         detail=f"{notice.template}:{notice.id}" + (f":{message_id}" if message_id else ""))

    # -- internals ---------------------------------------------------------------
    def _check_can_act(self, member_id: str) -> Authority:
        authority = self.authority(member_id)
        if authority is Authority.NONE:
            raise TransitionRefused("not_on_chain")
        return authority

    def _take_over(self, member_id: str, now: float) -> None:
        rung = next(r for r in self.chain if r.level > self.level and member_id in r.eligible)
        previous = self.holder
        self.level, self.holder = rung.level, member_id
        self._record(now, "taken_over", level=rung.level, actor=member_id)
        if previous and previous != member_id:
            self._notify(previous, "taken_over", by=member_id)

    def _rung(self, level: int) -> Level | None:
        return next((r for r in self.chain if r.level == level), None)

    def _next_held_rung(self, above: int, now: float) -> Level | None:
        for rung in sorted(self.chain, key=lambda r: r.level):
            if rung.level <= above:
                continue
            if rung.holder is not None:
                return rung
            self._record(now, "level_skipped", level=rung.level, detail="nobody_at_home")
        return None

    def _adopt(self, policy: EscalationPolicy) -> None:
        """Keep the limits the case starts under: editing the policy later never
        changes an escalation that is already running."""
        self.policy_version = policy.version
        self.ack_limits = dict(policy.ack_seconds)
        self.resolve_limits = dict(policy.resolve_seconds) if policy.resolve_seconds else None
        self.yellow_at = policy.yellow_at

    def _policy(self, current: EscalationPolicy) -> EscalationPolicy:
        if not self.ack_limits:
            return current
        return replace(current, version=self.policy_version or current.version,
                       ack_seconds=self.ack_limits, resolve_seconds=self.resolve_limits,
                       yellow_at=self.yellow_at or current.yellow_at)

    def _supervise(self, policy: EscalationPolicy, now: float) -> bool:
        """The resolve clock fired on an acknowledged case: the holder keeps it, and the
        level above is told — a yellow warning first, red supervision (督办) at the
        limit, repeated each further limit — and may take it over."""
        supervisor = next((r for r in sorted(self.chain, key=lambda r: r.level)
                           if r.level > self.level and r.holder not in (None, self.holder)), None)
        if self.timer == "yellow":
            self._record(now, "supervised_yellow", level=supervisor.level if supervisor else self.level,
                         actor=supervisor.holder if supervisor else None)
            self._notify(self.holder, "resolve_warning")
            if supervisor:
                self._notify(supervisor.holder, "supervise_yellow", holder=self.holder)
            self._set_timer("red", self.resolve_due_at)
            return True
        self._record(now, "supervised_red", level=supervisor.level if supervisor else self.level,
                     actor=supervisor.holder if supervisor else None)
        self._notify(self.holder, "resolve_overdue")
        if supervisor:
            self._notify(supervisor.holder, "supervise_red", holder=self.holder)
        limits = policy.resolve_seconds or {}
        self._set_timer("red", now + limits.get(self.level, 86400) / policy.time_scale)
        return True

    def _set_timer(self, kind: str | None, at: float | None = None) -> None:
        self.timer, self.due_at = (kind, at) if kind else (None, None)

    def _hand_to(self, rung: Level, policy: EscalationPolicy, now: float, event: str) -> None:
        self.status = Status.ASSIGNED
        self.level, self.holder = rung.level, rung.holder
        self._set_timer("ack", policy.ack_deadline(rung.level, now))
        self._record(now, event, level=rung.level, actor=rung.holder)

    def _record(self, now: float, event: str, level: int | None = None,
                actor: str | None = None, detail: str | None = None) -> None:
        self.history.append(Event(now, event, level, actor, detail))
        self.updated_at = now

    def _notify(self, member_id: str | None, template: str, **params: Any) -> None:
        if member_id is None:
            return
        self.notice_seq += 1
        self.outbox.append(Notice(f"{self.code}.{self.notice_seq}", member_id, template, params))

    # -- plain form ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Case":
        data = dict(data)
        data["status"] = Status(data["status"])
        for limits in ("ack_limits", "resolve_limits"):
            if data.get(limits):   # JSON keys are strings
                data[limits] = {int(k): int(v) for k, v in data[limits].items()}
        data["chain"] = [Level(r["level"], r["role"], r.get("holder"), tuple(r.get("eligible", ())))
                         for r in data.get("chain", ())]
        data["history"] = [Event(**e) for e in data.get("history", ())]
        data["outbox"] = [Notice(n["id"], n["member_id"], n["template"], dict(n.get("params") or {}))
                          for n in data.get("outbox", ())]
        return cls(**data)
