"""The JSON routes: health, the categories and the grid, a new report, its public view, and
the OpenAPI document."""
from __future__ import annotations

import functools
from datetime import UTC
from typing import Any

from chalice import Response

from chalicelib import bootstrap

from .common import MAX_IDEMPOTENCY_KEY, HttpError, _decode_body, _guarded, _json, _minutes, _source_ip, log


@_guarded
def health() -> Response:
    directory = bootstrap.container().directory()
    if not directory.communities:
        return _json(503, {"status": "unavailable", "reason": "no communities in the directory"})
    _ = bootstrap.container().queue("intake").url   # resolvable once, then cached
    return _json(200, {"status": "ok"})


@_guarded
def categories() -> Response:
    return _json(200, {"categories": [{"code": c["code"], "name": c["name"]}
                                      for c in bootstrap.container().categories.values()]})


@_guarded
def grid() -> Response:
    directory = bootstrap.container().directory()
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
        case = bootstrap.container().intake.submit(payload, idempotency_key=key, source="web",
                                                   sender_ip=_source_ip(request))
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


@_guarded
def get_report(request: Any, id_or_code: str) -> Response:
    """The public view. Every look-up, by code or id, found or not, counts against the
    caller's address (services.lookups), as the status page's do: codes cannot be walked."""
    from chalicelib.domain.admission import RateLimited

    c = bootstrap.container()
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

    return (Path(__file__).parents[1] / "data" / "openapi.json").read_text(encoding="utf-8")


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
