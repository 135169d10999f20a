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
from .policy import DEFAULT_CALLBACK_SECONDS, EscalationPolicy


class Status(str, Enum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({Status.RECEIVED, Status.ASSIGNED, Status.ACKNOWLEDGED})
# A notice addressed to the resident who reported the case, at the phone they gave.
REPORTER = "@reporter"


class Authority(str, Enum):
    HOLDER = "holder"
    ABOVE = "above"        # a member of a level above the holder on this case's chain
    FOLLOWER = "follower"  # 跟办 at the holder's level: may resolve, not acknowledge
    OVERSIGHT = "oversight"  # the committee (两委督办) or the area chief (片长总领), not on the chain above
    NONE = "none"


# Who hears of which event, by their responsibility on the case. Every message names
# the reply its recipient can make — acknowledge or take over (收到), resolve (完成),
# decide an extension (同意/不同意) — or tells them to stand down from work they were
# given (escalated_away, taken_over, transferred_away, suspended). The lead, the
# committee and the volunteers hear nothing else: they follow cases in the digest and
# the reports, and are only messaged when there is something for them to do.
HEARS: dict[str, str] = {
    "assigned": "handle", "escalated_to_you": "handle", "reminder": "handle",
    "transferred_to_you": "handle", "reopened_to_you": "handle", "resolved": "handle",
    "resolve_warning": "handle", "resolve_overdue": "handle",
    "extension_submitted": "handle", "extension_approved": "handle", "extension_refused": "handle",
    "suspended": "handle", "resumed": "handle",
    "follow": "follow",                          # the step's 跟办: may resolve
    "urgent_together": "above",                  # urgent: the levels told at once, may take over
    "supervise_yellow": "above", "supervise_red": "above",   # may take over
    "extension_requested": "above",              # may approve or refuse
    "reporter_received": "reporter", "reporter_resolved": "reporter",   # the resident: 查询, 1 / 2
    "escalated_away": "stand_down", "taken_over": "stand_down", "transferred_away": "stand_down",
    "case_cancelled": "called_off",   # 取消: everyone told to act on it and not stood down since
    "case_closed": "called_off",      # closed by the office (ops): the same people, told to stop
}
# The kinds of HEARS that ask their recipient to act on the case; the stand-downs end that.
TOLD_TO_ACT = frozenset({"handle", "follow", "above"})
MAX_EXTENSION_DAYS = 30
# Notices that ask for nothing before morning: they wait out a community's quiet hours.
# Everything else asks for an action while a clock runs, and goes at once, day or night.
HOLDABLE = frozenset({
    "reporter_resolved", "follow", "escalated_away", "taken_over", "transferred_away",
    "supervise_yellow", "resolve_warning", "extension_submitted", "extension_approved",
    "extension_refused", "suspended", "resumed", "resolved", "case_cancelled", "case_closed"})
# The clock of an SMS report waiting for the member on triage duty to place it.
TRIAGE_TIMER = "triage"
# Templates whose words need details a sent notice does not keep (operator_resend).
NEEDS_DETAILS = frozenset({
    "follow", "urgent_together", "supervise_yellow", "supervise_red", "escalated_away", "taken_over",
    "transferred_away", "extension_requested", "extension_submitted", "extension_approved",
    "triage_request"})


def _ops(reason: str | None, request: str | None, **moved: Any) -> str:
    """The detail of an ops_* event: JSON, so that what it says can be read back."""
    import json
    fields = {"reason": reason, "request": request, **moved}
    return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False, sort_keys=True)


def ops_detail(event: "Event") -> dict[str, Any]:
    """What an ops_* event's detail says ({} for any other event)."""
    import json
    if not event.event.startswith("ops_") or not event.detail:
        return {}
    try:
        value = json.loads(event.detail)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


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
    not_before: float | None = None   # held back until then (quiet hours); None: send now


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
    responsibility: dict[str, list[str]] = field(default_factory=dict)   # lead, supervise, follow, assist
    suspended: dict[str, Any] | None = None       # 挂起: by, reason, and the clocks' time left
    extension: dict[str, Any] | None = None       # 延期 asked for, waiting for the level above
    awaiting_feedback: bool = False       # resolved, the reporter asked 满意/不满意 (call-back)
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
                priority: str = "normal", reporter_lang: str = "zh") -> "Case":
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

    def has_sent(self, template: str) -> bool:
        """Whether a notice of this template is queued or was sent."""
        return (any(n.template == template for n in self.outbox)
                or any(e.event == "notified" and (e.detail or "").startswith(f"{template}:") for e in self.history))

    @property
    def held_until(self) -> float | None:
        """When the earliest notice held back in the outbox (quiet hours) is due."""
        return min((n.not_before for n in self.outbox if n.not_before is not None), default=None)

    @property
    def sweep_at(self) -> float | None:
        """When the sweep must next look at this case: its running clock, or a held notice."""
        times = [t for t in (self.due_at if self.has_running_clock else None, self.held_until) if t is not None]
        return min(times, default=None)

    def hold(self, notice: Notice, until: float, now: float, why: str = "quiet_hours") -> None:
        """Keep a notice in the outbox until `until`; it is never dropped. `why`: the
        community's quiet hours, or "bundle": its phone had a text within the send window
        (services.notices), and it goes in one text with the others when the window ends."""
        index = self._outbox_index(notice)
        if index is None:
            return
        held = self.outbox[index]
        if held.not_before is not None and (why != "bundle" or held.not_before >= until):
            return      # held already (a retry): quiet hours are never cut short
        self.outbox[index] = replace(held, not_before=until)
        self._record(now, "notice_bundled" if why == "bundle" else "notice_held", level=self.level,
                     actor=notice.member_id, detail=f"{notice.template}:{notice.id}")

    def _outbox_index(self, notice: Notice) -> int | None:
        """Where the notice is in the outbox, by its id: a copy read at another time may
        hold it until another time."""
        return next((i for i, n in enumerate(self.outbox) if n.id == notice.id), None)

    @property
    def has_running_clock(self) -> bool:
        """Whether the sweep must watch this case: an open case with a deadline, or a
        resolved one waiting out its call-back."""
        return self.due_at is not None and (self.is_open or self.status is Status.RESOLVED)

    def overdue(self, now: float) -> bool:
        return self.due_at is not None and self.due_at <= now

    # -- transitions ------------------------------------------------------------
    def route(self, chain: Iterable[Level], policy: EscalationPolicy, now: float,
              responsibility: dict[str, list[str]] | None = None, grid_id: str | None = None) -> None:
        """Give a received case to the first level that has someone at home."""
        if self.status is not Status.RECEIVED:
            raise TransitionRefused(f"already_{self.status.value}")
        self.chain = list(chain)
        if responsibility is not None:
            self.responsibility = {k: list(v) for k, v in responsibility.items()}
        self.grid_id = grid_id or self.grid_id
        self._adopt(policy)
        self.give_code()             # the code, once (SMS triage may have sent it)
        self._route_to_first_holder(self._policy(policy), now, together=policy.together)

    def _route_to_first_holder(self, policy: EscalationPolicy, now: float,
                               together: tuple[int, ...] = ()) -> None:
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
        for follower in target.followers:
            self._notify(follower, "follow", holder=target.holder, role=target.role)
        # Urgent cases (gas leak, fire, medical emergency): the levels above are told at
        # once, each of whom may take the case over by acknowledging it.
        told = {target.holder}
        for rung in self.chain:
            if rung.level in together and rung.holder is not None and rung.holder not in told:
                told.add(rung.holder)
                self._record(now, "told_together", level=rung.level, actor=rung.holder)
                self._notify(rung.holder, "urgent_together", holder=target.holder)

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
            self._route_to_first_holder(self._policy(policy), now, together=policy.together)
            return True
        if self.status is Status.RESOLVED and self.timer == "callback":
            self._close(now, "no_answer")           # nobody said it is still broken
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
        authority = self._check_can_act(member_id, Authority.HOLDER, Authority.ABOVE)
        if self.status is Status.ACKNOWLEDGED and member_id == self.holder:
            return False
        if self.is_suspended and self.is_open:
            raise TransitionRefused("suspended")
        if self.status not in (Status.ASSIGNED, Status.ACKNOWLEDGED):
            raise TransitionRefused(f"not_acknowledgeable_{self.status.value}")
        if authority is Authority.ABOVE:
            self._take_over(member_id, now)
        self.status = Status.ACKNOWLEDGED
        # No confirmation SMS: a reply that worked needs no answer, and each text costs.
        self._record(now, "acknowledged", level=self.level, actor=member_id)
        # The acknowledge clock stops; the resolve clock starts for whoever holds it now.
        self._set_timer(None)
        deadlines = self._policy(policy).resolve_deadlines(self.level, now) if policy else None
        if deadlines:
            self.resolve_due_at = deadlines[1]
            self._set_timer("yellow", deadlines[0])
        return True

    def resolve(self, member_id: str, now: float, policy: EscalationPolicy | None = None) -> bool:
        """办结. Returns False when it was already resolved. The reporter is asked whether
        it is really fixed (the call-back); with no answer in the policy's time, it closes."""
        authority = self._check_can_act(member_id, Authority.HOLDER, Authority.ABOVE, Authority.FOLLOWER)
        if self.status is Status.RESOLVED:
            return False
        if self.status not in (Status.ASSIGNED, Status.ACKNOWLEDGED):
            raise TransitionRefused(f"not_resolvable_{self.status.value}")
        if authority is Authority.ABOVE:
            self._take_over(member_id, now)
        self.status = Status.RESOLVED
        self._set_timer(None)                       # every clock of the case ends
        self.resolve_due_at = None
        self.suspended = self.extension = None
        self._record(now, "resolved", level=self.level, actor=member_id)
        if authority is Authority.FOLLOWER:
            self._notify(self.holder, "resolved")      # 跟办 closed it: the holder stops work too
        callback = policy.callback_seconds if policy else DEFAULT_CALLBACK_SECONDS
        self._set_timer("callback", now + callback / (policy.time_scale if policy else 1.0))
        self.awaiting_feedback = bool(self.reporter_phone)
        if self.awaiting_feedback:
            self._notify(REPORTER, "reporter_resolved")
        return True

    def feedback(self, satisfied: bool, now: float, policy: EscalationPolicy) -> bool:
        """The reporter's answer to the call-back: satisfied (1) closes the case; not
        satisfied (2) reopens it one level above the member who resolved it. Returns
        False for an answer that came before (a repeat)."""
        if self.status is not Status.RESOLVED or not self.awaiting_feedback:
            if any(e.event in ("closed", "reopened") and e.actor == REPORTER for e in self.history):
                return False
            raise TransitionRefused(f"no_feedback_expected_{self.status.value}")
        self.awaiting_feedback = False
        if satisfied:
            self._close(now, "satisfied", actor=REPORTER)
            return True
        resolved_at = next((e.level for e in reversed(self.history) if e.event == "resolved"), self.level) or self.level
        policy = self._policy(policy)
        target = self._next_held_rung(above=resolved_at, now=now) or self._rung(resolved_at)
        self._record(now, "reopened", level=target.level if target else self.level, actor=REPORTER)
        if target is None or target.holder is None:
            self._close(now, "nobody_to_reopen", actor=REPORTER)
            return True
        self._hand_to(target, policy, now, event="assigned")
        self._notify(target.holder, "reopened_to_you")
        return True

    def _close(self, now: float, why: str, actor: str | None = None) -> None:
        self.status = Status.CLOSED
        self.awaiting_feedback = False
        self._set_timer(None)
        self._record(now, "closed", level=self.level, actor=actor, detail=why)

    # -- 延期, 挂起, 转办 -------------------------------------------------------------
    def request_extension(self, member_id: str, days: int, reason: str, now: float) -> bool:
        """延期: the holder asks the level above for more days to resolve. Returns False
        for the same request again (a redelivered SMS)."""
        self._check_can_act(member_id, Authority.HOLDER)
        if self.status is not Status.ACKNOWLEDGED:
            raise TransitionRefused(f"not_extendable_{self.status.value}")
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise TransitionRefused("extension_days")
        if self.extension is not None:
            if self.extension["days"] == days and self.extension["by"] == member_id:
                return False
            raise TransitionRefused("extension_pending")
        supervisor = self._supervisor()
        if supervisor is None:
            raise TransitionRefused("no_supervisor")
        self.extension = {"days": days, "reason": reason, "by": member_id, "at": now, "to": supervisor}
        self._record(now, "extension_requested", level=self.level, actor=member_id, detail=f"{days}d:{reason}")
        self._notify(supervisor, "extension_requested", holder=member_id, days=days)
        self._notify(member_id, "extension_submitted", days=days)
        return True

    def decide_extension(self, member_id: str, approve: bool, policy: EscalationPolicy, now: float) -> bool:
        """同意 / 不同意: the level above (or the committee) decides. An approved
        extension moves the resolve limit, and the clock's next alarm with it."""
        if self.extension is None:
            last = next((e for e in reversed(self.history) if e.event in (
                "extension_requested", "extension_approved", "extension_refused")), None)
            if last is not None and last.event != "extension_requested" and last.actor == member_id:
                return False          # the same decision again (a redelivered SMS)
        self._check_can_act(member_id, Authority.ABOVE, Authority.OVERSIGHT)
        if self.extension is None:
            raise TransitionRefused("no_extension_pending")
        request, self.extension = self.extension, None
        if not approve:
            self._record(now, "extension_refused", level=self.level, actor=member_id)
            self._notify(self.holder, "extension_refused")
            return True
        policy = self._policy(policy)
        extra = request["days"] * policy.day_seconds("resolve", self.level)
        if self.suspended is not None:
            self.suspended["resolve_left"] = self.suspended.get("resolve_left", 0.0) + extra
            if self.suspended.get("timer") in ("yellow", "red"):
                self.suspended["left"] = self.suspended.get("left", 0.0) + extra
        elif self.resolve_due_at is not None:
            self.resolve_due_at = policy.after("resolve", self.level, self.resolve_due_at, extra)
            if self.timer == "yellow" and self.due_at is not None:
                self._set_timer("yellow", policy.after("resolve", self.level, self.due_at, extra))
            elif self.timer == "red":
                self._set_timer("red", max(self.resolve_due_at, now))
        self._record(now, "extension_approved", level=self.level, actor=member_id, detail=f"{request['days']}d")
        self._notify(self.holder, "extension_approved", days=request["days"])
        return True

    def suspend(self, member_id: str, reason: str, policy: EscalationPolicy, now: float) -> bool:
        """挂起: a committee member stops the case's clocks (waiting on a resident, an
        outside body, the weather). Nothing moves until it is resumed."""
        self._check_committee(member_id)
        if not self.is_open or self.status is Status.RECEIVED:
            raise TransitionRefused(f"not_suspendable_{self.status.value}")
        if self.suspended is not None:
            return False
        policy = self._policy(policy)
        clock = self._clock_of_timer()
        self.suspended = {"by": member_id, "reason": reason, "at": now, "timer": self.timer,
                          "left": policy.remaining(clock, self.level, now, self.due_at) if self.due_at else None,
                          "resolve_left": (policy.remaining("resolve", self.level, now, self.resolve_due_at)
                                           if self.resolve_due_at is not None else None)}
        self._set_timer(None)
        self.resolve_due_at = None
        self._record(now, "suspended", level=self.level, actor=member_id, detail=reason)
        self._notify(self.holder, "suspended")
        return True

    def resume(self, member_id: str, policy: EscalationPolicy, now: float) -> bool:
        """恢复: the clocks run again with the time they had left."""
        self._check_committee(member_id)
        if self.suspended is None:
            return False
        policy = self._policy(policy)
        held, self.suspended = self.suspended, None
        clock = "ack" if held.get("timer") == "ack" else "resolve"
        if held.get("timer") and held.get("left") is not None:
            self._set_timer(held["timer"], policy.after(clock, self.level, now, held["left"]))
        if held.get("resolve_left") is not None:
            self.resolve_due_at = policy.after("resolve", self.level, now, held["resolve_left"])
        self._record(now, "resumed", level=self.level, actor=member_id)
        self._notify(self.holder, "resumed")
        return True

    def transfer(self, member_id: str, to_member: str, reason: str, policy: EscalationPolicy,
                 now: float) -> bool:
        """转办: the holder hands the case to another member at the same level, who must
        acknowledge it on this level's clock. `to_member` must be available (checked by
        the caller, who knows the directory)."""
        last = next((e for e in reversed(self.history) if e.event == "transferred"), None)
        if (last is not None and last.actor == member_id and self.holder == to_member
                and (last.detail or "").startswith(f"{to_member}:")):
            return False              # the same transfer again (a redelivered SMS)
        self._check_can_act(member_id, Authority.HOLDER)
        if self.status not in (Status.ASSIGNED, Status.ACKNOWLEDGED):
            raise TransitionRefused(f"not_transferable_{self.status.value}")
        if to_member == member_id:
            return False
        policy = self._policy(policy)
        self.status, self.holder = Status.ASSIGNED, to_member
        self.resolve_due_at, self.extension = None, None
        if self.suspended is None:
            self._set_timer("ack", policy.ack_deadline(self.level, now))
        else:
            self.suspended.update(timer="ack", left=float((self.ack_limits or {}).get(self.level, 0)),
                                  resolve_left=None)
        self._record(now, "transferred", level=self.level, actor=member_id, detail=f"{to_member}:{reason}")
        self._notify(to_member, "transferred_to_you", by=member_id)
        self._notify(member_id, "transferred_away", to=to_member)
        return True

    # -- 取消 -------------------------------------------------------------------------------
    def cancel(self, member_id: str, reason: str, now: float, on_duty: bool = False) -> bool:
        """取消: a junk report (spam, a test, a duplicate) is called off. The holder may, and
        so may the committee and the area chief; `on_duty` says the caller, who knows the
        directory, found the member on triage duty, on the committee or the area chief of
        the case's community (an SMS report nobody placed has no chain to tell by). Every
        clock stops, notices not yet sent are dropped (the reporter hears nothing: a junk
        report should not cost another SMS), and whoever was told to act is told to stop.
        Returns False for a case already cancelled (a redelivered SMS)."""
        if not on_duty and member_id != self.holder:
            self._check_committee(member_id)
        if not (reason or "").strip():
            raise TransitionRefused("reason_required")
        if self.status is Status.CANCELLED:
            return False
        if not self.is_open:
            raise TransitionRefused(f"not_cancellable_{self.status.value}")
        self._call_off(Status.CANCELLED, now, "cancelled", member_id, reason.strip(), "case_cancelled")
        return True

    def _call_off(self, status: Status, now: float, event: str, actor: str, detail: str,
                  template: str) -> None:
        """End the case as `status`: every clock stops, notices not yet sent are dropped, and
        whoever was told to act on an open case (and not stood down since) gets `template`."""
        told = [m for m in self._told_to_act() if m != actor] if self.is_open else []
        for notice in self.outbox:           # none of them makes sense any more
            self._record(now, "notice_dropped", level=self.level, actor=notice.member_id,
                         detail=f"{notice.template}:{notice.id}")
        self.outbox = []
        self.status = status
        self._set_timer(None)                # every clock stops: out of the sweep's index
        self.resolve_due_at = None
        self.suspended = self.extension = None
        self.awaiting_feedback = False
        self._record(now, event, level=self.level or None, actor=actor, detail=detail)
        for recipient in told:
            self._notify(recipient, template)

    def _told_to_act(self) -> list[str]:
        """The members sent a notice that asks them to act on this case (HEARS: handle,
        follow, above) and not told to stand down since; the holder first."""
        told: dict[str, None] = {}
        for event in self.history:
            if event.event != "notified" or event.actor in (None, REPORTER):
                continue
            kind = HEARS.get((event.detail or "").split(":", 1)[0])
            if kind in TOLD_TO_ACT:
                told[event.actor] = None
            elif kind == "stand_down":
                told.pop(event.actor, None)
        return ([self.holder] if self.holder else []) + [m for m in told if m != self.holder]

    # -- operators (services.ops): each step an ops_* event, by "ops:<operator>" ----------------
    # The detail is JSON: the reason, the Lambda request id (or the CLI's host) and what moved.
    def operator_escalate(self, actor: str, from_level: int, reason: str, policy: EscalationPolicy,
                          now: float, request: str | None = None) -> bool:
        """Move the case now to the next level up with someone available, as if its clock had
        fired. `from_level` is the level the operator saw: the same command run again finds
        the case moved and changes nothing (False); any other move since is refused
        (level_changed), so that nobody escalates a case past what they looked at."""
        if self.level != from_level:
            if any(e.event == "ops_escalated" and e.actor == actor and ops_detail(e).get("from") == from_level
                   for e in self.history):
                return False
            raise TransitionRefused("level_changed")
        self._check_operable("escalatable")
        target = self._next_held_rung(above=self.level, now=now)
        if target is None:
            raise TransitionRefused("at_top")
        previous = self.holder
        self._hand_over(target.holder, policy, now, level=target.level)
        self._record(now, "ops_escalated", level=target.level, actor=actor,
                     detail=_ops(reason, request, **{"from": from_level, "to": target.level, "member": target.holder}))
        self._notify(target.holder, "transferred_to_you")
        if previous and previous != target.holder:
            self._notify(previous, "transferred_away", to=target.holder)
        return True

    def operator_reassign(self, actor: str, to_member: str, reason: str, policy: EscalationPolicy,
                          now: float, request: str | None = None) -> bool:
        """Give the case to another member at its level, who must acknowledge it on this
        level's clock. `to_member` must be an available member of the case's community
        (checked by the caller, who knows the directory). False when they hold it already."""
        if self.holder == to_member and self.is_open:
            return False
        self._check_operable("reassignable")
        previous = self.holder
        self._hand_over(to_member, policy, now, level=self.level)
        self._record(now, "ops_reassigned", level=self.level, actor=actor,
                     detail=_ops(reason, request, member=to_member, previous=previous))
        self._notify(to_member, "transferred_to_you")
        if previous and previous != to_member:
            self._notify(previous, "transferred_away", to=to_member)
        return True

    def operator_close(self, actor: str, reason: str, now: float, request: str | None = None) -> bool:
        """结案 by the office (the matter was settled outside the loop, or the call-back will
        never be answered): an open or resolved case is closed, and whoever was told to act
        on it is told to stop. False for a closed case."""
        if self.status is Status.CLOSED:
            return False
        if self.status is Status.CANCELLED:
            raise TransitionRefused("not_closable_cancelled")
        self._call_off(Status.CLOSED, now, "ops_closed", actor, _ops(reason, request), "case_closed")
        return True

    def operator_cancel(self, actor: str, reason: str, now: float, request: str | None = None) -> bool:
        """取消 by the office, as a member's: a junk report is called off. False when cancelled."""
        if self.status is Status.CANCELLED:
            return False
        if not self.is_open:
            raise TransitionRefused(f"not_cancellable_{self.status.value}")
        self._call_off(Status.CANCELLED, now, "ops_cancelled", actor, _ops(reason, request), "case_cancelled")
        return True

    def operator_resend(self, actor: str, now: float, notice_id: str | None = None,
                        member_id: str | None = None, request: str | None = None) -> Notice:
        """Send a notice again: one still in the outbox (failed, held) goes now; one sent
        before is queued anew with the same words. Without a notice id: the latest notice to
        `member_id`, or to the holder. Refused (not_resendable) for a notice whose words
        depend on details not kept after sending (who it was passed to, how many days)."""
        whom = member_id or (None if notice_id else self.holder)
        queued = next((n for n in reversed(self.outbox)
                       if (n.id == notice_id if notice_id else n.member_id == whom)), None)
        if queued is not None:
            resent = replace(queued, not_before=None)
            self.outbox[self._outbox_index(queued)] = resent
        else:
            sent = next((e for e in reversed(self.history) if e.event == "notified" and (
                (e.detail or "").split(":")[1:2] == [notice_id] if notice_id else e.actor == whom)), None)
            if sent is None:
                raise TransitionRefused("no_such_notice")
            template = (sent.detail or "").split(":", 1)[0]
            if template in NEEDS_DETAILS:
                raise TransitionRefused("not_resendable")
            self._notify(sent.actor, template)
            resent = self.outbox[-1]
        self._record(now, "ops_resent", level=self.level or None, actor=actor,
                     detail=_ops(None, request, notice=notice_id or resent.id, member=resent.member_id,
                                 template=resent.template, new=resent.id))
        return resent

    def operator_viewed(self, actor: str, reason: str | None, now: float, request: str | None = None) -> bool:
        """An operator read the reporter's personal data (show with personal): kept, so a
        committee can see who saw a resident's phone and when."""
        self._record(now, "ops_viewed", level=self.level or None, actor=actor, detail=_ops(reason, request))
        return True

    def _check_operable(self, what: str) -> None:
        if self.status not in (Status.ASSIGNED, Status.ACKNOWLEDGED):
            raise TransitionRefused(f"not_{what}_{self.status.value}")
        if self.is_suspended:
            raise TransitionRefused("suspended")

    def _hand_over(self, member_id: str | None, policy: EscalationPolicy, now: float, level: int) -> None:
        """The case to `member_id` at `level`, to acknowledge on that level's clock."""
        policy = self._policy(policy)
        self.status, self.level, self.holder = Status.ASSIGNED, level, member_id
        self.resolve_due_at, self.extension = None, None
        self._set_timer("ack", policy.ack_deadline(level, now))

    # -- SMS reports: the resident's code, triage (domain.sms_intake) ------------------------
    def give_code(self) -> bool:
        """The reporter's code (reporter_received), once: when the case is routed, or as
        soon as an SMS report waits for its place. False when it has no phone or has it."""
        if not self.reporter_phone or self.has_sent("reporter_received"):
            return False
        self._notify(REPORTER, "reporter_received")
        return True

    def await_triage(self, holder: str, now: float, remind_at: float, **request: Any) -> bool:
        """An SMS report whose place nobody can tell goes to the member on triage duty, who
        is reminded at `remind_at`; `request` fills the triage_request notice. False when it
        was handed over before (a redelivery)."""
        if self.status is not Status.RECEIVED or any(e.event == "triage" for e in self.history):
            return False
        self.holder = holder
        self._set_timer(TRIAGE_TIMER, remind_at)
        self._record(now, "triage", actor=holder)
        self._notify(holder, "triage_request", **request)
        return True

    def remind_triage(self, expected_due_at: float, holder: str | None, now: float, remind_at: float) -> bool:
        """Nobody placed it in time: remind whoever is on triage duty now (`holder`; None
        keeps the one it has). Stale or duplicate requests change nothing, as escalations."""
        if (self.timer != TRIAGE_TIMER or self.due_at is None or abs(self.due_at - expected_due_at) > 1e-3
                or self.due_at > now or self.status is not Status.RECEIVED):
            return False
        self.holder = holder or self.holder
        self._set_timer(TRIAGE_TIMER, remind_at)
        self._record(now, "triage_reminded", actor=self.holder)
        self._notify(self.holder, "triage_reminder")
        return True

    def locate(self, location: str, member_id: str, now: float, route_by: float) -> bool:
        """位置: the triage member sets the place. The case stays received, due for routing at
        `route_by`. False for the same place again (a redelivered SMS); TransitionRefused
        once it is placed."""
        if any(e.event == "located" and e.detail == location and e.actor == member_id for e in self.history):
            return False
        if self.status is Status.CANCELLED:
            raise TransitionRefused("not_placeable_cancelled")
        if self.status is not Status.RECEIVED or self.timer != TRIAGE_TIMER:
            raise TransitionRefused("already_placed")
        self.location = location
        self.holder = None
        self._set_timer("ack", route_by)
        self._record(now, "located", actor=member_id, detail=location)
        return True

    def mark_failed(self, notice: Notice, now: float, recipient: str, error: str) -> None:
        """A delivery attempt failed: the notice stays in the outbox for the next try."""
        if self._outbox_index(notice) is not None:
            self._record(now, "notice_failed", level=self.level, actor=recipient,
                         detail=f"{notice.template}:{notice.id}:{error}")

    def mark_sent(self, notice: Notice, now: float, message_id: str | None, recipient: str) -> None:
        """Move a delivered notice from the outbox into the history."""
        index = self._outbox_index(notice)
        if index is not None:
            del self.outbox[index]
            if message_id and message_id.startswith("withheld:"):   # not sent on purpose (退订)
                self._record(now, "notice_withheld", level=self.level, actor=recipient,
                             detail=f"{notice.template}:{notice.id}:{message_id.split(':', 1)[1]}")
                return
            self._record(now, "notified", level=self.level, actor=recipient,
                         detail=f"{notice.template}:{notice.id}" + (f":{message_id}" if message_id else ""))

    # -- internals ---------------------------------------------------------------
    def _check_can_act(self, member_id: str, *allowed: Authority) -> Authority:
        authority = self.authority(member_id)
        if authority not in allowed:
            raise TransitionRefused("not_on_chain" if authority is Authority.NONE else f"not_allowed_{authority.value}")
        return authority

    def _check_committee(self, member_id: str) -> None:
        """挂起 / 恢复 belong to the committee (两委督办) and the area chief (片长总领): on
        the chain above the holder or named in the case's responsibility."""
        authority = self._check_can_act(member_id, Authority.OVERSIGHT, Authority.ABOVE)
        if authority is Authority.ABOVE and not any(
                member_id in rung.eligible for rung in self.chain
                if rung.level > self.level and rung.role in ("committee", "area_chief")):
            raise TransitionRefused("not_allowed_above")

    def _supervisor(self) -> str | None:
        """Who supervises the holder: the first level above with someone at home, else
        the committee or the area chief."""
        for rung in sorted(self.chain, key=lambda r: r.level):
            if rung.level > self.level and rung.holder not in (None, self.holder):
                return rung.holder
        for member_id in (*self.responsibility.get("supervise", ()), *self.responsibility.get("lead", ())):
            if member_id != self.holder:
                return member_id
        return None

    def _clock_of_timer(self) -> str:
        return "ack" if self.timer == "ack" else "resolve"

    def _take_over(self, member_id: str, now: float) -> None:
        rung = next(r for r in self.chain if r.level > self.level and member_id in r.eligible)
        previous = self.holder
        self.level, self.holder = rung.level, member_id
        self.extension = None        # the old holder's request: the new holder asks for their own
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
        self.working_limits = sorted(policy.working)

    def _policy(self, current: EscalationPolicy) -> EscalationPolicy:
        if not self.ack_limits:
            return current
        return replace(current, version=self.policy_version or current.version,
                       ack_seconds=self.ack_limits, resolve_seconds=self.resolve_limits,
                       yellow_at=self.yellow_at or current.yellow_at,
                       working=frozenset(self.working_limits or ()))

    def _supervise(self, policy: EscalationPolicy, now: float) -> bool:
        """The resolve clock fired on an acknowledged case: the holder keeps it, and the
        level above is told — a yellow warning first, red supervision (督办) at the
        limit, repeated each further limit — and may take it over."""
        supervisor = self._supervisor()
        rung = next((r for r in self.chain if r.holder == supervisor and r.level > self.level), None)
        level = rung.level if rung else self.level
        if self.timer == "yellow":
            self._record(now, "supervised_yellow", level=level, actor=supervisor)
            self._notify(self.holder, "resolve_warning")
            self._notify(supervisor, "supervise_yellow", holder=self.holder)
            self._set_timer("red", self.resolve_due_at)
            return True
        self._record(now, "supervised_red", level=level, actor=supervisor)
        self._notify(self.holder, "resolve_overdue")
        self._notify(supervisor, "supervise_red", holder=self.holder)
        limits = policy.resolve_seconds or {}
        self._set_timer("red", policy.after("resolve", self.level, now, limits.get(self.level, 86400)))
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
        data["chain"] = [Level(r["level"], r["role"], r.get("holder"), tuple(r.get("eligible", ())),
                               tuple(r.get("followers", ()))) for r in data.get("chain", ())]
        data["history"] = [Event(**e) for e in data.get("history", ())]
        data["outbox"] = [Notice(n["id"], n["member_id"], n["template"], dict(n.get("params") or {}),
                                 n.get("not_before"))
                          for n in data.get("outbox", ())]
        return cls(**data)
