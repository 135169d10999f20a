"""Routing and escalation: a received case goes to the first level of its chain with
someone at home, and climbs a level each time its acknowledge clock fires unanswered."""
from __future__ import annotations

from collections.abc import Iterable

from ..directory import Level
from ..policy import EscalationPolicy
from .model import Status, TransitionRefused


class RoutingMixin:
    """How Case (aggregate.py) finds its holder: route, escalate, and the chain's next level."""

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

    def _hand_to(self, rung: Level, policy: EscalationPolicy, now: float, event: str) -> None:
        self.status = Status.ASSIGNED
        self.level, self.holder = rung.level, rung.holder
        self._set_timer("ack", policy.ack_deadline(rung.level, now))
        self._record(now, event, level=rung.level, actor=rung.holder)

    def _next_held_rung(self, above: int, now: float) -> Level | None:
        for rung in sorted(self.chain, key=lambda r: r.level):
            if rung.level <= above:
                continue
            if rung.holder is not None:
                return rung
            self._record(now, "level_skipped", level=rung.level, detail="nobody_at_home")
        return None
