"""Lists of cases for other programs (Open311's GET requests, docs/open311.md): a community's
cases created in a window, without a Scan.

The by-grid index (`CaseRepository.sla_facts`) is queried once per grid of the community, by
creation time; its rows carry the code, status and category, enough to filter on. Only the
rows that are kept are then read whole, 100 to a BatchGetItem (`get_many`). The index holds
routed cases only: a report appears once the case worker has routed it (seconds after it was
made), and an SMS report waiting for its place (triage) does not appear until it is placed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from chalicelib.domain.case import Case
from chalicelib.domain.directory import Directory

from .ports import CaseRepository


class CaseListing:
    def __init__(self, cases: CaseRepository, directory: Callable[[], Directory]):
        self._cases, self._directory = cases, directory

    def created_between(self, community_id: str, since: float, until: float,
                        keep: Callable[[str, str], bool] = lambda status, category: True,
                        limit: int = 1000) -> list[Case]:
        """The community's routed cases created in [since, until] whose (status, category)
        `keep` accepts, newest first, at most `limit`."""
        community = self._directory().communities.get(community_id)
        if community is None:
            return []
        rows = [row for grid_id in sorted(community.grids)
                for row in self._cases.sla_facts(community_id, grid_id, since, until)
                if keep(row["status"], row["category"])]
        rows.sort(key=lambda row: (row["created_at"], row["code"]), reverse=True)
        return self.by_codes([row["code"] for row in rows[:limit]])

    def by_codes(self, codes: Iterable[str]) -> list[Case]:
        """The cases with these codes, in the order given; a code that matches nothing is left out."""
        codes = list(dict.fromkeys(codes))
        found = {case.code: case for case in self._cases.get_many(codes)}
        return [found[code] for code in codes if code in found]
