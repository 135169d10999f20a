"""The escalation policy: for each kind of case, the chain of levels and its two clocks.

The acknowledge clock (接单): not acknowledged in time, the case climbs a level.
The resolve clock (办结), from the acknowledgement: the level above is warned at the
yellow point and supervises (督办) at the limit, while the holder keeps the case.

A community's policy file (chalicelib/data/policies/<community>.json, read by
`PolicyBook`) names several chains — the standard ladder, the mediation room for
disputes, property management for repairs, an urgent chain — and which category (and
priority) takes which. One chain with its limits is an `EscalationPolicy`; a case keeps
a snapshot of the one it started under.

Limits are written as people say them: "30 minutes", "4 hours", "2 days" count
wall-clock time; "4 working hours", "2 working days" count only the office's working
time on the community's working calendar (holidays and 调休 included).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .duplicates import NEVER, DuplicateRule, DuplicateRules, DuplicateRulesError
from .working_calendar import CalendarError, WorkingCalendar

PRIORITIES = ("normal", "urgent")
DEFAULT_CALLBACK_SECONDS = 3 * 86400   # no answer to the call-back in this time: the case closes
CLOCKS = ("ack", "resolve")


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    """One level of a chain: who holds the case there, and who works alongside them."""
    level: int                       # on the grid's ladder: 1 stairwell leader .. 5 area chief
    role: str                        # stairwell_leader, grid_member, ..., mediation_room, ...
    with_roles: tuple[str, ...] = () # 跟办: told with the holder, and may resolve the case too


STANDARD_ROLES = ("stairwell_leader", "grid_member", "grid_chief", "committee", "area_chief")
STANDARD_STEPS = tuple(Step(n, role) for n, role in enumerate(STANDARD_ROLES, start=1))


@dataclass(frozen=True)
class QuietHours:
    """When non-urgent notices wait (a community's night): from `start` to `end`, local
    time, across midnight when `end` is earlier than `start`."""
    start: str = "22:00"
    end: str = "07:00"
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(value)):
                raise PolicyError(f"quiet hours: {value!r} is not a time like \"22:00\"")
        if self.start == self.end:
            raise PolicyError("quiet hours: start and end are the same time")

    def ends_after(self, at: float) -> float | None:
        """The instant the quiet hours that `at` falls in end; None when `at` is not quiet."""
        from datetime import datetime, time, timedelta
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(at, zone)
        start, end = (time.fromisoformat(self.start), time.fromisoformat(self.end))
        now = local.time()
        quiet = (start <= now or now < end) if start > end else (start <= now < end)
        if not quiet:
            return None
        day = local.date() + timedelta(days=1) if (start > end and now >= start) else local.date()
        return datetime.combine(day, end, tzinfo=zone).timestamp()


@dataclass(frozen=True)
class EscalationPolicy:
    """One chain and its limits: what a case runs on."""
    version: str
    ack_seconds: Mapping[int, int]    # level → seconds to acknowledge before the case climbs
    time_scale: float = 1.0           # every duration is divided by this (demos and tests)
    routing_grace_seconds: int = 120  # a stored report not routed by then is routed by the sweep
    resolve_seconds: Mapping[int, int] | None = None   # level → seconds to resolve once acknowledged
    yellow_at: float = 0.8            # share of the resolve limit at which the yellow warning goes out
    working: frozenset[str] = frozenset()   # "ack:3", "resolve:2": limits counted in working time
    calendar: WorkingCalendar | None = field(default=None, compare=False)
    steps: tuple[Step, ...] = STANDARD_STEPS
    together: tuple[int, ...] = ()   # levels told at once when the case is routed (urgent cases)
    urgent: bool = False
    chain: str = "standard"
    callback_seconds: int = DEFAULT_CALLBACK_SECONDS   # the reporter's time to answer the call-back
    quiet_hours: QuietHours | None = None   # when notices that ask nothing urgent wait

    @classmethod
    def from_dict(cls, data: Mapping, time_scale: float = 1.0) -> EscalationPolicy:
        """The single-chain file (chalicelib/data/policy.json): the standard ladder with
        limits in minutes, for a community that has no policy file of its own."""
        if time_scale <= 0:
            raise PolicyError("time scale must be positive")
        limits: dict[int, int] = {}
        resolve: dict[int, int] = {}
        for entry in data["levels"]:
            level, minutes = int(entry["level"]), float(entry["ack_minutes"])
            if level in limits:
                raise PolicyError(f"level {level} is listed twice")
            if minutes <= 0:
                raise PolicyError(f"level {level}: ack_minutes must be positive")
            limits[level] = int(minutes * 60)
            if "resolve_minutes" in entry:
                if float(entry["resolve_minutes"]) <= 0:
                    raise PolicyError(f"level {level}: resolve_minutes must be positive")
                resolve[level] = int(float(entry["resolve_minutes"]) * 60)
        if sorted(limits) != list(range(1, len(limits) + 1)):
            raise PolicyError("levels must be numbered 1..n without gaps")
        if not limits:
            raise PolicyError("the policy has no levels")
        if resolve and set(resolve) != set(limits):
            raise PolicyError("resolve_minutes must be given for every level or for none")
        return cls(version=str(data["version"]), ack_seconds=limits, time_scale=time_scale,
                   routing_grace_seconds=_grace(data), resolve_seconds=resolve or None,
                   yellow_at=_yellow_at(data), steps=STANDARD_STEPS[:len(limits)])

    # -- duck-typed like PolicyBook / Policies, so one chain can stand for all ------
    def for_case(self, community_id: str, category: str, priority: str = "normal") -> EscalationPolicy:
        return self

    def require_levels(self, count: int) -> EscalationPolicy:
        """Check the policy has a limit for each of the chain's `count` levels."""
        if self.top_level < count:
            raise PolicyError(f"policy {self.version} has limits for {self.top_level} levels; the chain has {count}")
        return self

    @property
    def top_level(self) -> int:
        return max(self.ack_seconds)

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(sorted(self.ack_seconds))

    # -- deadlines -------------------------------------------------------------------
    def routing_deadline(self, now: float, community_id: str | None = None) -> float:
        """When a received report must have been routed: should its routing message be
        lost (a crash right after storing it), the sweep routes it then."""
        return now + self.routing_grace_seconds / self.time_scale

    def ack_deadline(self, level: int, now: float) -> float:
        """When a case that reached `level` at `now` must have been acknowledged."""
        return self.after("ack", level, now, self.ack_seconds[level])

    def resolve_deadlines(self, level: int, now: float) -> tuple[float, float] | None:
        """(yellow warning, red limit) for a case acknowledged at `level` at `now`;
        None when the policy has no resolve limits."""
        if not self.resolve_seconds:
            return None
        limit = self.resolve_seconds[level]
        return (self.after("resolve", level, now, limit * self.yellow_at),
                self.after("resolve", level, now, limit))

    def after(self, clock: str, level: int, start: float, seconds: float) -> float:
        """`seconds` of the clock's time after `start`: wall-clock time, or working time
        on the calendar when the policy counts this limit in working hours or days.
        With a time scale (demos and tests) the calendar is set aside and every limit
        runs scaled wall-clock time, so a demo does not wait for office hours."""
        if self._counts_working(clock, level):
            return self.calendar.add(start, seconds / 3600.0, "working_hours")  # type: ignore[union-attr]
        return start + seconds / self.time_scale

    def remaining(self, clock: str, level: int, now: float, deadline: float) -> float:
        """How much of the clock's time is left until `deadline`, in the seconds that
        `after` takes: what a suspended case keeps for when it is resumed."""
        if self._counts_working(clock, level):
            return max(0.0, self.calendar.elapsed(now, deadline, "working_hours") * 3600.0)  # type: ignore[union-attr]
        return max(0.0, (deadline - now) * self.time_scale)

    def day_seconds(self, clock: str, level: int) -> float:
        """One day on this clock: a working day's hours when it counts working time."""
        if self._counts_working(clock, level):
            return self.calendar.working_day_seconds  # type: ignore[union-attr]
        return 86400.0

    def _counts_working(self, clock: str, level: int) -> bool:
        return (f"{clock}:{level}" in self.working and self.calendar is not None
                and self.time_scale == 1.0)


# -- a community's policy file ---------------------------------------------------------------

_LIMIT = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(minutes?|mins?|hours?|days?|working\s+hours?|working\s+days?|"
    r"分钟|小时|天|工作小时|工作日)\s*$", re.IGNORECASE)
_WALL_SECONDS = {"minute": 60, "min": 60, "hour": 3600, "day": 86400, "分钟": 60, "小时": 3600, "天": 86400}


def _wall_limit(text: Any) -> int:
    seconds, working = parse_limit(text, 86400)
    if working:
        raise PolicyError(f"duplicates: {text!r} is working time; write a clock time such as \"2 days\"")
    return seconds


def parse_limit(text: Any, working_day_seconds: float) -> tuple[int, bool]:
    """"30 minutes" → (1800, False); "2 working days" → (2 × a working day, True)."""
    match = _LIMIT.match(str(text)) if isinstance(text, (str, int, float)) else None
    if match is None:
        raise PolicyError(f"{text!r} is not a limit; write e.g. \"30 minutes\", \"4 hours\", "
                          "\"2 days\", \"4 working hours\" or \"2 working days\"")
    amount, unit = float(match.group(1)), re.sub(r"\s+", " ", match.group(2).lower()).rstrip("s")
    if amount <= 0:
        raise PolicyError(f"{text!r}: a limit must be longer than zero")
    if unit in ("working hour", "工作小时"):
        seconds, working = int(amount * 3600), True
    elif unit in ("working day", "工作日"):
        seconds, working = int(amount * working_day_seconds), True
    else:
        seconds, working = int(amount * _WALL_SECONDS[unit]), False
    if seconds < 1:             # "0.001 minutes": rounds to no time at all
        raise PolicyError(f"{text!r}: a limit must be at least a second")
    return seconds, working


_BOOK_KEYS = {"community", "version", "description", "note", "calendar", "routing_grace_minutes", "callback_days",
              "quiet_hours", "duplicates", "points",
              "yellow_at", "chains", "categories", "default"}
_CHAIN_KEYS = {"description", "levels", "urgent", "together", "yellow_at"}
_LEVEL_KEYS = {"level", "role", "with", "acknowledge", "resolve", "note"}


@dataclass(frozen=True)
class PolicyBook:
    """One community's policy: its chains and which category and priority takes which."""
    community: str
    version: str
    chains: Mapping[str, EscalationPolicy]
    categories: Mapping[str, Mapping[str, str]]     # category → priority → chain name
    default: str
    duplicates: DuplicateRules = DuplicateRules()   # which reports fold into an open case
    points: Any = None                              # domain.case_credits.CasePoints: what cases earn

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], calendar: WorkingCalendar | None = None,
                  time_scale: float = 1.0, known_roles: frozenset[str] | None = None,
                  known_categories: frozenset[str] | None = None) -> PolicyBook:
        if time_scale <= 0:
            raise PolicyError("time scale must be positive")
        if not isinstance(data, Mapping):
            raise PolicyError("a policy must be a JSON object")
        _no_unknown(data, _BOOK_KEYS, "the policy")
        for key in ("community", "version", "chains", "default"):
            if key not in data:
                raise PolicyError(f"the policy has no {key!r}")
        calendar = calendar or WorkingCalendar()
        version, grace, yellow_at = str(data["version"]), _grace(data), _yellow_at(data)
        callback_days = data.get("callback_days", 3)
        if not isinstance(callback_days, (int, float)) or isinstance(callback_days, bool) or callback_days <= 0:
            raise PolicyError("callback_days must be a positive number of days")
        if not isinstance(data["chains"], Mapping) or not data["chains"]:
            raise PolicyError("'chains' must name at least one chain")
        quiet = data.get("quiet_hours")
        if quiet is not None and (not isinstance(quiet, Mapping) or set(quiet) - {"from", "to"}):
            raise PolicyError('quiet_hours must be {"from": "22:00", "to": "07:00"}')
        quiet_hours = QuietHours(str(quiet.get("from", "22:00")), str(quiet.get("to", "07:00")),
                                 calendar.timezone) if quiet is not None else None
        chains = {name: replace(_chain(name, spec, version, calendar, time_scale, grace, yellow_at, known_roles),
                                callback_seconds=int(callback_days * 86400), quiet_hours=quiet_hours)
                  for name, spec in data["chains"].items()}
        default = str(data["default"])
        if default not in chains:
            raise PolicyError(f"default chain {default!r} is not one of the chains")
        categories: dict[str, dict[str, str]] = {}
        for category, choice in (data.get("categories") or {}).items():
            if known_categories is not None and category not in known_categories:
                raise PolicyError(f"category {category!r} is not in categories.json")
            if not isinstance(choice, (str, Mapping)):
                raise PolicyError(f"category {category}: name a chain, or a chain for each priority")
            by_priority = {p: choice for p in PRIORITIES} if isinstance(choice, str) else dict(choice)
            for priority, chain in by_priority.items():
                if priority not in PRIORITIES:
                    raise PolicyError(f"category {category}: priority {priority!r} is not one of {PRIORITIES}")
                if chain not in chains:
                    raise PolicyError(f"category {category}: no chain named {chain!r}")
            categories[category] = by_priority
        try:    # wall-clock windows: a report's neighbours do not wait for office hours
            duplicates = DuplicateRules.from_dict(
                data.get("duplicates"), lambda text: max(1, round(_wall_limit(text) / time_scale)), known_categories)
        except (DuplicateRulesError, PolicyError) as error:
            raise PolicyError(str(error)) from None
        from .case_credits import CasePoints, CasePointsError
        try:
            points = CasePoints.from_dict(data.get("points"))
        except CasePointsError as error:
            raise PolicyError(str(error)) from None
        return cls(str(data["community"]), version, chains, categories, default, duplicates, points)

    def duplicate_rule(self, category: str) -> DuplicateRule:
        return self.duplicates.for_category(category)

    def for_case(self, community_id: str, category: str, priority: str = "normal") -> EscalationPolicy:
        choice = self.categories.get(category, {})
        return self.chains[choice.get(priority) or choice.get("normal") or self.default]

    @property
    def routing_grace_seconds(self) -> int:
        return self.chains[self.default].routing_grace_seconds

    def routing_deadline(self, now: float, community_id: str | None = None) -> float:
        return self.chains[self.default].routing_deadline(now)


class Policies:
    """Every community's policy book, with a fallback for communities without one."""

    def __init__(self, books: Mapping[str, PolicyBook], fallback: EscalationPolicy):
        self.books, self.fallback = dict(books), fallback

    def for_case(self, community_id: str, category: str, priority: str = "normal") -> EscalationPolicy:
        book = self.books.get(community_id)
        return book.for_case(community_id, category, priority) if book else self.fallback

    def routing_deadline(self, now: float, community_id: str | None = None) -> float:
        book = self.books.get(community_id or "")
        return (book or self.fallback).routing_deadline(now)

    def duplicate_rule(self, community_id: str, category: str) -> DuplicateRule:
        """How a new report of `category` in the community folds into an open case (never,
        for a community without a policy book)."""
        book = self.books.get(community_id)
        return book.duplicate_rule(category) if book else NEVER


def _chain(name: str, spec: Any, version: str, calendar: WorkingCalendar, time_scale: float,
           grace: int, yellow_at: float, known_roles: frozenset[str] | None) -> EscalationPolicy:
    where = f"chain {name}"
    if not isinstance(spec, Mapping) or not isinstance(spec.get("levels"), list) or not spec["levels"]:
        raise PolicyError(f"{where}: needs a list of levels")
    _no_unknown(spec, _CHAIN_KEYS, where)
    urgent = bool(spec.get("urgent", False))
    ack: dict[int, int] = {}
    resolve: dict[int, int] = {}
    working: set[str] = set()
    steps: list[Step] = []
    for entry in spec["levels"]:
        if not isinstance(entry, Mapping):
            raise PolicyError(f"{where}: each level must be an object")
        _no_unknown(entry, _LEVEL_KEYS, where)
        try:
            level = int(entry["level"])
            role = str(entry["role"])
        except (KeyError, TypeError, ValueError):
            raise PolicyError(f"{where}: each level needs a number 'level' and a 'role'") from None
        here = f"{where}, level {level}"
        if not 1 <= level <= 5:
            raise PolicyError(f"{here}: levels are 1 (stairwell) to 5 (area chief)")
        if steps and level <= steps[-1].level:
            raise PolicyError(f"{here}: levels must go up, each above the one before")
        if isinstance(entry.get("with"), str):
            raise PolicyError(f"{here}: 'with' is a list of roles, e.g. [\"{entry['with']}\"]")
        with_roles = tuple(entry.get("with") or ())
        for r in (role, *with_roles):
            if known_roles is not None and r not in known_roles:
                raise PolicyError(f"{here}: unknown role {r!r}; known roles: {', '.join(sorted(known_roles))}")
        for clock, key, limits in (("ack", "acknowledge", ack), ("resolve", "resolve", resolve)):
            if key not in entry:
                raise PolicyError(f"{here}: needs an {key!r} limit")
            try:
                seconds, counts_working = parse_limit(entry[key], calendar.working_day_seconds)
            except PolicyError as error:
                raise PolicyError(f"{here}, {key}: {error}") from None
            if counts_working and urgent:
                raise PolicyError(f"{here}: an urgent chain counts wall-clock time, not {entry[key]!r}")
            limits[level] = seconds
            if counts_working:
                working.add(f"{clock}:{level}")
        steps.append(Step(level, role, with_roles))
    raw_together = spec.get("together") or []
    if not isinstance(raw_together, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                     for x in raw_together):
        raise PolicyError(f"{where}: 'together' must be a list of level numbers, like [3]")
    together = tuple(raw_together)
    for level in together:
        if level not in ack or level == steps[0].level:
            raise PolicyError(f"{where}: 'together' level {level} must be a later level of the chain")
    return EscalationPolicy(
        version=f"{version}#{name}", ack_seconds=ack, time_scale=time_scale,
        routing_grace_seconds=grace, resolve_seconds=resolve,
        yellow_at=_yellow_at(spec) if "yellow_at" in spec else yellow_at,
        working=frozenset(working), calendar=calendar, steps=tuple(steps),
        together=together, urgent=urgent, chain=name)


def _grace(data: Mapping) -> int:
    grace = float(data.get("routing_grace_minutes", 2))
    if grace <= 0:
        raise PolicyError("routing_grace_minutes must be positive")
    return int(grace * 60)


def _yellow_at(data: Mapping) -> float:
    yellow_at = float(data.get("yellow_at", 0.8))
    if not 0 < yellow_at < 1:
        raise PolicyError("yellow_at must be between 0 and 1 (a share of the resolve limit)")
    return yellow_at


def _no_unknown(data: Mapping, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")


__all__ = ["CalendarError", "EscalationPolicy", "PolicyBook", "Policies", "PolicyError", "Step",
           "parse_limit", "STANDARD_STEPS"]
