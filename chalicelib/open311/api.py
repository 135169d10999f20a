"""The Open311 GeoReport v2 endpoints (docs/open311.md), over the services the handlers pass in
(`services`: bootstrap.Container) and the request as the handlers read it (Open311Request).

Each answers an Answer: the data in the format asked for, or GeoReport's error list with a 4xx
status. A failure of ours is not caught here: the handlers answer it with a 503 in the same shape.

- `jurisdiction_id` is a community's id. With one community it may be left out; with several,
  the endpoints about one community (a service's definition, POST and GET requests) need it
  (400). An unknown one is a 404, everywhere.
- POST requests and GET requests (the list) need an `api_key` (services.api_keys): 403 without
  a valid one, 429 over the key's calls for its window. The list needs one because it names
  every report's code, which the look-ups' limit keeps from being walked through.
- GET requests/{id} and tokens/{token} need no key; each counts as a look-up against the
  caller's address, as the status page's do (services.lookups): 429 over the limit.
- A request made here is a report like any other: IntakeService.submit, source "open311", with
  its validation, its flood limits (the phone, the caller's address) and the block list. Its
  idempotency key: the client's `Idempotency-Key` header if it sends one, else the content's
  fingerprint in the current window of GRIDLOOP_REPORT_WINDOW_SECONDS; either is the key's own
  (namespaced by its id), so the same content sent again by the same client within the window
  is the same report.
- The answer to POST gives `service_request_id` (the code) at once, and `token`: the case's id,
  which tokens/{token} maps back to the code.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.admission import Blocked, RateLimited
from chalicelib.domain.directory import Community
from chalicelib.domain.report import InvalidReport
from chalicelib.services.api_keys import KeyRateLimited, KeyRefused
from chalicelib.services.intake import IdempotencyConflict

from . import forms, mapping
from .formats import Answer, Open311Error, refused, render

log = logging.getLogger("gridloop")


@dataclass(frozen=True)
class Open311Request:
    fmt: str                                   # "json" or "xml"
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)   # POST requests' fields
    source_ip: str | None = None               # API Gateway's view of the caller's address
    endpoint_url: str = ""                     # this API's own URL (…/open311/v2), for discovery
    idempotency_key: str | None = None         # the Idempotency-Key header, checked by the handlers


def answered(endpoint):
    """An endpoint's refusals (Open311Error) as GeoReport's error list, in the request's format."""
    def run(services: Any, request: Open311Request, *args: Any) -> Answer:
        try:
            return endpoint(services, request, *args)
        except Open311Error as refusal:
            return refused(refusal, request.fmt)
    return run


def _community(services: Any, request: Open311Request, required: bool) -> Community | None:
    communities = services.directory().communities
    given = (request.form.get("jurisdiction_id") or request.query.get("jurisdiction_id") or "").strip()
    if given:
        if given not in communities:
            raise Open311Error(404, f"no jurisdiction {given[:40]}: jurisdiction_id is a community's id, one of "
                                    f"{', '.join(sorted(communities))}")
        return communities[given]
    if len(communities) == 1:
        return next(iter(communities.values()))
    if required:
        raise Open311Error(400, f"jurisdiction_id is required: one of {', '.join(sorted(communities))}")
    return None


def _client(services: Any, request: Open311Request) -> Any:
    key = request.form.get("api_key") or request.query.get("api_key")
    try:
        return services.api_keys.check(key)
    except KeyRefused as refusal:
        log.warning("open311 call refused: %s", refusal)
        raise Open311Error(403, "api_key is required: ask the community office for one" if refusal.missing
                           else "this api_key is not valid (unknown or revoked)") from None
    except KeyRateLimited as limited:
        log.warning("open311 call refused: %s", limited)
        raise Open311Error(429, f"this api_key has had its {limited.limit} calls for now; try again in "
                                f"{limited.retry_after} s", {"Retry-After": str(limited.retry_after)}) from None


# -- discovery and services -------------------------------------------------------------------
@answered
def discovery(services: Any, request: Open311Request) -> Answer:
    _community(services, request, required=False)
    data = mapping.discovery(request.endpoint_url, services.config.stage == "prod", forms.lang_of(request.query))
    return render("discovery", data, request.fmt)


@answered
def service_list(services: Any, request: Open311Request) -> Answer:
    _community(services, request, required=False)     # the categories are the same in every community
    return render("services", mapping.services(services.categories, forms.lang_of(request.query)), request.fmt)


@answered
def service_definition(services: Any, request: Open311Request, service_code: str) -> Answer:
    lang = forms.lang_of(request.query)
    community = _community(services, request, required=True)
    if service_code not in services.categories:
        raise Open311Error(404, f"no service {service_code[:40]} (GET services lists them)")
    return render("service_definition", mapping.service_definition(service_code, community, lang), request.fmt)


# -- service requests -------------------------------------------------------------------------
@answered
def submit(services: Any, request: Open311Request) -> Answer:
    client = _client(services, request)
    lang = forms.lang_of(request.query)
    community = _community(services, request, required=True)
    submission = forms.submission(request.form, community, lang)
    if request.idempotency_key is not None:
        key = f"open311:{client.key_id}:{request.idempotency_key}"
    else:
        window = services.config.report_window_seconds
        key = f"open311:{client.key_id}:{submission.fingerprint}:{int(services.clock() // window)}"
    try:
        case = services.intake.submit(submission.payload, idempotency_key=key, source="open311",
                                      sender_ip=request.source_ip)
    except InvalidReport as invalid:
        raise Open311Error(400, _in_open311_terms(invalid)) from None
    except RateLimited as limited:
        log.warning("open311 report refused: %s", limited)
        raise Open311Error(429, f"too many new reports from this {'phone number' if limited.by_phone else 'address'}"
                                f"; try again in {limited.retry_after} s",
                           {"Retry-After": str(limited.retry_after)}) from None
    except Blocked as blocked:
        log.warning("open311 report refused: %s", blocked)
        raise Open311Error(403, f"reports from this {'phone number' if blocked.by_phone else 'address'} are not "
                                "accepted; please contact the community office") from None
    except IdempotencyConflict:
        raise Open311Error(400, "this Idempotency-Key was already used for a different request") from None
    return render("service_requests", [{"service_request_id": case.code, "token": case.id,
                                        "service_notice": mapping.service_notice(case.code, lang),
                                        "account_id": None}], request.fmt)


def _in_open311_terms(invalid: InvalidReport) -> str:
    """Intake's words for a refused report, with GeoReport's field names."""
    if invalid.code == "unknown_category":
        return "service_code is not a service (GET services lists them)"
    if invalid.field == "name":
        return "first_name and last_name are longer than 50 characters together"
    if invalid.code == "missing_field" and invalid.field == "description":
        return "description is required: say what the problem is"
    return invalid.message


@answered
def request_list(services: Any, request: Open311Request) -> Answer:
    _client(services, request)
    lang = forms.lang_of(request.query)
    community = _community(services, request, required=True)
    wanted = forms.filters(request.query, services.categories, services.clock())
    if wanted.codes is not None:
        cases = [c for c in services.case_listing.by_codes(wanted.codes) if c.community_id == community.id]
    else:
        cases = services.case_listing.created_between(community.id, wanted.since, wanted.until, keep=wanted.keeps,
                                                      limit=forms.MAX_RESULTS)
    return render("service_requests", [mapping.request_view(case, community, services.categories, lang)
                                       for case in cases], request.fmt)


def _looked_up(services: Any, request: Open311Request, find) -> Any:
    try:
        case = find(request.source_ip)
    except RateLimited as limited:
        log.warning("open311 look-up refused: %s", limited)
        raise Open311Error(429, f"too many look-ups from this address; try again in {limited.retry_after} s",
                           {"Retry-After": str(limited.retry_after)}) from None
    community = _community(services, request, required=False)
    if case is None or (community is not None and case.community_id != community.id):
        return None
    return case


@answered
def one_request(services: Any, request: Open311Request, text: str) -> Answer:
    lang = forms.lang_of(request.query)
    case = _looked_up(services, request, lambda ip: services.lookups.find(text, ip))
    if case is None:
        raise Open311Error(404, f"no service request {text[:20]}")
    community = services.directory().communities.get(case.community_id)
    return render("service_requests", [mapping.request_view(case, community, services.categories, lang)],
                  request.fmt)


@answered
def token(services: Any, request: Open311Request, text: str) -> Answer:
    case = _looked_up(services, request, lambda ip: services.lookups.find_by_id(text, ip))
    if case is None:
        raise Open311Error(404, f"no token {text[:40]}")
    return render("service_requests", [{"service_request_id": case.code, "token": case.id}], request.fmt)
