"""The outbox: the notices a transition causes, saved with the case in the same write and
delivered afterwards (services.notices), then moved into the history as sent, failed,
held or withheld. `_notify` is how every transition queues one."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from .model import Notice

# Notices that ask for nothing before morning: they wait out a community's quiet hours.
# Everything else asks for an action while a clock runs, and goes at once, day or night.
HOLDABLE = frozenset({
    "reporter_resolved", "follow", "escalated_away", "taken_over", "transferred_away",
    "supervise_yellow", "resolve_warning", "extension_submitted", "extension_approved",
    "extension_refused", "suspended", "resumed", "resolved", "case_cancelled", "case_closed",
    "case_merged"})


class OutboxMixin:
    """The outbox of Case (aggregate.py): what is queued, held and sent."""

    def has_sent(self, template: str) -> bool:
        """Whether a notice of this template is queued or was sent."""
        return (any(n.template == template for n in self.outbox)
                or any(e.event == "notified" and (e.detail or "").startswith(f"{template}:") for e in self.history))

    @property
    def held_until(self) -> float | None:
        """When the earliest notice held back in the outbox (quiet hours) is due."""
        return min((n.not_before for n in self.outbox if n.not_before is not None), default=None)

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

    def _notify(self, member_id: str | None, template: str, **params: Any) -> None:
        if member_id is None:
            return
        self.notice_seq += 1
        self.outbox.append(Notice(f"{self.code}.{self.notice_seq}", member_id, template, params))
