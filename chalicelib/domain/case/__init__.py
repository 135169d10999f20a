"""A case: one resident's report as it moves up the grid until someone closes it.

Every transition is a method that checks it is allowed, changes the state,
appends to the history and queues the notices it causes in the case's outbox.
The outbox is saved with the state in one write, and delivered afterwards, so a
crash between the two never loses a notice (see services.notices).

`Case` (aggregate.py) is one dataclass, saved whole; its transitions are grouped by concern
into mixins it is composed of:

- model.py: the value types (Status, Authority, Event, Notice, TransitionRefused) and HEARS;
- routing.py: route and escalate up the chain;
- clocks.py: the timers, the limits the case adopted, yellow/red supervision (督办), take-over;
- member_actions.py: the members' SMS commands (收到, 完成, 满意/不满意, 延期, 挂起/恢复, 转办, 取消);
- triage.py: the reporter's code, and triage of an SMS report nobody can place;
- operator_actions.py: the office's commands (services.ops), ops_* events;
- duplicates.py: the residents who follow a case ("me too", folded and merged reports), and
  a report merged into another (status duplicate);
- outbox.py: the notices queued, held, sent and failed.

Why mixins: the aggregate stays one object with one set of fields, so the conditional write,
`to_dict`/`from_dict` and every caller (`case.acknowledge(...)`) are unchanged, and each
concern reads in one file. The mixins hold no state and are never used alone: their methods
work on the fields `Case` declares, and call each other's helpers (`_record`, `_notify`,
`_set_timer`, `_policy`) through `self`. Import everything from this package.
"""
from ..policy import DEFAULT_CALLBACK_SECONDS
from .aggregate import Case
from .member_actions import MAX_EXTENSION_DAYS
from .model import (
    HEARS,
    OPEN_STATUSES,
    REPORTER,
    TOLD_TO_ACT,
    Authority,
    Event,
    Notice,
    Status,
    TransitionRefused,
    co_reporter_address,
    is_resident_address,
)
from .operator_actions import NEEDS_DETAILS, ops_detail, ops_note
from .outbox import HOLDABLE
from .triage import TRIAGE_TIMER

__all__ = [
    "DEFAULT_CALLBACK_SECONDS", "HEARS", "HOLDABLE", "MAX_EXTENSION_DAYS", "NEEDS_DETAILS", "OPEN_STATUSES",
    "REPORTER", "TOLD_TO_ACT", "TRIAGE_TIMER", "Authority", "Case", "Event", "Notice", "Status",
    "TransitionRefused", "co_reporter_address", "is_resident_address", "ops_detail", "ops_note",
]
