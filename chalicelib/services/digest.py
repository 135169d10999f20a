"""The away members' daily digest: each configured community's grids, once a day, through
the community's group-robot webhook (domain.digest builds the text).

Reads each grid's cases with one Query on the by-grid index (CaseRepository.sla_facts:
the cases created in the last `open_days` days, open or not), then the places of the cases
it names (one BatchGetItem). The month's service orders: one Query per community and run
on the orders table's by-community index (OrderFacts.created_between, from the first of the
month), shared by its grids. Each away member's points: one GetItem (the balance) and one
Query (the month's entries) per away member and run, however many grids they follow (an
away member named on no grid follows them all). Never a Scan.

Once a day, per community, day and grid: before posting, the digest log is claimed with a
conditional write; after the webhook answers errcode 0 it is marked sent. A digest already
sent is never sent again that day, and two runs at once (EventBridge may deliver a schedule
twice) cannot both send it. A failed post releases the claim with a short back-off and
raises, so the scheduler's retry (or the next hourly run) tries again. One window remains,
as with the SMS outbox: a post that reached the group but whose "sent" mark was not written
(a crash between the two) is posted again once the claim's lease runs out.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from chalicelib.domain.digest import (
    DigestConfig,
    GridDigest,
    Window,
    away_followers,
    due_window,
    grid_digest,
    grids_to_send,
    mentioned,
    month_orders,
    points_lines,
    redact,
    window_until,
)
from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.points import Entry, member_account, month_bounds, month_of
from chalicelib.services.ports import CaseRepository

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0      # a claim outlives one run (30 s Lambda timeout, 10 s per post)
RETRY_AFTER = 50.0         # after a failed post, no new try before this (Lambda retries after ~60 s)


class Webhook(Protocol):
    def post(self, url: str, payload: dict[str, Any]) -> None:
        """POST the JSON; raises (adapters.webhook.WebhookError) unless the robot took it."""


class DigestLog(Protocol):
    """Which digests went out: one record per community, day and grid."""

    def claim(self, community_id: str, day: str, grid_id: str, now: float, lease: float) -> str:
        """Take the right to send: "claimed", or "sent" (already sent: never again), or
        "busy" (another run holds it, or a failed try is backing off)."""

    def sent(self, community_id: str, day: str, grid_id: str, now: float) -> None: ...

    def failed(self, community_id: str, day: str, grid_id: str, now: float, retry_at: float,
               reason: str) -> None:
        """Give the claim back: the next try may come at `retry_at`."""


class CasePlaces(Protocol):
    def places(self, codes: Iterable[str]) -> dict[str, str | None]:
        """Case code → its location code (one BatchGetItem per 100 codes)."""


class OrderFacts(Protocol):
    def created_between(self, community_id: str, since: float, until: float) -> list[dict[str, Any]]:
        """The community's orders created in [since, until), as the by-community index projects
        them (adapters.orders.DynamoOrderRepository.created_between): one Query."""


class MemberPoints(Protocol):
    """What the digest reads of the points bank (services.points.PointsBank)."""

    def balance(self, community_id: str, member_id: str) -> int:
        """One GetItem."""

    def statement(self, account: str, month: str) -> list[Entry]:
        """The account's entries of a local month "YYYY-MM": one Query."""


class DigestFailed(Exception):
    """Some digests could not be posted; the rest went out. The message names each one
    (community, grid, the webhook without its key, why)."""


class DigestService:
    def __init__(self, cases: CaseRepository, places: CasePlaces, webhook: Webhook, digest_log: DigestLog,
                 directory: Callable[[], Directory], categories: Mapping[str, Any],
                 settings: Callable[[], dict[str, DigestConfig]], clock: Callable[[], float], *,
                 orders: OrderFacts | None = None, points: MemberPoints | None = None):
        self._cases, self._places, self._webhook, self._log = cases, places, webhook, digest_log
        self._directory, self._settings, self._clock = directory, settings, clock
        self._orders, self._points = orders, points    # without them, no orders or points section
        self._category_names = {code: (c.get("name") or {}).get("zh", code) for code, c in categories.items()}
        self._done: set[tuple[str, str, str]] = set()   # sent, as this warm container knows

    def run(self) -> dict[str, Any]:
        """The schedule: every community whose local digest hour has come today and whose
        grids' digests have not all gone out. Raises DigestFailed after trying them all
        if any post failed."""
        now = self._clock()
        sent, failures = [], []
        directory = None
        for community_id, config in sorted(self._settings().items()):
            window = due_window(config, now)
            if window is None:
                continue
            day = window.day.isoformat()
            directory = directory or self._directory()
            community = directory.communities.get(community_id)
            if community is None:
                log.warning("digest configured for unknown community %s", community_id)
                continue
            pending = [(g, url, away) for g, url, away in grids_to_send(community, config)
                       if (community_id, day, g) not in self._done]
            if not pending:
                continue
            for grid_id, url, _away, digest in self._build(community, config, window, pending):
                state = self._log.claim(community_id, day, grid_id, now, LEASE_SECONDS)
                if state == "sent":
                    self._done.add((community_id, day, grid_id))
                if state != "claimed":
                    continue
                try:
                    self._webhook.post(url, digest.payload())
                except Exception as error:
                    reason = f"{community_id} {grid_id} → {redact(url)}: {error}"
                    self._log.failed(community_id, day, grid_id, self._clock(), self._clock() + RETRY_AFTER,
                                     str(error)[:500])
                    log.warning("digest not sent: %s", reason)
                    failures.append(reason)
                    continue
                self._log.sent(community_id, day, grid_id, self._clock())
                self._done.add((community_id, day, grid_id))
                sent.append(_summary(digest, day))
        if failures:
            raise DigestFailed("; ".join(failures))
        return {"sent": sent}

    def send_now(self, community_id: str | None = None) -> dict[str, Any]:
        """Every configured community's digest (or one's) now, for the 24 hours up to now,
        whatever the hour and whether today's went out (the local stack's POST /dev/digest).
        It is not recorded: the scheduled one still goes out."""
        now = self._clock()
        settings = self._settings()
        if community_id is not None:
            settings = {community_id: settings[community_id]} if community_id in settings else {}
        directory, sent = self._directory(), []
        for cid, config in sorted(settings.items()):
            community = directory.communities.get(cid)
            if community is None:
                continue
            window = window_until(config, now)
            chosen = grids_to_send(community, config)
            for _grid_id, url, _away, digest in self._build(community, config, window, chosen):
                self._webhook.post(url, digest.payload())
                sent.append(_summary(digest, window.day.isoformat()))
        return {"sent": sent}

    def preview(self, community_id: str, now: float | None = None) -> list[GridDigest]:
        """The digests that would go out now, without sending them."""
        config = self._settings()[community_id]
        community = self._directory().communities[community_id]
        window = window_until(config, self._clock() if now is None else now)
        return [d for *_, d in self._build(community, config, window, grids_to_send(community, config))]

    def _build(self, community: Any, config: DigestConfig, window: Window,
               chosen: list[tuple[str, str, int]]) -> list[tuple[str, str, int, GridDigest]]:
        oldest = window.until - config.open_days * 86400
        until = max(window.until, self._clock())   # "still open" is as of now
        rows = {grid_id: list(self._cases.sla_facts(community.id, grid_id, oldest, until))
                for grid_id, _, _ in chosen}
        places = self._places.places(sorted(set().union(*(mentioned(r, window) for r in rows.values()))))
        month = month_of(window.until, config.timezone)
        orders = None
        if self._orders is not None and chosen:
            since = month_bounds(month, config.timezone)[0]
            orders = self._orders.created_between(community.id, since, until)
        followers = away_followers(community)
        points = self._away_points(self._points, community, month, {m for g, _, _ in chosen for m in followers[g]}) \
            if config.points and self._points is not None else None
        return [(grid_id, url, away,
                 grid_digest(community, grid_id, rows[grid_id], window, places, self._category_names,
                             away, config.open_days, config.msgtype,
                             orders=month_orders(community, grid_id, orders) if orders is not None else None,
                             points=points_lines(community, followers[grid_id], points) if points else None))
                for grid_id, url, away in chosen]

    @staticmethod
    def _away_points(bank: MemberPoints, community: Community, month: str,
                     member_ids: set[str]) -> dict[str, tuple[int, int]]:
        """Member id → (points credited this month, balance) of each away member these digests
        go to: one GetItem and one Query each, once per run whatever grids they follow. This
        month's is what the 积分 SMS calls 本月 +N: every credit to the account this month."""
        found = {}
        for member_id in sorted(member_ids):
            account = member_account(community.id, member_id)
            earned = sum(e.points for e in bank.statement(account, month) if e.credit == account)
            found[member_id] = (earned, bank.balance(community.id, member_id))
        return found


def _summary(digest: GridDigest, day: str) -> dict[str, Any]:
    return {"community": digest.community_id, "grid": digest.grid_id, "day": day, **digest.counts}
