"""What happens to a case after intake: routing, the sweep and escalation, and the
conditional change every worker saves with. Inbound SMS are answered by services.sms_replies.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain import sms_intake
from chalicelib.domain.case import Case, Status
from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.policy import EscalationPolicy, Policies

from .duplicates import Duplicates
from .intake import IntakeService, PermanentFailure
from .notices import NoticeDelivery
from .ports import (
    BlockList,
    CaseRepository,
    ConcurrentUpdate,
    ContactPreferences,
    FollowedCases,
    MessageQueue,
    SmsSender,
)
from .sms_replies import SmsReplies
from .telemetry import NoTelemetry, Telemetry, count_change, mark

MAX_RETRIES = 5
SWEEP_BATCH = 10     # SQS SendMessageBatch takes at most 10
# A worker saves a transition with its notices, then sends them and records them sent
# (services.notices). Notices saved less than IN_FLIGHT_SECONDS ago, not held and not
# failed, are that worker's to send: another one waits up to IN_FLIGHT_WAIT seconds for
# them to be recorded rather than send them too. Later they are a dead worker's leftovers.
IN_FLIGHT_SECONDS = 10.0
IN_FLIGHT_WAIT = 3.0


class CaseWorkflow:
    def __init__(self, cases: CaseRepository, notices: NoticeDelivery, sms_sender: SmsSender,
                 escalations: MessageQueue, directory: Callable[[], Directory],
                 policy: EscalationPolicy | Policies, clock: Callable[[], float],
                 intake: IntakeService | None = None, contacts: ContactPreferences | None = None,
                 blocklist: BlockList | None = None, telemetry: Telemetry | None = None,
                 follows: FollowedCases | None = None, orders: Any = None, points: Any = None):
        self._cases, self._notices = cases, notices
        self._escalations, self._directory = escalations, directory
        self._policy, self._clock = policy, clock
        self._telemetry = telemetry or NoTelemetry()        # metrics, and which case the log is about
        # Reports of one problem (services.duplicates): folded here, merged by SMS and ops.
        self.duplicates = Duplicates(cases, notices, directory, policy, clock, self._change, follows=follows)
        # Every inbound SMS (reply, status_text): it routes and changes cases through this workflow.
        self._replies = SmsReplies(self, cases, notices, sms_sender, directory, policy, clock,
                                   intake=intake, contacts=contacts, blocklist=blocklist, follows=follows,
                                   orders=orders, points=points)

    # -- the case worker -------------------------------------------------------
    def route(self, case: Case) -> Case:
        """Route a received case to its first holder. A case already routed (a
        redelivery) is not routed again; only notices still unsent go out."""
        directory = self._directory()
        community = directory.communities.get(case.community_id)
        if community is None or case.location not in community.locations:
            raise PermanentFailure(f"location {case.location} is not in the directory")

        if case.status is Status.RECEIVED:
            # The same problem reported before, and still open: this report joins that case.
            joined = self.duplicates.fold(case)
            if joined is not None:
                return self._cases.get(case.code) or case

        def assign(current: Case) -> bool:
            if current.status is not Status.RECEIVED:
                return False
            now = self._clock()
            current.place_key = current.place_key or self.duplicates.place_key(
                current.community_id, current.location, current.category)
            policy = self.policy_for(current)
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
        if due:
            self._telemetry.count("EscalationsQueued", len(due))
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
        community = self._directory().communities.get(case.community_id)
        if sms_intake.awaits_place(case, community):
            return self.remind_triage(case, community, due_at, now)
        if case.status is Status.RECEIVED and self.duplicates.fold(case) is not None:
            return self._cases.get(case.code) or case    # its routing message was lost: the sweep's turn

        def current_chain(current: Case) -> list | None:
            if current.status is not Status.RECEIVED:
                return None
            community = self._directory().communities.get(current.community_id)
            if community is None or current.location not in community.locations:
                return None
            if not current.responsibility:
                current.responsibility = community.responsibility(current.location, at=now)
                current.grid_id = community.grid_of(current.location)
            return community.chain_for(current.location, self.policy_for(current).steps, at=now)

        # Stale or duplicate requests change nothing: escalate() checks the deadline. A
        # request the sweep made for a held notice (due before the clock) only delivers it;
        # the next sweep then finds the case at its clock's deadline.
        case = self._change(case, lambda current: current.escalate(
            due_at, self.policy_for(current), now, current_chain(current)))
        return self._notices.deliver(case)

    # -- SMS reports awaiting a place (the sweep's, and a new report's) -------------
    def remind_triage(self, case: Case, community: Community | None, due_at: float | None,
                      now: float) -> Case:
        """Hand an unplaced SMS report to the member on triage duty (`due_at` None), or remind
        them when it is due (the sweep), at the first acknowledge limit of its chain."""
        holder = community.triage_holder(now) if community is not None else None
        lang = community.members[holder].lang if holder else "zh"
        policy = self.policy_for(case)
        remind_at = policy.ack_deadline(min(policy.levels), now)

        def hand(current: Case) -> bool:
            if due_at is not None and current.timer == sms_intake.TRIAGE_TIMER:
                return sms_intake.remind_triage(current, due_at, holder, now, remind_at)
            if due_at is not None and (current.due_at is None or abs(current.due_at - due_at) > 1e-3
                                       or current.due_at > now):
                return False                       # stale: it changed since the sweep saw it
            if holder is None:                     # nobody to ask now: ask again later
                current.due_at = remind_at
                sms_intake.give_code(current)      # the resident has their code all the same
                return True
            return sms_intake.await_triage(current, holder, now, remind_at, lang)

        return self._notices.deliver(self._change(case, hand))

    # -- inbound SMS (services.sms_replies) ------------------------------------------
    def reply(self, body: str, message_id: str | None = None) -> str:
        """Apply one inbound SMS; returns what happened, for the log (SmsReplies.reply)."""
        return self._replies.reply(body, message_id)

    def status_text(self, case: Case, lang: str, asker: str | None = None) -> str:
        return self._replies.status_text(case, lang, asker)

    # -- shared ------------------------------------------------------------------
    def policy_for(self, case: Case) -> EscalationPolicy:
        return self._policy.for_case(case.community_id, case.category, case.priority)

    def change(self, case: Case, mutate: Callable[[Case], bool]) -> Case:
        """As the workers change a case (below), for the operators' commands (services.ops)."""
        return self._change(case, mutate)

    def _change(self, case: Case, mutate: Callable[[Case], bool]) -> Case:
        """Apply `mutate` and save; on a concurrent change, reread and apply again.
        `mutate` returns False when there is nothing to do (a duplicate)."""
        self._telemetry.about_case(case.code, case.community_id)
        for _ in range(MAX_RETRIES):
            case = self._settled(case)      # else the caller's deliver() sends another's notices too
            before = mark(case)
            if not mutate(case):
                return case
            try:
                self._notices.save(case)    # with its notices' holds and send windows
                count_change(self._telemetry, before, case)   # once saved: what happened
                return case
            except ConcurrentUpdate:
                fresh = self._cases.get(case.code)
                if fresh is None:
                    raise
                case = fresh
        raise ConcurrentUpdate(case.code)

    def _settled(self, case: Case) -> Case:
        """The case once no other worker is sending notices of it (see IN_FLIGHT_SECONDS),
        read again until then; as it is after IN_FLIGHT_WAIT, or when nobody is."""
        deadline = time.monotonic() + IN_FLIGHT_WAIT
        while _in_flight(case, self._clock()) and time.monotonic() < deadline:
            time.sleep(0.05)
            case = self._cases.get(case.code) or case
        return case


def _in_flight(case: Case, now: float) -> bool:
    """Whether another worker saved notices of the case just now and is sending them: not
    held ones, and not after its last write recorded a failed send (it gave up, and raised)."""
    if not case.outbox or now - case.updated_at >= IN_FLIGHT_SECONDS:
        return False
    if case.history and case.history[-1].event == "notice_failed":
        return False
    return any(n.not_before is None for n in case.outbox)
