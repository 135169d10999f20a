"""When two reports are one problem: the policy's rules for folding a new report into an open
case, and which open case a report is a duplicate of.

A community's policy file (data/policies/<community>.json) says it under "duplicates":

    "duplicates": {
      "default": {"match": "unit", "within": "2 days"},
      "categories": {"stairwell_light": {"match": "building", "within": "3 days"},
                     "medical_insurance": "never"}
    }

`match` is how near the two places must be: "unit" (the same stairwell unit, or the same
building when neither names a unit) or "building" (anywhere in the same building); `within`
is how long after the open case was reported a new one still joins it; "never" keeps every
report of the category its own case (a resident's own paperwork, a dispute). Without the
key nothing is folded. An urgent report is folded too, but never silently: its holder is
told (services.duplicates).

The case worker asks the cases table for the open cases of the same category in the same
building (one Query on its by-place index, keyed by `place_key`), and `original_for` picks
the one a new report joins: the oldest that matches.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MATCHES = ("unit", "building")


class DuplicateRulesError(ValueError):
    pass


@dataclass(frozen=True)
class DuplicateRule:
    fold: bool = False
    match: str = "unit"
    within_seconds: int = 0


NEVER = DuplicateRule()


@dataclass(frozen=True)
class DuplicateRules:
    default: DuplicateRule = NEVER
    categories: Mapping[str, DuplicateRule] = field(default_factory=dict)

    def for_category(self, category: str) -> DuplicateRule:
        return self.categories.get(category, self.default)

    @classmethod
    def from_dict(cls, data: Any, parse_limit, known_categories: frozenset[str] | None = None) -> DuplicateRules:
        """`parse_limit(text) -> seconds` reads "2 days" as the policy's other limits are read."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping) or set(data) - {"description", "default", "categories"}:
            raise DuplicateRulesError('duplicates must be {"default": {...}, "categories": {...}}')
        default = _rule(data.get("default", "never"), "duplicates.default", parse_limit)
        categories = {}
        for category, spec in (data.get("categories") or {}).items():
            if known_categories is not None and category not in known_categories:
                raise DuplicateRulesError(f"duplicates: category {category!r} is not in categories.json")
            categories[str(category)] = _rule(spec, f"duplicates, category {category}", parse_limit)
        return cls(default, categories)


def _rule(spec: Any, where: str, parse_limit) -> DuplicateRule:
    if spec == "never":
        return NEVER
    if not isinstance(spec, Mapping) or set(spec) - {"match", "within"} or "within" not in spec:
        raise DuplicateRulesError(f'{where}: write "never" or {{"match": "unit", "within": "2 days"}}')
    match = str(spec.get("match", "unit"))
    if match not in MATCHES:
        raise DuplicateRulesError(f"{where}: match is one of {', '.join(MATCHES)}, not {match!r}")
    return DuplicateRule(True, match, int(parse_limit(str(spec["within"]))))


def place_key(community_id: str, building_id: str, category: str) -> str:
    """What the by-place index is keyed by: the open cases of a category in a building."""
    return f"{community_id}#{building_id}#{category}"


def place_key_at(community: Any, location: str, category: str) -> str | None:
    """The place key of a report at `location` (a location code) in `community`; None for a
    place the directory does not know (an SMS report waiting for triage)."""
    place = community.locations.get(location) if community is not None else None
    return place_key(community.id, place.building_id, category) if place else None


@dataclass(frozen=True)
class OpenReport:
    """An open case as the by-place index shows it."""
    code: str
    location: str
    created_at: float
    status: str


def same_place(rule: DuplicateRule, location: str, other: str, building_of: Mapping[str, str]) -> bool:
    """Whether two locations (codes) are near enough for `rule`; `building_of` maps a
    location code to its building's id."""
    if building_of.get(location) is None or building_of.get(location) != building_of.get(other):
        return False
    return rule.match == "building" or location == other


def original_for(code: str, location: str, created_at: float, rule: DuplicateRule,
                 candidates: Iterable[OpenReport], building_of: Mapping[str, str]) -> str | None:
    """The open case a new report (`code` at `location`, made at `created_at`) is a duplicate
    of under `rule`: the oldest that matches, reported within the rule's window before it."""
    if not rule.fold:
        return None
    matching = [c for c in candidates
                if c.code != code and c.status in ("received", "assigned", "acknowledged")
                and created_at - rule.within_seconds <= c.created_at <= created_at
                and same_place(rule, location, c.location, building_of)]
    return min(matching, key=lambda c: (c.created_at, c.code)).code if matching else None
