"""SMS reports: the resident's code, and triage for a report whose place nobody can tell
(domain.sms_intake): the member on triage duty is asked, reminded, and sets the place."""
from __future__ import annotations

from typing import Any

from .model import REPORTER, Status, TransitionRefused

# The clock of an SMS report waiting for the member on triage duty to place it.
TRIAGE_TIMER = "triage"


class TriageMixin:
    """The code and triage of Case (aggregate.py)."""

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
