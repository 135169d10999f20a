"""What anyone with a report's code may know of it, in the resident's terms: the status page.

The same level of detail as the public view (`GET /reports/{code}`) and `查询 CODE`: the
status, the steps of its history a resident cares about, each with the role that had the
case (stairwell leader, grid member, ...), and when the case's own clock expects the next
step. Never a name, a phone, an actor's id or a reason someone wrote: a step carries only
its time, its kind and a role code, which the page puts into words.
"""
from __future__ import annotations

from dataclasses import dataclass

from .case import Case, Status
from .directory import Community
from .sms_intake import awaits_place

# The history's events a resident sees, as the step they are shown as; every other event
# (notices, reminders, supervision, skipped levels, operators' views, ...) stays internal.
STEPS = {
    "received": "received",
    "triage": "triage",                 # an SMS report waiting for its place
    "located": "located",
    "unroutable": "waiting",            # nobody on its chain at home yet: tried again
    "assigned": "assigned",
    "ops_reassigned": "assigned",
    "escalated": "escalated",
    "ops_escalated": "escalated",
    "taken_over": "taken_over",
    "transferred": "transferred",
    "acknowledged": "acknowledged",
    "extension_approved": "extended",
    "suspended": "suspended",
    "resumed": "resumed",
    "resolved": "resolved",
    "reopened": "reopened",
    "closed": "closed",
    "cancelled": "cancelled",
    "merged": "merged",                 # this report joined another case (duplicate_of)
    "followed": "followed",             # another resident: "me too"
    "merged_in": "followed",            # ... or their report joined this one
}
# Steps that name the role holding the case at the event's level.
WITH_ROLE = frozenset({"assigned", "escalated", "taken_over", "transferred", "acknowledged", "extended",
                       "resolved", "reopened"})
# The words of the status (the page says each in a sentence).
STATES = ("received", "triage", "assigned", "acknowledged", "suspended", "resolved", "closed", "cancelled",
          "duplicate")


@dataclass(frozen=True)
class Step:
    at: float
    kind: str                 # a value of STEPS
    role: str | None = None   # a role code (directory.ROLE_NAMES), for the kinds in WITH_ROLE


@dataclass(frozen=True)
class Expected:
    """The next step the case's clock waits for, and when it is due."""
    step: str                 # "acknowledged" (to be taken on) or "resolved"
    at: float
    role: str | None


@dataclass(frozen=True)
class PublicStatus:
    code: str
    state: str                # one of STATES
    category: str
    location: str
    community_id: str
    role: str | None          # who holds it now (a role code), once routed
    steps: tuple[Step, ...]
    expected: Expected | None
    affected: int = 1         # how many residents reported it (the reporter and every follower)
    duplicate_of: str | None = None   # state duplicate: the code of the case it joined


def public_status(case: Case, community: Community | None) -> PublicStatus:
    roles = {rung.level: rung.role for rung in case.chain}
    steps = []
    for event in case.history:
        kind = STEPS.get(event.event)
        if kind is None:
            continue
        role = roles.get(event.level) if kind in WITH_ROLE and event.level is not None else None
        steps.append(Step(event.at, kind, role))
    return PublicStatus(case.code, _state(case, community), case.category, case.location, case.community_id,
                        case.level_role if case.is_open else None, tuple(steps), _expected(case),
                        affected=case.affected, duplicate_of=case.duplicate_of)


def _state(case: Case, community: Community | None) -> str:
    if case.is_open and case.is_suspended:
        return "suspended"
    if case.status is Status.RECEIVED and awaits_place(case, community):
        return "triage"
    return case.status.value


def _expected(case: Case) -> Expected | None:
    """From the case's own clock: an assigned case is due to be taken on by its acknowledge
    deadline, an acknowledged one resolved by its resolve limit. None while it is being
    routed, is suspended (its clocks stopped) or is over."""
    if case.is_suspended:
        return None
    if case.status is Status.ASSIGNED and case.timer == "ack" and case.due_at is not None:
        return Expected("acknowledged", case.due_at, case.level_role)
    if case.status is Status.ACKNOWLEDGED and case.resolve_due_at is not None:
        return Expected("resolved", case.resolve_due_at, case.level_role)
    return None
