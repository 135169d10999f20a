"""gridloop in GeoReport v2's terms (chalicelib/open311/mapping.py): the categories as services,
the grid's buildings and units as a definition's attributes, and a case as a service request
with no personal data."""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.case import Case, Status
from chalicelib.domain.directory import Level
from chalicelib.domain.policy import EscalationPolicy
from chalicelib.open311.mapping import open311_status, request_view, service_definition, services
from tests.unit.builders import tiny

T0 = 1_790_000_000.0
POLICY = EscalationPolicy("test-v1", {1: 1800, 2: 7200, 3: 14400, 4: 86400, 5: 86400},
                          resolve_seconds={1: 86400, 2: 86400, 3: 86400, 4: 86400, 5: 86400})
CHAIN = [Level(1, "stairwell_leader", "sl", ("sl", "bl")), Level(2, "grid_member", "gm", ("gm",)),
         Level(3, "grid_chief", "chief", ("chief",)), Level(4, "committee", "k1", ("k1", "k2")),
         Level(5, "area_chief", "area", ("area",))]
COMMUNITY = tiny()
CATEGORIES = {"water_pipe": {"code": "water_pipe", "name": {"zh": "水管漏水", "en": "Water pipe leak"}}}


def routed() -> Case:
    case = Case.receive(id="a" * 32, code="ABC234", community_id="tiny", category="water_pipe",
                        location="tiny-01-2", description="水管漏水，卓玛家 13912345678", now=T0,
                        reporter_phone="+8613912345678", reporter_name="卓玛")
    case.route(CHAIN, POLICY, T0)
    return case


def test_given_the_categories_when_listed_as_services_then_each_is_realtime_with_metadata_and_its_name():
    zh, en = services(CATEGORIES, "zh"), services(CATEGORIES, "en")

    assert zh == [{"service_code": "water_pipe", "service_name": "水管漏水", "description": "Water pipe leak",
                   "metadata": True, "type": "realtime", "keywords": "", "group": ""}]
    assert en[0]["service_name"] == "Water pipe leak"


def test_given_a_community_when_a_service_is_defined_then_its_buildings_and_units_are_the_attribute_values():
    definition = service_definition("water_pipe", COMMUNITY, "zh")

    building, unit = definition["attributes"]
    assert definition["service_code"] == "water_pipe"
    assert (building["code"], building["datatype"], building["required"]) == ("building", "singlevaluelist", True)
    assert building["values"] == [{"key": "tiny-01", "name": "1号楼"}, {"key": "tiny-02", "name": "2号楼"}]
    assert (unit["code"], unit["datatype"], unit["required"]) == ("unit", "singlevaluelist", False)
    assert [v["key"] for v in unit["values"]] == ["1", "2", "unknown"]
    assert [a["order"] for a in definition["attributes"]] == [1, 2]


def test_given_a_routed_case_when_shown_then_it_is_open_with_the_role_its_place_and_its_due_clock():
    view = request_view(routed(), COMMUNITY, CATEGORIES, "zh")

    assert view["service_request_id"] == "ABC234" and view["status"] == "open"
    assert view["agency_responsible"] == "楼道长" and view["status_notes"] == "已转交楼道长，等待接单"
    assert view["service_name"] == "水管漏水" and view["service_code"] == "water_pipe"
    assert view["address"] == "1号楼2单元" and view["address_id"] == "tiny-01-2"
    assert view["requested_datetime"] == "2026-09-21T14:13:20+00:00"
    assert view["expected_datetime"] == "2026-09-21T14:43:20+00:00"          # the acknowledge deadline
    assert view["lat"] is None and view["long"] is None and view["zipcode"] is None


def test_given_a_case_with_personal_data_when_shown_then_no_name_phone_member_or_words_of_the_resident_appear():
    text = json.dumps(request_view(routed(), COMMUNITY, CATEGORIES, "en"), ensure_ascii=False)

    for secret in ("卓玛", "13912345678", "水管漏水，", '"sl"', "成员", "description"):
        assert secret not in text
    assert "stairwell leader" in text


@pytest.mark.parametrize("status,expected", [
    ("received", "open"), ("assigned", "open"), ("acknowledged", "open"),
    ("resolved", "closed"), ("closed", "closed"), ("cancelled", "closed"), ("duplicate", "closed"),
    ("a_status_added_later", "closed"),
])
def test_given_each_status_when_mapped_then_open_is_only_while_someone_is_to_act(status, expected):
    assert open311_status(status) == expected


def test_given_a_duplicate_when_shown_then_it_is_closed_and_its_notes_name_the_case_it_joined():
    case = routed()
    case.status, case.duplicate_of = Status("duplicate"), "K7QX2C"

    zh, en = request_view(case, COMMUNITY, CATEGORIES, "zh"), request_view(case, COMMUNITY, CATEGORIES, "en")

    assert zh["status"] == en["status"] == "closed"
    assert zh["status_notes"] == "已合并到 K7QX2C" and en["status_notes"] == "merged into K7QX2C"
    assert zh["expected_datetime"] is None


def test_given_a_case_not_yet_routed_when_shown_then_no_role_holds_it_and_its_address_is_still_in_words():
    case = Case.receive(id="b" * 32, code="DEF567", community_id="tiny", category="water_pipe",
                        location="tiny-02", description="x", now=T0)

    view = request_view(case, COMMUNITY, CATEGORIES, "en")

    assert view["status"] == "open" and view["agency_responsible"] is None
    assert view["status_notes"] == "received, being passed to the grid" and view["address"] == "Building 2"
