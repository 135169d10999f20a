"""The app's real responses match chalicelib/data/openapi.json: for every documented route and
every status it documents, a request that gets that status, whose body, content type and
required headers are checked against the document."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from chalicelib import bootstrap, handlers
from chalicelib.domain.admission import LookupLimits, ReportLimits
from chalicelib.domain.privacy import sender_key
from tests.functional.conftest import member_phone, post_report, report, run_queue, text_in
from tests.functional.test_sms_gateways import post_tencent, post_twilio, tencent_reply, twilio_params
from tests.functional.test_web_pages import page_form, post_page

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "chalicelib/data/openapi.json").read_text(
    encoding="utf-8"))
FORM = "application/x-www-form-urlencoded"
RESIDENT = "+8613912345678"


def operation_response(method: str, path: str, status: int) -> dict:
    responses = DOCUMENT["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which is not documented"
    response = responses[str(status)]
    if "$ref" in response:
        response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def assert_conforms(method: str, path: str, response) -> None:
    """Status, media type, body schema and required headers, as the document says."""
    from jsonschema import Draft202012Validator, FormatChecker

    documented = operation_response(method, path, response.status_code)
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert media_type in documented["content"], (method, path, response.status_code, media_type)
    schema = documented["content"][media_type]["schema"]
    body = response.body.decode("utf-8")
    instance = json.loads(body) if media_type == "application/json" else body
    # Local refs (#/components/...) resolve against the root, which carries the components.
    validator = Draft202012Validator({**schema, "components": DOCUMENT["components"]},
                                     format_checker=FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, (method, path, response.status_code, errors)
    for name, header in documented.get("headers", {}).items():
        if header.get("required"):
            assert name in response.headers, (method, path, name)
            Draft202012Validator(header["schema"]).validate(response.headers[name])


def routed_code(client, stack, **overrides) -> str:
    response = post_report(client, report(**{"phone": RESIDENT, **overrides}))
    assert response.status_code == 202
    run_queue(client, stack, "intake")
    return response.json_body["code"]


def me_too_on_a_closed_report(client, stack):
    """The report page offered a heating case in 12号楼1单元, which is done before "me too" is pressed."""
    fields = page_form(building="changmu-12", unit="1", category="heating")
    code = routed_code(client, stack, category="heating", location="changmu-12-1")
    assert post_page(client, fields).status_code == 200            # "already reported?"
    text_in(stack, member_phone(stack, stack.cases.get(code).holder), f"完成 {code}", client)
    return post_page(client, f"{fields}&me_too={code}")


def fail(*_args, **_kwargs):
    raise ConnectionError("AWS is unreachable")


def break_the_container(monkeypatch) -> None:
    """Every service lookup fails, as when DynamoDB or SQS cannot be reached."""
    monkeypatch.setattr(bootstrap, "container", fail)


def twilio(client, text: str = "收到 AP3ZUM", **kwargs):
    return post_twilio(client, twilio_params(RESIDENT, text), **kwargs)


def break_the_stylesheet(monkeypatch) -> None:
    from chalicelib.web import templates

    monkeypatch.setattr(templates, "static", fail)


# (method, documented path, status, how to get it: (client, stack, monkeypatch) -> response)
REQUESTS = [
    ("GET", "/health", 200, lambda c, s, m: c.http.get("/health")),
    ("GET", "/health", 503, lambda c, s, m: (
        m.setattr(s, "directory", lambda: type("Empty", (), {"communities": {}})()), c.http.get("/health"))[1]),
    ("GET", "/categories", 200, lambda c, s, m: c.http.get("/categories")),
    ("GET", "/categories", 503, lambda c, s, m: (break_the_container(m), c.http.get("/categories"))[1]),
    ("GET", "/grid", 200, lambda c, s, m: c.http.get("/grid")),
    ("GET", "/grid", 503, lambda c, s, m: (break_the_container(m), c.http.get("/grid"))[1]),
    ("GET", "/openapi.json", 200, lambda c, s, m: c.http.get("/openapi.json")),
    # Found by Schemathesis: a GET with a Content-Type got Chalice's own 415, not our error shape.
    ("GET", "/health", 200, lambda c, s, m: c.http.get("/health", headers={"Content-Type": "multipart/form-data"})),
    ("GET", "/grid", 200, lambda c, s, m: c.http.get("/grid", headers={"Content-Type": "text/plain"})),
    ("GET", "/openapi.json", 503, lambda c, s, m: (
        m.setattr(handlers.json_api, "_openapi_document", fail), c.http.get("/openapi.json"))[1]),
    ("POST", "/reports", 202, lambda c, s, m: post_report(c, report(priority="urgent"))),
    ("POST", "/reports", 202, lambda c, s, m: post_report(c, urlencode(report()), content_type=FORM,
                                                           headers={"Idempotency-Key": str(uuid.uuid4())})),
    ("POST", "/reports", 400, lambda c, s, m: post_report(c, "{")),
    ("POST", "/reports", 400, lambda c, s, m: post_report(c, report(phone="call me"))),
    ("POST", "/reports", 413, lambda c, s, m: post_report(c, report(description="x" * 70_000))),
    ("POST", "/reports", 415, lambda c, s, m: post_report(c, json.dumps(report()), content_type="text/plain")),
    ("POST", "/reports", 422, lambda c, s, m: post_report(c, report(location="changmu-99-9"))),
    ("POST", "/reports", 403, lambda c, s, m: (
        s.blocklist.add(sender_key(phone="+8613700000403"), "+86137****0403", None, None, 0.0),
        post_report(c, report(phone="+8613700000403")))[1]),
    ("POST", "/reports", 429, lambda c, s, m: (
        m.setattr(s.intake, "_limits", ReportLimits(per_phone=1)),
        post_report(c, report(phone="+8613700000429")), post_report(c, report(phone="+8613700000429")))[2]),
    ("POST", "/reports", 503, lambda c, s, m: (break_the_container(m), post_report(c))[1]),
    ("GET", "/reports/{id_or_code}", 200, lambda c, s, m: c.http.get(f"/reports/{routed_code(c, s).lower()}")),
    ("GET", "/reports/{id_or_code}", 404, lambda c, s, m: c.http.get("/reports/NOSUCH")),
    ("GET", "/reports/{id_or_code}", 429, lambda c, s, m: (
        m.setattr(s.lookups, "_limits", LookupLimits(per_ip=1)), c.http.get("/reports/NOSUCH"),
        c.http.get("/reports/NOSUCH"))[2]),
    ("GET", "/reports/{id_or_code}", 503, lambda c, s, m: (
        break_the_container(m), c.http.get("/reports/AP3ZUM"))[1]),
    ("GET", "/", 200, lambda c, s, m: c.http.get("/")),
    ("GET", "/", 200, lambda c, s, m: c.http.get("/?community=garang&lang=en")),
    ("GET", "/", 404, lambda c, s, m: c.http.get("/?community=nowhere")),
    ("GET", "/", 503, lambda c, s, m: (break_the_container(m), c.http.get("/"))[1]),
    ("POST", "/", 200, lambda c, s, m: post_page(c, page_form())),
    ("POST", "/", 400, lambda c, s, m: post_page(c, page_form(category="", description=""))),
    ("POST", "/", 400, lambda c, s, m: post_page(c, b"description=%FF&community=changmu")),
    ("POST", "/", 403, lambda c, s, m: (
        s.blocklist.add(sender_key(phone="+8613700000413"), "+86137****0413", None, None, 0.0),
        post_page(c, page_form(phone="+8613700000413", new="1")))[1]),
    ("POST", "/", 413, lambda c, s, m: post_page(c, page_form(description="x" * 70_000))),
    ("POST", "/", 415, lambda c, s, m: post_page(c, json.dumps(report()), content_type="application/json")),
    ("POST", "/", 429, lambda c, s, m: (
        m.setattr(s.intake, "_limits", ReportLimits(per_phone=1)),
        post_page(c, page_form(phone="+8613700000430", new="1")),
        post_page(c, page_form(phone="+8613700000430", new="1")))[2]),
    ("POST", "/", 409, lambda c, s, m: me_too_on_a_closed_report(c, s)),
    ("POST", "/", 503, lambda c, s, m: (break_the_container(m), post_page(c, page_form()))[1]),
    ("GET", "/r/{code}", 200, lambda c, s, m: c.http.get(f"/r/{routed_code(c, s).lower()}")),
    ("GET", "/r/{code}", 404, lambda c, s, m: c.http.get("/r/NOSUCH")),
    ("GET", "/r/{code}", 429, lambda c, s, m: (
        m.setattr(s.lookups, "_limits", LookupLimits(per_ip=1)), c.http.get("/r/NOSUCH"), c.http.get("/r/NOSUCH"))[2]),
    ("GET", "/r/{code}", 503, lambda c, s, m: (break_the_container(m), c.http.get("/r/AP3ZUM"))[1]),
    ("GET", "/static/site.css", 200, lambda c, s, m: c.http.get("/static/site.css")),
    ("GET", "/static/site.css", 503, lambda c, s, m: (break_the_stylesheet(m), c.http.get("/static/site.css"))[1]),
    ("POST", "/sms/twilio", 200, lambda c, s, m: twilio(c)),
    ("POST", "/sms/twilio", 400, lambda c, s, m: post_twilio(c, [("From", RESIDENT)])),
    ("POST", "/sms/twilio", 400, lambda c, s, m: twilio(c, "灯" * 1601)),
    ("POST", "/sms/twilio", 403, lambda c, s, m: twilio(c, signature=None)),
    # Found by the property tests: a Host header with a port that is no number was a 503.
    ("POST", "/sms/twilio", 403, lambda c, s, m: twilio(c, Host="gridloop.example.org:abc")),
    ("POST", "/sms/twilio", 413, lambda c, s, m: twilio(c, "灯" * 30_000)),
    ("POST", "/sms/twilio", 415, lambda c, s, m: twilio(c, content_type="application/json")),
    ("POST", "/sms/twilio", 503, lambda c, s, m: (break_the_container(m), twilio(c))[1]),
    ("POST", "/sms/tencent", 200, lambda c, s, m: post_tencent(c, tencent_reply(RESIDENT, "查询"))),
    ("POST", "/sms/tencent", 400, lambda c, s, m: post_tencent(c, [])),
    ("POST", "/sms/tencent", 403, lambda c, s, m: post_tencent(c, tencent_reply(RESIDENT, "查询"), token="wrong")),
    ("POST", "/sms/tencent", 413, lambda c, s, m: post_tencent(c, tencent_reply(RESIDENT, "灯" * 30_000))),
    ("POST", "/sms/tencent", 503, lambda c, s, m: (
        break_the_container(m), post_tencent(c, tencent_reply(RESIDENT, "查询")))[1]),
]


def open311_calls() -> list:
    """Every documented status of every Open311 route (docs/open311.md), in both formats."""
    from tests.functional.test_open311_api import API, issued, post311, request_form

    def code(c, s):
        made = post311(c, request_form(issued(s), description=str(uuid.uuid4()))).json_body[0]
        run_queue(c, s, "intake")
        return made

    def key_over(c, s, m, fmt):
        m.setattr(s.api_keys, "calls_per_key", 1)
        key = issued(s)
        c.http.get(f"{API}/requests.{fmt}?jurisdiction_id=changmu&api_key={key}")
        return c.http.get(f"{API}/requests.{fmt}?jurisdiction_id=changmu&api_key={key}")

    def looked_up_twice(c, s, m, path):
        m.setattr(s.lookups, "_limits", LookupLimits(per_ip=1))
        c.http.get(path)
        return c.http.get(path)

    calls = []
    for fmt in ("json", "xml"):
        for route in ("discovery", "services"):
            path = f"{API}/{route}.{fmt}"
            calls += [("GET", path, 200, lambda c, s, m, path=path: c.http.get(path)),
                      ("GET", path, 400, lambda c, s, m, path=path: c.http.get(f"{path}?lang=bo")),
                      ("GET", path, 404, lambda c, s, m, path=path: c.http.get(f"{path}?jurisdiction_id=nowhere")),
                      ("GET", path, 503, lambda c, s, m, path=path: (break_the_container(m), c.http.get(path))[1])]
        path = f"{API}/requests.{fmt}"
        calls += [
            ("GET", path, 200, lambda c, s, m, path=path: c.http.get(f"{path}?jurisdiction_id=changmu&api_key="
                                                                     f"{issued(s)}")),
            ("GET", path, 400, lambda c, s, m, path=path: c.http.get(f"{path}?jurisdiction_id=changmu&status=x&"
                                                                     f"api_key={issued(s)}")),
            ("GET", path, 403, lambda c, s, m, path=path: c.http.get(f"{path}?jurisdiction_id=changmu")),
            ("GET", path, 404, lambda c, s, m, path=path: c.http.get(f"{path}?jurisdiction_id=nowhere&api_key="
                                                                     f"{issued(s)}")),
            ("GET", path, 429, lambda c, s, m, fmt=fmt: key_over(c, s, m, fmt)),
            ("GET", path, 503, lambda c, s, m, path=path: (break_the_container(m), c.http.get(path))[1]),
            ("POST", path, 200, lambda c, s, m, fmt=fmt: post311(c, request_form(issued(s), description=fmt), fmt)),
            ("POST", path, 400, lambda c, s, m, fmt=fmt: post311(c, request_form(issued(s), service_code="x"), fmt)),
            ("POST", path, 403, lambda c, s, m, fmt=fmt: post311(c, request_form(None), fmt)),
            ("POST", path, 404, lambda c, s, m, fmt=fmt: post311(c, request_form(issued(s), jurisdiction_id="no"),
                                                                 fmt)),
            ("POST", path, 413, lambda c, s, m, fmt=fmt: post311(c, "description=" + "x" * 70_000, fmt)),
            ("POST", path, 415, lambda c, s, m, fmt=fmt: post311(c, "{}", fmt, content_type="application/json")),
            ("POST", path, 429, lambda c, s, m, fmt=fmt: (
                m.setattr(s.intake, "_limits", ReportLimits(per_phone=1)),
                post311(c, request_form(issued(s), phone="+8613700000431", description="1"), fmt),
                post311(c, request_form(issued(s), phone="+8613700000431", description="2"), fmt))[2]),
            ("POST", path, 503, lambda c, s, m, fmt=fmt: (
                break_the_container(m), post311(c, request_form("k"), fmt))[1]),
        ]
    definition, one, token = f"{API}/services/{{service_file}}", f"{API}/requests/{{request_file}}", \
        f"{API}/tokens/{{token_file}}"
    calls += [
        ("GET", definition, 200, lambda c, s, m: c.http.get(f"{API}/services/fire.json?jurisdiction_id=changmu")),
        ("GET", definition, 200, lambda c, s, m: c.http.get(f"{API}/services/fire.xml?jurisdiction_id=garang")),
        ("GET", definition, 400, lambda c, s, m: c.http.get(f"{API}/services/fire.xml")),
        ("GET", definition, 404, lambda c, s, m: c.http.get(f"{API}/services/potholes.json?jurisdiction_id=changmu")),
        ("GET", definition, 404, lambda c, s, m: c.http.get(f"{API}/services/fire.html")),
        ("GET", definition, 503, lambda c, s, m: (break_the_container(m), c.http.get(f"{API}/services/fire.xml"))[1]),
        ("GET", one, 200, lambda c, s, m: c.http.get(f"{API}/requests/{code(c, s)['service_request_id']}.json")),
        ("GET", one, 200, lambda c, s, m: c.http.get(f"{API}/requests/{code(c, s)['service_request_id']}.xml")),
        ("GET", one, 400, lambda c, s, m: c.http.get(f"{API}/requests/AP3ZUM.json?lang=bo")),
        ("GET", one, 404, lambda c, s, m: c.http.get(f"{API}/requests/NOSUCH.xml")),
        ("GET", one, 429, lambda c, s, m: looked_up_twice(c, s, m, f"{API}/requests/NOSUCH.json")),
        ("GET", one, 503, lambda c, s, m: (break_the_container(m), c.http.get(f"{API}/requests/AP3ZUM.json"))[1]),
        ("GET", token, 200, lambda c, s, m: c.http.get(f"{API}/tokens/{code(c, s)['token']}.json")),
        ("GET", token, 200, lambda c, s, m: c.http.get(f"{API}/tokens/{code(c, s)['token']}.xml")),
        ("GET", token, 400, lambda c, s, m: c.http.get(f"{API}/tokens/{'a' * 32}.xml?jurisdiction_id=a&"
                                                       "jurisdiction_id=b")),
        ("GET", token, 404, lambda c, s, m: c.http.get(f"{API}/tokens/{'a' * 32}.json")),
        ("GET", token, 429, lambda c, s, m: looked_up_twice(c, s, m, f"{API}/tokens/{'a' * 32}.xml")),
        ("GET", token, 503, lambda c, s, m: (break_the_container(m), c.http.get(f"{API}/tokens/{'a' * 32}.json"))[1]),
    ]
    return calls


REQUESTS += open311_calls()


def test_every_documented_status_of_every_route_is_exercised_below():
    documented = {(method.upper(), path, int(status)) for path, item in DOCUMENT["paths"].items()
                  for method, operation in item.items() for status in operation["responses"]}
    assert {(method, path, status) for method, path, status, _ in REQUESTS} == documented


@pytest.mark.parametrize("method,path,status,make", [
    pytest.param(*r, id=f"{r[0]} {r[1]} {r[2]} #{i}") for i, r in enumerate(REQUESTS)])
def test_each_response_matches_the_document(shared_client, shared_stack, monkeypatch, method, path, status, make):
    response = make(shared_client, shared_stack, monkeypatch)

    assert response.status_code == status, response.body[:300]
    assert_conforms(method, path, response)


def test_the_served_document_is_the_shipped_file(shared_client):
    response = shared_client.http.get("/openapi.json")

    assert response.status_code == 200
    assert json.loads(response.body) == DOCUMENT
