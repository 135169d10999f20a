"""The grid directory: who lives where and who answers for it.

community → area (area chief) → grids (grid chief, grid members) → buildings
(building leader) → stairwell units (stairwell leader), plus the community's
committee members, the community's teams (暖心调解室, 巡逻队, 物业) and each grid's
party volunteers (党员志愿者). Every record belongs to exactly one community.

For reports by SMS: the registered households (a resident's phone → their stairwell
unit or building), the member on triage duty (who places an SMS report whose place
is not known), the number residents text (matched against the gateway's `To`) and
whether the community takes SMS from unknown phones when nothing else says where.

For the party members' services (三单: 群众点单、支部下单、党员接单): each member's service
posts (设岗, POSTS), the households a 党群连心户 household head is linked to (linked_units:
they may order on their behalf, 代点), and the at-home member an elderly or away member is
paired with (结对帮扶: paired_with, who does their care visits). service_pool says who of a
grid may take an order for a post.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from . import leave as _leave


class MemberCategory(str, Enum):
    AT_HOME = "at_home"      # 在家党员: given posts, the only ones ever assigned
    AWAY = "away"            # 外出党员: tracked, never assigned on-site work
    ELDERLY = "elderly"      # 年老体弱党员: cared for, never assigned


# The service posts (设岗) a member may hold, as the service catalogues name them
# (chalicelib/data/services/*.json, an item's `post`): 代办, 关爱走访, 上门帮扶, 微心愿.
POSTS = ("proxy_service", "care_visit", "help_at_home", "micro_wish")


class DirectoryError(ValueError):
    """The directory data is inconsistent (an unknown parent, a duplicate, ...)."""


@dataclass(frozen=True)
class Member:
    id: str
    community_id: str
    name: str
    phone: str
    roles: tuple[str, ...]
    category: MemberCategory = MemberCategory.AT_HOME
    lang: str = "zh"
    leave: tuple[tuple[float, float], ...] = ()   # away for a while: [start, end) epoch seconds
    posts: tuple[str, ...] = ()           # 设岗: the service posts they hold (POSTS)
    linked_units: tuple[str, ...] = ()    # 党群连心户: the location codes of the households they are linked to
    paired_with: str | None = None        # 结对帮扶 (elderly or away only): the at-home member who visits them

    @property
    def assignable(self) -> bool:
        return self.category is MemberCategory.AT_HOME

    def available(self, at: float | None = None) -> bool:
        """Assignable (at home) and, when `at` is given, not on leave at that instant
        (a period's start is inside it, its end is not)."""
        return self.assignable and (at is None or not any(start <= at < end for start, end in self.leave))


@dataclass(frozen=True)
class Grid:
    id: str
    name: str
    chief_id: str
    member_ids: tuple[str, ...]
    volunteer_ids: tuple[str, ...] = ()    # 党员志愿者协办: the grid's party volunteers


@dataclass(frozen=True)
class Building:
    id: str
    number: int
    grid_id: str
    leader_id: str | None = None         # 楼长, steps in for an absent stairwell leader
    grid_member_id: str | None = None    # the grid member who looks after this building


@dataclass(frozen=True)
class Unit:
    id: str
    building_id: str
    number: int
    leader_id: str                       # 楼道长


@dataclass(frozen=True)
class Location:
    """A place a report can be about: a stairwell unit or a whole building."""
    code: str
    community_id: str
    building_id: str
    unit_id: str | None
    name: dict[str, str]
    short_name: dict[str, str]           # without the community's name, for SMS


@dataclass(frozen=True)
class Level:
    """One rung of the escalation ladder for a particular location.

    `holder` is who gets the case at this level (None: nobody at home, the level
    is skipped); `eligible` are this level's at-home members, any of whom may act
    on the case while it is held below this level.
    """
    level: int
    role: str
    holder: str | None
    eligible: tuple[str, ...]
    followers: tuple[str, ...] = ()      # 跟办: told with the holder and may resolve the case too


@dataclass(frozen=True)
class _DefaultStep:
    level: int
    role: str
    with_roles: tuple[str, ...] = ()


# The ladder, bottom to top: 楼长发现、网格呼叫、社区响应, then the area chief.
LEVEL_ROLES = ("stairwell_leader", "grid_member", "grid_chief", "committee", "area_chief")
ROLE_NAMES = {
    "stairwell_leader": {"zh": "楼道长", "en": "stairwell leader"},
    "grid_member": {"zh": "网格员", "en": "grid member"},
    "grid_chief": {"zh": "网格长", "en": "grid chief"},
    "committee": {"zh": "社区两委", "en": "community committee"},
    "area_chief": {"zh": "片长", "en": "area chief"},
    "volunteer": {"zh": "党员志愿者", "en": "party volunteer"},
    "mediation_room": {"zh": "暖心调解室", "en": "mediation room"},
    "patrol_team": {"zh": "巡逻队", "en": "patrol team"},
    "property_management": {"zh": "物业", "en": "property management"},
}
# The community's specialist teams (Community.teams is keyed by these).
TEAM_ROLES = ("mediation_room", "patrol_team", "property_management")


@dataclass
class Community:
    id: str
    name: dict[str, str]
    area_name: str
    area_chief_id: str
    committee_ids: tuple[str, ...]
    members: dict[str, Member]
    grids: dict[str, Grid]
    buildings: dict[str, Building]
    units: dict[str, Unit]
    locations: dict[str, Location] = field(default_factory=dict)
    teams: dict[str, tuple[str, ...]] = field(default_factory=dict)   # TEAM_ROLES → members, in order
    triage_id: str | None = None          # 分诊: places SMS reports whose place is unknown
    sms_number: str | None = None         # the number its residents text (E.164), if it has its own
    sms_default: bool = False             # takes SMS from unknown phones when nothing says where
    households: dict[str, str] = field(default_factory=dict)   # resident phone (E.164) → location code

    def __post_init__(self) -> None:
        self.teams = {role: tuple(ids) for role, ids in self.teams.items() if ids}
        self._validate()
        if not self.locations:
            self.locations = self._build_locations()
        for member in self.members.values():
            for code in member.linked_units:
                if code not in self.locations:
                    raise DirectoryError(f"{self.id}: member {member.id} is linked to unknown place {code!r}")
        for phone, code in self.households.items():
            if code not in self.locations:
                raise DirectoryError(f"{self.id}: household {phone} lives at unknown place {code!r}")

    # -- SMS reports -------------------------------------------------------
    def triage_holder(self, at: float | None = None) -> str | None:
        """Who places an SMS report with no known place: the member on triage duty, or
        when they are not available, the first available committee member, then the
        area chief."""
        for member_id in (self.triage_id, *self.committee_ids, self.area_chief_id):
            if member_id is not None and member_id in self.members and self.members[member_id].available(at):
                return member_id
        return None

    def unit_label(self, location_code: str) -> str:
        """A place as the data files write it: "3-2" for building 3, unit 2; "3" for a building."""
        location = self.locations[location_code]
        building = self.buildings[location.building_id].number
        return f"{building}-{self.units[location.unit_id].number}" if location.unit_id else str(building)

    def place_of(self, label: Any) -> str | None:
        """The location code for "3-2" (building 3, unit 2) or "3" (building 3), or None."""
        text = str(label).strip()
        parts = text.split("-")
        if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
            return text if text in self.locations else None
        code = f"{self.id}-{int(parts[0]):02d}" + (f"-{int(parts[1])}" if len(parts) == 2 else "")
        return code if code in self.locations else None

    # -- party members' services --------------------------------------------
    def service_pool(self, location_code: str, post: str, at: float | None = None) -> tuple[str, ...]:
        """Who may take an order for `post` at a location: the party members of its grid
        (the grid's chief, then its members, then its volunteers, each once) who hold the
        post and are available at `at` (at home and not on leave). Elderly and away members
        are never in it; a post nobody holds (or no post of POSTS) gives an empty pool."""
        grid = self.grids[self.grid_of(location_code)]
        ids = (grid.chief_id, *grid.member_ids, *grid.volunteer_ids)
        return tuple(i for i in self._available(ids, at) if post in self.members[i].posts)

    def linked_head_for(self, member_id: str, location_code: str) -> bool:
        """Whether the member is a household head (党群连心户) linked to that household: its
        location is one of their linked_units (so they may order on its behalf, 代点)."""
        member = self.members.get(member_id)
        return member is not None and location_code in member.linked_units

    def paired_member(self, member_id: str) -> str | None:
        """The at-home member an elderly or away member is paired with (结对帮扶), or None."""
        member = self.members.get(member_id)
        return member.paired_with if member is not None else None

    # -- routing -----------------------------------------------------------
    def chain_for(self, location_code: str, steps: Iterable[Any] | None = None,
                  at: float | None = None) -> list[Level]:
        """The escalation chain for a location: by default the grid's five levels,
        or the levels of a policy chain (`steps`: objects with level, role, with_roles).

        A level's candidates are ordered; the first available one holds the case.
        Only at-home members who are not on leave at `at` are holders, eligible or
        followers.
        """
        chain: list[Level] = []
        default = [_DefaultStep(n, role) for n, role in enumerate(LEVEL_ROLES, start=1)]
        for step in (steps if steps is not None else default):
            eligible = self._available(self.candidates(location_code, step.role), at)
            # With cross-appointments (交叉任职) one person can sit on two levels: climbing
            # must reach someone new, so prefer a member who holds no lower level.
            below = {lvl.holder for lvl in chain}
            fresh = [i for i in eligible if i not in below]
            holder = fresh[0] if fresh else None
            followers = tuple(dict.fromkeys(
                f for role in getattr(step, "with_roles", ())
                for f in self._available(self.candidates(location_code, role), at)[:1] if f != holder))
            chain.append(Level(step.level, step.role, holder, eligible, followers))
        return chain

    def candidates(self, location_code: str, role: str) -> tuple[str, ...]:
        """Who may hold `role` for a location, in order of preference (anyone, at home or not)."""
        location = self.locations[location_code]
        building = self.buildings[location.building_id]
        grid = self.grids[building.grid_id]
        if role == "stairwell_leader":
            unit_leader = self.units[location.unit_id].leader_id if location.unit_id else None
            ids: tuple[str | None, ...] = (unit_leader, building.leader_id)
        elif role == "grid_member":
            ids = (building.grid_member_id, *grid.member_ids)
        elif role == "grid_chief":
            ids = (grid.chief_id,)
        elif role == "committee":
            ids = self.committee_ids
        elif role == "area_chief":
            ids = (self.area_chief_id,)
        elif role == "volunteer":
            ids = tuple(getattr(grid, "volunteer_ids", ()))
        else:
            ids = tuple(getattr(self, "teams", {}).get(role, ()))
        return tuple(i for i in ids if i is not None)

    def grid_of(self, location_code: str) -> str:
        return self.buildings[self.locations[location_code].building_id].grid_id

    def member_grids(self) -> dict[str, set[str]]:
        """The grids each member is named on: as the grid's chief, grid member or volunteer,
        as the leader or grid member of one of its buildings, or as the stairwell leader of
        one of its units. The SLA report and the away members' digest both go by it."""
        grids: dict[str, set[str]] = {}

        def add(member_id: str | None, grid_id: str) -> None:
            if member_id is not None:
                grids.setdefault(member_id, set()).add(grid_id)

        for grid in self.grids.values():
            for member_id in (grid.chief_id, *grid.member_ids, *grid.volunteer_ids):
                add(member_id, grid.id)
        for building in self.buildings.values():
            add(building.leader_id, building.grid_id)
            add(building.grid_member_id, building.grid_id)
        for unit in self.units.values():
            building = self.buildings.get(unit.building_id)
            if building is not None:
                add(unit.leader_id, building.grid_id)
        return grids

    def responsibility(self, location_code: str, at: float | None = None) -> dict[str, list[str]]:
        """The five-level responsibility for a case here, besides the holder who handles
        it (网格员主办): the area chief leads (片长总领), the committee supervises (两委督办),
        the stairwell leader follows (楼道长跟办), the grid's party volunteers assist
        (党员志愿者协办). Only available members are named."""
        def pick(role: str, first_only: bool = False) -> list[str]:
            ids = list(self._available(self.candidates(location_code, role), at))
            return ids[:1] if first_only else ids
        return {"lead": pick("area_chief"), "supervise": pick("committee"),
                "follow": pick("stairwell_leader", first_only=True), "assist": pick("volunteer")}

    def _available(self, ids: Iterable[str], at: float | None) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i for i in ids if i in self.members and self.members[i].available(at)))

    # -- loading -----------------------------------------------------------
    def _build_locations(self) -> dict[str, Location]:
        locations: dict[str, Location] = {}
        zh, en = self.name.get("zh", self.id), self.name.get("en", self.id)
        for building in sorted(self.buildings.values(), key=lambda b: b.number):
            code = f"{self.id}-{building.number:02d}"
            b_zh, b_en = f"{building.number}号楼", f"Building {building.number}"
            locations[code] = Location(code, self.id, building.id, None,
                                       {"zh": zh + b_zh, "en": f"{en} {b_en}"}, {"zh": b_zh, "en": b_en})
            for unit in sorted((u for u in self.units.values() if u.building_id == building.id),
                               key=lambda u: u.number):
                unit_code = f"{code}-{unit.number}"
                u_zh, u_en = f"{b_zh}{unit.number}单元", f"{b_en} Unit {unit.number}"
                locations[unit_code] = Location(unit_code, self.id, building.id, unit.id,
                                                {"zh": zh + u_zh, "en": f"{en} {u_en}"},
                                                {"zh": u_zh, "en": u_en})
        return locations

    def _validate(self) -> None:
        def known(member_id: str | None, what: str) -> None:
            if member_id is not None and member_id not in self.members:
                raise DirectoryError(f"{self.id}: {what} names unknown member {member_id!r}")

        def each_once(member_ids: Iterable[str], what: str) -> None:
            seen: set[str] = set()
            for member_id in member_ids:
                known(member_id, what)
                if member_id in seen:
                    raise DirectoryError(f"{self.id}: {what} lists member {member_id} twice")
                seen.add(member_id)

        for member in self.members.values():
            if member.community_id != self.id:
                raise DirectoryError(f"member {member.id} belongs to {member.community_id}, not {self.id}")
            for start, end in member.leave:
                if not end > start:
                    raise DirectoryError(f"{self.id}: member {member.id} has a leave period that ends "
                                         f"before it starts ({start!r} to {end!r})")
            for post in member.posts:
                if post not in POSTS:
                    raise DirectoryError(f"{self.id}: member {member.id} has an unknown post {post!r} "
                                         f"(posts are: {', '.join(POSTS)})")
            if len(set(member.posts)) != len(member.posts):
                raise DirectoryError(f"{self.id}: member {member.id} lists a post twice")
            if len(set(member.linked_units)) != len(member.linked_units):
                raise DirectoryError(f"{self.id}: member {member.id} is linked to a household twice")
            self._validate_pairing(member)
        known(self.area_chief_id, "area chief")
        known(self.triage_id, "triage")
        for member_id in self.committee_ids:
            known(member_id, "committee")
        for grid in self.grids.values():
            known(grid.chief_id, f"grid {grid.id} chief")
            for member_id in grid.member_ids:
                known(member_id, f"grid {grid.id} member")
            each_once(grid.volunteer_ids, f"grid {grid.id} volunteer")
        for role, member_ids in self.teams.items():
            if role not in TEAM_ROLES:
                raise DirectoryError(f"{self.id}: unknown team {role!r} (teams are: {', '.join(TEAM_ROLES)})")
            each_once(member_ids, f"team {role}")
        for building in self.buildings.values():
            if building.grid_id not in self.grids:
                raise DirectoryError(f"{self.id}: building {building.id} is in unknown grid {building.grid_id!r}")
            known(building.leader_id, f"building {building.id} leader")
            known(building.grid_member_id, f"building {building.id} grid member")
        for unit in self.units.values():
            if unit.building_id not in self.buildings:
                raise DirectoryError(f"{self.id}: unit {unit.id} is in unknown building {unit.building_id!r}")
            known(unit.leader_id, f"unit {unit.id} leader")

    def _validate_pairing(self, member: Member) -> None:
        partner_id = member.paired_with
        if partner_id is None:
            return
        where = f"{self.id}: member {member.id}"
        if member.category is MemberCategory.AT_HOME:
            raise DirectoryError(f"{where} is at home: only elderly or away members are paired "
                                 f"(paired_with {partner_id!r})")
        if partner_id == member.id:
            raise DirectoryError(f"{where} is paired with themselves")
        partner = self.members.get(partner_id)
        if partner is None:
            raise DirectoryError(f"{where} is paired with unknown member {partner_id!r}")
        if partner.category is not MemberCategory.AT_HOME:
            raise DirectoryError(f"{where} is paired with {partner_id}, who is not at home "
                                 f"({partner.category.value})")

    @classmethod
    def from_dict(cls, data: Mapping) -> Community:
        """Build from the plain shape of the directory data file (one community)."""
        from .report import InvalidReport, normalize_phone

        cid = data["id"]

        def phone(member: Mapping) -> str:
            try:
                return normalize_phone(str(member["phone"]))
            except InvalidReport:
                raise DirectoryError(f"{cid}: member {member['id']} has an invalid phone {member['phone']!r}") from None

        def leave(member: Mapping) -> tuple[tuple[float, float], ...]:
            try:
                return tuple(_leave.period_from_plain(p) for p in member.get("leave") or ())
            except _leave.LeaveError as error:
                raise DirectoryError(f"{cid}: member {member['id']}: {error}") from None

        members = {m["id"]: Member(
            id=m["id"], community_id=cid, name=m["name"], phone=phone(m),
            roles=tuple(m.get("roles", ())),
            category=MemberCategory(m.get("category", "at_home")),
            lang=m.get("lang", "zh"), leave=leave(m), posts=tuple(m.get("posts") or ()),
            paired_with=m.get("paired_with") or None) for m in data.get("members", ())}
        grids = {g["id"]: Grid(g["id"], g["name"], g["chief"], tuple(g.get("members", ())),
                               tuple(g.get("volunteers") or ()))
                 for g in data.get("grids", ())}
        buildings: dict[str, Building] = {}
        units: dict[str, Unit] = {}
        for b in data.get("buildings", ()):
            buildings[b["id"]] = Building(b["id"], int(b["number"]), b["grid"],
                                          b.get("leader"), b.get("grid_member"))
            for u in b.get("units", ()):
                unit_id = f"{b['id']}-{u['number']}"
                units[unit_id] = Unit(unit_id, b["id"], int(u["number"]), u["leader"])
        area = data["area"]
        community = cls(id=cid, name=dict(data["name"]), area_name=area["name"],
                        area_chief_id=area["chief"], committee_ids=tuple(data.get("committee", ())),
                        members=members, grids=grids, buildings=buildings, units=units,
                        teams={role: tuple(ids or ()) for role, ids in (data.get("teams") or {}).items()},
                        triage_id=data.get("triage") or None,
                        sms_number=_phone_or_error(data.get("sms_number"), f"{cid}: sms_number"),
                        sms_default=bool(data.get("sms_default", False)))
        households: dict[str, str] = {}
        for household in data.get("households") or ():
            phone = _phone_or_error(household["phone"], f"{cid}: household")
            code = community.place_of(household["unit"])
            if code is None:
                raise DirectoryError(f"{cid}: household {phone} lives at unknown place {household['unit']!r}")
            if phone in households:
                raise DirectoryError(f"{cid}: household phone {phone} is given twice")
            households[phone] = code
        community.households = households
        for m in data.get("members", ()):
            codes = []
            for label in m.get("linked_units") or ():
                code = community.place_of(label)
                if code is None:
                    raise DirectoryError(f"{cid}: member {m['id']} is linked to unknown place {label!r}")
                codes.append(code)
            if len(set(codes)) != len(codes):
                raise DirectoryError(f"{cid}: member {m['id']} is linked to a household twice")
            if codes:
                community.members[m["id"]] = replace(community.members[m["id"]], linked_units=tuple(codes))
        return community

    def to_dict(self) -> dict:
        """The inverse of from_dict: what the directory store keeps."""
        return {
            "id": self.id, "name": dict(self.name),
            "area": {"name": self.area_name, "chief": self.area_chief_id},
            "committee": list(self.committee_ids),
            "teams": {role: list(self.teams[role]) for role in TEAM_ROLES if role in self.teams},
            "triage": self.triage_id, "sms_number": self.sms_number, "sms_default": self.sms_default,
            "households": [{"phone": phone, "unit": self.unit_label(code)}
                           for phone, code in self.households.items()],
            "grids": [{"id": g.id, "name": g.name, "chief": g.chief_id, "members": list(g.member_ids),
                       "volunteers": list(g.volunteer_ids)}
                      for g in self.grids.values()],
            "buildings": [
                {"id": b.id, "number": b.number, "grid": b.grid_id, "leader": b.leader_id,
                 "grid_member": b.grid_member_id,
                 "units": [{"number": u.number, "leader": u.leader_id}
                           for u in sorted(self.units.values(), key=lambda u: u.number)
                           if u.building_id == b.id]}
                for b in self.buildings.values()],
            "members": [{"id": m.id, "name": m.name, "phone": m.phone, "roles": list(m.roles),
                         "category": m.category.value, "lang": m.lang,
                         "leave": [_leave.period_to_plain(p) for p in m.leave], "posts": list(m.posts),
                         "linked_units": [self.unit_label(code) for code in m.linked_units],
                         "paired_with": m.paired_with}
                        for m in self.members.values()],
        }


def _phone_or_error(raw: Any, what: str) -> str | None:
    from .report import InvalidReport, normalize_phone

    if raw is None or raw == "":
        return None
    try:
        return normalize_phone(str(raw))
    except InvalidReport:
        raise DirectoryError(f"{what}: {raw!r} is not a valid phone number") from None


class Directory:
    """Every community of one deployment, with deployment-wide look-ups."""

    def __init__(self, communities: Iterable[Community]):
        self.communities: dict[str, Community] = {}
        self._locations: dict[str, Location] = {}
        self._by_phone: dict[str, Member] = {}
        self._households: dict[str, Location] = {}
        self._by_sms_number: dict[str, Community] = {}
        for community in communities:
            if community.id in self.communities:
                raise DirectoryError(f"community {community.id} appears twice")
            self.communities[community.id] = community
            for code, location in community.locations.items():
                self._locations[code] = location
            for phone, code in getattr(community, "households", {}).items():
                other = self._households.get(phone)
                if other is not None:
                    raise DirectoryError(f"household phone {phone} is registered in both "
                                         f"{other.community_id} and {community.id}")
                self._households[phone] = community.locations[code]
            number = getattr(community, "sms_number", None)
            if number:
                if number in self._by_sms_number:
                    raise DirectoryError(f"SMS number {number} belongs to both "
                                         f"{self._by_sms_number[number].id} and {community.id}")
                self._by_sms_number[number] = community
            for member in community.members.values():
                other = self._by_phone.get(member.phone)
                if other is not None:
                    raise DirectoryError(
                        f"phone {member.phone} belongs to both {other.id} ({other.community_id}) "
                        f"and {member.id} ({member.community_id})")
                self._by_phone[member.phone] = member

    def location(self, code: str) -> Location | None:
        return self._locations.get(code)

    def locations(self) -> list[Location]:
        return list(self._locations.values())

    def member(self, community_id: str, member_id: str) -> Member:
        return self.communities[community_id].members[member_id]

    def member_by_phone(self, phone: str) -> Member | None:
        return self._by_phone.get(phone)

    def household(self, phone: str) -> Location | None:
        """Where a registered resident's phone lives (a stairwell unit or a building)."""
        return self._households.get(phone)

    def community_by_sms_number(self, number: str | None) -> Community | None:
        """The community whose residents text this number (a gateway's `To`)."""
        if not number:
            return None
        try:
            number = _phone_or_error(number, "to") or ""
        except DirectoryError:
            return None
        return self._by_sms_number.get(number)

    def default_community(self) -> Community | None:
        """Where an SMS from an unknown phone goes when nothing says which community: the
        only community, else the one marked sms_default, else the first by id."""
        if not self.communities:
            return None
        marked = [c for c in self.communities.values() if getattr(c, "sms_default", False)]
        if len(self.communities) == 1:
            return next(iter(self.communities.values()))
        return marked[0] if marked else self.communities[min(self.communities)]
