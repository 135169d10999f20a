"""Operator routes need IAM authorisation in AWS.

Today every route of app.py is a public one, documented in the README's "HTTP API" table:
the residents' and the SMS gateways' (the gateways check their own signature or token).
Operators work through the console and `python -m tools.*` with their own AWS credentials;
the local stack's /dev/* routes never ship. So the rule these tests keep: a route of app.py
that is not in that table must have `authorizer=IAMAuthorizer()`, which API Gateway enforces
as AWS_IAM (SigV4, `x-amazon-apigateway-authtype: awsSigv4`) in the packaged template.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chalice import Chalice, IAMAuthorizer
from chalice.deploy.swagger import CFNSwaggerGenerator

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`?]*)(?:\?[^`]*)?` \|")


def documented_public_routes() -> set[tuple[str, str]]:
    """(method, path) of every row of the README's "HTTP API" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### HTTP API\n", 1)[1].split("\n#", 1)[0]
    return {(m.group(1), m.group(2)) for line in section.splitlines() if (m := ROW.match(line))}


def routes(app: Chalice) -> dict[tuple[str, str], Any]:
    return {(method, path): entry for path, methods in app.routes.items() for method, entry in methods.items()}


def iam_authorised(operation: dict[str, Any], swagger: dict[str, Any]) -> bool:
    names = [name for requirement in operation.get("security", []) for name in requirement]
    definitions = swagger.get("securityDefinitions", {})
    return bool(names) and all(definitions.get(n, {}).get("x-amazon-apigateway-authtype") == "awsSigv4"
                               for n in names)


def unprotected(app: Chalice, swagger: dict[str, Any], public: set[tuple[str, str]]) -> list[str]:
    """The routes that are neither documented as public nor behind IAM, in the app or in the
    API Gateway definition."""
    wrong = [f"{method} {path}: no authorizer=IAMAuthorizer() in app.py"
             for (method, path), entry in sorted(routes(app).items())
             if (method, path) not in public and not isinstance(entry.authorizer, IAMAuthorizer)]
    for path, operations in sorted(swagger["paths"].items()):
        for method, operation in sorted(operations.items()):
            if (method.upper(), path) not in public and not iam_authorised(operation, swagger):
                wrong.append(f"{method.upper()} {path}: not AWS_IAM in the API definition")
    return wrong


def test_the_readme_documents_the_public_routes_and_each_is_in_the_app():
    from app import app

    public = documented_public_routes()
    assert ("POST", "/reports") in public and ("POST", "/sms/tencent") in public and len(public) >= 8
    assert public <= set(routes(app)), "a documented route is missing from app.py"


def test_every_route_in_the_packaged_api_is_public_and_documented_or_behind_iam(packaged_dev):
    from app import app

    swagger = packaged_dev["RestAPI"]["Properties"]["DefinitionBody"]
    assert unprotected(app, swagger, documented_public_routes()) == [], (
        "a route that the README's HTTP API table does not list as public must be "
        "@app.route(..., authorizer=IAMAuthorizer()) (docs/deploying.md: Operator routes)")
    assert not any(path.startswith("/dev") for path in swagger["paths"]), "dev routes never ship"


def test_the_rule_catches_an_operator_route_without_iam_and_passes_it_with_iam():
    """A stand-in app: the same check on an operator route without, then with, IAMAuthorizer;
    and what API Gateway gets for the latter."""
    public = {("GET", "/health")}
    bare, guarded = Chalice(app_name="bare"), Chalice(app_name="guarded")
    for candidate, auth in ((bare, {}), (guarded, {"authorizer": IAMAuthorizer()})):
        candidate.route("/health", methods=["GET"])(lambda: {})
        candidate.route("/admin/blocklist", methods=["POST"], **auth)(lambda: {})

    bare_swagger = CFNSwaggerGenerator().generate_swagger(bare)
    assert unprotected(bare, bare_swagger, public) == [
        "POST /admin/blocklist: no authorizer=IAMAuthorizer() in app.py",
        "POST /admin/blocklist: not AWS_IAM in the API definition"]

    swagger = CFNSwaggerGenerator().generate_swagger(guarded)
    assert unprotected(guarded, swagger, public) == []
    assert swagger["paths"]["/admin/blocklist"]["post"]["security"] == [{"sigv4": []}]
    assert swagger["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert "security" not in swagger["paths"]["/health"]["get"]
