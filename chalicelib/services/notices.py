"""Delivering the notices a transition put in a case's outbox.

The transition and its notices are saved in one write; only then are the SMS
sent, and each sent notice is moved into the history. A crash before the send
leaves the notice in the outbox, and the next handler that touches the case
(the SQS redelivery of the same message, at the latest) sends it.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from chalicelib.domain.case import HOLDABLE, REPORTER, Case, Notice
from chalicelib.domain.directory import Directory, ROLE_NAMES
from chalicelib.domain.messages import render

from .ports import CaseRepository, ConcurrentUpdate, SmsSender

log = logging.getLogger(__name__)
WITHHELD = "withheld:opted_out"               # in place of a message id: not sent, on purpose
ANSWERS = frozenset({"reporter_received"})    # direct answers to what the resident just did


class NoticeDelivery:
    def __init__(self, cases: CaseRepository, sms: SmsSender, directory: Callable[[], Directory],
                 categories: dict[str, Any], clock: Callable[[], float], contacts: Any = None,
                 policy_for: Callable[[Case], Any] | None = None):
        self._cases, self._sms, self._directory = cases, sms, directory
        self._categories, self._clock, self._contacts = categories, clock, contacts
        self._policy_for = policy_for

    def deliver(self, case: Case) -> Case:
        """Send everything in the case's outbox and record it; returns the saved case."""
        if not case.outbox:
            return case
        now = self._clock()
        # Held notices are saved with the record of what was sent: no extra write first.
        held = self._hold_for_quiet_hours(case, now)
        directory = self._directory()
        sent: list[tuple[Notice, str | None, str]] = []
        notice: Notice | None = None
        recipient = ""
        try:
            for notice in list(case.outbox):
                if notice.not_before is not None and notice.not_before > now:
                    continue                                    # quiet hours: the sweep brings it back
                if notice.member_id == REPORTER:
                    phone, lang, recipient = case.reporter_phone, "zh", REPORTER
                else:
                    member = directory.member(case.community_id, notice.member_id)
                    phone, lang, recipient = member.phone, member.lang, member.id
                if not phone:
                    sent.append((notice, None, recipient))   # nobody to tell: done with it
                    continue
                if self._withheld(notice, phone):
                    sent.append((notice, WITHHELD, recipient))
                    continue
                text = self.text_for(case, notice, directory, lang)
                message_id = self._sms.send(phone, text, case.id)
                sent.append((notice, message_id, recipient))
        except Exception as error:
            # Record what did go out, so the retry sends only the rest, and the failure, so
            # the case shows why a notice is late. The notice stays in the outbox; the
            # message's redelivery (with backoff, see sqs_batch) tries it again.
            log.warning("SMS for %s failed: %s", case.code, type(error).__name__)
            self._record_sent(case, sent, failed=(notice, recipient, type(error).__name__) if notice else None,
                              held=held)
            raise
        return self._record_sent(case, sent, held=held)

    def _hold_for_quiet_hours(self, case: Case, now: float) -> list[tuple[Notice, float]]:
        """Hold back, until the community's quiet hours end, the notices that ask for
        nothing before then (case.HOLDABLE), unless the case is urgent. Returns them."""
        policy = self._policy_for(case) if self._policy_for else None
        quiet = getattr(policy, "quiet_hours", None)
        if quiet is None or getattr(policy, "urgent", False):
            return []
        until = quiet.ends_after(now)
        if until is None:
            return []
        held = [(n, until) for n in case.outbox if n.template in HOLDABLE and n.not_before is None]
        for notice, _ in held:
            case.hold(notice, until, now)
        return held

    def _withheld(self, notice: Notice, phone: str) -> bool:
        """A resident who replied 退订 / STOP gets nothing more about their reports; the
        code of a report they have just made is the answer to it, and still goes out."""
        return (notice.member_id == REPORTER and notice.template not in ANSWERS
                and self._contacts is not None and self._contacts.opted_out(phone))

    def text_for(self, case: Case, notice: Notice, directory: Directory, lang: str) -> str:
        community = directory.communities[case.community_id]
        location = community.locations.get(case.location)
        category = self._categories.get(case.category, {}).get("name", {})
        params = dict(notice.params)
        if "role" in params:
            params["role"] = ROLE_NAMES.get(params["role"], {}).get(lang, params["role"])
        for who in ("by", "holder", "to"):   # member ids become names
            if who in params:
                params[who] = community.members[params[who]].name
        return render(notice.template, lang, code=case.code,
                      community=community.name.get(lang, community.name.get("zh", community.id)),
                      location=location.short_name.get(lang, location.code) if location else case.location,
                      category=category.get(lang, case.category), **params)

    def _record_sent(self, case: Case, sent: list[tuple[Notice, str | None, str]],
                     failed: tuple[Notice, str, str] | None = None,
                     held: list[tuple[Notice, float]] | None = None) -> Case:
        if not sent and failed is None and not held:
            return case
        first = True
        for _ in range(5):
            now = self._clock()
            if not first:                      # a fresh copy: hold its notices again
                for notice, until in held or ():
                    case.hold(notice, until, now)
            first = False
            for notice, message_id, recipient in sent:
                case.mark_sent(notice, now, message_id, recipient)
            if failed is not None:
                case.mark_failed(failed[0], now, failed[1], failed[2])
            try:
                self._cases.save(case)
                return case
            except ConcurrentUpdate:
                fresh = self._cases.get(case.code)
                if fresh is None:
                    return case
                case = fresh
        log.warning("could not record sent notices on %s after retries", case.code)
        return case
