"""What an import changes, for the audit record: changes, is_unchanged and summarize."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..directory import Community

_MEMBER_DIFF = (("name", "name"), ("phone", "phone"), ("roles", "roles"), ("category", "category"),
                ("lang", "lang"), ("leave", "leave"), ("posts", "posts"), ("linked_units", "linked_units"),
                ("paired_with", "paired_with"))
_GRID_DIFF = (("name", "name"), ("chief_id", "chief"), ("member_ids", "members"),
              ("volunteer_ids", "volunteers"))
_BUILDING_DIFF = (("number", "number"), ("grid_id", "grid"), ("leader_id", "leader"),
                  ("grid_member_id", "grid_member"))
_COMMUNITY_DIFF = (("name", "name"), ("area_name", "area_name"), ("area_chief_id", "area_chief"),
                   ("committee_ids", "committee"), ("teams", "teams"), ("triage_id", "triage"),
                   ("sms_number", "sms_number"), ("sms_default", "sms_default"), ("households", "households"))


def changes(old: Community | None, new: Community) -> dict[str, Any]:
    """What an import changes, as plain data: added, removed and changed records (with the
    names of the fields that changed) and every stairwell unit whose leader changed."""
    def diff(before: Mapping[str, Any], after: Mapping[str, Any], fields) -> dict[str, Any]:
        return {
            "added": [k for k in after if k not in before],
            "removed": [k for k in before if k not in after],
            "changed": {k: [label for attr, label in fields
                            if getattr(before[k], attr) != getattr(after[k], attr)]
                        for k in after if k in before and before[k] != after[k]},
        }

    empty: dict[str, Any] = {}
    return {
        "first": old is None,
        "community": [] if old is None else [label for attr, label in _COMMUNITY_DIFF
                                             if getattr(old, attr) != getattr(new, attr)],
        "members": diff(old.members if old else empty, new.members, _MEMBER_DIFF),
        "grids": diff(old.grids if old else empty, new.grids, _GRID_DIFF),
        "buildings": diff(old.buildings if old else empty, new.buildings, _BUILDING_DIFF),
        "units": {k: v for k, v in diff(old.units if old else empty, new.units, ()).items()
                  if k != "changed"},
        "unit_leaders": {} if old is None else {
            unit_id: [old.units[unit_id].leader_id, unit.leader_id]
            for unit_id, unit in new.units.items()
            if unit_id in old.units and old.units[unit_id].leader_id != unit.leader_id},
    }


def is_unchanged(change: Mapping[str, Any]) -> bool:
    if change["first"] or change["community"] or change["unit_leaders"]:
        return False
    return not any(change[kind][part] for kind in ("members", "grids", "buildings", "units")
                   for part in change[kind])


def summarize(change: Mapping[str, Any], new: Community, limit: int = 8) -> str:
    """One line for a person reading the history (or the table in the console)."""
    if change["first"]:
        return (f"first version: {len(new.members)} members, {len(new.grids)} grids, "
                f"{len(new.buildings)} buildings, {len(new.units)} stairwell units")

    def ids(items: list[str]) -> str:
        shown = ", ".join(items[:limit])
        return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")

    parts = []
    if change["community"]:
        parts.append(f"community: {', '.join(change['community'])} changed")
    for kind in ("members", "grids", "buildings", "units"):
        part = change[kind]
        bits = []
        if part["added"]:
            bits.append(f"{len(part['added'])} added ({ids(part['added'])})")
        if part["removed"]:
            bits.append(f"{len(part['removed'])} removed ({ids(part['removed'])})")
        changed = part.get("changed") or {}
        if changed:
            described = [f"{k}: {', '.join(v)}" for k, v in changed.items()]
            bits.append(f"{len(changed)} changed ({ids(described)})")
        if bits:
            parts.append(f"{kind}: {', '.join(bits)}")
    if change["unit_leaders"]:
        moves = [f"{unit} {old}→{new_id}" for unit, (old, new_id) in change["unit_leaders"].items()]
        parts.append(f"stairwell leaders: {ids(moves)}")
    return "; ".join(parts) or "no changes"
