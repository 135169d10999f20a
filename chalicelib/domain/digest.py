"""The away members' daily digest (外出党员, "跟踪式": kept informed, never assigned).

Once a day, at a local hour set per community, each grid that an away member follows gets
a short Chinese digest of its cases in the community's group chat, through a group-robot
webhook (WeCom's JSON, docs/digest-and-weekly.md "Daily digest"): what was reported in the
last day, what was resolved, what is still open (with its level) and what is overdue or
supervised (督办).

Then the month's service orders (三单): the community's orders placed this month, how many
are completed (verified) and still open, and how many of them the members of this grid
claimed and completed; and each away member's own points, this month's and the balance,
as the 积分 SMS tells them (`points_lines`).

Pure: the service gives it the directory, the grid's SLA fact rows (domain.sla.fact_row,
read from the by-grid index), where each case is, the month's order rows (the orders
table's by-community index) and the away members' points; it gives back the text. No
resident's personal data ever reaches it or leaves it: a digest names cases by code,
category, the place's short name ("3号楼2单元"), status and level. Never a phone, a
reporter's name, a description or a member's name: an away member's points line is
labelled with the last four digits of their own phone ("尾号6604", as Chinese notices
label a person's own line), which that member recognises and the robot's platform, or a
later member of the chat, cannot turn into a name.

Also here: the configuration (GRIDLOOP_DIGEST_WEBHOOKS, `parse_config`), which grids each
away member follows (`away_followers`) and which day's digest is due (`due_window`).
"""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .directory import Community, MemberCategory
from .orders.model import OPEN_ORDER_WORDS

# WeCom's limits on a group robot's message content, in UTF-8 bytes.
CONTENT_BYTES = {"markdown": 4096, "text": 2048}
MSGTYPES = tuple(CONTENT_BYTES)
MAX_ITEMS = 8              # lines per section before "……另有 N 件"
OPEN = frozenset({"received", "assigned", "acknowledged"})
DONE = frozenset({"resolved", "closed"})
STATUS_ZH = {"received": "待派单", "assigned": "待接单", "acknowledged": "办理中",
             "resolved": "已办结", "closed": "已结案", "cancelled": "已撤销", "duplicate": "已合并"}
DEFAULT_HOUR = 8
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_OPEN_DAYS = 30
_KEYS = frozenset({"url", "grids", "hour", "timezone", "msgtype", "open_days", "points"})
TAIL_DIGITS = 4            # an away member's points line: "尾号6604" (more digits if two share them)
_LOOPBACK_NAMES = frozenset({"localhost"})


class DigestConfigError(ValueError):
    """GRIDLOOP_DIGEST_WEBHOOKS is not valid. The message names the community and the
    setting at fault, never a webhook URL (it holds the robot's secret key)."""


# -- configuration --------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestConfig:
    """One community's digest: where it goes, and when.

    `url` receives every grid's digest unless `grids` names another webhook for a grid
    (or null: that grid's digest is not sent). A grid goes out when an away member follows
    it (`away_followers`) or when `grids` names it with a URL.
    """
    community_id: str
    url: str | None = None
    grids: Mapping[str, str | None] = field(default_factory=dict)
    hour: int = DEFAULT_HOUR                 # local hour, 0-23: the digest is due from then on
    timezone: str = DEFAULT_TIMEZONE
    msgtype: str = "markdown"                # or "text": for groups whose members read in WeChat
    open_days: int = DEFAULT_OPEN_DAYS       # how far back "still open" looks
    points: bool = True                      # each away member's own points this month and balance

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def url_for(self, grid_id: str) -> str | None:
        return self.grids[grid_id] if grid_id in self.grids else self.url


def parse_config(raw: str | None) -> dict[str, DigestConfig]:
    """GRIDLOOP_DIGEST_WEBHOOKS: a JSON object, community id → its settings, or just its
    webhook URL. Empty or unset: no community has a digest.

        {"changmu": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
                     "grids": {"g3": "https://...key=..."}, "hour": 8}}
    """
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise DigestConfigError("GRIDLOOP_DIGEST_WEBHOOKS is not valid JSON") from None
    if not isinstance(data, dict):
        raise DigestConfigError("GRIDLOOP_DIGEST_WEBHOOKS must be a JSON object: community id → settings")
    return {str(cid): _community_config(str(cid), value) for cid, value in data.items()}


def _community_config(cid: str, value: Any) -> DigestConfig:
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise DigestConfigError(f"{cid}: give a webhook URL or an object with url, grids, hour, ...")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise DigestConfigError(f"{cid}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    url = _url(value.get("url"), f"{cid}.url", optional=True)
    grids_raw = value.get("grids") or {}
    if not isinstance(grids_raw, dict):
        raise DigestConfigError(f"{cid}.grids must be an object: grid id → webhook URL (or null)")
    grids = {str(g): _url(u, f"{cid}.grids.{g}", optional=True) for g, u in grids_raw.items()}
    if url is None and not any(grids.values()):
        raise DigestConfigError(f"{cid}: no webhook: set url, or a URL for a grid in grids")
    hour = value.get("hour", DEFAULT_HOUR)
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise DigestConfigError(f"{cid}.hour must be a whole hour from 0 to 23, got {hour!r}")
    zone_name = value.get("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(str(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise DigestConfigError(f"{cid}.timezone: unknown time zone {zone_name!r}") from None
    msgtype = value.get("msgtype", "markdown")
    if msgtype not in MSGTYPES:
        raise DigestConfigError(f"{cid}.msgtype must be one of {', '.join(MSGTYPES)}, got {msgtype!r}")
    open_days = value.get("open_days", DEFAULT_OPEN_DAYS)
    if isinstance(open_days, bool) or not isinstance(open_days, int) or not 1 <= open_days <= 366:
        raise DigestConfigError(f"{cid}.open_days must be a whole number of days from 1 to 366")
    points = value.get("points", True)
    if not isinstance(points, bool):
        raise DigestConfigError(f"{cid}.points must be true or false, got {points!r}")
    return DigestConfig(cid, url, grids, hour, str(zone_name), msgtype, open_days, points)


def _url(value: Any, what: str, optional: bool = False) -> str | None:
    """A webhook URL: https, or plain http only to this machine (the local stack, tests),
    since the URL carries the robot's key."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DigestConfigError(f"{what} must be a webhook URL")
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
    except ValueError:
        raise DigestConfigError(f"{what} is not a valid URL") from None
    if not host or parts.scheme not in ("https", "http"):
        raise DigestConfigError(f"{what} must be an https:// URL")
    if parts.scheme == "http" and not _loopback(host):
        raise DigestConfigError(f"{what} must be https:// (plain http is only for 127.0.0.1 or localhost)")
    return value.strip()


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(url: str) -> str:
    """A webhook URL fit for logs and errors: scheme, host and path; never the query (the key)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")
    except ValueError:
        return "(an invalid URL)"


# -- who follows which grid ---------------------------------------------------------------------
def away_followers(community: Community) -> dict[str, tuple[str, ...]]:
    """Grid id → the away members (外出党员) who follow it, for every grid of the community.

    An away member follows the grids they are named on (`Community.member_grids`: the stairwell or
    building they lead at home, or their place in a grid). An away member named on no grid
    follows the whole community: every grid."""
    named = community.member_grids()
    every = sorted(community.grids)
    followers: dict[str, list[str]] = {grid_id: [] for grid_id in every}
    for member in sorted(community.members.values(), key=lambda m: m.id):
        if member.category is MemberCategory.AWAY:
            for grid_id in sorted(named.get(member.id) or every):
                followers[grid_id].append(member.id)
    return {grid_id: tuple(ids) for grid_id, ids in followers.items()}


def grids_to_send(community: Community, config: DigestConfig) -> list[tuple[str, str, int]]:
    """(grid id, webhook URL, away followers) of each grid whose digest goes out: a grid an
    away member follows, or one `grids` names with a URL; never one without a URL."""
    followers = away_followers(community)
    chosen = []
    for grid_id in sorted(community.grids):
        url = config.url_for(grid_id)
        if url and (followers[grid_id] or config.grids.get(grid_id)):
            chosen.append((grid_id, url, len(followers[grid_id])))
    return chosen


# -- when -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """The day a digest is for, and the period its "new" and "resolved" count:
    [since, until), the 24 hours before the community's digest hour that day."""
    day: date
    since: float
    until: float
    timezone: str = DEFAULT_TIMEZONE


def due_window(config: DigestConfig, now: float) -> Window | None:
    """Today's window once the community's local hour has come (however late: a run that
    failed at 08:00 is caught up at 09:00), None before it."""
    zone = config.zone
    local = datetime.fromtimestamp(now, zone)
    cutoff = datetime.combine(local.date(), time(config.hour), tzinfo=zone)
    if local < cutoff:
        return None
    since = datetime.combine(local.date() - timedelta(days=1), time(config.hour), tzinfo=zone)
    return Window(local.date(), since.timestamp(), cutoff.timestamp(), config.timezone)


def window_until(config: DigestConfig, now: float) -> Window:
    """The 24 hours up to now (a digest sent on demand, on the local stack)."""
    return Window(datetime.fromtimestamp(now, config.zone).date(), now - 86400, now, config.timezone)


# -- the digest ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridDigest:
    community_id: str
    grid_id: str
    title: str
    content: str                 # markdown or plain text, within CONTENT_BYTES[msgtype]
    msgtype: str
    counts: dict[str, int]       # new, resolved, open, overdue

    def payload(self) -> dict[str, Any]:
        """The JSON a WeCom group robot takes (docs/digest-and-weekly.md "Daily digest")."""
        return {"msgtype": self.msgtype, self.msgtype: {"content": self.content}}


# -- the month's orders and the away members' points ----------------------------------------------
def month_orders(community: Community, grid_id: str, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The figures of the month's order rows (the by-community index's: status and the facts)
    for a grid's digest: the community's orders placed this month (`ordered`), of which
    `completed` (verified: confirmed done, rated 1) and `open`; and of those, how many a member
    named on this grid claimed (`grid_claimed`) and completed (`grid_completed`). The index
    carries no location, so the orders are the community's; the grid's part is its members'."""
    rows = list(rows)
    named = community.member_grids()
    ours = [r for r in rows if r.get("claimant") and grid_id in named.get(r["claimant"], ())
            and r.get("claimed_at") is not None]
    return {"ordered": len(rows),
            "completed": sum(1 for r in rows if r.get("status") == "verified"),
            "open": sum(1 for r in rows if r.get("status") in OPEN_ORDER_WORDS),
            "grid_claimed": len(ours),
            "grid_completed": sum(1 for r in ours if r.get("status") == "verified")}


def phone_tails(phones: Mapping[str, str]) -> dict[str, str]:
    """Member id → "尾号6604", the last digits of their phone: four, or more where two of the
    members given share them (so that each line is one member's)."""
    digits = {member_id: "".join(ch for ch in phone if ch.isdigit()) for member_id, phone in phones.items()}
    tails = {}
    for member_id, number in digits.items():
        size = TAIL_DIGITS
        while size < len(number) - 3 and any(other != member_id and d.endswith(number[-size:])
                                              for other, d in digits.items()):
            size += 1
        tails[member_id] = f"尾号{number[-size:]}"
    return tails


def points_lines(community: Community, member_ids: Iterable[str],
                 points: Mapping[str, tuple[int, int]]) -> list[tuple[str, int, int]]:
    """(label, earned this month, balance) of each away member given whose points are known,
    labelled by `phone_tails`, never by name. `points`: member id → (earned, balance)."""
    ids = [m for m in member_ids if m in points and m in community.members]
    tails = phone_tails({m: community.members[m].phone for m in ids})
    return [(tails[m], int(points[m][0]), int(points[m][1])) for m in ids]


def grid_digest(community: Community, grid_id: str, rows: Iterable[Mapping[str, Any]], window: Window,
                places: Mapping[str, str | None], category_names: Mapping[str, str],
                away: int, open_days: int = DEFAULT_OPEN_DAYS, msgtype: str = "markdown", *,
                orders: Mapping[str, int] | None = None,
                points: Sequence[tuple[str, int, int]] | None = None) -> GridDigest:
    """One grid's digest.

    `rows`: the grid's SLA fact rows (domain.sla.fact_row), as far back as `open_days`
    before `window.until`. `places`: case code → location code. New: created in the
    window. Resolved: resolved in the window and still resolved or closed. Open: every
    open row given (at its level). Overdue or supervised: the open ones with an escalation
    for lateness, a reminder or a yellow or red card (督办) in their history.
    `orders`: `month_orders`' figures, or None for no orders section; `points`:
    `points_lines`' lines, or None for no points section."""
    rows = [row for row in rows if row.get("grid_id") in (None, grid_id)]
    new = [r for r in rows if window.since <= float(r["created_at"]) < window.until]
    resolved = [r for r in rows if r.get("status") in DONE and r.get("resolved_at") is not None
                and window.since <= float(r["resolved_at"]) < window.until]
    still_open = sorted((r for r in rows if r.get("status") in OPEN),
                        key=lambda r: (-int(r.get("level") or 0), float(r["created_at"]), r["code"]))
    overdue = sorted((r for r in still_open if _lateness(r)),
                     key=lambda r: (-sum(_lateness(r).values()), float(r["created_at"]), r["code"]))
    counts = {"new": len(new), "resolved": len(resolved), "open": len(still_open), "overdue": len(overdue)}
    if orders is not None:
        counts.update(orders=int(orders["ordered"]), orders_completed=int(orders["completed"]))

    grid = community.grids[grid_id]
    title = f"【{community.name.get('zh', community.id)}】{grid.name} 每日简报"
    zone = ZoneInfo(window.timezone)

    def when(t: float) -> str:
        local = datetime.fromtimestamp(t, zone)
        return f"{local.month}月{local.day}日 {local:%H:%M}"

    def item(row: Mapping[str, Any], *details: str) -> str:
        location = places.get(row["code"])
        place = community.locations[location].short_name.get("zh", location) \
            if location in community.locations else "位置待定"
        category = category_names.get(row.get("category") or "", row.get("category") or "其他")
        return " · ".join((f"{style.code(row['code'])} {category}", place, *details))

    def state(row: Mapping[str, Any]) -> str:
        return f"{STATUS_ZH.get(row.get('status') or '', row.get('status'))} · 第{int(row.get('level') or 0)}级"

    def late(row: Mapping[str, Any]) -> str:
        counts_ = _lateness(row)
        parts = [f"{label}{counts_[key]}次" for key, label in
                 (("escalations", "超时升级"), ("yellow", "黄牌督办"), ("red", "红牌督办")) if counts_.get(key)]
        return style.warn(" · ".join(parts))

    limit = CONTENT_BYTES[msgtype]
    style = _Markdown() if msgtype == "markdown" else _Text()
    month = f"{datetime.fromtimestamp(window.until, zone).month}月"
    for max_items in range(MAX_ITEMS, -1, -1):
        overdue_count = (style.warn if counts["overdue"] else style.bold)(str(counts["overdue"]))
        lines = [style.heading(title),
                 style.quote(f"{when(window.since)} 至 {when(window.until)} · 本网格外出党员 {away} 人"),
                 style.quote(" · ".join((f"新受理 {style.bold(str(counts['new']))}",
                                         f"已办结 {style.bold(str(counts['resolved']))}",
                                         f"未办结 {style.bold(str(counts['open']))}",
                                         f"超时督办 {overdue_count}")))]
        for label, section, render in (
                ("新受理", new, lambda r: item(r, state(r))),
                ("已办结", resolved, lambda r: item(r, STATUS_ZH[r["status"]])),
                (f"未办结（近{open_days}天受理）", still_open, lambda r: item(r, state(r))),
                ("超时督办", overdue, lambda r: item(r, late(r)))):
            if section:
                lines.append(style.section(label))
                lines.extend(render(r) for r in section[:max_items])
                if len(section) > max_items:
                    lines.append(f"……另有 {len(section) - max_items} 件")
        if not new and not resolved and not still_open:
            lines.append(f"没有新受理的事项，近{open_days}天受理的事项均已办结。")
        if orders is not None:
            lines.append(style.section(f"{month}为民服务（三单）"))
            lines.append(f"本社区点单 {style.bold(str(orders['ordered']))} · 已办结 {orders['completed']}"
                         f" · 办理中 {orders['open']}")
            lines.append(f"本网格党员接单 {orders['grid_claimed']} · 已办结 {orders['grid_completed']}")
        if points:
            lines.append(style.section("外出党员本月积分"))
            lines.extend(f"{label}：本月 +{earned} · 余额 {balance}" for label, earned, balance in points)
        content = "\n".join(lines)
        if len(content.encode("utf-8")) <= limit:
            break
    else:   # pragma: no cover - the header alone is far below the limit
        content = content.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return GridDigest(community.id, grid_id, title, content, msgtype, counts)


def mentioned(rows: Iterable[Mapping[str, Any]], window: Window) -> set[str]:
    """The codes a digest of these rows may name (whose places it needs): the open ones and
    those created or resolved in the window."""
    def inside(t: Any) -> bool:
        return t is not None and window.since <= float(t) < window.until
    return {r["code"] for r in rows
            if r.get("status") in OPEN or inside(r.get("created_at")) or inside(r.get("resolved_at"))}


def _lateness(row: Mapping[str, Any]) -> dict[str, int]:
    """How late a case has been: escalations for lateness and reminders (both counted in
    `escalations`, as the SLA facts do), yellow and red cards. Empty when never late."""
    counts = {"escalations": sum(int(v) for v in (row.get("escalations") or {}).values()),
              "yellow": sum(int(v) for v in (row.get("supervisions_yellow") or {}).values()),
              "red": sum(int(v) for v in (row.get("supervisions_red") or {}).values())}
    return {k: v for k, v in counts.items() if v}


class _Markdown:
    """WeCom's markdown subset: headings, bold, inline code, quotes, three font colours."""

    def heading(self, text: str) -> str:
        return f"### {text}"

    def quote(self, text: str) -> str:
        return f"> {text}"

    def section(self, text: str) -> str:
        return f"**{text}**"

    def bold(self, text: str) -> str:
        return f"**{text}**"

    def code(self, text: str) -> str:
        return f"`{text}`"

    def warn(self, text: str) -> str:
        return f'<font color="warning">{text}</font>' if text else text


class _Text(_Markdown):
    """Plain text: what WeChat (微信) shows of a robot's message in a WeCom group."""

    def heading(self, text: str) -> str:
        return text

    def quote(self, text: str) -> str:
        return text

    def section(self, text: str) -> str:
        return f"【{text}】"

    def bold(self, text: str) -> str:
        return text

    def code(self, text: str) -> str:
        return text

    def warn(self, text: str) -> str:
        return text
