"""A GeoReport v2 request read into gridloop's terms (chalicelib/open311/forms.py): POST
requests' fields into what intake takes, and GET requests' filters, each fault a 400."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.open311.formats import Open311Error
from chalicelib.open311.forms import MAX_DAYS, Filters, filters, full_name, lang_of, submission
from tests.unit.builders import tiny

COMMUNITY = tiny()          # buildings 1 (units 1, 2) and 2 (unit 1)
CATEGORIES = {"water_pipe": {}, "sanitation": {}}
NOW = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
DAY = 86400.0


def form(**fields: str) -> dict[str, str]:
    base = {"api_key": "k", "service_code": "water_pipe", "description": "水管漏水"}
    return {**base, **fields}


def attrs(**attributes: str) -> dict[str, str]:
    return {f"attribute[{name}]": value for name, value in attributes.items()}


def refusal(call) -> Open311Error:
    with pytest.raises(Open311Error) as raised:
        call()
    assert raised.value.status == 400
    return raised.value


# -- where ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fields,location", [
    (attrs(building="tiny-01", unit="2"), "tiny-01-2"),
    (attrs(building="tiny-01", unit="unknown"), "tiny-01"),
    (attrs(building="tiny-02"), "tiny-02"),
    (attrs(building="1", unit="1"), "tiny-01-1"),                      # the building's number
    ({"address_id": "tiny-02-1"}, "tiny-02-1"),
    ({"address_string": "1号楼2单元"}, "tiny-01-2"),
    ({"address_string": "2-1"}, "tiny-02-1"),
    ({**attrs(building="tiny-01", unit="1"), "lat": "36.03", "long": "101.43"}, "tiny-01-1"),   # ignored
    ({**attrs(building="tiny-01"), "address_string": "somewhere else"}, "tiny-01"),          # the code decides
])
def test_given_a_place_said_any_spec_way_when_read_then_it_is_the_grids_location_code(fields, location):
    # GIVEN a POST requests form that says where in one of GeoReport's ways
    # WHEN it is read THEN the report is about that place of the grid
    assert submission({**form(), **fields}, COMMUNITY, "zh").payload["location"] == location


@pytest.mark.parametrize("fields,words", [
    (attrs(building="tiny-09"), "no building of tiny"),
    (attrs(building="tiny-01-1"), "no building of tiny"),              # a unit is not a building
    (attrs(building="tiny-02", unit="5"), "has no unit 5"),
    (attrs(unit="1"), "needs attribute[building]"),
    ({"address_id": "tiny-07"}, "no place of tiny"),
    ({"address_string": "门口"}, "names no building"),
    ({"lat": "36.03", "long": "101.43"}, "not coordinates"),
    ({}, "say where"),
    ({**attrs(building="tiny-01", unit="1"), "address_id": "tiny-02"}, "different places"),
])
def test_given_a_place_that_is_not_one_when_read_then_it_is_a_400_that_says_how_to_say_where(fields, words):
    assert words in refusal(lambda: submission({**form(), **fields}, COMMUNITY, "zh")).description


def test_given_every_spec_field_when_read_then_the_payload_keeps_no_more_than_post_reports_does():
    # GIVEN a form with every GeoReport field
    fields = {**form(), **attrs(building="tiny-01", unit="1"), "jurisdiction_id": "tiny", "email": "a@b.cn",
              "device_id": "kiosk-7", "account_id": "42", "first_name": "Dolma", "last_name": "Tsering",
              "phone": "13912345678", "media_url": "https://x.invalid/p.jpg", "lat": "1", "long": "2"}

    read = submission(fields, COMMUNITY, "en")

    # THEN the payload is the report's own fields; e-mail, device, account and media are not in it
    assert read.payload == {"category": "water_pipe", "location": "tiny-01-1", "description": "水管漏水",
                            "phone": "13912345678", "name": "Dolma Tsering", "lang": "en"}


def test_given_the_same_content_when_read_twice_then_the_fingerprint_is_the_same_and_another_device_differs():
    fields = {**form(), **attrs(building="tiny-01", unit="1"), "device_id": "kiosk-7"}

    first, again = submission(fields, COMMUNITY, "zh"), submission(dict(fields), COMMUNITY, "zh")
    other = submission({**fields, "device_id": "kiosk-8"}, COMMUNITY, "zh")
    changed = submission({**fields, "description": "水管又漏了"}, COMMUNITY, "zh")

    assert first.fingerprint == again.fingerprint
    assert len({first.fingerprint, other.fingerprint, changed.fingerprint}) == 3


@pytest.mark.parametrize("fields,words", [
    ({"colour": "red"}, "colour is not a GeoReport v2 field"),
    ({"attribute[floor]": "3"}, "no such attribute"),
    ({"service_code": ""}, "service_code is required"),
])
def test_given_a_field_the_spec_or_the_definition_does_not_have_when_read_then_it_is_a_400(fields, words):
    fields = {**form(), **attrs(building="tiny-01"), **fields}
    assert words in refusal(lambda: submission(fields, COMMUNITY, "zh")).description


def test_given_names_when_joined_then_chinese_names_read_family_name_first():
    assert full_name("三", "张") == "张三"
    assert full_name("Dolma", "Tsering") == "Dolma Tsering"
    assert full_name(None, "卓玛") == "卓玛" and full_name(None, None) is None


def test_given_a_language_when_read_then_zh_is_the_default_and_another_is_a_400():
    assert lang_of({}) == "zh" and lang_of({"lang": "EN"}) == "en"
    assert "lang must be one of" in refusal(lambda: lang_of({"lang": "bo"})).description


# -- GET requests' filters --------------------------------------------------------------------
def test_given_no_dates_when_filtered_then_the_window_is_the_last_90_days_and_nothing_else_is_filtered():
    wanted = filters({}, CATEGORIES, NOW)

    assert wanted == Filters(None, None, None, NOW - MAX_DAYS * DAY, NOW)
    assert wanted.keeps("duplicate", "fire") and wanted.keeps("received", "water_pipe")


def test_given_dates_with_offsets_or_a_bare_date_when_read_then_they_are_those_instants():
    wanted = filters({"start_date": "2026-11-01T08:00:00+08:00", "end_date": "2026-11-30"}, CATEGORIES, NOW)

    assert wanted.since == datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert wanted.until == datetime(2026, 11, 30, tzinfo=UTC).timestamp()


def test_given_only_a_start_date_when_read_then_the_window_is_90_days_from_it_at_most_until_now():
    old = filters({"start_date": "2026-01-01T00:00:00Z"}, CATEGORIES, NOW)
    recent = filters({"start_date": "2026-11-20T00:00:00Z"}, CATEGORIES, NOW)

    assert old.until - old.since == MAX_DAYS * DAY
    assert recent.until == NOW


def test_given_statuses_and_services_when_filtered_then_open_and_closed_go_by_status_value():
    wanted = filters({"status": "closed", "service_code": "water_pipe,sanitation"}, CATEGORIES, NOW)

    assert wanted.keeps("resolved", "water_pipe") and wanted.keeps("duplicate", "sanitation")
    assert wanted.keeps("cancelled", "water_pipe") and wanted.keeps("closed", "water_pipe")
    assert not wanted.keeps("assigned", "water_pipe") and not wanted.keeps("received", "water_pipe")
    assert not wanted.keeps("resolved", "fire")


def test_given_request_ids_when_filtered_then_they_are_normalised_codes_and_override_the_rest():
    wanted = filters({"service_request_id": "ap3zum, K7QX2C,ap3zum", "status": "open"}, CATEGORIES, NOW)

    assert wanted.codes == ("AP3ZUM", "K7QX2C")


@pytest.mark.parametrize("query,words", [
    ({"start_date": "yesterday"}, "not a W3C date-time"),
    ({"start_date": "2026-11-01T00:00:00"}, "needs its offset"),
    ({"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "after end_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "at most 90 days"),
    ({"status": "pending"}, "status is open, closed"),
    ({"service_code": "water_pipe,potholes"}, "potholes is not a service"),
    ({"service_request_id": "AP3ZUM,12"}, "12 is not a request's id"),
    ({"service_request_id": ",".join(["AP3ZUM"] * 101)}, "at most 100 ids"),
])
def test_given_a_bad_filter_when_read_then_it_is_a_400_that_names_it(query, words):
    assert words in refusal(lambda: filters(query, CATEGORIES, NOW)).description
