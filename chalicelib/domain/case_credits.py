"""Points for grid cases (the points bank's case credits): a case resolved and rated satisfied
earns its resolver the policy's `case_resolved` points, and each 跟办 follower of the level that
resolved it `case_followed_up`; a reopening (a resident's 2 after the 1) reverses that round's
credits. Pure: which credits and reversals a case's history calls for; services.case_credits
enters them in the ledger, where each is kept once.

A round is one resolution: the n-th "resolved" event of the case. The first round's entry
for a member is `case:<code>:<member>`, a later round's `case:<code>.<n>:<member>`, so that a
case resolved again after a reopening can earn again while the reversed round stays reversed.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .case import Case

MAX_CASE_POINTS = 100


class CasePointsError(ValueError):
    """The policy's points section is not valid."""


@dataclass(frozen=True)
class CasePoints:
    resolved: int = 0         # to whoever resolved it
    followed_up: int = 0      # to each 跟办 follower of the level that resolved it

    @classmethod
    def from_dict(cls, data: Any) -> CasePoints:
        if data is None:
            return cls()
        if not isinstance(data, Mapping) or set(data) - {"case_resolved", "case_followed_up"}:
            raise CasePointsError('points is {"case_resolved": 5, "case_followed_up": 2}')
        values = {}
        for key in ("case_resolved", "case_followed_up"):
            value = data.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CASE_POINTS:
                raise CasePointsError(f"points: {key} is a whole number of points, 0 to {MAX_CASE_POINTS}")
            values[key] = value
        return cls(values["case_resolved"], values["case_followed_up"])


@dataclass(frozen=True)
class CaseCredit:
    member_id: str
    points: int
    follower: bool
    ref: str               # the case's code, with ".n" from the second round on
    at: float

    @property
    def entry_id(self) -> str:
        return f"case:{self.ref}:{self.member_id}"


def rounds(case: Case, points: CasePoints) -> list[tuple[list[CaseCredit], bool, bool]]:
    """For each resolution of the case: (its credits, whether a resident rated it satisfied,
    whether it was reopened after that)."""
    found: list[tuple[list[CaseCredit], bool, bool]] = []
    number = 0
    for index, event in enumerate(case.history):
        if event.event != "resolved":
            continue
        number += 1
        later = case.history[index + 1:]
        end = next((i for i, e in enumerate(later) if e.event == "resolved"), len(later))
        after = later[:end]
        rated = next((e for e in after if e.event == "satisfied"
                      or (e.event == "closed" and e.detail == "satisfied")), None)
        reopened = rated is not None and any(e.event == "reopened" and e.at >= rated.at for e in after)
        ref = case.code if number == 1 else f"{case.code}.{number}"
        credits: list[CaseCredit] = []
        resolver = event.actor
        at = rated.at if rated is not None else event.at
        if resolver and not resolver.startswith(("ops:", "@")) and points.resolved:
            credits.append(CaseCredit(resolver, points.resolved, False, ref, at))
        rung = next((r for r in case.chain if r.level == event.level), None)
        for follower in (rung.followers if rung is not None and points.followed_up else ()):
            if follower != resolver:
                credits.append(CaseCredit(follower, points.followed_up, True, ref, at))
        found.append((credits, rated is not None, reopened))
    return found


def credits_due(case: Case, points: CasePoints) -> list[CaseCredit]:
    """The credits of every round a resident rated satisfied (the ledger keeps each once)."""
    return [credit for credits, rated, _ in rounds(case, points) if rated for credit in credits]


def reversals_due(case: Case, points: CasePoints) -> list[CaseCredit]:
    """The credits of every round reopened after its satisfied rating: to be reversed."""
    return [credit for credits, rated, reopened in rounds(case, points) if rated and reopened for credit in credits]
