"""chalicelib/data/openapi.json describes exactly the app's public routes: every route and
method is documented, nothing is documented that the app does not have, and the document
is valid OpenAPI. The responses themselves are checked against it in
tests/functional/test_openapi.py and, fuzzed, in tests/e2e/test_openapi_fuzz.py."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCUMENT = Path(__file__).resolve().parents[2] / "chalicelib" / "data" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
LOCAL_ONLY = "/dev/"   # devstack's blueprint: never shipped, never documented


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


def app_operations() -> set[tuple[str, str]]:
    from app import app

    return {(path, method.lower()) for path, methods in app.routes.items()
            if not path.startswith(LOCAL_ONLY) for method in methods}


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def test_the_document_is_valid_openapi(document):
    from openapi_spec_validator import validate

    validate(document)   # raises on any violation of the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")


def test_every_route_of_the_app_is_documented_and_nothing_else(document):
    routes, documented = app_operations(), documented_operations(document)

    assert routes - documented == set(), "routes missing from openapi.json"
    assert documented - routes == set(), "openapi.json documents routes the app does not have"
    # The public routes the contract names, so that an emptied app would not pass
    assert {("/health", "get"), ("/reports", "post"), ("/reports/{id_or_code}", "get"),
            ("/sms/twilio", "post"), ("/sms/tencent", "post"), ("/openapi.json", "get")} <= documented


def test_local_only_routes_are_not_documented(document):
    assert not [path for path in document["paths"] if path.startswith(LOCAL_ONLY)]


def test_path_parameters_are_named_as_in_the_route(document):
    for path, item in document["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, (method, path)


# The residents' web pages (handlers._paged): HTML for every answer, errors included.
PAGES = {("/", "get"), ("/", "post"), ("/r/{code}", "get"), ("/static/site.css", "get")}
# Open311 GeoReport v2 (handlers._open311): its own error list, in JSON or XML as the route's format.
OPEN311 = "/open311/v2/"


def test_every_operation_documents_the_503_and_every_error_uses_the_error_shape(document):
    """_guarded turns any failure of ours into a 503 with the error shape: every route can answer it.
    The pages' _paged does the same with an HTML page, and their refusals are pages too; Open311's
    routes answer GeoReport's error list, `[{"code", "description"}]` or its XML."""
    responses = document["components"]["responses"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "503" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                response = responses[response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response
                if (path, method) in PAGES and status[0] in "45":
                    assert set(response["content"]) == {"text/html"}, (method, path, status)
                elif path.startswith(OPEN311) and status[0] in "45":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Open311Errors"}, (method, path, status)
                    assert set(response["content"]) == {"application/json", "text/xml"}, (method, path, status)
                elif status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_the_pages_are_documented_as_html_with_their_statuses(document):
    paths = document["paths"]
    assert PAGES <= documented_operations(document)
    for path, method in PAGES - {("/static/site.css", "get")}:
        assert set(paths[path][method]["responses"]["200"]["content"]) == {"text/html"}, (method, path)
    assert set(paths["/"]["post"]["responses"]) == {"200", "400", "403", "409", "413", "415", "429", "503"}
    assert set(paths["/r/{code}"]["get"]["responses"]) == {"200", "404", "429", "503"}
    assert set(paths["/"]["post"]["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}
    assert set(paths["/static/site.css"]["get"]["responses"]["200"]["content"]) == {"text/css"}


def test_post_reports_takes_json_and_forms_and_an_idempotency_key(document):
    operation = document["paths"]["/reports"]["post"]

    assert set(operation["requestBody"]["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    from chalicelib.domain.report import OPTIONAL, REQUIRED

    for schema in ("ReportRequest", "ReportForm"):
        body = document["components"]["schemas"][schema]
        assert set(body["properties"]) == set(REQUIRED + OPTIONAL), schema
        assert set(body["required"]) == set(REQUIRED), schema
    assert set(operation["responses"]) == {"202", "400", "403", "413", "415", "422", "429", "503"}


def test_the_error_codes_are_those_the_code_raises():
    """Every error code a handler or a validator can raise is in the document's enum."""
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    enum = set(document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    root = DOCUMENT.parents[1]
    raised: set[str] = set()
    sources = sorted((root / "handlers").glob("*.py")) + [root / "domain/report.py", root / "adapters/sms_gateways.py"]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        raised |= set(re.findall(r'(?:HttpError\(\d{3},|InvalidReport\(|InvalidGatewayPayload\()\s*"(\w+)"', text))
    assert len(raised) > 10, raised   # the pattern still finds them
    assert raised - enum == set()


def test_each_open311_route_has_its_format_and_the_file_routes_have_both(document):
    """A route per format (…/services.json, …/services.xml); a path parameter cannot have ".json"
    after it, so services/, requests/ and tokens/ take the file name and answer either."""
    paths = {path: item for path, item in document["paths"].items() if path.startswith(OPEN311)}
    assert len(paths) == 9 and sum(len(item) for item in paths.values()) == 11
    for path, item in paths.items():
        for method, operation in item.items():
            ok = set(operation["responses"]["200"]["content"])
            expected = ({"application/json"} if path.endswith(".json") else {"text/xml"} if path.endswith(".xml")
                        else {"application/json", "text/xml"})
            assert ok == expected, (method, path)
    for name in ("requests.json", "requests.xml"):
        assert set(paths[OPEN311 + name]) == {"get", "post"}
        assert set(paths[OPEN311 + name]["post"]["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}
