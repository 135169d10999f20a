"""The validator's base: what it has learnt so far (the valid members) and the value helpers
every check uses, each of which reports what is wrong on its line and returns None."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..directory import Community, MemberCategory
from .records import Loc, _Problems, _Rec, _Records, _split

_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_CATEGORY_NAMES = {"at_home": "at home", "away": "away (外出)", "elderly": "elderly (年老体弱)"}


def _place_label(value: Any) -> str | None:
    """A place as the data files write it, "3-2" (building 3, unit 2) or "3" (building 3),
    normalized ("03 - 2", "3－2" → "3-2"); None when it is not of that form."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    parts = [p.strip() for p in value.replace("－", "-").split("-")]
    if 1 <= len(parts) <= 2 and all(p.isdigit() for p in parts):
        return "-".join(str(int(p)) for p in parts)
    return None


def _places(buildings: Iterable[dict[str, Any]]) -> set[str]:
    """The labels of the checked buildings and their stairwell units."""
    places = {str(b["number"]) for b in buildings if b["number"] is not None}
    places |= {f"{b['number']}-{u['number']}" for b in buildings for u in b["units"]}
    return places


class _Checks:
    def __init__(self, records: _Records, out: _Problems, expected_id: str | None,
                 others: Iterable[Community]):
        self.r, self.out, self.expected_id = records, out, expected_id
        self.others = list(others)
        self.members: dict[str, _Rec] = {}        # valid member ids → their record
        self.category: dict[str, MemberCategory] = {}
        self.names: dict[str, str] = {}

    # value helpers: each reports what is wrong and returns None
    def text(self, rec: _Rec, field: str, what: str, required: bool = True) -> str | None:
        value = rec.values.get(field)
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif value is not None:
            self.out.error(rec.at(field), f"{what}: {field} must be text, not {value!r}")
            return None
        if not value:
            if required:
                self.out.error(rec.at(field), f"{what} has no {field}")
            return None
        return value

    def ident(self, rec: _Rec, field: str, what: str, required: bool = True) -> str | None:
        value = self.text(rec, field, what, required)
        if value is not None and not _ID.match(value):
            self.out.error(rec.at(field), f"{what}: {field} {value!r} may only have letters, digits, "
                                          f"'-', '_' and '.'")
            return None
        return value

    def number(self, rec: _Rec, what: str) -> int | None:
        value = rec.values.get("number")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if value is None or value == "":
            self.out.error(rec.at("number"), f"{what} has no number")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.out.error(rec.at("number"), f"{what}: number {value!r} is not a positive whole number")
            return None
        return value

    def id_list(self, rec: _Rec, field: str, what: str) -> list[tuple[str, Loc]]:
        value = rec.values.get(field)
        if value is None:
            return []
        if isinstance(value, str):
            value = _split(value)
        if not isinstance(value, list):
            self.out.error(rec.at(field), f"{what}: {field} must be a list")
            return []
        result = []
        for index, item in enumerate(value):
            loc = rec.at(field, index)
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not _ID.match(item.strip()):
                self.out.error(loc, f"{what}: {item!r} in {field} is not an id")
                continue
            result.append((item.strip(), loc))
        return result

    def member_ref(self, member_id: str | None, loc: Loc, as_what: str) -> bool:
        if member_id is None:
            return False
        if member_id not in self.members:
            self.out.error(loc, f"{as_what}: unknown member {member_id!r} (not in the members)")
            return False
        return True

    def at_home(self, member_id: str | None) -> bool:
        return member_id is not None and self.category.get(member_id) is MemberCategory.AT_HOME

    def who(self, member_id: str) -> str:
        category = self.category.get(member_id)
        label = _CATEGORY_NAMES.get(category.value, category.value) if category else "?"
        return f"{member_id} ({self.names.get(member_id, '?')}, {label})"

    def warn_if_away(self, member_id: str | None, loc: Loc, role: str, consequence: str) -> None:
        if member_id in self.members and not self.at_home(member_id):
            self.out.warn(loc, f"{role} {self.who(member_id)} is not at home: {consequence}")
