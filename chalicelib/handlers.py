"""What each Lambda handler does, between the event and the services.

HTTP: decode and check the request, call a service, shape the answer. Errors are
`{"error": {"code", "message", "field"}}` with a 4xx status; a failure of ours is
a 503, never an unexplained 500. The residents' web pages (chalicelib.web, imported by
their routes only) answer HTML the same way: a page for every refusal, a 503 page for a
failure of ours. The Open311 routes (chalicelib.open311, imported by them only) answer
GeoReport v2's own error list, in JSON or XML, a 503 in that shape for a failure of ours.
Queues: partial batch responses (chalicelib.sqs_batch).
"""
from __future__ import annotations

import functools
import json
import logging
import traceback
from contextlib import contextmanager
from datetime import UTC
from typing import Any
from urllib.parse import parse_qs

from chalice import Response

from chalicelib.bootstrap import container

log = logging.getLogger("gridloop")

MAX_BODY_BYTES = 64 * 1024
MAX_IDEMPOTENCY_KEY = 255
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _error(error: HttpError) -> Response:
    return _json(error.status, {"error": {"code": error.code, "message": error.message, "field": error.field}},
                 headers=error.headers)


@contextmanager
def _invocation(function: str):
    """One Lambda invocation: its function (and later its case) on every JSON log line,
    and the metrics it recorded printed at its end, whatever happened (observability)."""
    try:
        telemetry = container().telemetry
        telemetry.invoked(function)
    except Exception as error:      # no telemetry must not stop the work (which says why it fails)
        log.warning("no telemetry for %s: %s", function, type(error).__name__)
        telemetry = None
    try:
        yield
    finally:
        try:
            if telemetry is not None:
                telemetry.flush()
        except Exception as error:   # lost metrics must not fail what was done
            log.warning("metrics not flushed: %s", type(error).__name__)


def _guarded(handler):
    def run(*args: Any) -> Response:
        with _invocation("api_handler"):
            return _answered(handler, *args)
    return run


def _answered(handler, *args: Any) -> Response:
    try:
        return handler(*args)
    except HttpError as error:
        return _error(error)
    except Exception as error:   # our fault, not the caller's: say so without leaking details
        _log_failure("request", error)
        return _error(HttpError(503, "unavailable", "gridloop cannot take this request right now; try again"))


def _log_failure(what: str, error: Exception) -> None:
    """Where it failed (the stack's frames are code, not data), and the error scrubbed of what
    a resident wrote or a phone: an error can quote what it was given."""
    from chalicelib.domain.privacy import scrub
    log.error("%s failed: %s: %s\n%s", what, type(error).__name__, scrub(str(error)),
              "".join(traceback.format_tb(error.__traceback__)).rstrip())


def _source_ip(request: Any) -> str | None:
    """API Gateway's own view of the caller's address (X-Forwarded-For is the caller's to forge)."""
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or None


# -- routes -------------------------------------------------------------------
@_guarded
def health() -> Response:
    directory = container().directory()
    if not directory.communities:
        return _json(503, {"status": "unavailable", "reason": "no communities in the directory"})
    _ = container().queue("intake").url   # resolvable once, then cached
    return _json(200, {"status": "ok"})


@_guarded
def categories() -> Response:
    return _json(200, {"categories": [{"code": c["code"], "name": c["name"]}
                                      for c in container().categories.values()]})


@_guarded
def grid() -> Response:
    directory = container().directory()
    return _json(200, {"locations": [
        {"code": loc.code, "name": loc.name, "community": loc.community_id}
        for loc in directory.locations()]})


@_guarded
def submit_report(request: Any) -> Response:
    from chalicelib.domain.admission import Blocked, RateLimited
    from chalicelib.domain.report import InvalidReport
    from chalicelib.services.intake import IdempotencyConflict

    payload = _decode_body(request)
    key = request.headers.get("idempotency-key")
    if key is not None and (not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY):
        raise HttpError(400, "invalid_idempotency_key",
                        f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters", "Idempotency-Key")
    try:
        case = container().intake.submit(payload, idempotency_key=key, source="web", sender_ip=_source_ip(request))
    except RateLimited as limited:
        log.warning("report refused: %s", limited)        # pseudonyms only, never the phone or address
        raise HttpError(429, "rate_limited",
                        f"too many new reports from this {'phone number' if limited.by_phone else 'address'}; "
                        f"try again in {_minutes(limited.retry_after)}",
                        "phone" if limited.by_phone else None,
                        headers={"Retry-After": str(limited.retry_after)}) from None
    except Blocked as blocked:
        log.warning("report refused: %s", blocked)
        raise HttpError(403, "blocked", f"reports from this {'phone number' if blocked.by_phone else 'address'} "
                        "are not accepted; please contact the community office",
                        "phone" if blocked.by_phone else None) from None
    except InvalidReport as invalid:
        status = 422 if invalid.code in ("unknown_category", "unknown_location") else 400
        raise HttpError(status, invalid.code, invalid.message, invalid.field) from None
    except IdempotencyConflict:
        raise HttpError(422, "idempotency_key_reused",
                        "this Idempotency-Key was already used for a different report",
                        "Idempotency-Key") from None
    return _json(202, {"id": case.id, "code": case.code, "status": case.status.value},
                 headers={"Location": f"/reports/{case.code}"})


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@_guarded
def get_report(request: Any, id_or_code: str) -> Response:
    """The public view. Every look-up, by code or id, found or not, counts against the
    caller's address (services.lookups), as the status page's do: codes cannot be walked."""
    from chalicelib.domain.admission import RateLimited

    c = container()
    try:
        case = c.lookups.find(id_or_code, _source_ip(request))
    except RateLimited as limited:
        log.warning("look-up refused: %s", limited)
        raise HttpError(429, "rate_limited", f"too many look-ups from this address; try again in "
                        f"{_minutes(limited.retry_after)}", headers={"Retry-After": str(limited.retry_after)}) from None
    if case is None and len(id_or_code) == 32 and id_or_code.isalnum():
        case = c.cases.get_by_id(id_or_code.lower())
    if case is None:
        raise HttpError(404, "not_found", f"no report {id_or_code}")
    return _json(200, public_view(case))


@_guarded
def openapi() -> Response:
    return Response(body=_openapi_document(), status_code=200,
                    headers={"Content-Type": "application/json; charset=utf-8"})


@functools.cache
def _openapi_document() -> str:
    """Read on first request, not at import (cold start), then kept by the warm container."""
    from pathlib import Path

    return (Path(__file__).parent / "data" / "openapi.json").read_text(encoding="utf-8")


def public_view(case: Any) -> dict[str, Any]:
    """What anyone with the code may see: no names, no phone numbers."""
    from datetime import datetime

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")

    return {
        "id": case.id, "code": case.code, "status": case.status.value,
        "level": case.level, "level_role": case.level_role,
        "category": case.category, "location": case.location, "priority": case.priority,
        "policy_version": case.policy_version, "suspended": case.is_suspended,
        "affected": case.affected, "duplicate_of": case.duplicate_of,
        "due_at": iso(case.due_at) if case.due_at is not None else None,
        "resolve_due_at": iso(case.resolve_due_at) if case.resolve_due_at is not None else None,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at),
        "history": [{"at": iso(e.at), "event": e.event, "level": e.level} for e in case.history],
    }


def _decode_body(request: Any, accepted: tuple[str, ...] = JSON_TYPES + FORM_TYPES,
                 send: str = "send application/json or application/x-www-form-urlencoded") -> Any:
    """The body as JSON or form fields: of a type in `accepted` (415, saying `send`, otherwise),
    under the body limit (413), UTF-8 with no form field given twice (400)."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in accepted:
        raise HttpError(415, "unsupported_media_type", send)
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        raise HttpError(400, "invalid_encoding", "the body is not UTF-8") from None
    if content_type in FORM_TYPES:
        try:
            fields = parse_qs(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise HttpError(400, "invalid_encoding", "a form field is not UTF-8 once decoded") from None
        repeated = sorted(k for k, v in fields.items() if len(v) > 1)
        if repeated:
            raise HttpError(400, "repeated_field", f"{repeated[0]} is given more than once", repeated[0])
        return {k: v[0] for k, v in fields.items()}
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise HttpError(400, "invalid_json", "the body is not valid JSON") from None


# -- the residents' web pages (docs/web.md) -----------------------------------------
# chalicelib.web renders them (Jinja2 and Babel, imported here on a page's first request, never
# at cold start); these read the request for it and turn its Page into the HTTP answer.
UNAVAILABLE_PAGE = ("<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>暂时无法受理 Unavailable</title><h1>抱歉，请稍后再试</h1>"
                    "<p>现在暂时无法受理，请过几分钟再试。急事请直接打电话给网格员或社区办公室。</p>"
                    "<p lang=\"en\">We cannot take this right now. Please try again in a few minutes.</p></html>")
# What a body that cannot be read becomes: the page that says so (web/templates/problem.html).
PAGE_PROBLEMS = {400: "unreadable", 413: "too_large", 415: "wrong_type"}


def _paged(handler):
    """A page route: the handler's Page, or a page that says what went wrong: the body's
    refusal (HttpError: 400, 413, 415) or, for a failure of ours, a 503 page (logged as
    _answered logs it); if even that page cannot be made, a fixed one."""
    def run(request: Any, *args: Any) -> Response:
        with _invocation("api_handler"):
            try:
                return _html(handler(request, *args))
            except HttpError as error:
                return _safe_page(request, error.status, PAGE_PROBLEMS.get(error.status))
            except Exception as error:
                _log_failure("page", error)
                return _safe_page(request, 503, "unavailable")
    return run


def _html(page: Any) -> Response:
    return Response(body=page.body, status_code=page.status, headers=page.headers)


def _safe_page(request: Any, status: int, kind: str | None) -> Response:
    try:
        from chalicelib.web import pages
        return _html(pages.problem(_page_request(request), status, kind))
    except Exception as error:     # the templates themselves: the fixed page, never a 500
        log.error("problem page failed: %s", type(error).__name__)
        return Response(body=UNAVAILABLE_PAGE, status_code=503,
                        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


def _page_request(request: Any) -> Any:
    from chalicelib.web.pages import PageRequest

    params = request.query_params or {}
    query = {name: params[name] for name in params}
    headers = request.headers
    return PageRequest(query=query, cookie_lang=_cookie(headers.get("cookie"), "lang"),
                       accept_language=headers.get("accept-language"), base=_base_path(request),
                       source_ip=_source_ip(request))


def _cookie(header: str | None, name: str) -> str | None:
    for part in (header or "").split(";")[:50]:
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"')[:35] or None
    return None


def _base_path(request: Any) -> str:
    """The part of the URL in front of our routes: API Gateway's stage ("/api"), which its
    own path has and the route's does not; "" locally. The pages' links start with it."""
    full = (request.context or {}).get("path") or ""
    route = request.to_original_event().get("path") or full
    base = full[: len(full) - len(route)].rstrip("/") if route and full.endswith(route) else ""
    return base if base.startswith("/") and "//" not in base and all(c.isprintable() for c in base) else ""


def _form_fields(request: Any) -> dict[str, str]:
    """The page's form: a form post only, read as POST /reports reads a form."""
    return _decode_body(request, FORM_TYPES, "send application/x-www-form-urlencoded")


@_paged
def report_page(request: Any) -> Any:
    from chalicelib.web import pages
    return pages.report_page(container(), _page_request(request))


@_paged
def submit_report_page(request: Any) -> Any:
    from chalicelib.web import pages
    fields = _form_fields(request)
    return pages.submit_report(container(), _page_request(request), fields)


@_paged
def status_page(request: Any, code: str) -> Any:
    from chalicelib.web import pages
    return pages.status_page(container(), _page_request(request), code)


@_paged
def stylesheet(request: Any) -> Any:
    from chalicelib.web import pages
    return pages.stylesheet(_page_request(request))


# -- Open311 GeoReport v2 (docs/open311.md) -------------------------------------------
# chalicelib.open311 maps and renders (imported on an Open311 route's first request, never at
# cold start); these read the request for it and turn its Answer into the HTTP answer. Every
# refusal is GeoReport's error list, in JSON or XML as the route's format; never a 500.
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
            return _open311_response(getattr(api, endpoint)(container(), _open311_request(request, fmt, form),
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


# -- SMS gateways --------------------------------------------------------------------
# Each gateway's request is checked and parsed by chalicelib.adapters.sms_gateways, and each
# message goes the one inbound way: InboundSms.accept puts it on the sms-inbound queue.
def _refused(gateway: str, refusal: Exception) -> HttpError:
    """403, telling the caller nothing more; the reason is in our log."""
    log.warning("%s request refused: %s", gateway, refusal)
    return HttpError(403, "forbidden", f"this request is not an authenticated {gateway} request")


def _gateway_body(request: Any) -> bytes:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")


def _accept(message: Any) -> None:
    from chalicelib.services.inbound import InvalidInbound

    try:
        container().inbound_sms.accept(message.sender, message.text, message.gateway,
                                       gateway_message_id=message.message_id, recipient=message.recipient)
    except InvalidInbound as invalid:
        raise HttpError(400, "invalid_field", invalid.message, invalid.field) from None


@_guarded
def sms_twilio(request: Any) -> Response:
    """POST /sms/twilio: Twilio's incoming-message webhook, checked with X-Twilio-Signature.
    Answers an empty TwiML document: our replies go out through our own SMS sender."""
    from chalicelib.adapters import sms_gateways as gw

    settings = gw.GatewaySettings.from_env()
    signature = request.headers.get(gw.TWILIO_SIGNATURE_HEADER)
    try:
        gw.check_twilio_signed(settings, signature)
        raw = _gateway_body(request)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type not in FORM_TYPES:
            raise HttpError(415, "unsupported_media_type", "Twilio posts application/x-www-form-urlencoded")
        try:
            params = gw.parse_form(raw)
        except gw.InvalidGatewayPayload as invalid:   # cannot be what Twilio signed
            raise gw.GatewayRefused(invalid.message) from None
        event = request.to_original_event()
        url = settings.twilio_webhook_url or gw.request_url(
            request.headers, (request.context or {}).get("path") or event.get("path") or "/",
            event.get("multiValueQueryStringParameters"))
        gw.check_twilio(settings, url, params, signature)
    except gw.GatewayRefused as refusal:
        raise _refused("Twilio", refusal) from None
    try:
        message = gw.parse_twilio(params)
    except gw.InvalidGatewayPayload as invalid:
        raise HttpError(400, invalid.code, invalid.message, invalid.field) from None
    _accept(message)
    return Response(body=gw.TWIML_EMPTY, status_code=200,
                    headers={"Content-Type": "text/xml; charset=utf-8"})


@_guarded
def sms_tencent(request: Any) -> Response:
    """POST /sms/tencent?token=...: Tencent Cloud SMS's reply callback (回复短信回调).
    Tencent does not sign it: the secret token in the URL is the check."""
    from chalicelib.adapters import sms_gateways as gw

    settings = gw.GatewaySettings.from_env()
    given = (request.query_params or {}).get("token")
    try:
        gw.check_token(settings.tencent_callback_token, given, "GRIDLOOP_TENCENT_CALLBACK_TOKEN")
    except gw.GatewayRefused as refusal:
        raise _refused("Tencent Cloud", refusal) from None
    raw = _gateway_body(request)
    try:
        messages = gw.parse_tencent(raw)
    except gw.InvalidGatewayPayload as invalid:
        raise HttpError(400, invalid.code, invalid.message, invalid.field) from None
    for message in messages:
        _accept(message)
    return _json(200, gw.TENCENT_OK)


def sms_from_sns(event: Any) -> dict:
    """AWS End User Messaging two-way SMS: the topic's messages onto the sms-inbound queue.

    SNS invokes Lambda asynchronously, so there is no batch response and no SQS redrive
    here. A message that can never work (not JSON, no originationNumber, ...) would fail
    the same way on every retry: it goes at once to the sms-inbound dead-letter queue with
    its reason and the topic as `source_queue`, as the queue consumers do with theirs, and
    the invocation succeeds. Anything else (SQS unreachable, say) raises: Lambda retries
    the event twice, then puts it on the function's own dead-letter queue (the same
    sms-inbound DLQ, set in infra/template.py). Nothing vanishes either way.
    """
    with _invocation("sms_inbound_sns"):
        return _queue_sns_messages(event)


def _queue_sns_messages(event: Any) -> dict:
    from chalicelib.adapters import sms_gateways as gw
    from chalicelib.services.inbound import InvalidInbound

    c = container()
    topic = c.config.name("sms-inbound-topic")
    queued, dead_lettered = 0, []
    for record in event.to_dict().get("Records", []):
        message = (record.get("Sns") or {}).get("Message")
        try:
            sms = gw.parse_end_user_messaging(message)
            c.inbound_sms.accept(sms.sender, sms.text, sms.gateway, gateway_message_id=sms.message_id,
                                 recipient=sms.recipient)
            queued += 1
        except (gw.InvalidGatewayPayload, InvalidInbound) as invalid:
            reason = f"not an End User Messaging SMS: {invalid.message}"
            log.warning("dead-lettering a message from %s: %s", topic, reason)
            body = message if isinstance(message, str) and message else json.dumps(record, ensure_ascii=False)
            c.dead_letters("sms-inbound").put(body, reason, topic)
            c.telemetry.count("DeadLettered", queue="sms-inbound-topic")
            dead_lettered.append(reason)
    return {"queued": queued, "dead_lettered": dead_lettered}


# -- queues and schedule ----------------------------------------------------------
def consume(purpose: str, event: Any) -> dict:
    c = container()
    with _invocation(WORKERS[purpose]):
        return _consume(c, purpose, event)


# The function of each queue's consumer (app.py), as its log lines name it.
WORKERS = {"intake": "case_worker", "escalation": "escalation_worker", "sms-inbound": "sms_reply_worker"}


def _consume(c: Any, purpose: str, event: Any) -> dict:
    from chalicelib.sqs_batch import process_batch

    handle = {
        "intake": lambda body, message_id: c.workflow.route(c.intake.parse_queue_message(body, message_id)),
        "escalation": lambda body, _: c.workflow.escalate(body),
        "sms-inbound": lambda body, _: c.workflow.reply(body),
    }[purpose]
    return process_batch(event.to_dict(), event.context, handle, c.dead_letters(purpose),
                         c.config.name(purpose), c.config.max_receive_count,
                         retry_later=c.queue(purpose).retry_later, telemetry=c.telemetry)


def ops(event: Any, context: Any) -> dict:
    """The operators' commands (docs/operations.md): a JSON command in, a JSON answer out.
    A wrong or refused command is an answer ({"ok": false, ...}), not an error; a failure of
    ours raises, so that it counts in the function's errors. The console does not tell
    Lambda who invoked it: the command names its operator, and the request id ties the
    change on the case to the invocation (and to CloudTrail, where Lambda data events are on)."""
    request = getattr(context, "aws_request_id", None)
    with _invocation("ops"):
        return container().ops.run(event, request=f"lambda:{request}" if request else None)


def sweep() -> dict:
    with _invocation("escalation_sweep"):
        queued = container().workflow.sweep()
        log.info("escalation sweep queued %d cases", queued)
        return {"queued": queued}


def digest() -> dict:
    """The away members' daily digest: every community whose local digest hour has come and
    whose digest has not gone out today (docs/digest-and-weekly.md "Daily digest"). A failed
    post raises, so the schedule's retry, or the next hourly run, tries again; what was sent
    is not sent again."""
    with _invocation("daily_digest"):
        result = container().digest.run()
        if result["sent"]:
            log.info("daily digest sent: %s", ", ".join(f"{d['community']}/{d['grid']}" for d in result["sent"]))
        return result


def weekly_report() -> dict:
    """The weekly joint-meeting report (docs/digest-and-weekly.md "Weekly joint-meeting
    report"): each configured community's report of last week to its committee's group robot,
    once per week. A failed post raises, so the schedule's retry, or the next hourly run,
    tries again."""
    with _invocation("weekly_report"):
        result = container().weekly_reports.run()
        if result["sent"]:
            log.info("weekly report sent: %s", ", ".join(f"{r['community']}/{r['week']}" for r in result["sent"]))
        return result
