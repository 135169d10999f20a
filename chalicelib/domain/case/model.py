"""The words of a case: its statuses, who may act on it (Authority), who hears of what
(HEARS), the events of its history and the notices of its outbox. Value types only: the
aggregate that uses them is Case (aggregate.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):   # noqa: UP042 - StrEnum would change str() and format() of every status
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"     # merged into another case (duplicate_of), whose residents it joined


OPEN_STATUSES = frozenset({Status.RECEIVED, Status.ASSIGNED, Status.ACKNOWLEDGED})
# A notice addressed to the resident who reported the case, at the phone they gave; a
# resident who reported the same problem too (a co-reporter) is "@reporter:<n>", n from 1.
REPORTER = "@reporter"


def co_reporter_address(number: int) -> str:
    return f"{REPORTER}:{number}"


def is_resident_address(member_id: str | None) -> bool:
    """Whether a notice's recipient is a resident (the reporter or a co-reporter), not a member."""
    return member_id == REPORTER or (member_id or "").startswith(REPORTER + ":")


class Authority(str, Enum):   # noqa: UP042 - as Status
    HOLDER = "holder"
    ABOVE = "above"        # a member of a level above the holder on this case's chain
    FOLLOWER = "follower"  # 跟办 at the holder's level: may resolve, not acknowledge
    OVERSIGHT = "oversight"  # the committee (两委督办) or the area chief (片长总领), not on the chain above
    NONE = "none"


# Who hears of which event, by their responsibility on the case. Every message names
# the reply its recipient can make — acknowledge or take over (收到), resolve (完成),
# decide an extension (同意/不同意) — or tells them to stand down from work they were
# given (escalated_away, taken_over, transferred_away, suspended). The lead, the
# committee and the volunteers hear nothing else: they follow cases in the digest and
# the reports, and are only messaged when there is something for them to do.
HEARS: dict[str, str] = {
    "assigned": "handle", "escalated_to_you": "handle", "reminder": "handle",
    "transferred_to_you": "handle", "reopened_to_you": "handle", "resolved": "handle",
    "resolve_warning": "handle", "resolve_overdue": "handle",
    "extension_submitted": "handle", "extension_approved": "handle", "extension_refused": "handle",
    "suspended": "handle", "resumed": "handle",
    "follow": "follow",                          # the step's 跟办: may resolve
    "urgent_together": "above",                  # urgent: the levels told at once, may take over
    "supervise_yellow": "above", "supervise_red": "above",   # may take over
    "extension_requested": "above",              # may approve or refuse
    "reporter_received": "reporter", "reporter_resolved": "reporter",   # the resident: 查询, 1 / 2
    "escalated_away": "stand_down", "taken_over": "stand_down", "transferred_away": "stand_down",
    "case_cancelled": "called_off",   # 取消: everyone told to act on it and not stood down since
    "case_closed": "called_off",      # closed by the office (ops): the same people, told to stop
    "case_merged": "called_off",      # 合并: a duplicate joined another case, its work ends there
    "duplicate_reported": "handle",   # an urgent case: another resident reported it too
}
# The kinds of HEARS that ask their recipient to act on the case; the stand-downs end that.
TOLD_TO_ACT = frozenset({"handle", "follow", "above"})


class TransitionRefused(Exception):
    """The actor may not do this to the case; the case is unchanged."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason   # machine word: not_on_chain, already_resolved, ...


@dataclass(frozen=True)
class Event:
    at: float
    event: str
    level: int | None = None
    actor: str | None = None          # member id, when a person did it
    detail: str | None = None


@dataclass(frozen=True)
class Notice:
    """One message a transition causes, waiting in the outbox until sent."""
    id: str                 # "<code>.<n>": unique, stable across retries
    member_id: str
    template: str           # key into the message catalogue
    params: dict[str, Any] = field(default_factory=dict)
    not_before: float | None = None   # held back until then (quiet hours); None: send now
