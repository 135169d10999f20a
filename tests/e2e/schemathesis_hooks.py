"""Schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded by `SCHEMATHESIS_HOOKS`).

Generated values rarely get past the first check. Without credentials every gateway request
would stop at the 403, so half of the Twilio webhooks are signed as Twilio would sign them,
over exactly the form that is sent, and half of the Tencent callbacks carry the real token:
the generated payloads then reach the parsers behind the checks. The other half keep what was
generated, and must get a 403. In the same way half of the generated reports name a real
category and place (so that the other fields reach validation and storage), and half of the
report lookups ask for a report that exists (so that its public view is checked). The same for
the residents' pages: half of the report form's posts name a real building and category, half
of the status pages ask for the report that exists. And for Open311: half of the POST and GET
requests carry the local stage's demo api_key (POSTs a real service and building too), half of
the look-ups by id ask for the report that exists.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

import requests
import schemathesis

from chalicelib.adapters.sms_gateways import (
    TWILIO_SIGNATURE_HEADER,
    InvalidGatewayPayload,
    parse_form,
    twilio_signature,
)

BASE = os.environ.get("GRIDLOOP_FUZZ_BASE", "")
TWILIO_TOKEN = os.environ.get("GRIDLOOP_TWILIO_AUTH_TOKEN", "")
TENCENT_TOKEN = os.environ.get("GRIDLOOP_TENCENT_CALLBACK_TOKEN", "")
EXISTING_CODE = os.environ.get("GRIDLOOP_FUZZ_CODE", "")      # a report the test made first
REAL_FIELDS = {"category": "sanitation", "location": "changmu-03-2"}
REAL_FORM = {"category": "sanitation", "building": "changmu-03", "unit": "unknown", "community": "changmu"}
OPEN311_KEY = os.environ.get("GRIDLOOP_OPEN311_DEMO_KEY", "")
REAL_OPEN311 = {"jurisdiction_id": "changmu", "service_code": "sanitation", "attribute[building]": "changmu-03"}


def half(value: object) -> bool:
    """A stable coin toss on a generated value: which requests get real credentials or values."""
    return hashlib.sha256(repr(value).encode()).digest()[0] % 2 == 0


def sent_body(case: Any) -> bytes:
    """The body exactly as the transport will send it."""
    kwargs = case.as_transport_kwargs(base_url=BASE)
    prepared = requests.Request(method=kwargs["method"], url=kwargs["url"], headers=kwargs.get("headers"),
                                data=kwargs.get("data"), json=kwargs.get("json")).prepare()
    body = prepared.body or b""
    return body if isinstance(body, bytes) else body.encode("utf-8")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.path == "/sms/twilio":
        headers = dict(case.headers or {})
        if not any(name.lower() == TWILIO_SIGNATURE_HEADER for name in headers) or not half(case.body):
            return
        try:
            params = parse_form(sent_body(case))
        except InvalidGatewayPayload:
            return   # not a UTF-8 form: nothing Twilio could have signed
        headers = {k: v for k, v in headers.items() if k.lower() != TWILIO_SIGNATURE_HEADER}
        headers["X-Twilio-Signature"] = twilio_signature(TWILIO_TOKEN, f"{BASE}/sms/twilio", params)
        case.headers = headers
    elif case.path == "/sms/tencent" and isinstance(case.query, dict) and "token" in case.query:
        if half(case.body):
            case.query = {**case.query, "token": TENCENT_TOKEN}
    elif case.path == "/reports" and isinstance(case.body, dict) and half(case.body):
        case.body = {**case.body, **{k: v for k, v in REAL_FIELDS.items() if k in case.body}}
    elif case.path == "/reports/{id_or_code}" and EXISTING_CODE and half(case.path_parameters):
        case.path_parameters = {**case.path_parameters, "id_or_code": EXISTING_CODE}
    elif case.path == "/" and case.method.upper() == "POST" and isinstance(case.body, dict) and half(case.body):
        case.body = {**case.body, **{k: v for k, v in REAL_FORM.items() if k in case.body}}
    elif case.path == "/r/{code}" and EXISTING_CODE and half(case.path_parameters):
        case.path_parameters = {**case.path_parameters, "code": EXISTING_CODE}
    elif case.path.startswith("/open311/v2/requests.") and case.method.upper() == "POST" \
            and isinstance(case.body, dict) and half(case.body):
        case.body = {**case.body, "api_key": OPEN311_KEY, **{k: v for k, v in REAL_OPEN311.items() if k in case.body}}
    elif case.path.startswith("/open311/v2/requests.") and isinstance(case.query, dict) and half(case.query):
        case.query = {**case.query, "api_key": OPEN311_KEY, "jurisdiction_id": "changmu"}
    elif case.path == "/open311/v2/requests/{request_file}" and EXISTING_CODE and half(case.path_parameters):
        case.path_parameters = {**case.path_parameters, "request_file": f"{EXISTING_CODE}.json"}
