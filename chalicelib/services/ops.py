"""The operators' commands: what the `ops` function and `python -m tools.ops` do.

`run` takes a command as JSON (domain.ops parses and checks it) and answers JSON:
`{"ok": true, "command": ..., ...}`, or `{"ok": false, "error": {"code", "message", "field"}}`
for a command that is wrong or refused, in which case nothing changed. A failure of ours (AWS
unreachable) raises, so that it counts as the function's error.

Every change to a case goes through the case's own transitions (Case.operator_*), saved as
the workers save theirs (CaseWorkflow.change: conditional, retried on a concurrent change)
and recorded as an ops_* event by "ops:<operator>", with the reason and the request id.
Answers may carry personal data (show with "personal": true): they go back to the caller
only; the log names cases by code and operators by login, nothing else.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.domain import ops
from chalicelib.domain.case import Case, TransitionRefused, ops_detail, ops_note
from chalicelib.domain.directory import Directory
from chalicelib.domain.policy import Policies

from .notices import NoticeDelivery
from .order_ops import OrderOpsMixin
from .ports import CaseRepository

log = logging.getLogger("gridloop.ops")
log.setLevel(logging.INFO)     # each command is an audit line; the app logger stays at WARNING

# Why a transition was refused, for a person at the console.
REFUSALS = {
    "level_changed": "the case is no longer at from_level (someone acted on it since): look again with show",
    "at_top": "the case is at the top of its chain with nobody above: reassign it instead",
    "suspended": "the case is suspended (挂起): it must be resumed first",
    "no_such_notice": "no such notice on this case (show lists them)",
    "not_resendable": "that notice's words need details not kept once it was sent; it cannot be resent",
    "not_closable_cancelled": "a cancelled case cannot be closed",
    "merge_unknown_case": "no case with the code in into",
    "merge_same_case": "a case cannot be merged into itself",
    "merge_other_community": "both cases must be of the same community",
    "merge_into_duplicate": "into is itself a duplicate: merge into the case it joined (show says which)",
    "already_merged": "the case was merged into another case already (show says which)",
}


class Redrive(Protocol):
    def move(self, purpose: str, limit: int) -> dict[str, Any]:
        """Move up to `limit` messages from gridloop-{stage}-{purpose}-dlq back to the queue."""


class OpsService(OrderOpsMixin):
    def __init__(self, cases: CaseRepository, workflow: Any, notices: NoticeDelivery,
                 directory: Callable[[], Directory], policies: Policies, clock: Callable[[], float],
                 directory_admin: Callable[[], Any], redrive: Redrive, directory_ttl: float = 300,
                 weekly_reports: Callable[[], Any] | None = None, api_keys: Callable[[], Any] | None = None,
                 points: Callable[[], Any] | None = None, orders: Callable[[], Any] | None = None):
        self._cases, self._workflow, self._notices = cases, workflow, notices
        self._directory, self._policies, self._clock = directory, policies, clock
        self._directory_admin, self._redriver, self._ttl = directory_admin, redrive, directory_ttl
        self._weekly_reports = weekly_reports      # services.weekly.WeeklyReports, built when asked
        self._api_keys = api_keys                  # services.api_keys.ApiKeys (Open311), built when asked
        self._points = points                      # services.points.PointsBank, built when asked
        self._orders = orders                      # services.orders.OrderService (order_ops), built when asked

    def run(self, event: Any, request: str | None = None) -> dict[str, Any]:
        """One command; `request` says where it came from (the Lambda request id, the CLI's host)."""
        command = ops.parse(event)
        if isinstance(command, ops.Rejected):
            log.warning("ops command rejected: %s (%s)", command.code, command.field)
            return command.to_dict()
        answer = getattr(self, "_" + command.name.replace("-", "_"))(command, request)
        outcome = "ok" if answer.get("ok") else answer["error"]["code"]
        log.info("ops %s%s by %s: %s (request %s)", command.name, f" {command.case}" if command.case else "",
                 command.actor, outcome, request)
        return answer

    # -- reading ---------------------------------------------------------------------------
    def _show(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        if command.personal:   # who read a resident's phone is kept on the case
            case = self._workflow.change(case, lambda current: current.operator_viewed(
                command.actor, None, self._clock(), request))
        return _ok(command, case=self._view(case, command.personal))

    def _overdue(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """Open cases past their clock, oldest deadline first, from the sweep's sparse index
        (one Query per shard, no Scan), then each case read to tell its state."""
        now = self._clock()
        due = sorted(self._cases.due(now), key=lambda item: item[1])
        rows = []
        for code, _ in due:
            case = self._cases.get(code)
            if (case is None or not case.is_open or case.due_at is None or case.due_at > now
                    or (command.community and case.community_id != command.community)):
                continue      # resolved awaiting its call-back, a held notice, another community
            rows.append({"code": case.code, "community": case.community_id, "status": case.status.value,
                         "level": case.level, "level_role": case.level_role, "holder": case.holder,
                         "timer": case.timer, "due_at": _iso(case.due_at),
                         "overdue_minutes": int((now - case.due_at) // 60),
                         "at_top": not any(r.level > case.level and r.holder for r in case.chain)})
            if len(rows) >= command.limit:
                break
        return _ok(command, at=_iso(now), count=len(rows), complete=len(rows) < command.limit, cases=rows)

    # -- changing a case -------------------------------------------------------------------
    def _reassign(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        now = self._clock()
        community = self._directory().communities.get(case.community_id)
        member = community.members.get(command.member) if community else None
        if member is None or not member.available(now):
            return _error("invalid_field", f"{command.member} is not an available member of {case.community_id} "
                                           "(at home, not on leave)", "member")
        return self._apply(command, case, lambda current: current.operator_reassign(
            command.actor, member.id, command.reason, self._policy(current), now, request))

    def _escalate(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        now = self._clock()
        return self._apply(command, case, lambda current: current.operator_escalate(
            command.actor, command.from_level, command.reason, self._policy(current), now, request))

    def _close(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        return self._apply(command, case, lambda current: current.operator_close(
            command.actor, command.reason, self._clock(), request))

    def _cancel(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        return self._apply(command, case, lambda current: current.operator_cancel(
            command.actor, command.reason, self._clock(), request))

    def _merge(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """合并 by the office: `case` repeats `into` and joins it (services.duplicates). Run again,
        it changes nothing (changed false)."""
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        before = case.status
        try:
            original, duplicate = self._workflow.duplicates.merge(
                case, command.into, actor=command.actor, detail=ops_note(command.reason, request, into=command.into))
        except TransitionRefused as refused:
            reason = refused.reason
            if reason.startswith("not_mergeable"):
                message = f"both cases must be open ({reason.rsplit('_', 1)[-1]} now)"
            else:
                message = REFUSALS.get(reason, f"refused: {reason}")
            return _error(reason, message, "into" if reason.startswith(("merge_", "not_mergeable_into")) else "case")
        return _ok(command, changed=before is not duplicate.status, case=self._view(duplicate, personal=False),
                   into=self._view(original, personal=False))

    def _resend(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        case = self._cases.get(command.case)
        if case is None:
            return _not_found(command.case)
        resent: list[Any] = []

        def resend(current: Case) -> bool:
            resent[:] = [current.operator_resend(command.actor, self._clock(), command.notice, command.member, request)]
            return True
        answer = self._apply(command, case, resend)
        if answer["ok"]:
            notice = resent[0]
            answer["notice"] = {"id": notice.id, "template": notice.template, "member": notice.member_id,
                                "sent": not any(n.id == notice.id for n in self._cases.get(case.code).outbox)}
        return answer

    def _apply(self, command: ops.Command, case: Case, mutate: Callable[[Case], bool]) -> dict[str, Any]:
        """Save the change as the workers do, then send its notices. `changed` false: the
        command had been run already (a console test event run again), nothing was done."""
        changed: list[bool] = []      # what the last try (after any concurrent change) did

        def tried(current: Case) -> bool:
            changed[:] = [mutate(current)]
            return changed[0]
        try:
            saved = self._workflow.change(case, tried)
        except TransitionRefused as refused:
            return _error(refused.reason, REFUSALS.get(refused.reason, f"refused: {refused.reason}"), None)
        answer = _ok(command, changed=changed == [True])
        try:
            saved = self._notices.deliver(saved)
        except Exception as error:   # the change stands; its notices wait in the outbox
            log.warning("ops %s %s: notices not sent: %s", command.name, case.code, type(error).__name__)
            answer["notices_pending"] = f"not sent ({type(error).__name__}); run resend to try again"
        answer["case"] = self._view(saved, personal=False)
        return answer

    # -- the directory ---------------------------------------------------------------------
    def _directory_import(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        from chalicelib.domain.directory_io import DirectoryImportError
        from chalicelib.services.ports import DirectoryConflict

        try:
            result = self._directory_admin().import_community(
                command.document, command.format, command.actor, community_id=command.community,
                dry_run=command.dry_run)
        except DirectoryImportError as error:
            return {**_error("invalid_directory", f"{len(error.problems)} problem(s); nothing was changed", "document"),
                    "problems": [str(p) for p in error.problems], "warnings": [str(w) for w in error.warnings]}
        except DirectoryConflict:
            return _error("conflict", "the directory changed meanwhile; nothing was changed: run it again", None)
        return _ok(command, community=result.community_id, applied=result.applied, dry_run=command.dry_run,
                   version=result.version, previous_version=result.previous_version, summary=result.summary,
                   warnings=[str(w) for w in result.warnings],
                   note=(f"the functions use it within {self._ttl:g} s (their directory cache)"
                         if result.applied else None))

    def _directory_export(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        try:
            document = self._directory_admin().export_community(command.community, command.format,
                                                                version=command.version)
        except LookupError as error:       # UnknownCommunity, or no such version
            return _error("not_found", str(error).strip("'\""), "community")
        return _ok(command, community=command.community, format=command.format, document=document)

    # -- dead letters ----------------------------------------------------------------------
    def _redrive(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        return _ok(command, queue=command.queue, **self._redriver.move(command.queue, command.max))

    def _weekly_report(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """The joint meeting's weekly report (services.weekly) on demand: built from the SLA
        facts now, or as it was sent that week (`stored`); the page too with `html`."""
        from chalicelib.domain.weekly import InvalidWeek
        from chalicelib.services.weekly import UnknownCommunity

        if self._weekly_reports is None:
            return _error("unavailable", "this ops function has no weekly reports", "command")
        reports = self._weekly_reports()
        try:
            if command.stored:
                if command.week is None:
                    return _error("missing_field", "stored needs the week it was sent for", "week")
                report = reports.stored(command.community, command.week)
                if report is None:
                    return _error("not_found", f"no report of {command.community} was sent for {command.week}", "week")
            else:
                report = reports.build(command.community, command.week)
        except UnknownCommunity:
            return _error("not_found", f"no community {command.community}", "community")
        except InvalidWeek as error:
            return _error("invalid_field", str(error), "week")
        fields: dict[str, Any] = {"report": report}
        if command.html:
            fields["html"] = reports.html(report)
        return _ok(command, **fields)

    # -- Open311 API keys (docs/open311.md "API keys") ---------------------------------------
    def _api_key_issue(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """A new key for the client: in this answer only (the table keeps its hash). Each run
        issues another key; a key handed out by mistake is revoked, not reissued."""
        if self._api_keys is None:
            return _error("unavailable", "this ops function has no API keys", "command")
        key, issued = self._api_keys().issue(command.client, command.actor)
        log.info("ops api-key-issue: key %s for %s by %s", issued.key_id, issued.client, command.actor)
        return _ok(command, client=issued.client, key_id=issued.key_id, api_key=key,
                   created_at=_iso(issued.created_at),
                   note="the api_key is shown only here, once: hand it over now; api-key-revoke with its "
                        "key_id stops it")

    def _api_key_revoke(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        if self._api_keys is None:
            return _error("unavailable", "this ops function has no API keys", "command")
        revoked = self._api_keys().revoke(command.key_id, command.actor)
        if revoked is None:
            return _error("not_found", f"no API key {command.key_id} (api-key-list shows them)", "key_id")
        client, changed = revoked
        return _ok(command, changed=changed, entry=_api_client(client))

    def _api_key_list(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        if self._api_keys is None:
            return _error("unavailable", "this ops function has no API keys", "command")
        return _ok(command, keys=[_api_client(c) for c in self._api_keys().listed()])

    # -- the points bank (docs/points.md) ---------------------------------------------------
    def _points_statement(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """An account's entries of a month (this month unless `month`), and its balance now."""
        from chalicelib.domain.points import month_of

        account = self._points_account(command)
        if isinstance(account, dict):
            return account
        bank = self._points()
        month = command.month or month_of(self._clock())
        entries = bank.statement(account, month)
        return _ok(command, community=command.community, account=account, month=month,
                   balance=bank.account_balance(account), count=len(entries),
                   entries=[_points_entry(e, account) for e in entries])

    def _points_credit(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """Points for a community event attended or a civility activity, entered by the
        committee: once per event and account (run again, changed false)."""
        from chalicelib.domain.points import PointsRefused, branch_account

        account = self._points_account(command)
        if isinstance(account, dict):
            return account
        bank = self._points()
        entry_id = f"event:{command.community}:{command.event}:{account}"
        before = bank.entry(entry_id)
        try:
            entry = bank.credit_event(community_id=command.community, account=account, event=command.event,
                                      points=command.points, at=self._clock())
        except PointsRefused as refused:
            return _points_refused(refused, command)
        if entry is None:
            return _error("reversed", f"{entry_id} was reversed before it was credited: it cannot be credited",
                          "event")
        answer = _ok(command, changed=before is None, account=account, entry=_points_entry(entry, account),
                     balance=bank.account_balance(account))
        if before is not None and before.points != command.points:
            answer["note"] = (f"credited before with {before.points} points (not {command.points}): "
                              f"an event is credited once; {branch_account(command.community)} issued it")
        return answer

    def _points_redeem(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """A points-shop item taken for points: the receipt is the entry (run again, changed false)."""
        from chalicelib.domain.points import PointsRefused

        account = self._points_account(command)
        if isinstance(account, dict):
            return account
        bank = self._points()
        before = bank.entry(f"redeem:{command.community}:{command.receipt}")
        try:
            entry = bank.redeem(community_id=command.community, account=account, item=command.item,
                                receipt=command.receipt, at=self._clock())
        except PointsRefused as refused:
            return _points_refused(refused, command, held=bank.account_balance(account))
        return _ok(command, changed=before is None, account=account, receipt=command.receipt,
                   entry=_points_entry(entry, account), balance=bank.account_balance(account),
                   stock=bank.stock(command.community, command.item))

    def _shop_restock(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        from chalicelib.domain.points import PointsRefused

        if self._points is None:
            return _error("unavailable", "this ops function has no points bank", "command")
        try:
            stock = self._points().restock(command.community, command.item, command.count)
        except PointsRefused as refused:
            return _points_refused(refused, command)
        return _ok(command, community=command.community, item=command.item, added=command.count, stock=stock)

    def _shop_list(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        from chalicelib.domain.points import PointsRefused

        if self._points is None:
            return _error("unavailable", "this ops function has no points bank", "command")
        try:
            items = self._points().shop(command.community)
        except PointsRefused as refused:
            return _points_refused(refused, command)
        return _ok(command, community=command.community, items=items)

    def _points_account(self, command: ops.Command) -> str | dict[str, Any]:
        """The account the command names (a member of the community, or a household), or the error."""
        from chalicelib.domain.points import household_account, member_account

        if self._points is None:
            return _error("unavailable", "this ops function has no points bank", "command")
        community = self._directory().communities.get(command.community)
        if community is None:
            return _error("not_found", f"no community {command.community}", "community")
        if command.household:
            return household_account(command.community, command.household)
        if command.member not in community.members:
            return _error("invalid_field", f"{command.member} is not a member of {command.community}", "member")
        return member_account(command.community, command.member)

    # -- views -----------------------------------------------------------------------------
    def _policy(self, case: Case):
        return self._policies.for_case(case.community_id, case.category, case.priority)

    def _view(self, case: Case, personal: bool) -> dict[str, Any]:
        """The case as an operator sees it: everything the public view has, and who holds it,
        its chain, its outbox and its whole history with actors and details. The reporter's
        phone, name and words only with `personal`."""
        view = {
            "code": case.code, "id": case.id, "community": case.community_id, "status": case.status.value,
            "level": case.level, "level_role": case.level_role, "holder": case.holder,
            "category": case.category, "location": case.location, "priority": case.priority,
            "source": case.source, "policy_version": case.policy_version, "suspended": case.suspended,
            "timer": case.timer, "due_at": _iso(case.due_at), "resolve_due_at": _iso(case.resolve_due_at),
            "created_at": _iso(case.created_at), "updated_at": _iso(case.updated_at),
            "has_reporter_phone": bool(case.reporter_phone),
            "duplicate_of": case.duplicate_of, "affected": case.affected,
            "followers": [{"via": f.get("via"), "from": f.get("from"), "has_phone": bool(f.get("phone")),
                           "at": _iso(f.get("at"))} for f in case.co_reporters],
            "chain": [{"level": r.level, "role": r.role, "holder": r.holder, "eligible": list(r.eligible)}
                      for r in case.chain],
            "outbox": [{"id": n.id, "member": n.member_id, "template": n.template,
                        "not_before": _iso(n.not_before)} for n in case.outbox],
            "history": [{"at": _iso(e.at), "event": e.event, "level": e.level, "actor": e.actor,
                         "detail": ops_detail(e) or e.detail} for e in case.history],
        }
        if personal:
            view.update(reporter_phone=case.reporter_phone, reporter_name=case.reporter_name,
                        description=case.description, reporter_lang=case.reporter_lang,
                        follower_phones=[f.get("phone") for f in case.co_reporters])
        return view


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if t is not None else None


def _api_client(client: Any) -> dict[str, Any]:
    """An API key as operators see it: its id, never the key or its hash."""
    return {"key_id": client.key_id, "client": client.client, "created_at": _iso(client.created_at),
            "created_by": client.created_by, "revoked": client.revoked, "revoked_at": _iso(client.revoked_at)}


def _points_entry(entry: Any, account: str) -> dict[str, Any]:
    """An entry as the account's statement shows it: signed from the account's side."""
    incoming = entry.credit == account
    return {"id": entry.id, "at": _iso(entry.at), "points": entry.points if incoming else -entry.points,
            "reason": entry.reason, "ref": entry.ref, "other": entry.debit if incoming else entry.credit}


POINTS_REFUSALS = {
    "over_balance": ("the account does not hold enough points for it", "item"),
    "out_of_stock": ("the shop has none of it left: shop-restock adds more", "item"),
    "unknown_item": ("no such item in the community's shop (shop-list shows them)", "item"),
    "unknown_community": ("the community has no points bank (no service catalogue)", "community"),
    "receipt_used": ("that receipt was used for another account or item", "receipt"),
    "receipt_void": ("that receipt's redemption was reversed before it was recorded", "receipt"),
    "unknown_account": ("not an account that earns points", "member"),
}


def _points_refused(refused: Any, command: ops.Command, held: int | None = None) -> dict[str, Any]:
    message, field = POINTS_REFUSALS.get(refused.reason, (f"refused: {refused.reason}", None))
    answer = _error(refused.reason, message, field)
    if held is not None:
        answer["balance"] = held
    return answer


def _ok(command: ops.Command, **fields: Any) -> dict[str, Any]:
    return {"ok": True, "command": command.name, "operator": command.operator,
            **{k: v for k, v in fields.items() if v is not None or k in ("previous_version",)}}


def _error(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


def _not_found(code: str | None) -> dict[str, Any]:
    return _error("not_found", f"no case {code}", "case")
