"""What the members do by SMS: acknowledge (收到), resolve (完成), the reporter's call-back
answer (满意/不满意), extension (延期, 同意/不同意), suspend and resume (挂起/恢复), transfer
(转办) and cancel (取消). Each first checks the member's authority on the case."""
from __future__ import annotations

from ..policy import DEFAULT_CALLBACK_SECONDS, EscalationPolicy
from .model import HEARS, REPORTER, TOLD_TO_ACT, Authority, Status, TransitionRefused, is_resident_address

MAX_EXTENSION_DAYS = 30


class MemberActionsMixin:
    """The members' commands on Case (aggregate.py), and who may give them."""

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
        self._ask_followers()                       # one resolved notice each (duplicates.py)
        return True

    def feedback(self, satisfied: bool, now: float, policy: EscalationPolicy, who: str = REPORTER) -> bool:
        """A resident's answer to the call-back (`who`: the reporter, or a follower's address):
        not satisfied (2) from any of them reopens the case one level above the member who
        resolved it; satisfied (1) closes it once nobody else asked is still to answer (else
        the call-back's time does). Returns False for an answer that came before (a repeat)."""
        if self.status is not Status.RESOLVED or not self.awaits_feedback_from(who):
            if any(e.event in ("closed", "reopened", "satisfied") and e.actor == who for e in self.history):
                return False
            raise TransitionRefused(f"no_feedback_expected_{self.status.value}")
        self._set_awaiting(who, False)
        if satisfied:
            if self._anyone_awaiting():
                self._record(now, "satisfied", level=self.level, actor=who)
                return True
            self._close(now, "satisfied", actor=who)
            return True
        self._stop_awaiting()
        resolved_at = next((e.level for e in reversed(self.history) if e.event == "resolved"), self.level) or self.level
        policy = self._policy(policy)
        target = self._next_held_rung(above=resolved_at, now=now) or self._rung(resolved_at)
        self._record(now, "reopened", level=target.level if target else self.level, actor=who)
        if target is None or target.holder is None:
            self._close(now, "nobody_to_reopen", actor=who)
            return True
        self._hand_to(target, policy, now, event="assigned")
        self._notify(target.holder, "reopened_to_you")
        return True

    def _close(self, now: float, why: str, actor: str | None = None) -> None:
        self.status = Status.CLOSED
        self._stop_awaiting()
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
                  template: str, **params: str) -> None:
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
        self._stop_awaiting()
        self._record(now, event, level=self.level or None, actor=actor, detail=detail)
        for recipient in told:
            self._notify(recipient, template, **params)

    def _told_to_act(self) -> list[str]:
        """The members sent a notice that asks them to act on this case (HEARS: handle,
        follow, above) and not told to stand down since; the holder first."""
        told: dict[str, None] = {}
        for event in self.history:
            if event.event != "notified" or event.actor is None or is_resident_address(event.actor):
                continue
            kind = HEARS.get((event.detail or "").split(":", 1)[0])
            if kind in TOLD_TO_ACT:
                told[event.actor] = None
            elif kind == "stand_down":
                told.pop(event.actor, None)
        return ([self.holder] if self.holder else []) + [m for m in told if m != self.holder]
