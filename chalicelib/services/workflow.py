"""What happens to a case after intake: routing, escalation and members' replies."""
from __future__ import annotations

import json
import logging
from typing import Callable

from chalicelib.domain import sms
from chalicelib.domain.case import Case, Status, TransitionRefused
from chalicelib.domain.directory import Directory
from chalicelib.domain.messages import render
from chalicelib.domain.policy import EscalationPolicy, Policies
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
                 policy: EscalationPolicy | Policies, clock: Callable[[], float]):
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
            now = self._clock()
            policy = self._policy_for(current)
            current.route(community.chain_for(current.location, policy.steps, at=now), policy, now,
                          responsibility=community.responsibility(current.location, at=now),
                          grid_id=community.grid_of(current.location))
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
            if community is None or current.location not in community.locations:
                return None
            if not current.responsibility:
                current.responsibility = community.responsibility(current.location, at=now)
                current.grid_id = community.grid_of(current.location)
            return community.chain_for(current.location, self._policy_for(current).steps, at=now)

        # Stale or duplicate requests change nothing: escalate() checks the deadline.
        case = self._change(case, lambda current: current.escalate(
            due_at, self._policy_for(current), now, current_chain(current)))
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
        target = None
        if command.action is sms.Action.TRANSFER:
            target = self._transfer_target(command.target, member, now)
            if target is None:
                self._sms.send(phone, render("refused_transfer", member.lang, code=case.code))
                return "refused:transfer_target"
        act = self._action(command, member.id, target, now)
        try:
            case = self._change(case, act)
        except TransitionRefused as refused:
            self._sms.send(phone, render(_refusal_template(refused.reason), member.lang, code=case.code))
            return f"refused:{refused.reason}"
        self._notices.deliver(case)
        return command.action.value

    def _action(self, command: sms.Command, member_id: str, target: str | None,
                now: float) -> Callable[[Case], bool]:
        A = sms.Action

        def act(current: Case) -> bool:
            policy = self._policy_for(current)
            if command.action is A.ACKNOWLEDGE:
                return current.acknowledge(member_id, now, policy)
            if command.action is A.RESOLVE:
                return current.resolve(member_id, now)
            if command.action is A.EXTEND:
                return current.request_extension(member_id, command.days or 0, command.reason, now)
            if command.action in (A.APPROVE, A.REFUSE):
                return current.decide_extension(member_id, command.action is A.APPROVE, policy, now)
            if command.action is A.SUSPEND:
                return current.suspend(member_id, command.reason, policy, now)
            if command.action is A.RESUME:
                return current.resume(member_id, policy, now)
            assert command.action is A.TRANSFER and target is not None
            return current.transfer(member_id, target, command.reason, policy, now)
        return act

    def _transfer_target(self, raw_phone: str | None, sender, now: float) -> str | None:
        """转办 goes to an available member of the sender's own community."""
        try:
            phone = normalize_phone(raw_phone or "")
        except InvalidReport:
            return None
        target = self._directory().member_by_phone(phone)
        if target is None or target.community_id != sender.community_id or not target.available(now):
            return None
        return target.id

    def _policy_for(self, case: Case) -> EscalationPolicy:
        return self._policy.for_case(case.community_id, case.category, case.priority)

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


REFUSALS = {
    "not_on_chain": "refused_not_on_chain",
    "suspended": "refused_suspended",
    "extension_days": "refused_extension", "extension_pending": "refused_extension",
    "no_supervisor": "refused_extension", "no_extension_pending": "refused_no_extension",
}


def _refusal_template(reason: str) -> str:
    if reason in REFUSALS:
        return REFUSALS[reason]
    if reason.startswith("not_extendable_"):
        return "refused_extension"
    if reason.startswith("not_allowed_"):
        return "refused_not_allowed"
    return "refused_closed"
