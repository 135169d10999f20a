"""Small hand-made directories for edge cases the demo data does not have.

The "tiny" community, one grid and two buildings:

    area chief: area          committee: k1, k2
    grid g1: chief `chief`, members gm, gm2
    building 1 (leader bl, grid member gm): unit 1 → sl, unit 2 → bl
    building 2 (leader bl, grid member gm2): unit 1 → sl2
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from chalicelib.domain.directory import Community

MEMBER_IDS = ("area", "k1", "k2", "chief", "gm", "gm2", "bl", "sl", "sl2")


def tiny_dict(cid: str = "tiny", *, away: Iterable[str] = (), elderly: Iterable[str] = (),
              phone_prefix: str = "+86139000000", lang: dict[str, str] | None = None) -> dict[str, Any]:
    """The plain (data file) shape of the tiny community; phones are valid CN mobiles."""
    away, elderly, lang = set(away), set(elderly), lang or {}
    category = {m: "away" for m in away} | {m: "elderly" for m in elderly}
    return {
        "id": cid,
        "name": {"zh": "小小家园", "en": "Tiny Homeland"},
        "area": {"name": "小小片区", "chief": "area"},
        "committee": ["k1", "k2"],
        "grids": [{"id": "g1", "name": "第一网格", "chief": "chief", "members": ["gm", "gm2"]}],
        "buildings": [
            {"id": "b1", "number": 1, "grid": "g1", "leader": "bl", "grid_member": "gm",
             "units": [{"number": 1, "leader": "sl"}, {"number": 2, "leader": "bl"}]},
            {"id": "b2", "number": 2, "grid": "g1", "leader": "bl", "grid_member": "gm2",
             "units": [{"number": 1, "leader": "sl2"}]},
        ],
        "members": [{"id": m, "name": f"成员{m}", "phone": f"{phone_prefix}{i:02d}",
                     "roles": [], "category": category.get(m, "at_home"), "lang": lang.get(m, "zh")}
                    for i, m in enumerate(MEMBER_IDS)],
    }


def tiny(cid: str = "tiny", **kwargs: Any) -> Community:
    return Community.from_dict(tiny_dict(cid, **kwargs))


def edited(data: dict[str, Any], edit) -> dict[str, Any]:
    """A deep copy of `data` changed by `edit(copy)`."""
    result = copy.deepcopy(data)
    edit(result)
    return result


def tiny_extras_dict(cid: str = "tiny", **kwargs: Any) -> dict[str, Any]:
    """The tiny community with teams, a grid volunteer and a member on leave:

        teams: mediation_room k1, sl2; patrol_team sl
        grid g1 volunteers: k2
        sl on leave from 2026-12-01 to 2026-12-10 (days in Asia/Shanghai, both included)
    """
    data = tiny_dict(cid, **kwargs)
    data["teams"] = {"mediation_room": ["k1", "sl2"], "patrol_team": ["sl"]}
    data["grids"][0]["volunteers"] = ["k2"]
    next(m for m in data["members"] if m["id"] == "sl")["leave"] = [{"from": "2026-12-01", "to": "2026-12-10"}]
    return data


def tiny_extras(cid: str = "tiny", **kwargs: Any) -> Community:
    return Community.from_dict(tiny_extras_dict(cid, **kwargs))
