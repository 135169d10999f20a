"""The SLA report: time to acknowledge and to resolve, escalations and supervisions (督办)
by level, per grid and per member, for the cases a community received in a period.

It reads each grid's cases from the repository's by-grid index (one Query per grid,
never a Scan) and sums them up with domain.sla.summarize.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.sla import summarize
from chalicelib.services.ports import CaseRepository


class UnknownCommunity(LookupError):
    """No such community, or no such grid in it."""


def member_grids(community: Community) -> dict[str, list[str]]:
    """Community.member_grids in a stable, JSON-ready order."""
    return {member_id: sorted(ids) for member_id, ids in sorted(community.member_grids().items())}


class SlaFacts:
    def __init__(self, cases: CaseRepository, directory: Callable[[], Directory]):
        self._cases, self._directory = cases, directory

    def report(self, community_id: str, since: float, until: float,
               grid_id: str | None = None) -> dict[str, Any]:
        """The figures of the cases created in [since, until] (epoch seconds) in every
        grid of the community, or in one grid: see domain.sla.summarize. A grid with no
        cases is reported with zeros. Cases not yet routed to a grid are not counted."""
        community = self._directory().communities.get(community_id)
        if community is None:
            raise UnknownCommunity(f"no community {community_id}")
        if grid_id is not None and grid_id not in community.grids:
            raise UnknownCommunity(f"no grid {grid_id} in {community_id}")
        grids = [grid_id] if grid_id is not None else sorted(community.grids)
        rows = (row for grid in grids for row in self._cases.sla_facts(community_id, grid, since, until))
        return {"community_id": community_id, "grid_id": grid_id, "since": since, "until": until,
                **summarize(rows, member_grid=member_grids(community), grids=grids)}
