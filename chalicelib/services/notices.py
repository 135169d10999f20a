"""Delivering the notices a transition put in a case's outbox.

The transition and its notices are saved in one write; only then are the SMS
sent, and each sent notice is moved into the history. A crash before the send
leaves the notice in the outbox, and the next handler that touches the case
(the SQS redelivery of the same message, at the latest) sends it.

Bundling (as PagerDuty and GoAlert do): a phone gets at most one text per send window
(BUNDLE_SECONDS). The notices of a case's write take their phones' windows in that very
write (SendWindows), so the first text to a phone costs no request more; a notice to a
phone whose window runs is held in the outbox (`notice_bundled`), its case joins the
phone's waiting list, and when the window ends the sweep brings the case back: whoever
takes the next window sends every waiting notice to that phone as one text. Direct
answers to what someone just did (ANSWERS) and urgent cases never wait.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.domain.case import HOLDABLE, Case, Notice, is_resident_address
from chalicelib.domain.directory import ROLE_NAMES, Directory
from chalicelib.domain.messages import brief, render, render_bundle

from .ports import CaseRepository, ConcurrentUpdate, SendWindows, SendWindowStore, SmsSender, WindowBusy

log = logging.getLogger(__name__)
WITHHELD = "withheld:opted_out"               # in place of a message id: not sent, on purpose
ANSWERS = frozenset({"reporter_received"})    # direct answers to what the resident just did
BUNDLE_SECONDS = 120.0                       # one text per phone per this many seconds


class NoticeDelivery:
    def __init__(self, cases: CaseRepository, sms: SmsSender, directory: Callable[[], Directory],
                 categories: dict[str, Any], clock: Callable[[], float], contacts: Any = None,
                 policy_for: Callable[[Case], Any] | None = None,
                 windows: SendWindowStore | None = None, bundle_seconds: float = BUNDLE_SECONDS):
        self._cases, self._sms, self._directory = cases, sms, directory
        self._categories, self._clock, self._contacts = categories, clock, contacts
        self._policy_for = policy_for
        self._windows = windows if bundle_seconds > 0 else None   # None: no bundling
        self._bundle_seconds = bundle_seconds

    # -- the write ----------------------------------------------------------------
    def save(self, case: Case) -> None:
        """Save a changed case (CaseRepository.save), with what must wait held in the same
        write: notices for after the community's quiet hours, and notices to a phone whose
        send window runs. The windows of the notices that go now are taken in that write."""
        now = self._clock()
        held = [n.id for n, _ in self._hold_for_quiet_hours(case, now)]
        if self._windows is None:
            self._cases.save(case)
            return
        directory = self._directory()
        for _ in range(4):
            windows = self._windows_for(case, now, directory, held)
            try:
                self._cases.save(case, windows or None)
                return
            except WindowBusy as busy:
                for notice, phone in self._going_now(case, now, directory):
                    if phone in busy.until:
                        case.hold(notice, max(busy.until[phone], now), now, why="bundle")
                        held.append(notice.id)
        log.warning("send windows of %s kept changing; its notices go unbundled", case.code)
        self._cases.save(case)

    def save_all(self, cases: list[Case]) -> None:
        """Save changed cases in one atomic write (CaseRepository.save_all: a merge), with
        their notices held for quiet hours as `save` holds them. Send windows are not taken:
        what a merge tells goes unbundled."""
        now = self._clock()
        for case in cases:
            self._hold_for_quiet_hours(case, now)
        self._cases.save_all(cases)

    def _windows_for(self, case: Case, now: float, directory: Directory, held: list[str]) -> SendWindows:
        claim = {phone for _, phone in self._going_now(case, now, directory)}
        join = {phone for notice in case.outbox if notice.id in held
                for phone in [self._recipient(case, notice, directory)[0]] if phone}
        return SendWindows(now, now + self._bundle_seconds, frozenset(claim), frozenset(join))

    def _going_now(self, case: Case, now: float, directory: Directory) -> list[tuple[Notice, str]]:
        """The notices that go at once and take their phone's window to do so."""
        if not self._bundles(case):
            return []
        going = []
        for notice in case.outbox:
            if notice.not_before is None and not self._answers(case, notice):
                phone = self._recipient(case, notice, directory)[0]
                if phone:
                    going.append((notice, phone))
        return going

    def _bundles(self, case: Case) -> bool:
        """Urgent cases never wait for a window."""
        policy = self._policy_for(case) if self._policy_for else None
        return self._windows is not None and not getattr(policy, "urgent", False)

    # -- the send -----------------------------------------------------------------
    def deliver(self, case: Case) -> Case:
        """Send everything due in the case's outbox and record it; returns the saved case."""
        if not case.outbox:
            return case
        now = self._clock()
        directory = self._directory()
        # Settled without a text (nobody to tell, opted out): recorded with the next write.
        sent: list[tuple[Notice, str | None, str]] = []
        held: list[tuple[Notice, float]] = []
        waiting: dict[str, list[Notice]] = {}
        notice: Notice | None = None
        recipient = ""
        try:
            for notice in list(case.outbox):
                if notice.not_before is not None and notice.not_before > now:
                    continue                                    # held: the sweep brings it back
                phone, lang, recipient = self._recipient(case, notice, directory)
                if not phone:
                    sent.append((notice, None, recipient))   # nobody to tell: done with it
                    continue
                if self._withheld(notice, phone, case):
                    sent.append((notice, WITHHELD, recipient))
                    continue
                if notice.not_before is not None and self._bundles(case):
                    waiting.setdefault(phone, []).append(notice)   # its window has ended: see below
                    continue
                text = self.text_for(case, notice, directory, lang)
                message_id = self._sms.send(phone, text, case.id)
                # Recorded at once, not after the other texts: a crash (or a failed send)
                # later in this outbox must not make the retry send this one again.
                case = self._record_sent(case, sent + [(notice, message_id, recipient)])
                sent = []
            for phone, notices in waiting.items():
                notice, recipient = notices[0], self._recipient(case, notices[0], directory)[2]
                case = self._send_bundle(case, phone, notices, directory, now, sent, held)
        except Exception as error:
            # Record what did go out, so the retry sends only the rest, and the failure, so
            # the case shows why a notice is late. The notice stays in the outbox; the
            # message's redelivery (with backoff, see sqs_batch) tries it again.
            log.warning("SMS for %s failed: %s", case.code, type(error).__name__)
            self._record_sent(case, sent, failed=(notice, recipient, type(error).__name__) if notice else None,
                              held=held)
            raise
        return self._record_sent(case, sent, held=held)

    def _send_bundle(self, case: Case, phone: str, notices: list[Notice], directory: Directory,
                     now: float, sent: list, held: list) -> Case:
        """Held notices whose window has ended: take the phone's next window and send them
        with every other case's waiting for it, as one text, recorded on each case at once
        (with `sent`, the case's settled notices, which it then empties); or, if another
        case took it first, wait for that one's end. Returns the case as saved."""
        assert self._windows is not None
        codes = self._windows.collect(phone, now, now + self._bundle_seconds)
        if codes is None:
            until = self._windows.join(phone, case.code, now)
            held.extend((n, max(until, now)) for n in notices)
            for n in notices:
                case.hold(n, max(until, now), now, why="bundle")
            return case
        parts = [(case, n) for n in notices]
        others: list[tuple[Case, list[tuple[Notice, str | None, str]]]] = []
        for code in sorted(set(codes) - {case.code}):
            other = self._cases.get(code)
            if other is None:
                continue
            theirs: list[tuple[Notice, str | None, str]] = []
            for n in other.outbox:
                if n.not_before is None or n.not_before > now:
                    continue          # sent by their own handler / still in quiet hours
                their_phone, _, their_recipient = self._recipient(other, n, directory)
                if their_phone != phone:
                    continue
                if self._withheld(n, phone, other):
                    theirs.append((n, WITHHELD, their_recipient))
                    continue
                parts.append((other, n))
                theirs.append((n, None, their_recipient))
            if theirs:
                others.append((other, theirs))
        lang = self._recipient(case, notices[0], directory)[1]
        if len(parts) == 1:
            text = self.text_for(case, notices[0], directory, lang)
        else:
            community = directory.communities[case.community_id]
            text = render_bundle([self.text_for(c, n, directory, lang, as_brief=True) for c, n in parts], lang,
                                 community.name.get(lang, community.name.get("zh", community.id)))
        message_id = self._sms.send(phone, text, case.id)
        recipient = self._recipient(case, notices[0], directory)[2]
        theirs_sent = [(other, [(n, mid if mid == WITHHELD else message_id, who) for n, mid, who in theirs])
                       for other, theirs in others]
        case = self._record_bundle(case, sent + [(n, message_id, recipient) for n in notices], theirs_sent,
                                   phone, codes, held)
        sent.clear()
        return case

    def _record_bundle(self, case: Case, mine: list[tuple[Notice, str | None, str]],
                       others: list[tuple[Case, list[tuple[Notice, str | None, str]]]],
                       phone: str, codes: list[str], held: list[tuple[Notice, float]]) -> Case:
        """Record a bundled text on every case it carried, and take them off the phone's
        waiting list, in one write: a crash before it sends the same bundle again (as after
        any send), never a part of it again. Returns the case as saved."""
        entries = [(case, mine)] + others
        first = True
        for _ in range(5):
            now = self._clock()
            for index, (each, sent) in enumerate(entries):
                if index == 0 and not first:       # a fresh copy: hold its notices again
                    for notice, until in held:
                        each.hold(notice, until, now, why="bundle")
                for notice, message_id, recipient in sent:
                    each.mark_sent(notice, now, message_id, recipient)
            first = False
            try:
                self._cases.save_bundle([each for each, _ in entries], phone, codes)
                return entries[0][0]
            except ConcurrentUpdate:
                fresh = [(self._cases.get(each.code), sent) for each, sent in entries]
                if fresh[0][0] is None:
                    return case
                entries = [(each, sent) for each, sent in fresh if each is not None]
        log.warning("could not record the bundle to a phone on %s after retries", case.code)
        return entries[0][0]

    def _recipient(self, case: Case, notice: Notice, directory: Directory) -> tuple[str | None, str, str]:
        """(phone, language, recipient id) of a notice."""
        if is_resident_address(notice.member_id):      # the reporter, or a follower
            phone, lang = case.resident_contact(notice.member_id)
            recipient = notice.member_id
        else:
            member = directory.member(case.community_id, notice.member_id)
            phone, lang, recipient = member.phone, member.lang, member.id
        return phone, lang, recipient

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

    def _answers(self, case: Any, notice: Notice) -> bool:
        """Whether the notice is the direct answer to what the resident just did (the code of
        the report they have just made): it takes no send window and goes out even after 退订."""
        return notice.template in ANSWERS

    def _withheld(self, notice: Notice, phone: str, case: Any) -> bool:
        """A resident who replied 退订 / STOP gets nothing more about their reports, but the
        direct answers (`_answers`)."""
        return (is_resident_address(notice.member_id) and not self._answers(case, notice)
                and self._contacts is not None and self._contacts.opted_out(phone))

    def text_for(self, case: Case, notice: Notice, directory: Directory, lang: str,
                 as_brief: bool = False) -> str:
        """The notice's text in `lang`; `as_brief`: as one line of a bundle."""
        community = directory.communities[case.community_id]
        location = community.locations.get(case.location)
        category = self._categories.get(case.category, {}).get("name", {})
        params = dict(notice.params)
        if "role" in params:
            params["role"] = ROLE_NAMES.get(params["role"], {}).get(lang, params["role"])
        for who in ("by", "holder", "to"):   # member ids become names
            if who in params:
                params[who] = community.members[params[who]].name
        return (brief if as_brief else render)(notice.template, lang, code=case.code,
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
                    case.hold(notice, until, now, why="bundle")
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
