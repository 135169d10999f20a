"""Open311 GeoReport v2 (docs/open311.md) through the Chalice app on moto, each test on its own
stack: POST requests with an API key (a report like any other, made once), the lists and one
request, in JSON and in XML. The refusals are in test_open311_refusals.py; the helpers here are
shared with it."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import urlencode

from tests.functional.conftest import (
    GRID_MEMBER,
    LOCATION,
    case,
    count_cases,
    member_phone,
    post_report,
    report,
    run_queue,
    sms_to,
)

FORM = "application/x-www-form-urlencoded"
API = "/open311/v2"
RESIDENT = "+8613912345678"


def issued(stack, client: str = "test-client") -> str:
    return stack.api_keys.issue(client, "ops:tester")[0]


def request_form(key: str | None, **fields: str) -> dict[str, str]:
    """A spec-shaped POST requests form about changmu-01-1 (building 1, unit 1)."""
    form = {"jurisdiction_id": "changmu", "service_code": "sanitation", "attribute[building]": "changmu-01",
            "attribute[unit]": "1", "description": "楼道灯坏了 the stairwell light is out",
            "phone": "13912345678", "first_name": "玛", "last_name": "卓"}
    if key is not None:
        form["api_key"] = key
    return {k: v for k, v in {**form, **fields}.items() if v is not ...}


def post311(client, form, fmt: str = "json", headers: dict[str, str] | None = None, content_type: str = FORM):
    body = form if isinstance(form, (str, bytes)) else urlencode(form)
    return client.http.post(f"{API}/requests.{fmt}", headers={"Content-Type": content_type, **(headers or {})},
                            body=body)


def errors(response) -> list[dict]:
    """The spec's error list, from JSON or XML: [{"code", "description"}]."""
    if response.headers["Content-Type"].startswith("text/xml"):
        root = ET.fromstring(response.body)
        assert root.tag == "errors"
        return [{"code": int(e.findtext("code")), "description": e.findtext("description")} for e in root]
    return json.loads(response.body)


def refused(response, status: int, words: str = "") -> str:
    """The response is the spec's error with this status, in the body as in the status line."""
    assert response.status_code == status, response.body
    [only] = errors(response)
    assert only["code"] == status and words in only["description"], only
    return only["description"]


def make(client, stack, key, **fields) -> str:
    response = post311(client, request_form(key, **fields))
    assert response.status_code == 200, response.body
    return response.json_body[0]["service_request_id"]


def _w3c(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- POST requests ----------------------------------------------------------------------------
def test_given_a_valid_key_when_a_request_is_posted_then_it_is_a_report_routed_as_post_reports_routes_one(
        client, aws_stack):
    # GIVEN a client's key, and the same report made through POST /reports, routed, then called
    # off (so that the next one is not folded into it)
    key = issued(aws_stack)
    web = post_report(client, report(category="water_pipe", location=LOCATION)).json_body["code"]
    run_queue(client, aws_stack, "intake")
    assert aws_stack.ops.run({"command": "cancel", "case": web, "reason": "对照", "operator": "w"})["ok"]

    # WHEN the client posts a spec-shaped form about building 1, unit 1
    response = post311(client, request_form(key, service_code="water_pipe"))

    # THEN it answers the code at once (and a token), and the case is routed like the web's
    assert response.status_code == 200, response.body
    [answer] = response.json_body
    code = answer["service_request_id"]
    assert answer["account_id"] is None and code in answer["service_notice"]
    assert answer["token"] == case(aws_stack, code).id
    run_queue(client, aws_stack, "intake")
    made, same_place = case(aws_stack, code), case(aws_stack, web)
    assert (made.source, made.location, made.category) == ("open311", LOCATION, "water_pipe")
    assert (made.status.value, made.level) == ("assigned", 1)
    assert made.holder == same_place.chain[0].holder and made.chain == same_place.chain
    assert (made.reporter_phone, made.reporter_name) == (RESIDENT, "卓玛")
    # AND its holder was texted, and the resident got the code as a web reporter does
    assert any(code in text for text in sms_to(member_phone(aws_stack, made.holder)))
    assert any(code in text for text in sms_to(RESIDENT))


def test_given_the_same_content_posted_again_by_the_same_key_then_it_is_the_same_case(client, aws_stack):
    key, other_key = issued(aws_stack), issued(aws_stack, "another-client")
    form = request_form(key, description="单元门关不上")

    first, again, as_xml = post311(client, form), post311(client, form), post311(client, form, "xml")
    by_another = post311(client, {**form, "api_key": other_key})

    code = first.json_body[0]["service_request_id"]
    assert again.json_body[0]["service_request_id"] == code
    assert ET.fromstring(as_xml.body).findtext("request/service_request_id") == code
    assert by_another.json_body[0]["service_request_id"] != code      # another client: its own report
    assert count_cases(aws_stack) == 2


def test_given_an_idempotency_key_when_posted_again_then_the_same_case_and_other_content_under_it_is_a_400(
        client, aws_stack):
    key = issued(aws_stack)
    headers = {"Idempotency-Key": "kiosk-7-0001"}

    first = post311(client, request_form(key), headers=headers)
    again = post311(client, request_form(key), headers=headers)
    changed = post311(client, request_form(key, description="水管漏水"), headers=headers)

    assert first.json_body == again.json_body
    refused(changed, 400, "Idempotency-Key was already used")
    assert count_cases(aws_stack) == 1


# -- GET requests and requests/{id} -----------------------------------------------------------
def test_given_cases_of_two_communities_when_listed_then_the_filters_pick_by_status_service_date_and_id(
        client, aws_stack):
    # GIVEN three routed cases in changmu an hour apart (the middle one closed by the office) and one in garang
    clock, key = aws_stack.clock, issued(aws_stack)
    light = make(client, aws_stack, key, service_code="stairwell_light", **{"attribute[building]": "changmu-02"})
    clock.advance(3600)
    pipe = make(client, aws_stack, key, service_code="water_pipe", **{"attribute[building]": "changmu-03"})
    clock.advance(3600)
    rubbish = make(client, aws_stack, key, service_code="sanitation", **{"attribute[building]": "changmu-04"})
    garang = next(loc.code for loc in aws_stack.directory().communities["garang"].locations.values()
                  if loc.unit_id is None)
    elsewhere = make(client, aws_stack, key, jurisdiction_id="garang",
                     **{"attribute[building]": garang, "attribute[unit]": "unknown"})
    run_queue(client, aws_stack, "intake")
    assert aws_stack.ops.run({"command": "close", "case": pipe, "reason": "已修好", "operator": "w"})["ok"]

    def listed(query: str) -> list[str]:
        response = client.http.get(f"{API}/requests.json?jurisdiction_id=changmu&api_key={key}&{query}")
        assert response.status_code == 200, response.body
        return [r["service_request_id"] for r in response.json_body]

    # WHEN the list is asked for with each filter THEN newest first, this community only
    assert listed("") == [rubbish, pipe, light]
    assert listed("status=closed") == [pipe] and listed("status=open") == [rubbish, light]
    assert listed("status=open,closed&service_code=stairwell_light,water_pipe") == [pipe, light]
    half_an_hour_ago = clock.now - 1800
    assert listed(f"start_date={_w3c(half_an_hour_ago)}") == [rubbish]
    assert listed(f"end_date={_w3c(half_an_hour_ago)}") == [pipe, light]
    assert listed(f"start_date={_w3c(clock.now - 100 * 86400)}&end_date={_w3c(clock.now - 95 * 86400)}") == []
    # service_request_id overrides the other filters, in the order given, this community's only
    assert listed(f"service_request_id={light.lower()},{elsewhere},{pipe}&status=open") == [light, pipe]
    # AND in XML, each a <request> with its Open311 status
    response = client.http.get(f"{API}/requests.xml?jurisdiction_id=changmu&api_key={key}&status=closed")
    [closed] = ET.fromstring(response.body).findall("request")
    assert closed.findtext("service_request_id") == pipe and closed.findtext("status") == "closed"
    assert elsewhere not in response.body.decode()


def test_given_a_request_when_read_by_id_in_json_and_xml_then_its_status_and_place_without_personal_data(
        client, aws_stack):
    # GIVEN a routed request, with the resident's phone and name
    key = issued(aws_stack)
    code = make(client, aws_stack, key, **{"attribute[building]": "changmu-05", "attribute[unit]": "2"})
    run_queue(client, aws_stack, "intake")

    # WHEN it is read by its id, in JSON and in XML (the code in any case)
    as_json = client.http.get(f"{API}/requests/{code}.json")
    as_xml = client.http.get(f"{API}/requests/{code.lower()}.xml?jurisdiction_id=changmu")

    # THEN it is open, with the role that holds it, its place in words and its due clock
    assert as_json.status_code == as_xml.status_code == 200
    [view] = as_json.json_body
    stored = case(aws_stack, code)
    assert (view["service_request_id"], view["status"], view["service_code"]) == (code, "open", "sanitation")
    assert view["agency_responsible"] == "楼道长" and view["address"] == "5号楼2单元"
    assert view["expected_datetime"] is not None and view["lat"] is None and view["long"] is None
    request = ET.fromstring(as_xml.body).find("request")
    assert request.findtext("service_request_id") == code and request.findtext("status") == "open"
    # AND neither answer has the resident's phone, name or words, nor the holder's name, phone or id
    holder = aws_stack.directory().member("changmu", stored.holder)
    for body in (as_json.body.decode(), as_xml.body.decode()):
        for secret in ("13912345678", "卓玛", "楼道灯坏了", holder.name, holder.phone, f'"{holder.id}"',
                       f">{holder.id}<"):
            assert secret not in body, secret


def test_given_a_report_folded_into_another_when_read_then_it_is_closed_and_says_which_case_it_joined(
        client, aws_stack):
    # GIVEN a routed report, then a neighbour's of the same problem at the same stairwell: the
    # case worker folds the second into the first (the changmu book: water_pipe, building-wide)
    key = issued(aws_stack)
    first = make(client, aws_stack, key, service_code="water_pipe", description="水管漏水")
    run_queue(client, aws_stack, "intake")
    second = make(client, aws_stack, key, service_code="water_pipe", description="楼上漏水", phone="13912345600",
                  **{"attribute[unit]": "2"})
    run_queue(client, aws_stack, "intake")
    assert getattr(case(aws_stack, second), "duplicate_of", None) == first

    # WHEN the second is read
    [view] = client.http.get(f"{API}/requests/{second}.json").json_body

    # THEN it is closed, merged into the first; the first stays open
    assert view["status"] == "closed" and view["status_notes"] == f"已合并到 {first}"
    assert client.http.get(f"{API}/requests/{first}.json?lang=en").json_body[0]["status"] == "open"


def test_given_a_token_when_read_then_it_maps_to_the_request_id(client, aws_stack):
    answer = post311(client, request_form(issued(aws_stack))).json_body[0]

    as_json = client.http.get(f"{API}/tokens/{answer['token']}.json")
    as_xml = client.http.get(f"{API}/tokens/{answer['token'].upper()}.xml")

    assert as_json.json_body == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    assert ET.fromstring(as_xml.body).findtext("request/service_request_id") == answer["service_request_id"]
    refused(client.http.get(f"{API}/tokens/{'0' * 32}.json"), 404, "no token")


def test_given_the_grid_member_holds_it_when_read_then_agency_responsible_is_the_role_never_the_person(
        client, aws_stack):
    key = issued(aws_stack)
    code = make(client, aws_stack, key, service_code="heating")
    run_queue(client, aws_stack, "intake")
    assert aws_stack.ops.run({"command": "escalate", "case": code, "from_level": 1, "reason": "电话不通",
                              "operator": "w"})["ok"]
    assert case(aws_stack, code).holder == GRID_MEMBER

    [view] = client.http.get(f"{API}/requests/{code}.json?lang=en").json_body

    assert view["agency_responsible"] == "grid member"
    assert view["status_notes"] == "passed to the grid member, waiting to be taken on"
