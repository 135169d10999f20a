"""Property tests (Hypothesis) for what a report comes in as: the fields (domain/report.py
validate), the HTTP body they come in (handlers._decode_body, JSON or a form) and the intake
queue's message typed into the console (services/intake.py parse_queue_message).

Whatever comes in gives either a report or the documented error, never another exception."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib import handlers
from chalicelib.domain.case import Case
from chalicelib.domain.report import MAX_DESCRIPTION, MAX_NAME, OPTIONAL, REQUIRED, InvalidReport, validate
from chalicelib.services.intake import PermanentFailure

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "chalicelib/data/openapi.json").read_text("utf-8"))
DOCUMENTED_CODES = set(OPENAPI["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
# The machine is shared and small: a slow draw is no failure.
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def services(communities):
    from tests.conftest import FakeServices
    from tests.fakes import FakeClock

    return FakeServices(communities, FakeClock())


def _known() -> tuple[list[str], list[str]]:
    """The demo's categories and locations, for strategies (built before any fixture)."""
    from chalicelib.bootstrap import load_json
    from chalicelib.domain.directory import Directory
    from devstack.resources import demo_communities

    return (sorted(c["code"] for c in load_json("categories.json")["categories"]),
            sorted(loc.code for loc in Directory(demo_communities()).locations()))


KNOWN = _known()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8)
PHONES = st.one_of(st.from_regex(r"(\+86 ?)?1[3-9][0-9]{9}", fullmatch=True),
                   st.text(alphabet="0123456789+- ()", max_size=20), st.text(max_size=10))


def field_values(categories, locations):
    """Values that are sometimes right, so that generated reports get past each check."""
    return st.one_of(st.sampled_from(categories), st.sampled_from(locations), PHONES,
                     st.sampled_from(["normal", "URGENT", "zh", "En", " ", ""]), st.text(max_size=60),
                     st.text(min_size=MAX_NAME - 1, max_size=MAX_NAME + 2), JSON_VALUES)


def payloads(categories, locations, extra=()):
    keys = st.one_of(st.sampled_from(REQUIRED + OPTIONAL + tuple(extra) + ("urgency",)), st.text(max_size=6))
    return st.dictionaries(keys, field_values(categories, locations), max_size=8)


def assert_documented(error: InvalidReport, payload) -> None:
    assert error.code in DOCUMENTED_CODES and error.message
    if error.code == "invalid_body":
        assert error.field is None
    else:   # the field at fault: one given, or a required one that was not
        assert error.field in set(payload) | set(REQUIRED), error.field


# -- the fields ----------------------------------------------------------------------------
@PROPERTY
@given(data=st.data())
def test_any_fields_give_a_report_or_a_documented_error_naming_its_field(services, data):
    payload = data.draw(st.one_of(payloads(*KNOWN), JSON_VALUES))

    try:
        request = validate(payload, services.directory(), services.categories)
    except InvalidReport as error:
        assert_documented(error, payload)
        return
    assert request.category in services.categories
    assert services.directory().location(request.location) is not None
    assert 0 < len(request.description) <= MAX_DESCRIPTION and request.description == request.description.strip()
    assert request.name is None or len(request.name) <= MAX_NAME
    assert request.priority in ("normal", "urgent")
    assert request.phone is None or (request.phone.startswith("+") and request.phone[1:].isdigit())


@PROPERTY
@given(data=st.data(), description=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1,
                                          max_size=MAX_DESCRIPTION).filter(str.strip))
def test_the_right_fields_always_make_a_report(services, data, description):
    categories, locations = KNOWN
    payload = {"category": data.draw(st.sampled_from(categories)), "location": data.draw(st.sampled_from(locations)),
               "description": description}

    request = validate(payload, services.directory(), services.categories)

    assert (request.category, request.location, request.description) == (
        payload["category"], payload["location"], description.strip())


# -- the HTTP body ---------------------------------------------------------------------------
class Request:
    def __init__(self, body: bytes, content_type: str):
        self.raw_body, self.headers = body, {"content-type": content_type}


FORM_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@PROPERTY
@given(fields=st.dictionaries(FORM_TEXT.filter(bool), FORM_TEXT, max_size=6))
def test_a_form_decodes_to_the_fields_it_encodes(fields):
    body = urlencode(fields).encode()

    assert handlers._decode_body(Request(body, "application/x-www-form-urlencoded")) == fields


@PROPERTY
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "Application/JSON; charset=utf-8", "text/plain", ""]))
@example(body=b"[" * 100_000, content_type="application/json")
@example(body=b"a=%ff", content_type="application/x-www-form-urlencoded")
@example(body=b"a=1&a=2", content_type="application/x-www-form-urlencoded")
def test_any_body_decodes_or_is_a_4xx_error(body, content_type):
    try:
        handlers._decode_body(Request(body, content_type))
    except handlers.HttpError as error:
        assert 400 <= error.status < 500 and error.code in DOCUMENTED_CODES


# -- the intake queue (a report typed into the console) ---------------------------------------
def console_messages(categories, locations):
    console = payloads(categories, locations, extra=("source",)).map(lambda p: {**p, "source": "console"})
    return st.one_of(
        st.text(max_size=50),
        JSON_VALUES.map(json.dumps),
        console.map(json.dumps),
        st.builds(lambda case: json.dumps({"kind": "route", "case": case}), JSON_VALUES),
    )


@PROPERTY
@given(body=console_messages(*KNOWN))
@example(body="[" * 100_000)   # found: a RecursionError, retried five times instead of dead-lettered at once
@example(body='{"kind": "route", "case": {"status": "received", "ack_limits": [1]}}')   # found: AttributeError
@example(body='{"source": "console", "category": "sanitation", "location": "changmu-01-1", '
              '"description": "\\ud800"}')
def test_any_intake_message_is_a_case_or_a_permanent_failure_with_a_reason(services, body):
    try:
        case = services.intake.parse_queue_message(body, "message-1")
    except PermanentFailure as failure:
        assert str(failure)
        return
    assert isinstance(case, Case)
