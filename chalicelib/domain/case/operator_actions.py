"""What the office does to a case (services.ops): escalate, reassign, close, cancel, resend
a notice, and record who viewed the reporter's personal data."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..policy import EscalationPolicy
from .model import Event, Notice, Status, TransitionRefused

# Templates whose words need details a sent notice does not keep (operator_resend).
NEEDS_DETAILS = frozenset({
    "follow", "urgent_together", "supervise_yellow", "supervise_red", "escalated_away", "taken_over",
    "transferred_away", "extension_requested", "extension_submitted", "extension_approved",
    "triage_request", "case_merged", "duplicate_reported"})


def _ops(reason: str | None, request: str | None, **moved: Any) -> str:
    """The detail of an ops_* event: JSON, so that what it says can be read back."""
    import json
    fields = {"reason": reason, "request": request, **moved}
    return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False, sort_keys=True)


def ops_note(reason: str | None, request: str | None, **moved: Any) -> str:
    """The detail an operator's step records (as `_ops`), for a step another module makes (合并)."""
    return _ops(reason, request, **moved)


def ops_detail(event: Event) -> dict[str, Any]:
    """What an ops_* event's detail says ({} for any other event)."""
    import json
    if not (event.event.startswith("ops_") or (event.actor or "").startswith("ops:")) or not event.detail:
        return {}
    try:
        value = json.loads(event.detail)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class OperatorActionsMixin:
    """The operators' commands on Case (aggregate.py)."""

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
