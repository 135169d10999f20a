"""What each Lambda handler does, between the event and the services, one module per door:

- json_api: the JSON routes (health, categories, grid, reports, the OpenAPI document);
- web_pages: the residents' pages (chalicelib.web), HTML for every answer;
- open311_routes: Open311 GeoReport v2 (chalicelib.open311), its own error list in JSON or XML;
- sms_gateways: Twilio's webhook, Tencent Cloud's callback and End User Messaging's SNS topic;
- workers: the queue consumers, the `ops` function and the schedules;
- common: the JSON error shape, one invocation's telemetry, the guard and the body reader.

HTTP: decode and check the request, call a service, shape the answer. Errors are
`{"error": {"code", "message", "field"}}` with a 4xx status; a failure of ours is a 503,
never an unexplained 500. app.py calls only what this package exports.
"""
from .common import FORM_TYPES, JSON_TYPES, MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY, HttpError, _base_path, _decode_body
from .json_api import categories, get_report, grid, health, openapi, public_view, submit_report
from .open311_routes import (
    open311_discovery,
    open311_request,
    open311_requests,
    open311_service_definition,
    open311_services,
    open311_submit,
    open311_token,
)
from .sms_gateways import sms_from_sns, sms_tencent, sms_twilio
from .web_pages import report_page, status_page, stylesheet, submit_report_page
from .workers import WORKERS, care_visits, consume, digest, ops, sweep, weekly_report

__all__ = [
    "FORM_TYPES", "JSON_TYPES", "MAX_BODY_BYTES", "MAX_IDEMPOTENCY_KEY", "WORKERS", "HttpError", "_base_path",
    "_decode_body", "care_visits", "categories", "consume", "digest", "get_report", "grid", "health",
    "open311_discovery",
    "open311_request", "open311_requests", "open311_service_definition", "open311_services", "open311_submit",
    "open311_token", "openapi", "ops", "public_view", "report_page", "sms_from_sns", "sms_tencent", "sms_twilio",
    "status_page", "stylesheet", "submit_report", "submit_report_page", "sweep", "weekly_report",
]
