"""SLA reporting: figures per grid and per member from the facts stored with each case.

A fact row is one case as the report reads it (`fact_row`): its code, community, grid,
category, status, level, holder and creation time, plus `Case.sla_facts()`. The
repository gives them by grid and creation time (`CaseRepository.sla_facts`), never by
a Scan; `summarize` turns them into plain, JSON-ready dicts in a stable order.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# The statuses of Case.OPEN_STATUSES, as stored.
OPEN = frozenset({"received", "assigned", "acknowledged"})
BY_LEVEL = ("escalations", "supervisions_yellow", "supervisions_red")


def fact_row(*, code: str, community_id: str, grid_id: str | None, category: str, status: str,
             level: int, holder: str | None, created_at: float, facts: Mapping[str, Any]) -> dict[str, Any]:
    """One case as the report reads it; the same shape from every repository."""
    row = {"code": code, "community_id": community_id, "grid_id": grid_id, "category": category,
           "status": status, "level": int(level), "holder": holder, "created_at": float(created_at)}
    row.update(facts)
    for key in BY_LEVEL:
        row[key] = {str(k): int(v) for k, v in (facts.get(key) or {}).items()}
    row["breaches"] = int(facts.get("breaches") or 0)
    return row


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between the closest ranks
    (numpy's default); the 50th is the median. None when there are no values."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 3)


def _by_level(counts: Mapping[str, int]) -> dict[str, int]:
    return {level: counts[level] for level in sorted(counts, key=lambda k: (len(k), k)) if counts[level]}


class _Tally:
    def __init__(self) -> None:
        self.cases = self.open = self.acknowledged = self.resolved = self.breaches = 0
        self.to_acknowledge: list[float] = []
        self.to_resolve: list[float] = []
        self.levels: dict[str, dict[str, int]] = {key: {} for key in BY_LEVEL}
        self.grids: set[str] = set()

    def count(self, row: Mapping[str, Any], acknowledged: bool = True, resolved: bool = True) -> None:
        self.cases += 1
        self.open += row.get("status") in OPEN
        if acknowledged and row.get("acknowledged_at") is not None:
            self.acknowledged += 1
            if row.get("seconds_to_acknowledge") is not None:
                self.to_acknowledge.append(float(row["seconds_to_acknowledge"]))
        if resolved and row.get("resolved_at") is not None:
            self.resolved += 1
            if row.get("seconds_to_resolve") is not None:
                self.to_resolve.append(float(row["seconds_to_resolve"]))
        for key in BY_LEVEL:
            for level, n in (row.get(key) or {}).items():
                self.levels[key][str(level)] = self.levels[key].get(str(level), 0) + int(n)
        self.breaches += int(row.get("breaches") or 0)
        if row.get("grid_id") is not None:
            self.grids.add(row["grid_id"])

    def summary(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "open": self.open,
            "acknowledged": self.acknowledged,
            "resolved": self.resolved,
            "median_seconds_to_acknowledge": percentile(self.to_acknowledge, 50),
            "p90_seconds_to_acknowledge": percentile(self.to_acknowledge, 90),
            "median_seconds_to_resolve": percentile(self.to_resolve, 50),
            "p90_seconds_to_resolve": percentile(self.to_resolve, 90),
            **{key: _by_level(self.levels[key]) for key in BY_LEVEL},
            "breaches": self.breaches,
        }


def empty_summary() -> dict[str, Any]:
    """The figures of no cases at all."""
    return _Tally().summary()


def summarize(rows: Iterable[Mapping[str, Any]],
              member_grid: Mapping[str, str | Iterable[str]] | None = None,
              grids: Iterable[str] = ()) -> dict[str, Any]:
    """The SLA figures of `rows` (fact rows, see `fact_row`):

    - "total": every row;
    - "grids": per grid (the case's grid), sorted by grid id; every id in `grids` is
      there even with no cases;
    - "members": per member who acknowledged or resolved a case, sorted by member id.
      A member's figures are over the cases they acknowledged or resolved: acknowledged
      and the time to acknowledge count the cases they acknowledged, resolved and the
      time to resolve those they resolved; open, escalations, supervisions and
      breaches count each of their cases once. "grids" lists the grids of those cases
      and "home_grids" the grids `member_grid` gives for the member (member id → a grid
      id or several; from the directory), empty when it gives none.

    Each summary: cases, open, acknowledged, resolved, median and 90th-percentile
    seconds to acknowledge and to resolve (None without any), escalations and yellow
    and red supervisions {level: count} (levels as strings, in level order, zero counts
    left out), and breaches. Everything is plain JSON-serialisable data.
    """
    total, by_grid, by_member = _Tally(), {g: _Tally() for g in grids}, {}
    for row in rows:
        total.count(row)
        if row.get("grid_id") is not None:
            by_grid.setdefault(row["grid_id"], _Tally()).count(row)
        acknowledged_by, resolved_by = row.get("acknowledged_by"), row.get("resolved_by")
        for member in dict.fromkeys(m for m in (acknowledged_by, resolved_by) if m is not None):
            by_member.setdefault(member, _Tally()).count(
                row, acknowledged=member == acknowledged_by, resolved=member == resolved_by)

    def home(member: str) -> list[str]:
        given = (member_grid or {}).get(member)
        if given is None:
            return []
        return sorted({given} if isinstance(given, str) else set(given))

    return {
        "total": total.summary(),
        "grids": {grid: by_grid[grid].summary() for grid in sorted(by_grid)},
        "members": {member: {**by_member[member].summary(), "grids": sorted(by_member[member].grids),
                             "home_grids": home(member)}
                    for member in sorted(by_member)},
    }
