"""Writing a community out: to_plain (the data-file shape), export_yaml and export_csv."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from .. import leave as _leave
from ..directory import TEAM_ROLES, Community


def to_plain(community: Community) -> dict[str, Any]:
    """The data-file shape (data/directory/*.yaml): empty fields (teams, volunteers, leave,
    posts, linked_units, paired_with, a building's leader) left out, lang only when not zh."""
    data = community.to_dict()
    if not data["teams"]:
        del data["teams"]
    for grid in data["grids"]:
        if not grid["volunteers"]:
            del grid["volunteers"]
    for building in data["buildings"]:
        for key in ("leader", "grid_member"):
            if building[key] is None:
                del building[key]
    for member in data["members"]:
        if member["lang"] == "zh":
            del member["lang"]
        for key in ("leave", "posts", "linked_units", "paired_with"):
            if not member[key]:
                del member[key]
    for key, empty in (("triage", None), ("sms_number", None), ("sms_default", False), ("households", [])):
        if data[key] == empty:
            del data[key]
    return data


def export_yaml(community: Community, comment: str | None = None) -> str:
    import yaml  # lazily: only the YAML path needs PyYAML

    text = yaml.safe_dump(to_plain(community), allow_unicode=True, sort_keys=False,
                          default_flow_style=False, width=1000)
    if comment:
        text = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines()) + text
    return text


def export_csv(community: Community) -> dict[str, str]:
    """{file name: text} for the six CSV files (see the package docstring)."""
    def table(header: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
        return buffer.getvalue()

    c = community
    head = [("id", c.id)] + [(f"name_{lang}", name) for lang, name in c.name.items()] + [
        ("area_name", c.area_name), ("area_chief", c.area_chief_id), ("committee", ";".join(c.committee_ids))]
    head += [(key, value) for key, value in (("triage", c.triage_id), ("sms_number", c.sms_number),
                                             ("sms_default", "true" if c.sms_default else None)) if value]
    units = sorted(c.units.values(), key=lambda u: (c.buildings[u.building_id].number, u.number))
    return {
        "community.csv": table(("field", "value"), head),
        "members.csv": table(("id", "name", "phone", "category", "lang", "roles", "leave", "posts", "linked_units",
                              "paired_with"),
                             ((m.id, m.name, m.phone, m.category.value, m.lang, ";".join(m.roles),
                               ";".join(_leave.period_text(p) for p in m.leave), ";".join(m.posts),
                               ";".join(c.unit_label(code) for code in m.linked_units), m.paired_with)
                              for m in c.members.values())),
        "grids.csv": table(("id", "name", "chief", "members", "volunteers"),
                           ((g.id, g.name, g.chief_id, ";".join(g.member_ids), ";".join(g.volunteer_ids))
                            for g in c.grids.values())),
        "buildings.csv": table(("id", "number", "grid", "leader", "grid_member"),
                               ((b.id, b.number, b.grid_id, b.leader_id, b.grid_member_id)
                                for b in c.buildings.values())),
        "units.csv": table(("building", "number", "leader"),
                           ((u.building_id, u.number, u.leader_id) for u in units)),
        "teams.csv": table(("team", "members"),
                           ((role, ";".join(c.teams[role])) for role in TEAM_ROLES if role in c.teams)),
        "households.csv": table(("phone", "unit"),
                                ((phone, c.unit_label(code)) for phone, code in c.households.items())),
    }
