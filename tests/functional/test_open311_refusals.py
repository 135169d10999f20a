"""Open311 GeoReport v2 (docs/open311.md) through the Chalice app on one moto stack for the
module: what every client reads (discovery, services, definitions), and every refusal: keys
missing, wrong or revoked, a key over its calls, the flood limits and the block list, bad input,
bad filters, wrong ids, look-ups over the address's limit and failures of ours. Each is the spec's
error list (`[{"code", "description"}]` or `<errors>`) with its 4xx or 503, never a 500."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from chalicelib.domain.admission import LookupLimits, ReportLimits
from chalicelib.domain.privacy import sender_key
from tests.functional.conftest import PROJECT_DIR, count_cases
from tests.functional.test_open311_api import API, FORM, issued, make, post311, refused, request_form

LOCAL_STAGE = json.loads((PROJECT_DIR / ".chalice/config.json").read_text())["stages"]["local"]["environment_variables"]


# -- discovery and services -------------------------------------------------------------------
def test_given_the_api_when_discovered_then_one_endpoint_in_json_and_xml_with_both_formats(shared_client):
    # WHEN a client reads discovery in both formats
    as_json = shared_client.http.get(f"{API}/discovery.json", headers={"Host": "gridloop.example.cn"})
    as_xml = shared_client.http.get(f"{API}/discovery.xml")

    # THEN it names the GeoReport v2 endpoint here, with JSON and XML
    assert as_json.status_code == as_xml.status_code == 200
    [endpoint] = as_json.json_body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://gridloop.example.cn/open311/v2" and endpoint["type"] == "test"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    root = ET.fromstring(as_xml.body)
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["application/json", "text/xml"]


def test_given_the_categories_when_services_are_listed_then_each_is_a_realtime_service_named_in_chinese(
        shared_client, shared_stack):
    categories = shared_stack.categories

    as_json = shared_client.http.get(f"{API}/services.json")
    as_xml = shared_client.http.get(f"{API}/services.xml?lang=en")

    assert as_json.status_code == 200 and as_json.headers["Content-Type"] == "application/json; charset=utf-8"
    assert [s["service_code"] for s in as_json.json_body] == list(categories)
    assert as_json.json_body[0]["service_name"] == categories["stairwell_light"]["name"]["zh"]
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in as_json.json_body)
    assert as_xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    services = ET.fromstring(as_xml.body).findall("service")
    assert [s.findtext("service_name") for s in services] == [c["name"]["en"] for c in categories.values()]


def test_given_a_service_when_its_definition_is_read_then_the_communitys_buildings_and_units_are_its_values(
        shared_client, shared_stack):
    community = shared_stack.directory().communities["changmu"]

    as_json = shared_client.http.get(f"{API}/services/water_pipe.json?jurisdiction_id=changmu")
    as_xml = shared_client.http.get(f"{API}/services/water_pipe.xml?jurisdiction_id=changmu")

    assert as_json.status_code == as_xml.status_code == 200
    building, unit = as_json.json_body["attributes"]
    buildings = [loc for loc in community.locations.values() if loc.unit_id is None]
    assert building["code"] == "building" and building["datatype"] == "singlevaluelist"
    assert {v["key"] for v in building["values"]} == {loc.code for loc in buildings} and len(buildings) == 20
    assert {"key": "changmu-05", "name": "5号楼"} in building["values"]
    assert [v["key"] for v in unit["values"]][-1] == "unknown"
    root = ET.fromstring(as_xml.body)
    assert root.tag == "service_definition" and root.findtext("service_code") == "water_pipe"
    assert len(root.findall("attributes/attribute/values/value")) == len(building["values"]) + len(unit["values"])


@pytest.mark.parametrize("path,status,words", [
    (f"{API}/services/water_pipe.json", 400, "jurisdiction_id is required: one of changmu, garang"),
    (f"{API}/services/potholes.json?jurisdiction_id=changmu", 404, "no service potholes"),
    (f"{API}/services/water_pipe.json?jurisdiction_id=nowhere", 404, "no jurisdiction nowhere"),
    (f"{API}/services.json?jurisdiction_id=nowhere", 404, "no jurisdiction nowhere"),
    (f"{API}/services/water_pipe.html?jurisdiction_id=changmu", 404, "end the path in .json or .xml"),
    (f"{API}/services/water_pipe?jurisdiction_id=changmu", 404, "end the path in .json or .xml"),
    (f"{API}/services.json?lang=bo", 400, "lang must be one of"),
    (f"{API}/services.json?lang=zh&lang=en", 400, "lang is given more than once"),
])
def test_given_a_wrong_service_request_when_read_then_it_is_the_spec_error_with_its_4xx(
        shared_client, path, status, words):
    refused(shared_client.http.get(path), status, words)


def test_given_a_wrong_service_request_in_xml_when_read_then_the_error_is_xml_too(shared_client):
    response = shared_client.http.get(f"{API}/services/potholes.xml?jurisdiction_id=changmu")

    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    refused(response, 404, "no service potholes")


# -- POST requests: keys, limits, input -------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_given_no_key_a_wrong_one_or_a_revoked_one_when_posted_then_403_and_nothing_is_stored(
        shared_client, shared_stack, fmt):
    # GIVEN a key that was revoked
    before = count_cases(shared_stack)
    key, record = shared_stack.api_keys.issue("revoked-client", "ops:tester")
    shared_stack.api_keys.revoke(record.key_id, "ops:tester")

    # WHEN a request is posted without a key, with a made-up one, with the revoked one
    # THEN each is a 403 and nothing is stored
    refused(post311(shared_client, request_form(None), fmt), 403, "api_key is required")
    refused(post311(shared_client, request_form("g311_not-a-key"), fmt), 403, "not valid")
    refused(post311(shared_client, request_form(key), fmt), 403, "not valid")
    assert count_cases(shared_stack) == before


def test_given_the_local_stages_demo_key_when_it_posts_then_it_is_accepted_and_a_near_miss_is_not(shared_client):
    # GIVEN the local stage's GRIDLOOP_OPEN311_DEMO_KEY (.chalice/config.json; the client runs as
    # that stage, as make run does; unset, there is no demo key: tests/unit/test_api_keys.py)
    demo = LOCAL_STAGE["GRIDLOOP_OPEN311_DEMO_KEY"]

    assert post311(shared_client, request_form(demo, description="demo")).status_code == 200
    refused(post311(shared_client, request_form(demo[:-1] + "X")), 403, "not valid")


def test_given_a_key_over_its_calls_when_it_calls_again_then_429_with_retry_after_and_other_keys_go_on(
        shared_client, shared_stack, monkeypatch):
    # GIVEN keys of 2 calls a window, one of which made a report and read the list
    monkeypatch.setattr(shared_stack.api_keys, "calls_per_key", 2)
    busy, calm = issued(shared_stack, "busy"), issued(shared_stack, "calm")
    assert post311(shared_client, request_form(busy, description="一")).status_code == 200
    assert shared_client.http.get(f"{API}/requests.json?jurisdiction_id=changmu&api_key={busy}").status_code == 200

    # WHEN the busy key calls a third time
    response = post311(shared_client, request_form(busy, description="二"), "xml")

    # THEN 429 in the spec's shape, with when to try again; the other key is not limited by it
    refused(response, 429, "this api_key has had its 2 calls")
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert post311(shared_client, request_form(calm, description="三")).status_code == 200


def test_given_the_flood_limits_when_a_phone_has_had_its_reports_then_open311_is_refused_as_post_reports_is(
        shared_client, shared_stack, monkeypatch):
    monkeypatch.setattr(shared_stack.intake, "_limits", ReportLimits(per_phone=1))
    key = issued(shared_stack)
    phone = "+8613700000311"
    assert post311(shared_client, request_form(key, phone=phone, description="第一件")).status_code == 200

    response = post311(shared_client, request_form(key, phone=phone, description="第二件"))

    refused(response, 429, "too many new reports from this phone number")
    assert "Retry-After" in response.headers


def test_given_a_blocked_phone_when_it_reports_through_open311_then_403(shared_client, shared_stack):
    shared_stack.blocklist.add(sender_key(phone="+8613700000312"), "+86137****0312", None, None, 0.0)

    refused(post311(shared_client, request_form(issued(shared_stack), phone="+8613700000312")), 403,
            "are not accepted")


@pytest.mark.parametrize("fields,status,words", [
    ({"service_code": ...}, 400, "service_code is required"),
    ({"service_code": "potholes"}, 400, "service_code is not a service"),
    ({"description": "灯" * 1001}, 400, "longer than 1000"),
    ({"description": ...}, 400, "description is required"),
    ({"attribute[building]": "changmu-99"}, 400, "no building of changmu"),
    ({"attribute[unit]": "9"}, 400, "has no unit 9"),
    ({"attribute[building]": ..., "attribute[unit]": ..., "lat": "36.0", "long": "101.4"}, 400, "not coordinates"),
    ({"attribute[building]": "garang-01"}, 400, "no building of changmu"),
    ({"phone": "call me"}, 400, "not a phone number"),
    ({"first_name": "卓" * 30, "last_name": "玛" * 30}, 400, "longer than 50"),
    ({"colour": "red"}, 400, "not a GeoReport v2 field"),
    ({"attribute[floor]": "3"}, 400, "no such attribute"),
    ({"jurisdiction_id": "nowhere"}, 404, "no jurisdiction nowhere"),
    ({"jurisdiction_id": ...}, 400, "jurisdiction_id is required"),
])
def test_given_bad_input_when_posted_then_a_4xx_in_the_spec_shape_and_nothing_is_stored(
        shared_client, shared_stack, fields, status, words):
    before = count_cases(shared_stack)

    refused(post311(shared_client, request_form(issued(shared_stack), **fields)), status, words)

    assert count_cases(shared_stack) == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("body,content_type,headers,status,words", [
    ("service_code=sanitation&service_code=fire", FORM, {}, 400, "service_code is given more than once"),
    (b"description=%FF", FORM, {}, 400, "not UTF-8"),
    (json.dumps({"service_code": "sanitation"}), "application/json", {}, 415, "x-www-form-urlencoded"),
    ("description=" + "x" * 70_000, FORM, {}, 413, "larger than"),
    ("service_code=sanitation", FORM, {"Idempotency-Key": "k" * 300}, 400, "Idempotency-Key must be"),
])
def test_given_a_body_that_cannot_be_read_when_posted_then_its_4xx_is_in_the_routes_format(
        shared_client, body, content_type, headers, status, words, fmt):
    response = post311(shared_client, body, fmt, headers=headers, content_type=content_type)

    assert response.headers["Content-Type"].startswith("text/xml" if fmt == "xml" else "application/json")
    refused(response, status, words)


@pytest.mark.parametrize("path", [f"{API}/services.json", f"{API}/requests/AP3ZUM.xml", f"{API}/discovery.json"])
def test_given_a_failure_of_ours_when_called_then_503_in_the_spec_shape_never_a_500(shared_client, monkeypatch, path):
    from chalicelib import bootstrap

    def unreachable():
        raise ConnectionError("DynamoDB is unreachable")
    monkeypatch.setattr(bootstrap, "container", unreachable)

    refused(shared_client.http.get(path), 503, "cannot take this request right now")


# -- GET requests and requests/{id} -----------------------------------------------------------
@pytest.mark.parametrize("query,status,words", [
    ("jurisdiction_id=changmu", 403, "api_key is required"),
    ("jurisdiction_id=changmu&api_key=KEY&start_date=yesterday", 400, "not a W3C date-time"),
    ("jurisdiction_id=changmu&api_key=KEY&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400,
     "at most 90 days"),
    ("jurisdiction_id=changmu&api_key=KEY&status=pending", 400, "status is open, closed"),
    ("jurisdiction_id=changmu&api_key=KEY&service_code=potholes", 400, "not a service"),
    ("jurisdiction_id=changmu&api_key=KEY&status=open&status=closed", 400, "status is given more than once"),
    ("jurisdiction_id=nowhere&api_key=KEY", 404, "no jurisdiction nowhere"),
    ("api_key=KEY", 400, "jurisdiction_id is required"),
])
def test_given_a_bad_list_request_when_read_then_a_4xx_in_the_spec_shape(shared_client, shared_stack, query,
                                                                          status, words):
    query = query.replace("KEY", issued(shared_stack))
    refused(shared_client.http.get(f"{API}/requests.xml?{query}"), status, words)


@pytest.mark.parametrize("path,status,words", [
    (f"{API}/requests/NOSUCH.json", 404, "no service request NOSUCH"),
    (f"{API}/requests/CODE.json?jurisdiction_id=garang", 404, "no service request"),
    (f"{API}/requests/CODE.pdf", 404, "end the path in .json or .xml"),
    (f"{API}/requests/CODE.xml?jurisdiction_id=nowhere", 404, "no jurisdiction nowhere"),
    (f"{API}/tokens/not-a-token.json", 404, "no token"),
])
def test_given_a_wrong_request_id_when_read_then_404_in_the_spec_shape(shared_client, shared_stack, path, status,
                                                                        words):
    code = make(shared_client, shared_stack, issued(shared_stack), description=f"查找 {path}")
    refused(shared_client.http.get(path.replace("CODE", code)), status, words)


def test_given_look_ups_by_id_when_over_the_addresss_limit_then_429_found_or_not(shared_client, shared_stack,
                                                                                 monkeypatch):
    # GIVEN one look-up an address a window (as for the status page), in a window of its own, used
    # on a code that matches nothing
    monkeypatch.setattr(shared_stack.lookups, "_limits", LookupLimits(per_ip=1))
    shared_stack.clock.advance(LookupLimits().window)
    code = make(shared_client, shared_stack, issued(shared_stack), description="限流")
    refused(shared_client.http.get(f"{API}/requests/NOSUCH.json"), 404)

    # WHEN the address asks again, for a code that exists, or by token
    response = shared_client.http.get(f"{API}/requests/{code}.xml")

    # THEN 429 with Retry-After: codes cannot be walked through
    refused(response, 429, "too many look-ups")
    assert int(response.headers["Retry-After"]) >= 1
    refused(shared_client.http.get(f"{API}/tokens/{'a' * 32}.json"), 429)
