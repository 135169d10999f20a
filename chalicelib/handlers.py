"""What each Lambda handler does, between the event and the services.

HTTP: decode and check the request, call a service, shape the answer. Errors are
`{"error": {"code", "message", "field"}}` with a 4xx status; a failure of ours is
a 503, never an unexplained 500. Queues: partial batch responses (chalicelib.sqs_batch).
"""
from __future__ import annotations

import json
import logging
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
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _error(error: HttpError) -> Response:
    return _json(error.status, {"error": {"code": error.code, "message": error.message, "field": error.field}})


def _guarded(handler):
    def run(*args: Any) -> Response:
        try:
            return handler(*args)
        except HttpError as error:
            return _error(error)
        except Exception:   # our fault, not the caller's: say so without leaking details
            log.exception("request failed")
            return _error(HttpError(503, "unavailable", "gridloop cannot take this request right now; try again"))
    return run


# -- routes -------------------------------------------------------------------
@_guarded
def health() -> Response:
    directory = container().directory()
    if not directory.communities:
        return _json(503, {"status": "unavailable", "reason": "no communities in the directory"})
    container().queue("intake").url   # resolvable once, then cached
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
    from chalicelib.domain.report import InvalidReport
    from chalicelib.services.intake import IdempotencyConflict

    payload = _decode_body(request)
    key = request.headers.get("idempotency-key")
    if key is not None and (not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY):
        raise HttpError(400, "invalid_idempotency_key",
                        f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters", "Idempotency-Key")
    try:
        case = container().intake.submit(payload, idempotency_key=key, source="web")
    except InvalidReport as invalid:
        status = 422 if invalid.code in ("unknown_category", "unknown_location") else 400
        raise HttpError(status, invalid.code, invalid.message, invalid.field) from None
    except IdempotencyConflict:
        raise HttpError(422, "idempotency_key_reused",
                        "this Idempotency-Key was already used for a different report",
                        "Idempotency-Key") from None
    return _json(202, {"id": case.id, "code": case.code, "status": case.status.value},
                 headers={"Location": f"/reports/{case.code}"})


@_guarded
def get_report(id_or_code: str) -> Response:
    from chalicelib.domain.codes import normalize_code

    cases = container().cases
    code = normalize_code(id_or_code)
    case = cases.get(code) if code else None
    if case is None and len(id_or_code) == 32 and id_or_code.isalnum():
        case = cases.get_by_id(id_or_code.lower())
    if case is None:
        raise HttpError(404, "not_found", f"no report {id_or_code}")
    return _json(200, public_view(case))


def public_view(case: Any) -> dict[str, Any]:
    """What anyone with the code may see: no names, no phone numbers."""
    from datetime import datetime, timezone

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")

    return {
        "id": case.id, "code": case.code, "status": case.status.value,
        "level": case.level, "level_role": case.level_role,
        "category": case.category, "location": case.location, "priority": case.priority,
        "policy_version": case.policy_version, "suspended": case.is_suspended,
        "due_at": iso(case.due_at) if case.due_at is not None else None,
        "resolve_due_at": iso(case.resolve_due_at) if case.resolve_due_at is not None else None,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at),
        "history": [{"at": iso(e.at), "event": e.event, "level": e.level} for e in case.history],
    }


def _decode_body(request: Any) -> Any:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES + FORM_TYPES:
        raise HttpError(415, "unsupported_media_type",
                        "send application/json or application/x-www-form-urlencoded")
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


# -- queues and schedule ----------------------------------------------------------
def consume(purpose: str, event: Any) -> dict:
    from chalicelib.sqs_batch import process_batch

    c = container()
    handle = {
        "intake": lambda body, message_id: c.workflow.route(c.intake.parse_queue_message(body, message_id)),
        "escalation": lambda body, _: c.workflow.escalate(body),
        "sms-inbound": lambda body, _: c.workflow.reply(body),
    }[purpose]
    return process_batch(event.to_dict(), event.context, handle, c.dead_letters(purpose),
                         c.config.name(purpose), c.config.max_receive_count)


def sweep() -> dict:
    queued = container().workflow.sweep()
    log.info("escalation sweep queued %d cases", queued)
    return {"queued": queued}
