"""End to end with a real Open311 client: `make run`, then the `georeport` package (a GeoReport
v2 client written for cities' endpoints) reads the services and a service's definition in JSON
and in XML; a spec-shaped form POST, as the spec's own examples send it, makes a request with
the local stage's demo api_key and is refused without one; georeport reads the request back,
with its status, once the case worker has routed it."""
from __future__ import annotations

import pytest
import requests
from georeport import GeoReport

from tests.e2e.test_gateways import LOCAL_STAGE

pytestmark = pytest.mark.e2e

DEMO_KEY = LOCAL_STAGE["GRIDLOOP_OPEN311_DEMO_KEY"]


def client(stack, fmt: str = "json") -> GeoReport:
    return GeoReport(f"{stack.base}/open311/v2", jurisdiction="changmu", output_format=fmt)


def spec_form(**fields: str) -> dict[str, str]:
    """POST requests' fields as GeoReport v2 names them: about 3号楼2单元."""
    return {"api_key": DEMO_KEY, "jurisdiction_id": "changmu", "service_code": "water_pipe",
            "attribute[building]": "changmu-03", "attribute[unit]": "2", "description": "楼道水管漏水，地上都是水",
            "first_name": "Dolma", "last_name": "Tsering", "email": "dolma@example.cn", "device_id": "e2e-1",
            "lat": "36.04", "long": "101.43", **fields}


def test_the_banner_names_the_open311_endpoint_and_the_demo_key(stack):
    stack.log.seek(0)
    banner = stack.log.read()
    assert f"{stack.base}/open311/v2/discovery.json" in banner and DEMO_KEY in banner


def test_georeport_lists_the_services_and_reads_a_definition_in_json_and_in_xml(stack):
    # WHEN georeport asks for the services, as JSON and as XML
    as_json, as_xml = client(stack).get_service_list(), client(stack, "xml").get_service_list()

    # THEN both list every category, named in Chinese
    assert [s["service_code"] for s in as_json] == [s["service_code"] for s in as_xml]
    water = next(s for s in as_json if s["service_code"] == "water_pipe")
    assert water["service_name"] == "水管漏水" and water["metadata"] is True and water["type"] == "realtime"
    assert next(s for s in as_xml if s["service_code"] == "water_pipe")["metadata"] == "true"

    # WHEN it reads the definition of water_pipe in both formats
    definition = client(stack).get_service_definition("water_pipe")
    xml_definition = client(stack, "xml").get_service_definition("water_pipe")

    # THEN the buildings of the community are the building attribute's values, the same in both
    building = definition["attributes"][0]
    assert building["code"] == "building" and {"key": "changmu-03", "name": "3号楼"} in building["values"]
    xml_building = xml_definition["attributes"]["attribute"][0]
    assert xml_building["code"] == "building"
    assert [v["key"] for v in xml_building["values"]["value"]] == [v["key"] for v in building["values"]]


def test_a_spec_form_post_with_the_demo_key_makes_a_request_that_georeport_reads_back(stack):
    # WHEN a client posts the spec's form, with the demo api_key
    response = requests.post(f"{stack.base}/open311/v2/requests.json", data=spec_form(), timeout=10)

    # THEN the request id comes back at once
    assert response.status_code == 200, response.text
    [created] = response.json()
    code = created["service_request_id"]
    assert created["account_id"] is None and code in created["service_notice"]

    # AND georeport reads it back, open, held by the first role of its chain once routed
    def routed():
        found = client(stack).get_service_request(code)
        return found if found["agency_responsible"] else None

    found = stack.wait_until(routed, timeout=30, what="the Open311 request to be routed")
    assert found["service_request_id"] == code and found["status"] == "open"
    assert found["address"] == "3号楼2单元" and found["lat"] is None
    assert "Dolma" not in str(found) and "dolma@" not in str(found)
    as_xml = client(stack, "xml").get_service_request(code)
    assert as_xml["service_request_id"] == code and as_xml["status"] == "open"
    # AND the token answered with it maps to the same id
    token = requests.get(f"{stack.base}/open311/v2/tokens/{created['token']}.json", timeout=10).json()
    assert token == [{"service_request_id": code, "token": created["token"]}]


def test_a_post_without_a_key_is_refused_in_the_spec_error_shape(stack):
    form = {k: v for k, v in spec_form(description="没有钥匙").items() if k != "api_key"}

    as_json = requests.post(f"{stack.base}/open311/v2/requests.json", data=form, timeout=10)
    as_xml = requests.post(f"{stack.base}/open311/v2/requests.xml", data=form, timeout=10)

    assert as_json.status_code == as_xml.status_code == 403
    assert as_json.json() == [{"code": 403, "description": "api_key is required: ask the community office for one"}]
    assert as_xml.headers["Content-Type"].startswith("text/xml") and "<code>403</code>" in as_xml.text
    # AND georeport sees the refusal as an HTTP error
    with pytest.raises(requests.HTTPError):
        client(stack).get_service_request("NOSUCH")
