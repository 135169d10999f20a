"""The weekly joint-meeting report (多方联席会议周报): per grid, how the week's cases went.

The article's joint meeting of cadres, party members, property management and residents'
representatives is where unresolved, top-level matters are taken up. This report is its
paper: per grid, SLA compliance, escalations and supervisions (督办) by level, the main
categories, each member's times to acknowledge and resolve, the open cases at the top
levels (社区两委, 片长) and the longest-open cases. Here: the figures, as JSON-ready data
(`build_report`), the week and the schedule; domain.weekly_render makes of them a
self-contained HTML page with inline SVG charts (`render_html`) and a short markdown
summary for the committee's group robot (`summary_markdown`).

Pure: the service gives it the directory's community, the grids' SLA fact rows
(domain.sla.fact_row, from the by-grid index) and where each listed case is.

What is in it, and what is not:
- Cases are named by code, category, place, level and days open: never a phone, a
  reporter's name or what a resident wrote (those are not in the fact rows at all).
- Members are named (name and role): the report is the committee's internal paper for a
  meeting whose purpose is to review who responded how. The markdown summary for the
  group robot names no member, as the daily digest names none (docs/security.md "Personal data").

The service orders (三单: 群众点单, 支部下单, 党员接单), in `orders` and per grid's honour roll:
- per item kind (proxy_service, care_visit, help_at_home, micro_wish) and in all, of the
  orders placed in the week (status as of `now`, as the cases): how many were ordered,
  dispatched, claimed and completed (verified: confirmed done and rated 1); the median time
  from the order to its claim (接单) and to its completion (the member's 完成 of an order
  verified since); satisfaction, the share of the confirmations rated 1 (each order's last
  answer: a 2 put right and then rated 1 counts as a 1);
- the points honour roll: the members with the most points earned in the week, as the
  ledger says (credits for orders, cases and events, less the reversals of the week), in all
  and per grid (the grids a member is named on, Community.member_grids). Members only, by
  name: a household's account is never on it, and an order's row names no resident at all.

Compliance, from the facts each case keeps (Case.sla_facts):
- acknowledged in time: acknowledged with no escalation or reminder for lateness; late:
  any escalation or reminder (it missed an acknowledge limit);
- resolved in time: resolved with no red card (红牌督办: the resolve limit passed); late:
  any red card;
- SLA compliance (达标率): met / (met + breached), where breached is any breach
  (escalation, reminder or red card) and met is acknowledged with no breach. A case still
  inside its first acknowledge limit is neither, and counts in neither.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .directory import ROLE_NAMES, Community
from .orders.model import OPEN_ORDER_WORDS
from .points import Entry
from .service_catalogue import KINDS
from .sla import OPEN, summarize

# Where they were before the pages had a module of their own: callers import them from here.
from .weekly_render import duration as duration
from .weekly_render import render_html as render_html
from .weekly_render import summary_markdown as summary_markdown

DEFAULT_TIMEZONE = "Asia/Shanghai"
# Levels 4 and 5 are the committee (社区两委) and the area chief (片长) in every chain of the
# policy files (policy.STANDARD_ROLES): where a case goes when the grid could not settle it.
TOP_LEVELS = {4: "committee", 5: "area_chief"}
OTHER_ROLE_NAMES = {"building_leader": "楼长"}     # a directory role that is no level of its own
LEVEL_NAMES = {1: "楼道长", 2: "网格员", 3: "网格长", 4: "社区两委", 5: "片长"}
LONGEST_OPEN = 5           # per grid
TOP_OPEN = 20              # per grid: a report item stays far below DynamoDB's 400 KB
HONOUR_ROLL = 10           # in all; HONOUR_ROLL_GRID per grid
HONOUR_ROLL_GRID = 5
KIND_NAMES = {"proxy_service": {"zh": "代办服务", "en": "Proxy services"},
              "care_visit": {"zh": "关爱走访", "en": "Care visits"},
              "help_at_home": {"zh": "上门帮扶", "en": "Help at home"},
              "micro_wish": {"zh": "微心愿", "en": "Micro-wishes"}}
EARNING_REASONS = frozenset({"order_verified", "case_resolved", "case_followed_up", "event_attended"})
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class InvalidWeek(ValueError):
    """Not an ISO week such as 2026-W47."""


# -- the week -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Week:
    """An ISO week (Monday to Sunday) in a community's time zone: [since, until)."""
    name: str                  # "2026-W47"
    monday: date
    since: float
    until: float
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def parse(cls, name: str, timezone: str = DEFAULT_TIMEZONE) -> Week:
        match = _WEEK.match(name.strip())
        if match is None:
            raise InvalidWeek(f"{name!r} is not an ISO week: write it as 2026-W47")
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise InvalidWeek(f"{name!r}: year {match[1]} has no week {int(match[2])}") from None
        return cls.of(monday, timezone)

    @classmethod
    def of(cls, day: date, timezone: str = DEFAULT_TIMEZONE) -> Week:
        """The week that holds `day`."""
        monday = day - timedelta(days=day.isoweekday() - 1)
        zone = ZoneInfo(timezone)
        year, number, _ = monday.isocalendar()
        since = datetime.combine(monday, time(0), tzinfo=zone).timestamp()
        until = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone).timestamp()
        return cls(f"{year}-W{number:02d}", monday, since, until, timezone)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def label(self) -> str:
        """"2026年第47周（11月16日至11月22日）"."""
        year = self.monday.isocalendar()[0]
        number = self.monday.isocalendar()[1]
        return (f"{year}年第{number}周（{self.monday.month}月{self.monday.day}日至"
                f"{self.sunday.month}月{self.sunday.day}日）")


def last_week(now: float, timezone: str = DEFAULT_TIMEZONE) -> Week:
    """The last whole week before `now` (local time)."""
    today = datetime.fromtimestamp(now, ZoneInfo(timezone)).date()
    return Week.of(today - timedelta(days=7), timezone)


def due_week(now: float, hour: int, timezone: str = DEFAULT_TIMEZONE) -> Week | None:
    """The week whose report is due at `now`: last week, from Monday `hour` local time to
    Sunday midnight (a run that failed on Monday is caught up later that week); None on
    Monday before the hour."""
    local = datetime.fromtimestamp(now, ZoneInfo(timezone))
    if local.isoweekday() == 1 and local.time() < time(hour):
        return None
    return last_week(now, timezone)


# -- the data ----------------------------------------------------------------------------------
def build_report(community: Community, week: Week, rows: Iterable[Mapping[str, Any]],
                 places: Mapping[str, str | None], categories: Mapping[str, Mapping[str, Any]],
                 now: float, *, orders: Iterable[Mapping[str, Any]] = (),
                 points: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data.

    `rows`: the SLA fact rows of the community's grids, created up to the week's end and
    as far back as the open cases should be looked for; the week's figures count those
    created in the week, the open lists every open row (status as of `now`, when the
    report is built). `places`: case code → location code, for the listed cases.
    `categories`: categories.json's entries by code (for their names). `orders`: the
    community's order rows (the orders table's by-community index: status, item, kind and
    the order's facts), of which those placed in the week are counted. `points`: member id
    → the points they earned in the week (`points_earned`), for the honour roll."""
    rows = [dict(r) for r in rows]
    in_week = [r for r in rows if week.since <= float(r["created_at"]) < week.until]
    still_open = [r for r in rows if r.get("status") in OPEN and float(r["created_at"]) < week.until]
    grid_ids = sorted(community.grids)

    def case_line(row: Mapping[str, Any]) -> dict[str, Any]:
        location = places.get(row["code"])
        place = community.locations[location].short_name.get("zh", location) \
            if location in community.locations else None
        level = int(row.get("level") or 0)
        grid = community.grids.get(row.get("grid_id") or "")
        return {"code": row["code"], "grid": row.get("grid_id"), "grid_name": grid.name if grid else None,
                "category": row.get("category"),
                "category_name": _category_name(categories, row.get("category")),
                "place": place, "level": level, "level_name": LEVEL_NAMES.get(level, f"第{level}级"),
                "status": row.get("status"),
                "days_open": round(max(0.0, now - float(row["created_at"])) / 86400, 1),
                "escalations": sum(int(v) for v in (row.get("escalations") or {}).values()),
                "supervisions_red": sum(int(v) for v in (row.get("supervisions_red") or {}).values())}

    def oldest_first(items: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return sorted(items, key=lambda r: (float(r["created_at"]), r["code"]))

    named = community.member_grids()
    roll = honour_roll(community, points or {}, named)
    grids = []
    figures = summarize(in_week, grids=grid_ids)
    member_figures = {g: summarize([r for r in in_week if r.get("grid_id") == g])["members"] for g in grid_ids}
    for grid_id in grid_ids:
        week_rows = [r for r in in_week if r.get("grid_id") == grid_id]
        open_rows = oldest_first([r for r in still_open if r.get("grid_id") == grid_id])
        grid = community.grids[grid_id]
        grids.append({
            "id": grid_id, "name": grid.name,
            **figures["grids"][grid_id], **compliance(week_rows),
            "categories": _categories(week_rows, categories),
            "members": [_member(community, member_id, data)
                        for member_id, data in member_figures[grid_id].items()],
            "open_total": len(open_rows),
            "open_top_levels": [case_line(r) for r in open_rows if int(r.get("level") or 0) in TOP_LEVELS][:TOP_OPEN],
            "longest_open": [case_line(r) for r in open_rows[:LONGEST_OPEN]],
            "honour_roll": [m for m in roll if grid_id in m["grids"]][:HONOUR_ROLL_GRID],
        })
    total_open = oldest_first(still_open)
    return {
        "kind": "weekly_joint_meeting_report",
        "community": {"id": community.id, "name": dict(community.name)},
        "week": week.name, "label": week.label(), "timezone": week.timezone,
        "since": _iso(week.since, week.timezone), "until": _iso(week.until, week.timezone),
        "built_at": _iso(now, week.timezone),
        "total": {**figures["total"], **compliance(in_week), "open_total": len(total_open),
                  "open_top_levels": sum(1 for r in total_open if int(r.get("level") or 0) in TOP_LEVELS)},
        "categories": _categories(in_week, categories),
        "grids": grids,
        "open_top_levels": [case_line(r) for r in total_open
                            if int(r.get("level") or 0) in TOP_LEVELS][:TOP_OPEN],
        "longest_open": [case_line(r) for r in total_open[:10]],
        "orders": orders_section(community, week, orders, roll),
    }


# -- the service orders and the points honour roll ------------------------------------------------
def orders_section(community: Community, week: Week, orders: Iterable[Mapping[str, Any]],
                   roll: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The report's section on the service orders: the figures of the orders placed in the
    week, per item kind (every kind of the catalogue's, with nothing too) and in all, and the
    honour roll in all (`honour_roll`'s, capped)."""
    placed = [dict(r) for r in orders if week.since <= float(r["created_at"]) < week.until
              and r.get("community_id", community.id) == community.id]
    return {"total": order_figures(placed),
            "kinds": [{"kind": kind, "name": dict(KIND_NAMES.get(kind, {"zh": kind, "en": kind})),
                       **order_figures([r for r in placed if r.get("kind") == kind])} for kind in KINDS],
            "honour_roll": list(roll[:HONOUR_ROLL])}


def order_figures(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What a set of order rows says (see the module's docstring): counts, the medians in
    seconds (None with nothing to measure) and satisfaction in percent (None with no answer)."""
    rows = list(rows)
    claimed = [r for r in rows if r.get("claimed_at") is not None]
    completed = [r for r in rows if r.get("status") == "verified"]
    rated = [r for r in rows if r.get("satisfied") is not None]
    satisfied = sum(1 for r in rated if r["satisfied"] is True)
    return {
        "ordered": len(rows),
        "dispatched": sum(1 for r in rows if r.get("dispatched")),
        "claimed": len(claimed),
        "completed": len(completed),
        "open": sum(1 for r in rows if r.get("status") in OPEN_ORDER_WORDS),
        "refused": sum(1 for r in rows if r.get("status") == "refused"),
        "cancelled": sum(1 for r in rows if r.get("status") == "cancelled"),
        "median_seconds_to_claim": _median(float(r["claimed_at"]) - float(r["created_at"]) for r in claimed),
        "median_seconds_to_complete": _median(float(r.get("done_at") or r.get("closed_at")) - float(r["created_at"])
                                              for r in completed if r.get("done_at") or r.get("closed_at")),
        "confirmations": len(rated), "satisfied": satisfied,
        "satisfaction": _rate(satisfied, len(rated) - satisfied),
    }


def points_earned(entries: Iterable[Entry], account: str) -> int:
    """What an account earned in these entries: its credits for orders, cases and events, less
    the reversals taken from it (an earning undone). A redemption spends, it does not unearn;
    a redemption's reversal gives back, it does not earn."""
    earned = 0
    for entry in entries:
        if entry.credit == account and entry.reason in EARNING_REASONS:
            earned += entry.points
        elif entry.debit == account and entry.reason == "reversal":
            earned -= entry.points
    return earned


def honour_roll(community: Community, points: Mapping[str, int],
                named: Mapping[str, set[str]] | None = None) -> list[dict[str, Any]]:
    """The members who earned points, most first (then by id): name, roles, the grids they are
    named on and their points. Only the community's members: anything else in `points` (a
    household, an unknown id) is left out."""
    named = community.member_grids() if named is None else named
    roll = []
    for member_id, earned in sorted(points.items(), key=lambda kv: (-kv[1], kv[0])):
        member = community.members.get(member_id)
        if member is None or earned <= 0:
            continue
        grids = sorted(named.get(member_id) or ())
        roll.append({"id": member_id, "name": member.name, "roles": _roles(member.roles), "points": int(earned),
                     "grids": grids,
                     "grid_names": [community.grids[g].name for g in grids if g in community.grids]})
    return roll


def _median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(value, 1)


def listed(rows: Iterable[Mapping[str, Any]], week: Week) -> set[str]:
    """The codes of the cases `build_report` lists (whose places it needs): per grid and
    in all, the oldest open ones and those open at the top levels."""
    still_open = sorted((r for r in rows if r.get("status") in OPEN and float(r["created_at"]) < week.until),
                        key=lambda r: (float(r["created_at"]), r["code"]))
    codes: set[str] = set()
    for grid_id in {r.get("grid_id") for r in still_open} | {None}:
        mine = [r for r in still_open if grid_id is None or r.get("grid_id") == grid_id]
        codes.update(r["code"] for r in mine[:10 if grid_id is None else LONGEST_OPEN])
        codes.update([r["code"] for r in mine if int(r.get("level") or 0) in TOP_LEVELS][:TOP_OPEN])
    return codes


def compliance(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The in-time counts and rates (percent, one decimal; None with nothing to rate) of
    rows: see the module's docstring."""
    counts = dict.fromkeys(("acknowledged_in_time", "acknowledged_late", "resolved_in_time",
                            "resolved_late", "met", "breached"), 0)
    for row in rows:
        escalations = sum(int(v) for v in (row.get("escalations") or {}).values())
        red = sum(int(v) for v in (row.get("supervisions_red") or {}).values())
        acknowledged = row.get("acknowledged_at") is not None
        counts["acknowledged_late"] += escalations > 0
        counts["acknowledged_in_time"] += acknowledged and escalations == 0
        counts["resolved_late"] += red > 0
        counts["resolved_in_time"] += row.get("resolved_at") is not None and red == 0
        breached = int(row.get("breaches") or 0) > 0 or escalations > 0 or red > 0
        counts["breached"] += breached
        counts["met"] += acknowledged and not breached
    return {**counts,
            "acknowledge_rate": _rate(counts["acknowledged_in_time"], counts["acknowledged_late"]),
            "resolve_rate": _rate(counts["resolved_in_time"], counts["resolved_late"]),
            "compliance": _rate(counts["met"], counts["breached"])}


def _rate(good: int, bad: int) -> float | None:
    return round(100.0 * good / (good + bad), 1) if good + bad else None


def _category_name(categories: Mapping[str, Mapping[str, Any]], code: str | None) -> dict[str, str]:
    name = (categories.get(code or "") or {}).get("name") or {}
    return {"zh": name.get("zh", code or "其他"), "en": name.get("en", code or "other")}


def _categories(rows: Sequence[Mapping[str, Any]], categories: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.get("category") or "other"] = counts.get(row.get("category") or "other", 0) + 1
    return [{"code": code, "name": _category_name(categories, code), "cases": n}
            for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _roles(roles: Iterable[str]) -> list[str]:
    return [ROLE_NAMES.get(role, {}).get("zh", OTHER_ROLE_NAMES.get(role, role)) for role in roles]


def _member(community: Community, member_id: str, figures: Mapping[str, Any]) -> dict[str, Any]:
    member = community.members.get(member_id)
    roles = _roles(member.roles if member else ())
    return {"id": member_id, "name": member.name if member else member_id, "roles": roles,
            **{k: figures[k] for k in ("acknowledged", "resolved", "median_seconds_to_acknowledge",
                                       "p90_seconds_to_acknowledge", "median_seconds_to_resolve",
                                       "p90_seconds_to_resolve", "breaches")}}


def _iso(t: float, timezone: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(timezone)).isoformat(timespec="seconds")


# -- configuration ---------------------------------------------------------------------------------
class WeeklyConfigError(ValueError):
    """GRIDLOOP_WEEKLY_WEBHOOKS is not valid. The message names the community and the
    setting at fault, never a webhook URL (it holds the robot's secret key)."""


@dataclass(frozen=True)
class WeeklyConfig:
    """Where one community's weekly report goes (the committee's group robot) and when:
    from Monday `hour`, local time, for the week before."""
    community_id: str
    url: str
    hour: int = 8
    timezone: str = DEFAULT_TIMEZONE
    open_days: int = 90          # how far back the open lists look


_KEYS = frozenset({"url", "hour", "timezone", "open_days"})


def parse_config(raw: str | None) -> dict[str, WeeklyConfig]:
    """GRIDLOOP_WEEKLY_WEBHOOKS: a JSON object, community id → its committee robot's URL or
    {"url", "hour", "timezone", "open_days"}. Empty or unset: no scheduled report."""
    import json

    from .digest import DigestConfigError, _url

    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise WeeklyConfigError("GRIDLOOP_WEEKLY_WEBHOOKS is not valid JSON") from None
    if not isinstance(data, dict):
        raise WeeklyConfigError("GRIDLOOP_WEEKLY_WEBHOOKS must be a JSON object: community id → settings")
    configs = {}
    for cid, value in data.items():
        cid = str(cid)
        value = {"url": value} if isinstance(value, str) else value
        if not isinstance(value, dict):
            raise WeeklyConfigError(f"{cid}: give a webhook URL or an object with url, hour, timezone, open_days")
        unknown = sorted(set(value) - _KEYS)
        if unknown:
            raise WeeklyConfigError(f"{cid}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        try:
            url = _url(value.get("url"), f"{cid}.url")
        except DigestConfigError as error:
            raise WeeklyConfigError(str(error)) from None
        hour = value.get("hour", 8)
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise WeeklyConfigError(f"{cid}.hour must be a whole hour from 0 to 23, got {hour!r}")
        zone = str(value.get("timezone", DEFAULT_TIMEZONE))
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError):
            raise WeeklyConfigError(f"{cid}.timezone: unknown time zone {zone!r}") from None
        open_days = value.get("open_days", 90)
        if isinstance(open_days, bool) or not isinstance(open_days, int) or not 7 <= open_days <= 366:
            raise WeeklyConfigError(f"{cid}.open_days must be a whole number of days from 7 to 366")
        configs[cid] = WeeklyConfig(cid, str(url), hour, zone, open_days)
    return configs
