"""The validation shared by both formats: the records as read become the plain data of
Community.from_dict, with every problem found on the way (the checks are in *_checks.py)."""
from __future__ import annotations

import re
from typing import Any

from .member_checks import _MemberChecks
from .place_checks import _PlaceChecks
from .records import _Rec
from .sms_checks import _SmsChecks

_COMMUNITY_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class _Validator(_MemberChecks, _PlaceChecks, _SmsChecks):
    """All the checks, run in order: the members first (every other check names them),
    then the community's own fields, its teams, grids, buildings and what SMS needs."""

    def run(self) -> dict[str, Any] | None:
        head = self.r.head
        data: dict[str, Any] = {}
        cid = self.text(head, "id", "the community")
        if cid is not None and not _COMMUNITY_ID.match(cid):
            self.out.error(head.at("id"), f"community id {cid!r} must be lower-case letters, digits "
                                          f"and '_', starting with a letter")
            cid = None
        if cid is not None and self.expected_id is not None and cid != self.expected_id:
            self.out.error(head.at("id"), f"this file is the directory of {cid!r}, "
                                          f"not of {self.expected_id!r}")
        data["id"] = cid

        name = head.values.get("name")
        if name is not None and not isinstance(name, dict):
            self.out.error(head.at("name"), "the community's name must be given per language "
                                            "(zh: ..., en: ...)")
            name = None
        names: dict[str, str] = {}
        for lang, value in (name or {}).items():
            if not isinstance(value, str) or not value.strip():
                self.out.error(head.at("name", lang) if ("name", lang) in head.locs else head.at("name"),
                               f"the community's name in {lang!r} is empty")
            else:
                names[str(lang)] = value.strip()
        if "zh" not in names and not any(isinstance(k, tuple) and k[1] == "zh" for k in head.locs):
            self.out.error(head.at("name"), "the community has no Chinese name (name zh / name_zh)")
        data["name"] = names

        self.check_members(cid)

        area = _Rec(head.at("area"), {"name": head.values.get("area_name"),
                                      "chief": head.values.get("area_chief")},
                    {k: head.locs[f"area_{k}"] for k in ("name", "chief") if f"area_{k}" in head.locs})
        area_name = self.text(area, "name", "the area (片区)")
        area_chief = self.ident(area, "chief", "the area (片区)")
        if self.member_ref(area_chief, area.at("chief"), "area chief (片长)"):
            self.warn_if_away(area_chief, area.at("chief"), "area chief (片长)",
                              "the top of the chain (level 5) is always skipped")
        data["area"] = {"name": area_name, "chief": area_chief}

        committee, seen = [], {}
        for member_id, loc in self.id_list(head, "committee", "the committee"):
            if member_id in seen:
                self.out.error(loc, f"committee: {member_id} is listed twice (first on line {seen[member_id]})")
            elif self.member_ref(member_id, loc, "committee (两委)"):
                committee.append(member_id)
            seen.setdefault(member_id, loc[1])
        if committee and not any(self.at_home(m) for m in committee):
            self.out.warn(head.at("committee"), "no committee member is at home: level 4 (社区响应) "
                                                "is always skipped")
        data["committee"] = committee
        data["teams"] = self.check_teams()

        data["grids"], grid_members = self.check_grids()
        data["buildings"] = self.check_buildings(set(g["id"] for g in data["grids"]), grid_members)
        self.check_links(data["buildings"])
        data["members"] = [self.members[m].values["_plain"] for m in self.members]
        self.check_sms(cid, data)
        return data
