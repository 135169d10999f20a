"""Open311 GeoReport v2 (docs/open311.md): chalicelib.open311 maps and renders (imported on an
Open311 route's first request, never at cold start); these read the request for it and turn its
Answer into the HTTP answer. Every refusal is GeoReport's error list, in JSON or XML as the
route's format; never a 500."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import bootstrap

from .common import (
    FORM_TYPES,
    MAX_IDEMPOTENCY_KEY,
    HttpError,
    _base_path,
    _decode_body,
    _invocation,
    _log_failure,
    _source_ip,
)

OPEN311_FORMATS = ("json", "xml")
OPEN311_UNAVAILABLE = '[{"code": 503, "description": "gridloop cannot take this request right now; try again"}]'


def open311_discovery(request: Any, fmt: str) -> Response:
    return _open311(request, fmt, "discovery")


def open311_services(request: Any, fmt: str) -> Response:
    return _open311(request, fmt, "service_list")


def open311_service_definition(request: Any, service_file: str) -> Response:
    """services/{service_code}.json|.xml: a route cannot have ".json" after a path parameter, so
    the parameter is the whole file name and the format is split off here (another one: 404)."""
    service_code, fmt = _open311_file(service_file)
    return _open311(request, fmt, "service_definition", service_code)


def open311_requests(request: Any, fmt: str) -> Response:
    return _open311(request, fmt, "request_list")


def open311_submit(request: Any, fmt: str) -> Response:
    return _open311(request, fmt, "submit", form=True)


def open311_request(request: Any, request_file: str) -> Response:
    code, fmt = _open311_file(request_file)
    return _open311(request, fmt, "one_request", code)


def open311_token(request: Any, token_file: str) -> Response:
    token, fmt = _open311_file(token_file)
    return _open311(request, fmt, "token", token)


def _open311_file(name: str) -> tuple[str, str | None]:
    """("AP3ZUM", "json") for "AP3ZUM.json"; the format None for another extension or none."""
    stem, dot, extension = name.rpartition(".")
    return (stem, extension.lower()) if dot and extension.lower() in OPEN311_FORMATS else (name, None)


def _open311(request: Any, fmt: str | None, endpoint: str, *args: Any, form: bool = False) -> Response:
    with _invocation("api_handler"):
        try:
            from chalicelib.open311 import api, formats

            if fmt is None:
                return _open311_response(formats.error(404, "no such resource: end the path in .json or .xml",
                                                       "json"))
            return _open311_response(getattr(api, endpoint)(bootstrap.container(), _open311_request(request, fmt, form),
                                                            *args))
        except HttpError as error:      # the request itself: its body (400, 413, 415), a repeated parameter
            return _open311_response(formats.error(error.status, error.message, fmt or "json", error.headers))
        except Exception as error:      # our fault, not the caller's: said without details
            _log_failure("open311", error)
            try:
                return _open311_response(formats.error(503, "gridloop cannot take this request right now; "
                                                            "try again", fmt or "json"))
            except Exception:           # even the error could not be rendered: the fixed one
                return Response(body=OPEN311_UNAVAILABLE, status_code=503,
                                headers={"Content-Type": "application/json; charset=utf-8"})


def _open311_response(answer: Any) -> Response:
    return Response(body=answer.body, status_code=answer.status,
                    headers={"Content-Type": answer.content_type, **answer.headers})


def _open311_request(request: Any, fmt: str, form: bool) -> Any:
    """What an endpoint needs of the HTTP request: the query (a parameter given twice is a 400),
    the form of a POST (as POST /reports reads one), the caller's address, this API's URL and
    the Idempotency-Key header (1 to 255 characters)."""
    from chalicelib.open311.api import Open311Request

    params = request.query_params or {}
    query: dict[str, str] = {}
    for name in params:
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        if len(values) > 1:
            raise HttpError(400, "repeated_field", f"{name} is given more than once", name)
        query[name] = values[0]
    fields = _decode_body(request, FORM_TYPES, "send application/x-www-form-urlencoded, as GeoReport v2 posts") \
        if form else {}
    key = request.headers.get("idempotency-key") if form else None
    if key is not None and (not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY):
        raise HttpError(400, "invalid_idempotency_key",
                        f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters", "Idempotency-Key")
    scheme = (request.headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    host = request.headers.get("host") or "localhost"
    return Open311Request(fmt=fmt, query=query, form=fields, source_ip=_source_ip(request),
                          endpoint_url=f"{scheme}://{host}{_base_path(request)}/open311/v2", idempotency_key=key)
