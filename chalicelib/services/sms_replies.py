"""Every inbound SMS (services.inbound → sms-inbound queue → CaseWorkflow.reply): from a
member when its phone is a member's, else from a resident.

- members work by reply (domain.sms): 收到 / 完成 / ... with a code; 收到, 完成, 1, 2 and
  位置 without one apply to the member's one open case (else they get its list); 帮助 /
  HELP lists their open cases; 查询 CODE answers a case's status;
- residents (domain.resident_sms) report by free text (domain.sms_intake: placed by their
  household, by the place they name, or by the member on triage duty), ask 查询, answer
  the call-back with 1 / 2, and opt out with 退订 / STOP (订阅 / START to opt in again).

Replies that say something went wrong are limited per phone (domain.contacts.ERROR_REPLIES):
after three in an hour, silence, so that two robots cannot answer each other for ever.
New reports are limited per phone, and a phone on the block list is ignored
(domain.admission).

A class the workflow delegates to, not a mixin: what the replies use of the workflow (route,
the conditional change, the triage hand-over, the policy) is named in `CaseWork`, not shared
unseen as attributes of one object. They call it through the workflow object itself, so an
attribute set on the workflow (a probe on `route`) is the one they call.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from chalicelib.domain import places, resident_sms, sms, sms_intake
from chalicelib.domain.admission import Blocked, RateLimited
from chalicelib.domain.case import Authority, Case, Status, TransitionRefused
from chalicelib.domain.contacts import ERROR_REPLIES, REPORTS_REFUSED
from chalicelib.domain.directory import ROLE_NAMES, Community, Directory, Member
from chalicelib.domain.messages import render
from chalicelib.domain.policy import EscalationPolicy, Policies
from chalicelib.domain.privacy import sender_key
from chalicelib.domain.report import InvalidReport, normalize_phone
from chalicelib.domain.segments import segments

from .answers import handling
from .case_credits import settle_case_credits
from .duplicates import Duplicates, followed_case
from .intake import IntakeService, PermanentFailure
from .notices import NoticeDelivery
from .order_replies import OrderReplies
from .orders import OrderService
from .ports import (
    BlockList,
    CaseRef,
    CaseRepository,
    ConcurrentUpdate,
    ContactPreferences,
    FollowedCases,
    SmsSender,
)

log = logging.getLogger(__name__)


class CaseWork(Protocol):
    """What the replies ask of the workflow (services.workflow.CaseWorkflow)."""

    def route(self, case: Case) -> Case: ...

    def change(self, case: Case, mutate: Callable[[Case], bool]) -> Case: ...

    def remind_triage(self, case: Case, community: Community | None, due_at: float | None,
                      now: float) -> Case: ...

    def policy_for(self, case: Case) -> EscalationPolicy: ...

    @property
    def duplicates(self) -> Duplicates: ...


class SmsReplies:
    """Answers every inbound SMS; cases are routed and changed through `workflow`."""

    def __init__(self, workflow: CaseWork, cases: CaseRepository, notices: NoticeDelivery,
                 sms_sender: SmsSender, directory: Callable[[], Directory],
                 policy: EscalationPolicy | Policies, clock: Callable[[], float],
                 intake: IntakeService | None = None, contacts: ContactPreferences | None = None,
                 blocklist: BlockList | None = None, follows: FollowedCases | None = None,
                 orders: OrderService | None = None, points: Any = None):
        self._workflow = workflow
        self._cases, self._notices, self._sms = cases, notices, sms_sender
        self._directory, self._policy, self._clock = directory, policy, clock
        self._intake = intake                              # SMS reports; None: none are taken
        self._contacts = contacts or _ProcessContacts()    # opt-outs and rate limits
        self._blocklist = blocklist                        # residents ignored; None: nobody is
        self._follows = follows                            # the cases a phone follows ("me too")
        self._points = points                              # the points bank: what a rated case earns
        # The service loop's words (services.order_replies), asked first; None: no orders here.
        self._orders = (OrderReplies(orders, directory, sms_sender.send, self._error, clock, points=points,
                                     over_limit=self._over_limit)
                        if orders is not None else None)

    # -- inbound SMS -------------------------------------------------------------
    def reply(self, body: str, message_id: str | None = None) -> str:
        """Apply one inbound SMS; returns what happened, for the log. `message_id` (the SQS
        message's) seeds a resident's report when the gateway gave no message id of its own."""
        try:
            message = json.loads(body)
            sender, text = str(message["from"]), str(message["text"])
        except (ValueError, TypeError, KeyError) as error:
            raise PermanentFailure(f"malformed inbound SMS: {error!r}") from None
        try:
            phone = normalize_phone(sender)
        except InvalidReport:
            raise PermanentFailure("the sender is not a phone number") from None   # nor logged: it may hold one
        member = self._directory().member_by_phone(phone)
        # What this SMS causes (answers, counts, opt-outs) happens once however often it
        # is delivered: services.answers.
        with handling(sms_seed(message, body, message_id)):
            if member is None:
                return self._from_resident(phone, text, message, body, message_id)
            return self._from_member(member, phone, text)

    # -- members ---------------------------------------------------------------------
    def _from_member(self, member: Member, phone: str, text: str) -> str:
        control = resident_sms.control(text)
        if control is not None:
            # A member's duty SMS never stop; what they reported as a resident can.
            if self._contacts.set_opted_out(phone, control is resident_sms.Intent.STOP, self._clock()):
                self._sms.send(phone, render("member_opted_out" if control is resident_sms.Intent.STOP
                                             else "opted_in", member.lang))
            return f"{control.value}:member"
        if self._orders is not None:
            handled = self._orders.from_member(member, phone, text)
            if handled is not None:
                return handled
        try:
            command = sms.parse(text)
        except sms.Unparsable:
            answer = resident_sms.feedback(text)      # 满意 / 不满意: about what they reported
            if answer is not None:
                return self._feedback(phone, answer, member.lang, resident=False)
            self._error(phone, render("help", member.lang))
            return "unparsable"
        if command.action is sms.Action.HELP:
            return self._list_open_cases(member, phone)
        if command.action is sms.Action.QUERY:
            return self._query(phone, command.code, member.lang, resident=False)
        code = command.code
        if code is None:
            code, held = self._bare_target(member, command.action)
            if code is None:
                if not held and sms.bare(text) in sms.SHORTCUTS:
                    # 1 / 2 with nothing to work on: the call-back's answer, if they reported something
                    answer = resident_sms.feedback(text)
                    if answer is not None and self._orders is not None:
                        confirmed = self._orders.member_feedback(
                            member, phone, answer.intent is resident_sms.Intent.SATISFIED)
                        if confirmed is not None:
                            return confirmed
                    if answer is not None and any(r.awaiting_feedback for r in self._cases.reported_by(phone)):
                        return self._feedback(phone, answer, member.lang, resident=False)
                self._error(phone, self._open_cases_text(held, member.lang) if held
                            else render("no_open_cases", member.lang))
                return "ambiguous" if held else "no_open_case"
        case = self._cases.get(code)
        if case is None and self._orders is not None:     # an order's code: the service loop's
            handled = self._orders.case_word(member, phone, command)
            if handled is not None:
                return handled
        # A case of another community does not exist, as far as this member can tell.
        if case is None or case.community_id != member.community_id:
            self._error(phone, render("unknown_case", member.lang, code=code))
            return "unknown_case"
        community = self._directory().communities.get(case.community_id)
        # The chain is a snapshot from routing; leave is not. Standing in (a level above, 跟办,
        # the committee, cover for triage) needs the member available now; what they hold stays theirs.
        if not member.available(self._clock()) and case.authority(member.id) is not Authority.HOLDER:
            self._error(phone, render("refused_not_on_chain", member.lang, code=case.code))
            return "refused:not_available"
        if command.action is sms.Action.LOCATE:
            return self._locate(member, phone, case, community, command.place)
        if command.action is sms.Action.MERGE:
            return self._merge(member, phone, case, community, command.target or "")
        # A junk SMS report may be cancelled before anyone places it (that is what 取消 is for).
        if command.action is not sms.Action.CANCEL and sms_intake.awaits_place(case, community):
            self._error(phone, render("needs_place", member.lang, code=case.code))
            return "refused:needs_place"
        now = self._clock()
        target = None
        if command.action is sms.Action.TRANSFER:
            target = self._transfer_target(command.target, member, now)
            if target is None:
                self._error(phone, render("refused_transfer", member.lang, code=case.code))
                return "refused:transfer_target"
        act = self._action(command, member.id, target, now,
                           on_duty=community is not None and sms_intake.oversees(community, member.id))
        try:
            case = self._workflow.change(case, act)
        except TransitionRefused as refused:
            self._error(phone, render(_refusal_template(refused.reason), member.lang, code=case.code))
            return f"refused:{refused.reason}"
        self._notices.deliver(case)
        return command.action.value

    def _bare_target(self, member: Member, action: sms.Action) -> tuple[str | None, list[CaseRef]]:
        """The case a reply without a code is about: of the member's open cases, the one
        the action fits (收到: the one not yet accepted), or the only one; None when there
        is none or several (with the open cases, newest first)."""
        held = self._cases.open_held_by(member.community_id, member.id)
        fits = {sms.Action.ACKNOWLEDGE: ("assigned",), sms.Action.RESOLVE: ("assigned", "acknowledged"),
                sms.Action.LOCATE: ("received",)}.get(action, ())
        fitting = [ref for ref in held if ref.status in fits]
        if len(fitting) == 1:
            return fitting[0].code, held
        if not fitting and len(held) == 1:
            return held[0].code, held
        return None, held

    def _list_open_cases(self, member: Member, phone: str) -> str:
        """帮助 / HELP: the member's open cases with their codes (asked for: not rate-limited)."""
        held = self._cases.open_held_by(member.community_id, member.id)
        self._sms.send(phone, self._open_cases_text(held, member.lang) if held
                       else render("no_open_cases", member.lang))
        return "help"

    @staticmethod
    def _open_cases_text(held: list[CaseRef], lang: str) -> str:
        """As many codes as fit one SMS, newest first, and how many more there are."""
        codes = [ref.code for ref in held]
        separator = "、" if lang == "zh" else ", "
        for shown in range(len(codes), 0, -1):
            listed = separator.join(codes[:shown])
            if shown < len(codes):
                listed += f"等{len(codes)}件" if lang == "zh" else f" and {len(codes) - shown} more"
            text = render("open_cases", lang, codes=listed)
            if segments(text) == 1:
                return text
        return render("open_cases", lang, codes=codes[0])

    def _locate(self, member: Member, phone: str, case: Case, community: Community | None,
                place_text: str) -> str:
        """位置 CODE 3-2: the triage member sets an SMS report's place, and it is routed."""
        if community is None or not sms_intake.may_place(community, case, member.id):
            self._error(phone, render("refused_not_on_chain", member.lang, code=case.code))
            return "refused:not_on_chain"
        location = places.parse_place(community, place_text)
        if location is None:
            self._error(phone, render("unknown_place", member.lang, code=case.code))
            return "refused:unknown_place"
        now = self._clock()
        route_by = self._policy.routing_deadline(now, case.community_id)
        try:
            case = self._workflow.change(
                case, lambda current: sms_intake.locate(current, location, member.id, now, route_by))
        except TransitionRefused as refused:
            template = "already_placed" if refused.reason == "already_placed" else "refused_closed"   # 取消
            self._error(phone, render(template, member.lang, code=case.code))
            return f"refused:{refused.reason}"
        if case.status is Status.RECEIVED and case.location in community.locations:
            self._workflow.route(case)
        return "locate"

    def _merge(self, member: Member, phone: str, case: Case, community: Community | None, into: str) -> str:
        """合并 CODE 原CODE: the first case is a duplicate of the second and joins it. The
        member must have a say on one of them (or be on triage duty, the committee or the
        area chief); both must be open cases of their community. Done before: no change,
        and, as for every reply that worked, no answer."""
        on_duty = community is not None and sms_intake.oversees(community, member.id)

        def check(duplicate: Case, original: Case) -> None:
            if original.community_id != member.community_id:
                raise TransitionRefused("merge_unknown_case")
            if not on_duty and all(c.authority(member.id) is Authority.NONE for c in (duplicate, original)):
                raise TransitionRefused("not_on_chain")

        try:
            self._workflow.duplicates.merge(case, into, actor=member.id, check=check)
        except TransitionRefused as refused:
            if refused.reason == "merge_unknown_case":
                self._error(phone, render("unknown_case", member.lang, code=into))
            elif refused.reason == "not_on_chain":
                self._error(phone, render("refused_not_on_chain", member.lang, code=case.code))
            else:
                self._error(phone, render("refused_merge", member.lang, code=case.code))
            return f"refused:{refused.reason}"
        return "merge"

    # -- residents ---------------------------------------------------------------------
    def _from_resident(self, phone: str, text: str, message: dict, body: str, message_id: str | None) -> str:
        Intent = resident_sms.Intent
        said = resident_sms.classify(text)
        # Answered in the language they wrote in; digits alone ("1", "查询" aside) say none,
        # and a question about a report is then answered in that report's language.
        written = resident_sms.language_of(text, said.code)
        lang = written or "zh"
        now = self._clock()
        # A blocked phone is answered nothing and changes nothing. Its reports are refused
        # in their own write (services.intake), so the check costs a report no request.
        if said.intent not in (Intent.REPORT, Intent.COURTESY) and self._blocked(phone):
            return "blocked"
        if said.intent is Intent.STOP:
            if self._contacts.set_opted_out(phone, True, now):    # confirmed once, then silence
                self._sms.send(phone, render("opted_out", lang))
            return "stop"
        if said.intent is Intent.START:
            if self._contacts.set_opted_out(phone, False, now):
                self._sms.send(phone, render("opted_in", lang))
            return "start"
        if said.intent is Intent.HELP:
            self._sms.send(phone, render("reporter_help", lang))
            return "help"
        if said.intent is Intent.QUERY:
            return self._query(phone, said.code, written, resident=True)
        if said.intent in (Intent.SATISFIED, Intent.UNSATISFIED):
            return self._feedback(phone, said, written, resident=True)
        if said.intent is Intent.COURTESY:
            return "ignored"
        if said.intent is Intent.REPORT and self._orders is not None and resident_sms.not_done_reason(text):
            answered = self._orders.feedback(phone, False, resident_sms.not_done_reason(text) or "")
            if answered is not None:     # "2 没人来" to an order waiting for this phone's answer
                return answered
        if said.intent is Intent.REPORT and self._orders is not None:   # 点单, or asking for a service
            ordered = self._orders.from_resident(phone, text, lang, sms_seed(message, body, message_id))
            if ordered is not None:
                return ordered
        if said.intent is Intent.MEMBER_COMMAND:
            self._error(phone, render("unknown_sender", lang), resident=True)
            return "unknown_sender"
        if said.intent is Intent.TOO_SHORT:
            self._error(phone, render("reporter_help", lang), resident=True)
            return "unparsable"
        return self._report(phone, text, message, body, message_id, lang)

    def _report(self, phone: str, text: str, message: dict, body: str, message_id: str | None,
                lang: str = "zh") -> str:
        """A new report by SMS: placed, stored (once per inbound message) and routed at once;
        or, with no known place, handed to the member on triage duty."""
        if self._intake is None:
            raise PermanentFailure("this deployment takes no reports by SMS")
        directory = self._directory()
        placement = sms_intake.place(directory, phone, text, message.get("to"))
        if placement is None:
            raise PermanentFailure("no community in the directory to take an SMS report")
        now = self._clock()
        try:
            case, _ = self._intake.submit_sms(phone, text, placement.community_id, placement.location,
                                              sms_seed(message, body, message_id), lang=lang)
        except Blocked as blocked:
            log.warning("SMS report ignored: %s", blocked)     # the sender's pseudonym, not the phone
            return "blocked"
        except RateLimited as limited:
            self._over_limit(phone, render("reports_limited", lang), REPORTS_REFUSED, limited, "report")
        community = directory.communities[case.community_id]
        if not sms_intake.awaits_place(case, community):
            self._workflow.route(case)
            return f"report:{placement.how}"
        self._workflow.remind_triage(case, community, None, now)
        return "report:triage"


    def _blocked(self, phone: str) -> bool:
        if self._blocklist is None or not self._blocklist.blocked(sender_key(phone=phone)):
            return False
        log.warning("SMS ignored: %s is on the block list", sender_key(phone=phone))
        return True

    # -- anyone ------------------------------------------------------------------------
    def _query(self, phone: str, code: str | None, lang: str | None, resident: bool) -> str:
        """查询 CODE: the case's status at the public view's level of detail (no names, no
        phones); 查询 alone: the latest report from this phone. Asked for: not rate-limited,
        and answered even after 退订. `lang` None: the reporter's language, else Chinese."""
        if code is None:
            code = self._latest_code(phone)
            if code is None:
                self._error(phone, render("no_reports", lang or "zh"), resident=resident)
                return "query:no_report"
        case = self._cases.get(code)
        if case is None and self._orders is not None and self._orders.query(phone, code, lang):
            return "query:order"
        if case is None:
            self._error(phone, render("unknown_case", lang or "zh", code=code), resident=resident)
            return "query:unknown_case"
        lang = lang or (case.reporter_lang if phone == case.reporter_phone else "zh")
        self._sms.send(phone, self.status_text(case, lang, phone))
        return "query"

    def _latest_code(self, phone: str) -> str | None:
        """The phone's latest report, or the latest case it follows if that is newer."""
        latest = self._cases.reported_by(phone, limit=1)
        best = (latest[0].at, latest[0].code) if latest else None
        for code in self._follows.followed_by(phone) if self._follows is not None else ():
            followed = self._cases.get(code)
            if followed is not None and (best is None or followed.created_at > best[0]):
                best = (followed.created_at, followed.code)
        return best[1] if best else None

    def status_text(self, case: Case, lang: str, asker: str | None = None) -> str:
        directory = self._directory()
        community = directory.communities.get(case.community_id)
        name = community.name.get(lang, community.name.get("zh", community.id)) if community else case.community_id
        categories = self._intake.categories if self._intake is not None else {}
        category = categories.get(case.category, {}).get("name", {}).get(lang, case.category)
        role = ROLE_NAMES.get(case.level_role or "", {}).get(lang, case.level_role or "")
        template = f"status_{case.status.value}"
        if case.status is Status.RECEIVED and sms_intake.awaits_place(case, community):
            template = "status_triage"
        elif (case.status is Status.RESOLVED and asker
              and case.awaits_feedback_from(case.resident_address(asker) or "")):
            template = "status_awaiting_feedback"
        return render(template, lang, community=name, code=case.code, category=category, role=role,
                      into=case.duplicate_of or "")

    def _feedback(self, phone: str, answer: resident_sms.ResidentMessage, lang: str | None,
                  resident: bool) -> str:
        """1 / 满意 or 2 / 不满意: the call-back's answer, about this phone's latest resolved
        report (or the one whose code it gives). A repeat changes nothing and gets no answer.
        `lang` None (a bare 1 or 2): answered in the report's language."""
        case = self._feedback_case(phone, answer.code)
        waiting = case is not None and case.awaits_feedback_from(case.resident_address(phone) or "")
        if self._orders is not None and not waiting:     # an order done, waiting for this phone's answer
            confirmed = self._orders.feedback(phone, answer.intent is resident_sms.Intent.SATISFIED)
            if confirmed is not None:
                return confirmed
        if case is None:
            self._error(phone, render("no_feedback_case", lang or "zh"), resident=resident)
            return "feedback:none"
        who = case.resident_address(phone)
        lang = lang or case.resident_contact(who)[1]
        satisfied = answer.intent is resident_sms.Intent.SATISFIED
        now = self._clock()
        try:
            case = self._workflow.change(case, lambda current: current.feedback(
                satisfied, now, self._workflow.policy_for(current), who=current.resident_address(phone) or who))
        except TransitionRefused:
            self._error(phone, render("no_feedback_case", lang), resident=resident)
            return "feedback:refused"
        # Saved first; a redelivery of this answer (a crash now) settles the points again, once.
        settle_case_credits(case, self._points, self._policy)
        self._notices.deliver(case)
        return answer.intent.value

    def _feedback_case(self, phone: str, code: str | None) -> Case | None:
        """The case a call-back answer from `phone` is about: the one whose code it gives, else
        one waiting for this phone's answer (its own reports first, then the cases it follows:
        its reports merged into another, its "me too"s), else its latest; None when the phone
        is a resident of none of them."""
        reported = self._cases.reported_by(phone)
        refs = [ref for ref in reported if ref.code == code] if code is not None else (
            [ref for ref in reported if ref.awaiting_feedback] + [ref for ref in reported if not ref.awaiting_feedback])
        codes = [ref.code for ref in refs]
        if code is not None and not codes:
            codes = [code]                       # a case it follows: checked below
        elif code is None and self._follows is not None:
            codes += [c for c in self._follows.followed_by(phone) if c not in codes]
        fallback = None
        for index, candidate in enumerate(codes):
            case = self._cases.get(candidate)
            if case is None:
                if index < len(refs):
                    raise ConcurrentUpdate(candidate)     # the index is ahead of the table: retry
                continue
            case = followed_case(self._cases, case)
            who = case.resident_address(phone)
            if who is None:
                continue
            if case.awaits_feedback_from(who):
                return case
            fallback = fallback or case
        return fallback

    def _over_limit(self, phone: str, text: str, counter: str, limited: RateLimited, what: str) -> NoReturn:
        """A phone over its limit of new reports (or orders): one polite answer per window
        (`counter`'s), then silence; the message is kept in the dead-letter queue, not made
        a `what`."""
        if (not self._contacts.opted_out(phone)
                and self._contacts.allow(phone, counter, 1, limited.window, self._clock())):
            self._sms.send(phone, text)
        raise PermanentFailure(f"more than {limited.limit} new {what}s from one phone within "
                               f"{limited.window / 3600:g} h: kept here, not made a {what}") from None

    def _error(self, phone: str, text: str, resident: bool = False) -> bool:
        """Send a reply that says something went wrong, unless the phone opted out (a
        resident) or has had its ERROR_REPLIES this hour: then nothing."""
        if resident and self._contacts.opted_out(phone):
            return False
        limit = ERROR_REPLIES
        if not self._contacts.allow(phone, limit.counter, limit.limit, limit.window, self._clock()):
            log.info("error reply not sent: more than %d within %gs to one phone", limit.limit, limit.window)
            return False
        self._sms.send(phone, text)
        return True

    def _action(self, command: sms.Command, member_id: str, target: str | None,
                now: float, on_duty: bool = False) -> Callable[[Case], bool]:
        """The transition a member's command asks for. `on_duty`: the member is on triage
        duty, on the committee or the area chief of the case's community (取消)."""
        A = sms.Action

        def act(current: Case) -> bool:
            policy = self._workflow.policy_for(current)
            if command.action is A.ACKNOWLEDGE:
                return current.acknowledge(member_id, now, policy)
            if command.action is A.RESOLVE:
                return current.resolve(member_id, now, policy)
            if command.action is A.EXTEND:
                return current.request_extension(member_id, command.days or 0, command.reason, now)
            if command.action in (A.APPROVE, A.REFUSE):
                return current.decide_extension(member_id, command.action is A.APPROVE, policy, now)
            if command.action is A.SUSPEND:
                return current.suspend(member_id, command.reason, policy, now)
            if command.action is A.RESUME:
                return current.resume(member_id, policy, now)
            if command.action is A.CANCEL:
                return current.cancel(member_id, command.reason, now, on_duty=on_duty)
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


def sms_seed(message: dict, body: str, message_id: str | None) -> str:
    """What makes an inbound SMS one report however often it arrives: the gateway's own
    message id (a gateway that retries its webhook sends the same one), else the SQS
    message id, else the queued message itself (which holds the time it was received)."""
    gateway_id = message.get("gateway_message_id")
    if gateway_id:
        return f"sms:{message.get('gateway') or 'sms'}:{gateway_id}"
    if message_id:
        return f"sqs:{message_id}"
    return "sms:" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _ProcessContacts:
    """ContactPreferences kept in this process only: for a workflow built without the
    contacts table (tools, benchmarks). The composition root always gives the table."""

    def __init__(self) -> None:
        self._opted: set[str] = set()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def opted_out(self, phone: str) -> bool:
        return phone in self._opted

    def set_opted_out(self, phone: str, opted_out: bool, now: float) -> bool:
        changed = opted_out != (phone in self._opted)
        (self._opted.add if opted_out else self._opted.discard)(phone)
        return changed

    def allow(self, phone: str, counter: str, limit: int, window: float, now: float) -> bool:
        start, count = self._windows.get((phone, counter), (now, 0))
        if now - start >= window:
            start, count = now, 0
        self._windows[(phone, counter)] = (start, count + 1)
        return count + 1 <= limit


REFUSALS = {
    "not_on_chain": "refused_not_on_chain",
    "suspended": "refused_suspended",
    "extension_days": "refused_extension", "extension_pending": "refused_extension",
    "no_supervisor": "refused_extension", "no_extension_pending": "refused_no_extension",
    "reason_required": "refused_cancel_reason",
}


def _refusal_template(reason: str) -> str:
    if reason in REFUSALS:
        return REFUSALS[reason]
    if reason.startswith("not_extendable_"):
        return "refused_extension"
    if reason.startswith("not_cancellable_"):
        return "refused_not_cancellable"
    if reason.startswith("not_allowed_"):
        return "refused_not_allowed"
    return "refused_closed"
