"""The case's clocks and supervision. One timer runs at a time (`timer`, `due_at`: "ack",
"yellow", "red", "callback" or triage's); `resolve_due_at` is the resolve limit behind the
yellow and red ones. The limits are the policy's when the case was routed (`_adopt`,
`_policy`). When the resolve clock fires the level above is told — yellow, then red 督办 —
and may take the case over (`_take_over`)."""
from __future__ import annotations

from dataclasses import replace

from ..policy import EscalationPolicy
from .model import Status


class ClocksMixin:
    """The timers of Case (aggregate.py), the limits it runs on, and supervision."""

    @property
    def sweep_at(self) -> float | None:
        """When the sweep must next look at this case: its running clock, or a held notice."""
        times = [t for t in (self.due_at if self.has_running_clock else None, self.held_until) if t is not None]
        return min(times, default=None)

    @property
    def has_running_clock(self) -> bool:
        """Whether the sweep must watch this case: an open case with a deadline, or a
        resolved one waiting out its call-back."""
        return self.due_at is not None and (self.is_open or self.status is Status.RESOLVED)

    def overdue(self, now: float) -> bool:
        return self.due_at is not None and self.due_at <= now

    def _set_timer(self, kind: str | None, at: float | None = None) -> None:
        self.timer, self.due_at = (kind, at) if kind else (None, None)

    def _clock_of_timer(self) -> str:
        return "ack" if self.timer == "ack" else "resolve"

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

    def _take_over(self, member_id: str, now: float) -> None:
        rung = next(r for r in self.chain if r.level > self.level and member_id in r.eligible)
        previous = self.holder
        self.level, self.holder = rung.level, member_id
        self.extension = None        # the old holder's request: the new holder asks for their own
        self._record(now, "taken_over", level=rung.level, actor=member_id)
        if previous and previous != member_id:
            self._notify(previous, "taken_over", by=member_id)
