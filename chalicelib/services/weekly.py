"""The weekly joint-meeting report (多方联席会议周报): built per community and week, sent
every week to the committee's group robot, and on demand (the ops function, the CLI).

Reads, per grid, one Query on the by-grid index (CaseRepository.sla_facts: the cases
created from `open_days` before the week's end up to its end, so that still-open older
cases are listed too), then the places of the cases the report lists (one BatchGetItem
per 100). The service orders: ONE Query per community on the orders table's by-community
index for the week (OrderFacts.created_between: the projected facts, no location, phone
or name). The points honour roll: one Query per member of the community on the points
ledger, each on that member's key range for the week (see `_week_points`). Never a Scan.

The schedule: once per community and week, as the daily digest is once per day. Before
posting, the week's record on the digests table is claimed with a conditional write
(a lease); once the robot took the summary, it is marked sent and keeps the report's
JSON. A report already sent is never sent again, and two runs at once cannot both send
it. A failed post gives the claim back with a back-off and raises, so the scheduler's
retry or the next hourly run tries again, until the week is over.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from chalicelib.domain.digest import redact
from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.points import Entry, member_account
from chalicelib.domain.weekly import (
    Week,
    WeeklyConfig,
    build_report,
    due_week,
    last_week,
    listed,
    points_earned,
    render_html,
    summary_markdown,
)
from chalicelib.services.ports import CaseRepository

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
RETRY_AFTER = 50.0
DEFAULT_OPEN_DAYS = 90


class UnknownCommunity(LookupError):
    """No such community in the directory."""


class Webhook(Protocol):
    def post(self, url: str, payload: dict[str, Any]) -> Any:
        """POST the JSON; raises unless the robot took it."""


class CasePlaces(Protocol):
    def places(self, codes: Iterable[str]) -> dict[str, str | None]: ...


class OrderFacts(Protocol):
    def created_between(self, community_id: str, since: float, until: float) -> list[dict[str, Any]]:
        """The community's orders created in [since, until), as the by-community index projects
        them (adapters.orders.DynamoOrderRepository.created_between): one Query."""


class PointsEntries(Protocol):
    def entries(self, account: str, since: float, until: float) -> list[Entry]:
        """An account's ledger entries in [since, until): one Query (services.ports.PointsLedger)."""


class WeeklyReportLog(Protocol):
    """Which weeks' reports went out: one record per community and week."""

    def claim(self, community_id: str, week: str, now: float, lease: float) -> str:
        """"claimed", "sent" (never again) or "busy" (another run, or a back-off)."""

    def sent(self, community_id: str, week: str, now: float, report: dict[str, Any]) -> None: ...

    def failed(self, community_id: str, week: str, now: float, retry_at: float, reason: str) -> None: ...

    def stored(self, community_id: str, week: str) -> dict[str, Any] | None: ...


class WeeklyReportFailed(Exception):
    """Some communities' reports could not be posted; the message names each one (the
    community, the webhook without its key, why)."""


class WeeklyReports:
    def __init__(self, cases: CaseRepository, places: CasePlaces, webhook: Webhook, report_log: WeeklyReportLog,
                 directory: Callable[[], Directory], categories: Mapping[str, Any],
                 settings: Callable[[], dict[str, WeeklyConfig]], clock: Callable[[], float], *,
                 orders: OrderFacts | None = None, ledger: PointsEntries | None = None):
        self._cases, self._places, self._webhook, self._log = cases, places, webhook, report_log
        self._directory, self._categories, self._settings, self._clock = directory, categories, settings, clock
        self._orders, self._ledger = orders, ledger    # without them the orders section is empty
        self._done: set[tuple[str, str]] = set()   # sent, as this warm container knows

    def build(self, community_id: str, week: str | None = None, timezone: str | None = None,
              open_days: int | None = None) -> dict[str, Any]:
        """The report of one community for one ISO week ("2026-W47"; default: last week),
        as JSON-ready data (domain.weekly.build_report). What the ops function and the CLI
        call. Raises UnknownCommunity, or domain.weekly.InvalidWeek for a bad week."""
        config = self._settings().get(community_id)
        zone = timezone or (config.timezone if config else "Asia/Shanghai")
        days = open_days or (config.open_days if config else DEFAULT_OPEN_DAYS)
        chosen = Week.parse(week, zone) if week else last_week(self._clock(), zone)
        return self._build(community_id, chosen, days)

    def html(self, report: Mapping[str, Any]) -> str:
        return render_html(report)

    def stored(self, community_id: str, week: str) -> dict[str, Any] | None:
        """The report as it was sent to the committee that week, or None."""
        return self._log.stored(community_id, week)

    def run(self) -> dict[str, Any]:
        """The schedule: each configured community whose report for last week is due (from
        Monday's hour) and not yet sent. Raises WeeklyReportFailed after trying them all if
        any post failed."""
        now = self._clock()
        sent, failures = [], []
        for community_id, config in sorted(self._settings().items()):
            week = due_week(now, config.hour, config.timezone)
            if week is None or (community_id, week.name) in self._done:
                continue
            state = self._log.claim(community_id, week.name, now, LEASE_SECONDS)
            if state == "sent":
                self._done.add((community_id, week.name))
            if state != "claimed":
                continue
            try:
                report = self._build(community_id, week, config.open_days)
                self._webhook.post(config.url, {"msgtype": "markdown",
                                                "markdown": {"content": summary_markdown(report)}})
            except Exception as error:
                reason = f"{community_id} {week.name} → {redact(config.url)}: {error}"
                self._log.failed(community_id, week.name, self._clock(), self._clock() + RETRY_AFTER,
                                 str(error)[:500])
                log.warning("weekly report not sent: %s", reason)
                failures.append(reason)
                continue
            self._log.sent(community_id, week.name, self._clock(), report)
            self._done.add((community_id, week.name))
            sent.append({"community": community_id, "week": week.name, "cases": report["total"]["cases"],
                         "compliance": report["total"]["compliance"]})
        if failures:
            raise WeeklyReportFailed("; ".join(failures))
        return {"sent": sent}

    def _build(self, community_id: str, week: Week, open_days: int) -> dict[str, Any]:
        community = self._directory().communities.get(community_id)
        if community is None:
            raise UnknownCommunity(f"no community {community_id}")
        oldest = week.until - open_days * 86400
        rows = [row for grid_id in sorted(community.grids)
                for row in self._cases.sla_facts(community_id, grid_id, oldest, week.until)]
        orders = self._orders.created_between(community_id, week.since, week.until) if self._orders else []
        return build_report(community, week, rows, self._places.places(sorted(listed(rows, week))), self._categories,
                            self._clock(), orders=orders, points=self._week_points(community, week))

    def _week_points(self, community: Community, week: Week) -> dict[str, int]:
        """Member id → the points they earned in the week, from the ledger.

        The number of requests is bounded by the directory, not by the week's activity: exactly
        one Query per member of the community (46 in Changmu), on the range of that member's
        account rows for the week (`at#<since>` to `at#<until>`), whatever earned the points (an
        order placed weeks before and verified this week, a case, an event). The orders' facts
        could not give the same figure: they do not say whether the on-time bonus was earned, or
        what the daily cap and the own-household rule left. Households are not on the roll and
        are not read. A member without entries costs one empty Query."""
        if self._ledger is None:
            return {}
        return {member_id: points_earned(self._ledger.entries(account, week.since, week.until), account)
                for member_id in sorted(community.members)
                for account in (member_account(community.id, member_id),)}
