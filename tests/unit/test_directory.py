"""The grid directory: loading, validation, deployment-wide checks and routing (chain_for)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.domain.directory import (
    LEVEL_ROLES,
    POSTS,
    ROLE_NAMES,
    TEAM_ROLES,
    Community,
    Directory,
    DirectoryError,
    Grid,
    Member,
    MemberCategory,
    Unit,
)
from chalicelib.domain.report import normalize_phone
from tests.unit.builders import edited, tiny, tiny_dict, tiny_extras, tiny_extras_dict

ROOT = Path(__file__).resolve().parents[2]


def holders(chain):
    return [level.holder for level in chain]


# -- from_dict / to_dict ------------------------------------------------------------------

def test_given_demo_communities_when_to_dict_then_from_dict_then_equal(communities):
    for community in communities:
        again = Community.from_dict(community.to_dict())
        assert again == community
        assert again.locations == community.locations


def test_given_community_when_round_tripped_through_json_then_equal(communities):
    # The directory store keeps the plain shape; it must survive JSON (tuples become lists).
    for community in [*communities, tiny(away=["sl"], elderly=["k2"])]:
        plain = json.loads(json.dumps(community.to_dict(), ensure_ascii=False))
        assert Community.from_dict(plain) == community


def test_given_data_file_shape_when_loaded_then_defaults_and_nesting_apply():
    data = tiny_dict()
    for m in data["members"]:
        del m["category"], m["lang"], m["roles"]
    del data["buildings"][0]["grid_member"]
    community = Community.from_dict(data)
    assert community.members["sl"].category is MemberCategory.AT_HOME
    assert community.members["sl"].lang == "zh"
    assert community.members["sl"].roles == ()
    assert community.members["sl"].community_id == "tiny"
    assert community.buildings["b1"].grid_member_id is None
    assert community.units["b1-2"] == Unit("b1-2", "b1", 2, "bl")
    assert set(community.units) == {"b1-1", "b1-2", "b2-1"}


def test_given_demo_changmu_when_loaded_then_it_matches_the_article_sizes(communities):
    changmu = next(c for c in communities if c.id == "changmu")
    assert (len(changmu.grids), len(changmu.buildings), len(changmu.units), len(changmu.members)) \
        == (4, 20, 60, 46)
    # the article's 40 party members, and the six members of its three teams
    team_members = [m for ids in changmu.teams.values() for m in ids]
    assert sorted(team_members) == [f"m{n}" for n in range(41, 47)]
    assert len(set(changmu.members) - set(team_members)) == 40


# -- validation -----------------------------------------------------------------------------

def _set(path, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


@pytest.mark.parametrize("edit, match", [
    (_set(("buildings", 0, "grid"), "g9"), "unknown grid 'g9'"),
    (_set(("area", "chief"), "nobody"), "area chief names unknown member 'nobody'"),
    (_set(("committee",), ["k1", "nobody"]), "committee names unknown member 'nobody'"),
    (_set(("grids", 0, "chief"), "nobody"), "grid g1 chief names unknown member 'nobody'"),
    (_set(("grids", 0, "members"), ["gm", "nobody"]), "grid g1 member names unknown member 'nobody'"),
    (_set(("buildings", 0, "leader"), "nobody"), "building b1 leader names unknown member 'nobody'"),
    (_set(("buildings", 1, "grid_member"), "nobody"), "building b2 grid member names unknown member"),
    (_set(("buildings", 1, "units", 0, "leader"), "nobody"), "unit b2-1 leader names unknown member"),
], ids=["building-in-unknown-grid", "area-chief", "committee", "grid-chief", "grid-member",
        "building-leader", "building-grid-member", "unit-leader"])
def test_given_a_reference_to_something_unknown_when_loaded_then_directory_error(edit, match):
    with pytest.raises(DirectoryError, match=match):
        Community.from_dict(edited(tiny_dict(), edit))


def test_given_a_unit_in_an_unknown_building_when_built_then_directory_error():
    community = tiny()
    units = dict(community.units, **{"b9-1": Unit("b9-1", "b9", 1, "sl")})
    with pytest.raises(DirectoryError, match="unit b9-1 is in unknown building 'b9'"):
        replace(community, units=units, locations={})


def test_given_a_member_of_another_community_when_built_then_directory_error():
    community = tiny()
    stranger = replace(community.members["sl"], community_id="elsewhere")
    with pytest.raises(DirectoryError, match="belongs to elsewhere"):
        replace(community, members=dict(community.members, sl=stranger), locations={})


def test_given_one_phone_in_two_communities_when_directory_built_then_error():
    one, two = tiny("one"), tiny("two")          # same phone prefix: every phone is shared
    with pytest.raises(DirectoryError, match=r"phone \+8613900000000 belongs to both area \(one\)"):
        Directory([one, two])


def test_given_distinct_phones_when_directory_built_then_both_communities_present():
    directory = Directory([tiny("one"), tiny("two", phone_prefix="+86139000001")])
    assert set(directory.communities) == {"one", "two"}
    assert directory.member_by_phone("+8613900000100").community_id == "two"


def test_given_the_same_community_id_twice_when_directory_built_then_error():
    with pytest.raises(DirectoryError, match="community tiny appears twice"):
        Directory([tiny(), tiny(phone_prefix="+86139000001")])


@pytest.mark.parametrize("community_id", [
    "changmu",
    "garang",
])
def test_given_demo_directory_then_every_member_phone_is_valid_e164(communities, community_id):
    community = next(c for c in communities if c.id == community_id)
    for member in community.members.values():
        assert normalize_phone(member.phone) == member.phone, member.id


# -- look-ups --------------------------------------------------------------------------------

def test_given_demo_directory_when_looking_up_then_members_and_locations_are_found(directory):
    assert directory.member("changmu", "m10").name == "周毛"
    assert directory.member_by_phone("+8613971096146") == directory.member("changmu", "m10")
    assert directory.member_by_phone("+8613900000000") is None
    assert directory.location("garang-02-1").community_id == "garang"
    assert directory.location("changmu-21") is None
    assert len(directory.locations()) == 80 + 6


@pytest.mark.parametrize("code, unit_id, name_zh, short_zh, name_en, short_en", [
    ("changmu-01", None, "常牧家园1号楼", "1号楼", "Changmu Homeland Building 1", "Building 1"),
    ("changmu-01-1", "b01-1", "常牧家园1号楼1单元", "1号楼1单元",
     "Changmu Homeland Building 1 Unit 1", "Building 1 Unit 1"),
    ("changmu-20-3", "b20-3", "常牧家园20号楼3单元", "20号楼3单元",
     "Changmu Homeland Building 20 Unit 3", "Building 20 Unit 3"),
    ("garang-02", None, "尕让家园2号楼", "2号楼", "Garang Homeland Building 2", "Building 2"),
])
def test_given_demo_directory_then_locations_have_names_and_short_names(
        directory, code, unit_id, name_zh, short_zh, name_en, short_en):
    location = directory.location(code)
    assert location.code == code
    assert location.unit_id == unit_id
    assert location.name == {"zh": name_zh, "en": name_en}
    assert location.short_name == {"zh": short_zh, "en": short_en}


def test_given_community_then_locations_are_each_building_followed_by_its_units():
    assert list(tiny().locations) == ["tiny-01", "tiny-01-1", "tiny-01-2", "tiny-02", "tiny-02-1"]


# -- routing: chain_for ------------------------------------------------------------------------

@pytest.mark.parametrize("location, expected", [
    ("changmu-01-1", ["m10", "m06", "m02", "m03", "m01"]),
    # unit 3 of building 2: stairwell leader m34 is away → building leader m11 steps in
    ("changmu-02-3", ["m11", "m06", "m02", "m03", "m01"]),
    # unit 2 of building 11: stairwell leader m35 is away → building leader m20
    ("changmu-11-2", ["m20", "m08", "m04", "m03", "m01"]),
    ("changmu-03-2", ["m30", "m06", "m02", "m03", "m01"]),
    ("changmu-20", ["m29", "m09", "m04", "m03", "m01"]),     # a whole building: its leader
    ("garang-01-2", ["m06", "m04", "m03", "m02", "m01"]),
])
def test_given_demo_location_when_chain_for_then_holders_climb_the_grid(directory, location, expected):
    community = directory.communities[directory.location(location).community_id]
    chain = community.chain_for(location)
    assert holders(chain) == expected
    assert [level.level for level in chain] == [1, 2, 3, 4, 5]
    assert [level.role for level in chain] == list(LEVEL_ROLES)


def test_given_unit_with_own_leader_then_level_1_eligible_lists_unit_then_building_leader(directory):
    chain = directory.communities["changmu"].chain_for("changmu-03-2")
    assert chain[0].eligible == ("m30", "m12")


def test_given_away_unit_leader_then_they_are_not_even_eligible(directory):
    chain = directory.communities["changmu"].chain_for("changmu-02-3")
    assert chain[0].eligible == ("m11",)


def test_given_demo_directory_then_only_at_home_members_ever_hold_or_are_eligible(directory):
    seen = set()
    for location in directory.locations():
        community = directory.communities[location.community_id]
        for level in community.chain_for(location.code):
            assert level.holder is not None, (location.code, level.level)
            for member_id in (level.holder, *level.eligible):
                assert community.members[member_id].category is MemberCategory.AT_HOME
                seen.add((community.id, member_id))
    # the away stairwell leaders and the volunteers never appear
    assert not {("changmu", m) for m in ("m34", "m35", "m36", "m37", "m38", "m39", "m40")} & seen


@pytest.mark.parametrize("location, away, elderly, expected_holders, expected_eligible", [
    ("tiny-01-1", [], [], ["sl", "gm", "chief", "k1", "area"],
     [("sl", "bl"), ("gm", "gm2"), ("chief",), ("k1", "k2"), ("area",)]),
    # the stairwell leader is away: the building leader holds level 1
    ("tiny-01-1", ["sl"], [], ["bl", "gm", "chief", "k1", "area"],
     [("bl",), ("gm", "gm2"), ("chief",), ("k1", "k2"), ("area",)]),
    # nobody at home on level 1: holder None, nobody eligible
    ("tiny-01-1", ["sl", "bl"], [], [None, "gm", "chief", "k1", "area"],
     [(), ("gm", "gm2"), ("chief",), ("k1", "k2"), ("area",)]),
    # the building's own grid member is away: another member of the grid holds level 2
    ("tiny-01-1", ["gm"], [], ["sl", "gm2", "chief", "k1", "area"],
     [("sl", "bl"), ("gm2",), ("chief",), ("k1", "k2"), ("area",)]),
    # the building's grid member comes first on level 2
    ("tiny-02-1", [], [], ["sl2", "gm2", "chief", "k1", "area"],
     [("sl2", "bl"), ("gm2", "gm"), ("chief",), ("k1", "k2"), ("area",)]),
    # elderly members are cared for, never assigned
    ("tiny-01-1", [], ["k1", "chief"], ["sl", "gm", None, "k2", "area"],
     [("sl", "bl"), ("gm", "gm2"), (), ("k2",), ("area",)]),
    ("tiny-01-1", ["sl", "bl", "gm", "gm2", "chief", "k1", "k2", "area"], [],
     [None] * 5, [()] * 5),
])
def test_given_members_away_or_elderly_when_chain_for_then_only_at_home_hold(
        location, away, elderly, expected_holders, expected_eligible):
    chain = tiny(away=away, elderly=elderly).chain_for(location)
    assert holders(chain) == expected_holders
    assert [level.eligible for level in chain] == expected_eligible


def test_given_one_person_on_levels_1_and_2_then_level_2_goes_to_someone_new():
    # 交叉任职: the building leader is also the building's grid member.
    data = edited(tiny_dict(away=["sl"]), _set(("buildings", 0, "grid_member"), "bl"))
    data["grids"][0]["members"] = ["bl", "gm2"]
    chain = Community.from_dict(data).chain_for("tiny-01-1")
    assert chain[0].holder == "bl"
    assert chain[1].eligible == ("bl", "gm2")
    assert chain[1].holder == "gm2"


def test_given_grid_chief_also_on_committee_then_committee_level_goes_to_another_member():
    data = edited(tiny_dict(), _set(("committee",), ["chief", "k1"]))
    chain = Community.from_dict(data).chain_for("tiny-01-1")
    assert chain[2].holder == "chief"
    assert chain[3].eligible == ("chief", "k1")
    assert chain[3].holder == "k1"


def test_given_the_only_member_of_a_level_already_holds_a_lower_one_then_that_level_has_no_holder():
    # The area chief is also the only at-home committee member: level 5 would repeat level 4.
    data = edited(tiny_dict(away=["k2"]), _set(("area", "chief"), "k1"))
    chain = Community.from_dict(data).chain_for("tiny-01-1")
    assert holders(chain) == ["sl", "gm", "chief", "k1", None]
    assert chain[4].eligible == ("k1",)     # still eligible: may act on the case


def test_given_no_two_consecutive_levels_share_a_holder_in_the_demo(directory):
    for location in directory.locations():
        chain = directory.communities[location.community_id].chain_for(location.code)
        held = [h for h in holders(chain) if h is not None]
        assert len(held) == len(set(held)), location.code


def test_given_member_dataclass_then_only_at_home_is_assignable():
    member = Member("x", "c", "n", "+8613900000000", ())
    assert member.assignable
    assert not replace(member, category=MemberCategory.AWAY).assignable
    assert not replace(member, category=MemberCategory.ELDERLY).assignable


# -- teams, volunteers and leave ---------------------------------------------------------------

DEC_1 = 1796054400.0      # 2026-12-01 00:00 in Asia/Shanghai (2026-11-30T16:00:00Z)
DEC_11 = DEC_1 + 10 * 86400


def test_team_and_volunteer_roles_have_names_in_both_languages():
    assert TEAM_ROLES == ("mediation_room", "patrol_team", "property_management")
    assert [ROLE_NAMES[r]["zh"] for r in TEAM_ROLES] == ["暖心调解室", "巡逻队", "物业"]
    assert [ROLE_NAMES[r]["en"] for r in TEAM_ROLES] == ["mediation room", "patrol team", "property management"]
    assert ROLE_NAMES["volunteer"] == {"zh": "党员志愿者", "en": "party volunteer"}


def test_given_teams_volunteers_and_leave_when_loaded_then_they_are_on_the_community():
    community = tiny_extras()
    assert community.teams == {"mediation_room": ("k1", "sl2"), "patrol_team": ("sl",)}
    assert community.grids["g1"].volunteer_ids == ("k2",)
    # dates are whole days in Asia/Shanghai, the last one included
    assert community.members["sl"].leave == ((DEC_1, DEC_11),)
    assert community.members["gm"].leave == ()


def test_given_no_teams_volunteers_or_leave_then_the_defaults_are_empty():
    community = tiny()
    assert community.teams == {}
    assert community.grids["g1"].volunteer_ids == ()
    assert Grid("g", "网格", "chief", ("gm",)).volunteer_ids == ()         # old constructors still work
    assert Member("x", "c", "n", "+8613900000000", ()).leave == ()


def test_given_teams_volunteers_and_leave_when_round_tripped_through_json_then_equal():
    community = tiny_extras()
    plain = json.loads(json.dumps(community.to_dict(), ensure_ascii=False))
    assert plain["teams"] == {"mediation_room": ["k1", "sl2"], "patrol_team": ["sl"]}
    assert plain["grids"][0]["volunteers"] == ["k2"]
    assert plain["members"][7]["leave"] == [{"from": "2026-12-01", "to": "2026-12-10"}]
    assert Community.from_dict(plain) == community


@pytest.mark.parametrize("leave, expected", [
    ({"from": "2026-12-01", "to": "2026-12-01"}, (DEC_1, DEC_1 + 86400)),           # one whole day
    ({"from": "2026-12-01T08:30:00+08:00", "to": "2026-12-01T18:00:00+08:00"},
     (DEC_1 + 8.5 * 3600, DEC_1 + 18 * 3600)),
    ({"from": "2026-12-01T00:30:00Z", "to": "2026-12-02"}, (DEC_1 + 8.5 * 3600, DEC_1 + 2 * 86400)),
    # no offset: Shanghai
    ({"from": "2026-12-01 08:30", "to": "2026-12-01 09:00"}, (DEC_1 + 8.5 * 3600, DEC_1 + 9 * 3600)),
    ({"from": DEC_1, "to": DEC_11}, (DEC_1, DEC_11)),                                # epoch seconds
], ids=["one-day", "iso-offset", "iso-utc", "naive-is-shanghai", "epoch"])
def test_given_leave_in_any_accepted_form_when_loaded_then_it_is_the_period(leave, expected):
    data = tiny_dict()
    data["members"][0]["leave"] = [leave]
    community = Community.from_dict(data)
    assert community.members["area"].leave == (expected,)
    assert Community.from_dict(community.to_dict()) == community


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(teams={"kitchen": ["k1"]}), "unknown team 'kitchen'"),
    (lambda d: d.update(teams={"patrol_team": ["k1", "nobody"]}), "team patrol_team names unknown member 'nobody'"),
    (lambda d: d.update(teams={"patrol_team": ["k1", "k1"]}), "team patrol_team lists member k1 twice"),
    (lambda d: d["grids"][0].update(volunteers=["nobody"]), "grid g1 volunteer names unknown member 'nobody'"),
    (lambda d: d["grids"][0].update(volunteers=["k2", "k2"]), "grid g1 volunteer lists member k2 twice"),
    (lambda d: d["members"][0].update(leave=[{"from": "2026-12-10", "to": "2026-12-01"}]),
     "member area: 'to' 2026-12-01 is before 'from' 2026-12-10"),
    (lambda d: d["members"][0].update(leave=[{"from": "2026-12-01"}]), "member area: a leave period needs"),
    (lambda d: d["members"][0].update(leave=[{"from": "someday", "to": "2026-12-01"}]),
     "member area: 'someday' is not a date"),
], ids=["unknown-team", "unknown-team-member", "team-member-twice", "unknown-volunteer", "volunteer-twice",
        "leave-to-before-from", "leave-without-to", "leave-not-a-date"])
def test_given_bad_teams_volunteers_or_leave_when_loaded_then_directory_error(edit, match):
    with pytest.raises(DirectoryError, match=match):
        Community.from_dict(edited(tiny_dict(), edit))


def test_given_a_leave_period_that_ends_before_it_starts_when_built_then_directory_error():
    community = tiny()
    member = replace(community.members["sl"], leave=((DEC_11, DEC_1),))
    with pytest.raises(DirectoryError, match="member sl has a leave period that ends before it starts"):
        replace(community, members=dict(community.members, sl=member), locations={})


def test_given_an_empty_team_then_it_is_left_out():
    community = Community.from_dict(edited(tiny_dict(), lambda d: d.update(
        teams={"patrol_team": [], "mediation_room": ["k1"], "property_management": None})))
    assert community.teams == {"mediation_room": ("k1",)}


def test_given_demo_directory_then_teams_and_volunteers_are_at_home_and_volunteers_lead_no_stairwell(communities):
    changmu, garang = (next(c for c in communities if c.id == cid) for cid in ("changmu", "garang"))
    assert changmu.teams == {"mediation_room": ("m41", "m42"), "patrol_team": ("m43", "m44"),
                             "property_management": ("m45", "m46")}
    assert garang.teams == {"mediation_room": ("m08",), "property_management": ("m09",)}
    leaders = {u.leader_id for u in changmu.units.values()} | {b.leader_id for b in changmu.buildings.values()}
    for grid in changmu.grids.values():
        assert 1 <= len(grid.volunteer_ids) <= 2, grid.id
        for member_id in grid.volunteer_ids:
            assert changmu.members[member_id].category is MemberCategory.AT_HOME
            assert member_id not in leaders
    for community in (changmu, garang):
        for ids in community.teams.values():
            assert all(community.members[m].category is MemberCategory.AT_HOME for m in ids)


@pytest.mark.parametrize("at, available", [
    (None, True),                 # no instant: at home is enough
    (DEC_1 - 0.001, True),        # just before the leave
    (DEC_1, False),               # its start is inside
    (DEC_1 + 5 * 86400, False),
    (DEC_11 - 0.001, False),      # the last moment of 2026-12-10
    (DEC_11, True),               # its end is not: back on 2026-12-11 at 00:00
])
def test_given_a_member_on_leave_then_available_is_false_only_inside_the_period(at, available):
    sl = tiny_extras().members["sl"]
    assert sl.assignable
    assert sl.available(at) is available


def test_given_a_member_not_at_home_then_never_available():
    member = Member("x", "c", "n", "+8613900000000", (), leave=((DEC_1, DEC_11),))
    assert member.available() and member.available(DEC_11) and not member.available(DEC_1)
    for category in (MemberCategory.AWAY, MemberCategory.ELDERLY):
        away = replace(member, category=category)
        assert not away.available() and not away.available(DEC_11) and not away.available(DEC_1)


def test_given_two_leave_periods_then_available_between_them():
    member = Member("x", "c", "n", "+8613900000000", (), leave=((DEC_1, DEC_1 + 86400), (DEC_11, DEC_11 + 86400)))
    assert [member.available(t) for t in (DEC_1, DEC_1 + 86400, DEC_11 - 1, DEC_11, DEC_11 + 86400)] == \
        [False, True, True, False, True]


def test_leave_periods_are_added_merged_and_taken_out():
    from chalicelib.domain import leave

    day = 86400.0
    december = (DEC_1, DEC_11)
    assert leave.add((), december) == (december,)
    assert leave.add([december], (DEC_11, DEC_11 + day)) == ((DEC_1, DEC_11 + day),)              # touching: merged
    assert leave.add([(DEC_11 + day, DEC_11 + 2 * day)], december) == (december, (DEC_11 + day, DEC_11 + 2 * day))
    # back early on 2026-12-05: the rest of the leave is taken out
    assert leave.remove([december], (DEC_1 + 4 * day, DEC_11)) == ((DEC_1, DEC_1 + 4 * day),)
    assert leave.remove([december], (DEC_1 + 2 * day, DEC_1 + 3 * day)) == (
        (DEC_1, DEC_1 + 2 * day), (DEC_1 + 3 * day, DEC_11))                                     # a hole
    assert leave.remove([december], december) == ()
    assert leave.remove([december], (DEC_11, DEC_11 + day)) == (december,)                        # not inside


# -- the party members' services: posts, household heads, pairs ---------------------------------

def services_dict() -> dict:
    """The tiny community with services (tiny_extras: sl on leave 2026-12-01 to 2026-12-10):

        grid g1 (chief `chief`, members gm, gm2) volunteers: k2, sl, bl, sl2, gm
        posts: chief, gm2 (away), k2, sl (on leave), bl (elderly), gm: proxy_service;
               gm also care_visit; sl2 none
        household head k1 linked to 1-1 and building 2; gm2 paired with sl2, bl with k1
    """
    data = tiny_extras_dict(away=["gm2"], elderly=["bl"])
    data["grids"][0]["volunteers"] = ["k2", "sl", "bl", "sl2", "gm"]     # gm: also a grid member
    posts = {"chief": ["proxy_service"], "gm": ["proxy_service", "care_visit"], "gm2": ["proxy_service"],
             "k2": ["proxy_service", "micro_wish"], "sl": ["proxy_service"], "bl": ["proxy_service"]}
    for member in data["members"]:
        member["posts"] = posts.get(member["id"], [])
    member = {m["id"]: m for m in data["members"]}
    member["k1"]["linked_units"] = ["1-1", "2"]
    member["gm2"]["paired_with"] = "sl2"
    member["bl"]["paired_with"] = "k1"
    return data


def test_posts_are_the_service_catalogues_posts():
    catalogue = json.loads((ROOT / "chalicelib/data/services/changmu.json").read_text(encoding="utf-8"))
    assert POSTS == ("proxy_service", "care_visit", "help_at_home", "micro_wish")
    assert {item["post"] for item in catalogue["items"].values()} == set(POSTS)


def test_given_services_when_loaded_then_they_are_on_the_members():
    community = Community.from_dict(services_dict())
    assert community.members["gm"].posts == ("proxy_service", "care_visit")
    assert community.members["sl2"].posts == ()
    # unit labels are read as places, as households are
    assert community.members["k1"].linked_units == ("tiny-01-1", "tiny-02")
    assert community.members["gm2"].paired_with == "sl2"
    assert community.members["gm"].linked_units == () and community.members["gm"].paired_with is None


def test_given_no_services_then_the_defaults_are_empty():
    member = Member("x", "c", "n", "+8613900000000", ())
    assert (member.posts, member.linked_units, member.paired_with) == ((), (), None)
    assert all((m.posts, m.linked_units, m.paired_with) == ((), (), None) for m in tiny().members.values())


def test_given_services_when_round_tripped_through_json_then_equal():
    community = Community.from_dict(services_dict())
    plain = json.loads(json.dumps(community.to_dict(), ensure_ascii=False))
    k1 = next(m for m in plain["members"] if m["id"] == "k1")
    assert k1["linked_units"] == ["1-1", "2"]
    assert Community.from_dict(plain) == community


def test_given_a_grid_when_service_pool_then_it_spans_chief_members_and_volunteers_and_only_the_available():
    community = Community.from_dict(services_dict())
    # gm2 (away), bl (elderly) and sl (on leave) hold the post but are not in it; sl2 holds no post;
    # gm, a grid member and a volunteer, is in it once, in the grid's order
    assert community.service_pool("tiny-01-1", "proxy_service", at=DEC_1) == ("chief", "gm", "k2")
    assert community.service_pool("tiny-02", "proxy_service", at=DEC_11) == ("chief", "gm", "k2", "sl")
    assert community.service_pool("tiny-02-1", "proxy_service") == ("chief", "gm", "k2", "sl")   # no instant
    assert community.service_pool("tiny-01-2", "care_visit", at=DEC_1) == ("gm",)
    assert community.service_pool("tiny-01-2", "micro_wish", at=DEC_1) == ("k2",)
    assert community.service_pool("tiny-01-1", "help_at_home") == ()
    assert community.service_pool("tiny-01-1", "cooking") == ()


def test_given_members_not_in_the_grid_then_they_are_not_in_its_pool():
    data = services_dict()
    next(m for m in data["members"] if m["id"] == "area")["posts"] = ["proxy_service"]   # the area chief
    assert "area" not in Community.from_dict(data).service_pool("tiny-01-1", "proxy_service")


def test_given_a_household_head_then_linked_head_for_says_which_households_are_theirs():
    community = Community.from_dict(services_dict())
    assert community.linked_head_for("k1", "tiny-01-1")
    assert community.linked_head_for("k1", "tiny-02")
    assert not community.linked_head_for("k1", "tiny-01-2")
    assert not community.linked_head_for("k1", "tiny-02-1")         # the building, not each of its units
    assert not community.linked_head_for("gm", "tiny-01-1")
    assert not community.linked_head_for("nobody", "tiny-01-1")


def test_given_pairs_then_paired_member_names_the_at_home_partner():
    community = Community.from_dict(services_dict())
    assert community.paired_member("gm2") == "sl2"
    assert community.paired_member("bl") == "k1"
    assert community.paired_member("sl2") is None
    assert community.paired_member("nobody") is None


def _member(member_id, **fields):
    def edit(data):
        next(m for m in data["members"] if m["id"] == member_id).update(fields)
    return edit


@pytest.mark.parametrize("edit, match", [
    (_member("gm", posts=["proxy_service", "cooking"]),
     "member gm has an unknown post 'cooking' \\(posts are: proxy_service, care_visit, help_at_home, micro_wish\\)"),
    (_member("gm", posts=["care_visit", "care_visit"]), "member gm lists a post twice"),
    (_member("k1", linked_units=["1-1", "9-1"]), "member k1 is linked to unknown place '9-1'"),
    (_member("k1", linked_units=["1-1", "1-1"]), "member k1 is linked to a household twice"),
    (_member("gm2", paired_with="nobody"), "member gm2 is paired with unknown member 'nobody'"),
    (_member("gm2", paired_with="gm2"), "member gm2 is paired with themselves"),
    (_member("gm2", paired_with="bl"), "member gm2 is paired with bl, who is not at home \\(elderly\\)"),
    (_member("sl2", paired_with="k1"), "member sl2 is at home: only elderly or away members are paired"),
], ids=["unknown-post", "post-twice", "unknown-linked-unit", "linked-twice", "paired-with-unknown",
        "paired-with-self", "paired-with-elderly", "at-home-paired"])
def test_given_bad_services_when_loaded_then_directory_error_names_the_member(edit, match):
    with pytest.raises(DirectoryError, match=match):
        Community.from_dict(edited(services_dict(), edit))


@pytest.mark.parametrize("member_id, fields, match", [
    ("gm", {"posts": ("cooking",)}, "member gm has an unknown post 'cooking'"),
    ("gm", {"linked_units": ("tiny-09",)}, "member gm is linked to unknown place 'tiny-09'"),
    ("gm", {"paired_with": "sl2"}, "member gm is at home: only elderly or away members are paired"),
    ("gm2", {"paired_with": "bl"}, "member gm2 is paired with bl, who is not at home"),
], ids=["unknown-post", "unknown-linked-place", "at-home-paired", "paired-with-elderly"])
def test_given_a_member_built_with_bad_services_then_directory_error(member_id, fields, match):
    community = Community.from_dict(services_dict())
    member = replace(community.members[member_id], **fields)
    with pytest.raises(DirectoryError, match=match):
        replace(community, members=dict(community.members, **{member_id: member}), locations={})


def test_given_the_demo_then_every_changmu_grid_has_two_or_more_available_for_every_post(communities):
    changmu = next(c for c in communities if c.id == "changmu")
    assert not any(m.leave for m in changmu.members.values())            # nobody is on leave at DEC_1
    for grid in changmu.grids.values():
        location = next(code for code in changmu.locations if changmu.grid_of(code) == grid.id)
        assert len(changmu.service_pool(location, "proxy_service", at=DEC_1)) >= 2, grid.id
        for post in POSTS:
            pool = changmu.service_pool(location, post, at=DEC_1)
            assert len(pool) >= 2, (grid.id, post)
            assert all(changmu.members[m].category is MemberCategory.AT_HOME for m in pool)


def test_given_the_demo_then_household_heads_are_linked_and_the_elderly_and_away_are_paired(communities):
    changmu, garang = (next(c for c in communities if c.id == cid) for cid in ("changmu", "garang"))
    heads = [m for m in changmu.members.values() if m.linked_units]
    assert 3 <= len(heads) <= 4
    assert all(2 <= len(m.linked_units) <= 4 and m.category is MemberCategory.AT_HOME for m in heads)
    assert changmu.linked_head_for("m12", "changmu-03-2")               # a registered household's unit
    for member in changmu.members.values():
        if member.category is MemberCategory.AT_HOME:
            assert member.paired_with is None, member.id
        else:
            partner = changmu.paired_member(member.id)
            assert partner is not None and changmu.members[partner].category is MemberCategory.AT_HOME, member.id
            assert "care_visit" in changmu.members[partner].posts, member.id
    assert len(garang.service_pool("garang-01-1", "proxy_service")) >= 2
