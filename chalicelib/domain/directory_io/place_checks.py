"""The checks of the community's teams, grids, buildings and stairwell units: unknown and
repeated ids, unknown parents and members, and the away members the chain will skip."""
from __future__ import annotations

from typing import Any

from ..directory import ROLE_NAMES, TEAM_ROLES
from .records import _TEAM_NAMES, _Rec
from .value_checks import _Checks


class _PlaceChecks(_Checks):
    def distinct_members(self, rec: _Rec, field: str, what: str, listed_as: str, as_what: str,
                         away: str | None = None) -> list[str]:
        """The known members a record lists in `field`, each once: a repeat or an unknown
        id is a problem on its line; with `away`, an away member is a warning saying so."""
        members: list[str] = []
        listed: set[str] = set()
        for member_id, loc in self.id_list(rec, field, what):
            if member_id in listed:
                self.out.error(loc, f"{what}: {listed_as} {member_id} is listed twice")
            elif self.member_ref(member_id, loc, as_what):
                if away is not None:
                    self.warn_if_away(member_id, loc, as_what, away)
                members.append(member_id)
            listed.add(member_id)
        return members

    def check_teams(self) -> dict[str, list[str]]:
        teams: dict[str, list[str]] = {}
        first: dict[str, int] = {}
        for rec in self.r.teams:
            role = self.ident(rec, "team", "a team")
            if role is not None and role not in TEAM_ROLES:
                self.out.error(rec.at("team"), f"unknown team {role!r} (teams are: {_TEAM_NAMES})")
                role = None
            elif role is not None and role in first:
                self.out.error(rec.at("team"), f"team {role} is given twice (first on line {first[role]})")
                role = None
            what = f"team {role} ({ROLE_NAMES[role]['zh']})" if role else "a team"
            members = self.distinct_members(rec, "members", what, "member", f"{what} member",
                                            away="they are never assigned")
            if role is None:
                continue
            first[role] = rec.at("team")[1]
            if members:
                teams[role] = members
        return {role: teams[role] for role in TEAM_ROLES if role in teams}

    def check_grids(self) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        grids: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        members_of: dict[str, list[str]] = {}
        for rec in self.r.grids:
            grid_id = self.ident(rec, "id", "a grid")
            what = f"grid {grid_id}" if grid_id else "a grid"
            if grid_id is not None and grid_id in seen:
                self.out.error(rec.at("id"), f"grid id {grid_id} is used twice (first on line {seen[grid_id]})")
                grid_id = None
            name = self.text(rec, "name", what)
            chief = self.ident(rec, "chief", what)
            if self.member_ref(chief, rec.at("chief"), f"{what} chief (网格长)"):
                self.warn_if_away(chief, rec.at("chief"), f"{what} chief (网格长)",
                                  "level 3 is skipped for this grid")
            members = self.distinct_members(rec, "members", what, "member", f"{what} member (网格员)")
            volunteers = self.distinct_members(rec, "volunteers", what, "volunteer",
                                               f"{what} volunteer (党员志愿者)", away="they are never assigned")
            if grid_id is None:
                continue
            seen[grid_id] = rec.loc[1]
            members_of[grid_id] = members
            grids.append({"id": grid_id, "name": name, "chief": chief, "members": members,
                          "volunteers": volunteers})
        return grids, members_of

    def check_buildings(self, grid_ids: set[str], grid_members: dict[str, list[str]]) -> list[dict[str, Any]]:
        buildings: dict[str, dict[str, Any]] = {}
        first_line: dict[str, int] = {}
        numbers: dict[int, tuple[str, int]] = {}
        broken: set[str] = set()            # building ids given, but unusable (duplicates)
        for rec in self.r.buildings:
            building_id = self.ident(rec, "id", "a building")
            what = f"building {building_id}" if building_id else "a building"
            if building_id is not None and building_id in buildings:
                self.out.error(rec.at("id"), f"building id {building_id} is used twice "
                                             f"(first on line {first_line[building_id]})")
                broken.add(building_id)
                building_id = None
            number = self.number(rec, what)
            if number is not None:
                if number in numbers:
                    self.out.error(rec.at("number"), f"{what}: building number {number} is also building "
                                                     f"{numbers[number][0]}'s (line {numbers[number][1]})")
                else:
                    numbers[number] = (building_id or "?", rec.loc[1])
            grid = self.ident(rec, "grid", what)
            if grid is not None and grid not in grid_ids:
                self.out.error(rec.at("grid"), f"{what}: unknown grid {grid!r} (not in the grids)")
            leader = self.ident(rec, "leader", what, required=False)
            if self.member_ref(leader, rec.at("leader"), f"{what} leader (楼长)"):
                self.warn_if_away(leader, rec.at("leader"), f"{what} leader (楼长)",
                                  "they cannot step in for an absent stairwell leader")
            grid_member = self.ident(rec, "grid_member", what, required=False)
            if self.member_ref(grid_member, rec.at("grid_member"), f"{what} grid member (网格员)"):
                self.warn_if_away(grid_member, rec.at("grid_member"), f"{what} grid member (网格员)",
                                  "the grid's other members are asked at level 2")
                if grid in grid_members and grid_member not in grid_members[grid]:
                    self.out.warn(rec.at("grid_member"), f"{what}: grid member {grid_member} is not one of "
                                                         f"grid {grid}'s members")
            if building_id is None:
                continue
            first_line[building_id] = rec.loc[1]
            buildings[building_id] = {"id": building_id, "number": number, "grid": grid,
                                      "leader": leader, "grid_member": grid_member, "units": []}

        units_seen: dict[tuple[str, int], int] = {}
        for rec in self.r.units:
            nested = rec.values.get("nested", False)
            building_id = self.ident(rec, "building", "a stairwell unit", required=not nested)
            number = self.number(rec, f"a stairwell unit of building {building_id or '?'}")
            what = f"stairwell unit {building_id or '?'}-{number if number is not None else '?'}"
            building = None
            if building_id is not None and building_id not in broken:
                building = buildings.get(building_id)
                if building is None and not nested:
                    self.out.error(rec.at("building"), f"{what}: unknown building {building_id!r} "
                                                       f"(not in the buildings)")
            if building is not None and number is not None:
                key = (building_id, number)
                if key in units_seen:
                    self.out.error(rec.at("number"), f"unit {number} of building {building_id} is given "
                                                     f"twice (first on line {units_seen[key]})")
                    building = None
                else:
                    units_seen[key] = rec.loc[1]
            leader = self.ident(rec, "leader", what, required=False)
            if leader is None and rec.values.get("leader") in (None, ""):
                self.out.error(rec.at("leader") if "leader" in rec.locs else rec.loc,
                               f"{what} has no leader (楼道长): every stairwell unit needs one")
            elif self.member_ref(leader, rec.at("leader"), f"{what} leader (楼道长)") \
                    and not self.at_home(leader) and building is not None:
                steps_in = building["leader"]
                if self.at_home(steps_in):
                    consequence = f"building leader {self.who(steps_in)} steps in"
                else:
                    consequence = "and no building leader at home steps in: level 1 is skipped"
                self.out.warn(rec.at("leader"), f"{what} leader (楼道长) {self.who(leader)} is not at home: "
                                                f"{consequence}")
            if building is not None and number is not None:
                building["units"].append({"number": number, "leader": leader})
        return list(buildings.values())
