"""What happens to a case after intake: routing, escalation and members' replies."""
from __future__ import annotations

import json
import logging
from typing import Callable

from chalicelib.domain import sms
from chalicelib.domain.case import Case, Status, TransitionRefused
from chalicelib.domain.directory import Directory
from chalicelib.domain.messages import render
from chalicelib.domain.policy import EscalationPolicy
from chalicelib.domain.report import InvalidReport, normalize_phone

from .intake import PermanentFailure
from .notices import NoticeDelivery
from .ports import CaseRepository, ConcurrentUpdate, MessageQueue, SmsSender

log = logging.getLogger(__name__)

MAX_RETRIES = 5
SWEEP_BATCH = 10     # SQS SendMessageBatch takes at most 10


class CaseWorkflow:
    def __init__(self, cases: CaseRepository, notices: NoticeDelivery, sms_sender: SmsSender,
                 escalations: MessageQueue, directory: Callable[[], Directory],
                 policy: EscalationPolicy, clock: Callable[[], float]):
        self._cases, self._notices, self._sms = cases, notices, sms_sender
        self._escalations, self._directory = escalations, directory
        self._policy, self._clock = policy, clock

    # -- the case worker -------------------------------------------------------
    def route(self, case: Case) -> Case:
        """Route a received case to its first holder. A case already routed (a
        redelivery) is not routed again; only notices still unsent go out."""
        directory = self._directory()
        community = directory.communities.get(case.community_id)
        if community is None or case.location not in community.locations:
            raise PermanentFailure(f"location {case.location} is not in the directory")

        def assign(current: Case) -> bool:
            if current.status is not Status.RECEIVED:
                return False
            current.route(community.chain_for(current.location), self._policy, self._clock())
            return True

        return self._notices.deliver(self._change(case, assign))

    # -- escalation ------------------------------------------------------------
    def sweep(self, now: float | None = None) -> int:
        """Queue an escalation for every open case past its deadline; returns how many."""
        now = self._clock() if now is None else now
        due = [{"code": code, "due_at": due_at} for code, due_at in self._cases.due(now)]
        for start in range(0, len(due), SWEEP_BATCH):
            self._escalations.send_batch(due[start:start + SWEEP_BATCH])
        return len(due)

    def escalate(self, body: str) -> Case | None:
        try:
            request = json.loads(body)
            code, due_at = str(request["code"]), float(request["due_at"])
        except (ValueError, TypeError, KeyError) as error:
            raise PermanentFailure(f"malformed escalation message: {error!r}") from None
        case = self._cases.get(code)
        if case is None:
            raise PermanentFailure(f"no case {code}")
        now = self._clock()

        def current_chain(current: Case) -> list | None:
            if current.status is not Status.RECEIVED:
                return None
            community = self._directory().communities.get(current.community_id)
            return community.chain_for(current.location) if community else None

        # Stale or duplicate requests change nothing: escalate() checks the deadline.
        case = self._change(case, lambda current: current.escalate(
            due_at, self._policy, now, current_chain(current)))
        return self._notices.deliver(case)

    # -- members' SMS replies --------------------------------------------------
    def reply(self, body: str) -> str:
        """Apply one inbound SMS; returns what happened, for the log."""
        try:
            message = json.loads(body)
            sender, text = str(message["from"]), str(message["text"])
        except (ValueError, TypeError, KeyError) as error:
            raise PermanentFailure(f"malformed inbound SMS: {error!r}") from None
        try:
            phone = normalize_phone(sender)
        except InvalidReport:
            raise PermanentFailure(f"sender {sender!r} is not a phone number") from None
        directory = self._directory()
        member = directory.member_by_phone(phone)
        if member is None:
            self._sms.send(phone, render("unknown_sender", "zh"))
            return "unknown_sender"
        try:
            command = sms.parse(text)
        except sms.Unparsable:
            self._sms.send(phone, render("help", member.lang))
            return "unparsable"
        case = self._cases.get(command.code)
        # A case of another community does not exist, as far as this member can tell.
        if case is None or case.community_id != member.community_id:
            self._sms.send(phone, render("unknown_case", member.lang, code=command.code))
            return "unknown_case"
        now = self._clock()
        def act(current: Case) -> bool:
            if command.action is sms.Action.ACKNOWLEDGE:
                return current.acknowledge(member.id, now, self._policy)
            return current.resolve(member.id, now)

        try:
            case = self._change(case, act)
        except TransitionRefused as refused:
            template = "refused_not_on_chain" if refused.reason == "not_on_chain" else "refused_closed"
            self._sms.send(phone, render(template, member.lang, code=case.code))
            return f"refused:{refused.reason}"
        self._notices.deliver(case)
        return command.action.value

    # -- shared ------------------------------------------------------------------
    def _change(self, case: Case, mutate: Callable[[Case], bool]) -> Case:
        """Apply `mutate` and save; on a concurrent change, reread and apply again.
        `mutate` returns False when there is nothing to do (a duplicate)."""
        for _ in range(MAX_RETRIES):
            if not mutate(case):
                return case
            try:
                self._cases.save(case)
                return case
            except ConcurrentUpdate:
                fresh = self._cases.get(case.code)
                if fresh is None:
                    raise
                case = fresh
        raise ConcurrentUpdate(case.code)


