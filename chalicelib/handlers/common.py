"""What every handler shares: the JSON error shape, one invocation's telemetry, the guard that
turns a failure of ours into a 503, the caller's address, and the body reader."""
from __future__ import annotations

import json
import logging
import traceback
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from chalice import Response

from chalicelib import bootstrap

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
        telemetry = bootstrap.container().telemetry
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



def _base_path(request: Any) -> str:
    """The part of the URL in front of our routes: API Gateway's stage ("/api"), which its
    own path has and the route's does not; "" locally. The pages' links start with it."""
    full = (request.context or {}).get("path") or ""
    route = request.to_original_event().get("path") or full
    base = full[: len(full) - len(route)].rstrip("/") if route and full.endswith(route) else ""
    return base if base.startswith("/") and "//" not in base and all(c.isprintable() for c in base) else ""


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


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
