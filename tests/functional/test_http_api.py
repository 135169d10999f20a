"""The HTTP API as the contract describes it, through the Chalice app on moto."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.conftest import sent_sms
from tests.functional.conftest import (
    LOCATION,
    STAIRWELL_LEADER,
    all_cases,
    case,
    count_cases,
    invoke,
    member_phone,
    post_report,
    receive_all,
    records_from,
    report,
    run_queue,
    sms_to,
    sweep,
)

PUBLIC_FIELDS = {"id", "code", "status", "level", "level_role", "category", "location", "priority",
                 "policy_version", "suspended", "due_at", "resolve_due_at", "created_at", "updated_at", "history",
                 "affected", "duplicate_of"}
HISTORY_FIELDS = {"at", "event", "level"}


def test_health_says_ok(client):
    # GIVEN the stack with the demo directory WHEN a monitor asks
    response = client.http.get("/health")
    # THEN the system can take reports
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


def test_categories_have_a_code_and_a_chinese_and_english_name(client):
    response = client.http.get("/categories")

    assert response.status_code == 200
    assert set(response.json_body) == {"categories"}
    categories = response.json_body["categories"]
    assert categories, "no categories"
    for category in categories:
        assert isinstance(category["code"], str) and category["code"]
        assert isinstance(category["name"]["zh"], str) and category["name"]["zh"]
        assert isinstance(category["name"]["en"], str) and category["name"]["en"]
    codes = [c["code"] for c in categories]
    assert len(codes) == len(set(codes))
    assert "sanitation" in codes


def test_grid_lists_the_locations_of_both_demo_communities(client):
    response = client.http.get("/grid")

    assert response.status_code == 200
    locations = response.json_body["locations"]
    codes = [loc["code"] for loc in locations]
    assert len(codes) == len(set(codes))
    assert any(code.startswith("changmu-") for code in codes)
    assert any(code.startswith("garang-") for code in codes)
    assert LOCATION in codes
    for location in locations:
        assert isinstance(location["code"], str) and location["code"]
        assert location["name"], location
    by_code = {loc["code"]: loc for loc in locations}
    assert "常牧家园" in json.dumps(by_code[LOCATION]["name"], ensure_ascii=False)


def test_every_listed_location_is_accepted_by_post_reports(client, aws_stack):
    # GIVEN the locations GET /grid offers
    codes = [loc["code"] for loc in client.http.get("/grid").json_body["locations"]]
    # WHEN a report names the first and the last of each community
    firsts = {}
    for code in codes:
        firsts.setdefault(code.split("-")[0], []).append(code)
    chosen = [c for group in firsts.values() for c in (group[0], group[-1])]
    for code in chosen:
        response = post_report(client, report(location=code))
        # THEN each is taken
        assert response.status_code == 202, (code, response.body)
    assert len(receive_all(aws_stack, "intake")) == len(chosen)


def test_a_json_report_is_received_and_queued_for_routing(client, aws_stack):
    # WHEN a resident posts a report as JSON
    response = post_report(client, report())

    # THEN it is accepted with an id and a tracking code
    assert response.status_code == 202
    body = response.json_body
    assert set(body) == {"id", "code", "status"}
    assert body["status"] == "received"
    assert isinstance(body["id"], str) and body["id"]
    assert isinstance(body["code"], str) and len(body["code"]) >= 4
    # AND exactly one message waits on the intake queue, and it routes this very report
    messages = receive_all(aws_stack, "intake")
    assert len(messages) == 1
    assert invoke(client, "intake", records_from(messages, "intake")) == {"batchItemFailures": []}
    stored = case(aws_stack, body["code"])
    assert stored.id == body["id"]
    assert stored.status.value == "assigned"
    assert stored.holder == STAIRWELL_LEADER


def test_a_form_encoded_report_is_taken_the_same_way(client, aws_stack):
    # WHEN a basic web form posts the report url-encoded
    fields = report(description="三楼水管漏水", phone="+86 139 1234 5678")
    response = client.http.post("/reports", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}, body=urlencode(fields))

    # THEN it is received and queued exactly like JSON
    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"id", "code", "status"}
    assert response.json_body["status"] == "received"
    assert len(receive_all(aws_stack, "intake", delete=False)) == 1
    stored = case(aws_stack, response.json_body["code"])
    assert stored.description == "三楼水管漏水"
    assert stored.reporter_phone == "+8613912345678"
    view = client.http.get(f"/reports/{response.json_body['code']}").json_body
    assert (view["category"], view["location"]) == ("sanitation", LOCATION)


def _private_strings(aws_stack) -> list[str]:
    leader = aws_stack.directory().member("changmu", STAIRWELL_LEADER)
    return ["13912345678", "+8613912345678", "卓玛", leader.phone, leader.phone[3:], leader.name,
            STAIRWELL_LEADER, "reporter", "phone", "holder"]


@pytest.mark.parametrize("how", ["code", "lower_code", "id"])
def test_a_report_is_visible_by_id_or_code_without_personal_data(client, aws_stack, how):
    # GIVEN a report with the reporter's phone and name, routed to a stairwell leader
    created = post_report(client, report()).json_body
    run_queue(client, aws_stack, "intake")
    key = {"code": created["code"], "lower_code": created["code"].lower(), "id": created["id"]}[how]

    # WHEN anyone looks it up
    response = client.http.get(f"/reports/{key}")

    # THEN they get exactly the public view
    assert response.status_code == 200
    view = response.json_body
    assert set(view) == PUBLIC_FIELDS
    assert (view["id"], view["code"]) == (created["id"], created["code"])
    assert view["status"] == "assigned"
    assert (view["level"], view["level_role"]) == (1, "stairwell_leader")
    assert (view["category"], view["location"]) == ("sanitation", LOCATION)
    assert isinstance(view["created_at"], str) and isinstance(view["updated_at"], str)
    assert [e["event"] for e in view["history"]][:2] == ["received", "assigned"]
    for event in view["history"]:
        assert set(event) == HISTORY_FIELDS
    # AND no personal data anywhere in what is sent back
    text = response.body.decode("utf-8") if isinstance(response.body, bytes) else response.body
    escaped = json.dumps(view)
    for private in _private_strings(aws_stack):
        assert private not in text and private not in escaped, private


def test_the_public_view_stays_free_of_personal_data_after_a_members_reply(client, aws_stack):
    # GIVEN a routed report the stairwell leader has acknowledged by SMS
    created = post_report(client, report()).json_body
    run_queue(client, aws_stack, "intake")
    aws_stack.inbound_sms.accept(member_phone(aws_stack, STAIRWELL_LEADER), f"收到 {created['code']}", "test")
    run_queue(client, aws_stack, "sms-inbound")

    view = client.http.get(f"/reports/{created['code']}")

    assert view.json_body["status"] == "acknowledged"
    assert "acknowledged" in [e["event"] for e in view.json_body["history"]]
    text = view.body.decode("utf-8")
    for private in _private_strings(aws_stack):
        assert private not in text and private not in json.dumps(view.json_body), private


@pytest.mark.parametrize("key", ["ZZZZZZ", "zzzzzz", "0" * 32, "a" * 32, "no-such-report", "x"])
def test_an_unknown_report_is_a_json_404(client, key):
    response = client.http.get(f"/reports/{key}")

    assert response.status_code == 404
    error = response.json_body["error"]
    assert error["code"] == "not_found"
    assert isinstance(error["message"], str) and error["message"]


class FailingOnce:
    def __init__(self, monkeypatch, target, name: str, times: int = 1):
        self.real, self.left = getattr(target, name), times
        monkeypatch.setattr(target, name, self)

    def __call__(self, *args, **kwargs):
        if self.left:
            self.left -= 1
            raise ConnectionError("SQS is unreachable")
        return self.real(*args, **kwargs)


def test_a_failure_of_ours_is_a_json_503_and_a_retry_with_the_key_is_one_report(client, aws_stack, monkeypatch):
    # GIVEN the intake queue fails once
    FailingOnce(monkeypatch, aws_stack.queue("intake"), "send")
    key = {"Idempotency-Key": "phone-retry-1"}

    # WHEN a report is posted
    failed = post_report(client, report(), headers=key)

    # THEN the answer says to try again, in the error shape, without details
    assert failed.status_code == 503
    assert set(failed.json_body["error"]) >= {"code", "message"}
    assert "SQS" not in failed.body.decode() and "Traceback" not in failed.body.decode()

    # WHEN the phone retries with the same key
    retried = post_report(client, report(), headers=key)

    # THEN the report is taken, queued and routed once
    assert retried.status_code == 202
    run_queue(client, aws_stack, "intake")
    assert count_cases(aws_stack) == 1
    assert case(aws_stack, retried.json_body["code"]).status.value == "assigned"
    assert len(sms_to(member_phone(aws_stack, STAIRWELL_LEADER))) == 1
    assert len(sms_to("+8613912345678")) == 1          # the reporter's code, once
    assert len(sent_sms()) == 2


def test_a_report_stored_but_not_queued_is_still_routed_in_the_end(client, aws_stack, clock, monkeypatch):
    # GIVEN a report stored while the intake queue was failing, and no retry by the client
    FailingOnce(monkeypatch, aws_stack.queue("intake"), "send")
    assert post_report(client, report()).status_code == 503
    [stored] = all_cases(aws_stack)

    # WHEN the routing grace passes and the sweep runs as usual
    sweep(client)
    run_queue(client, aws_stack, "escalation")
    assert case(aws_stack, stored.code).status.value == "received"   # not before the grace
    clock.advance(3 * 60)
    sweep(client)
    run_queue(client, aws_stack, "escalation")

    # THEN the report reached its stairwell leader: a report is never lost
    routed = case(aws_stack, stored.code)
    assert routed.status.value == "assigned" and routed.level == 1
    assert len(sent_sms()) == 1


def test_health_is_not_ok_without_a_directory(aws_credentials, clock):
    # GIVEN a stack whose directory table is empty (nothing can be routed)
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import bootstrap
    from devstack.resources import create_all
    from tests.conftest import _config
    from tests.functional.conftest import PROJECT_DIR

    with mock_aws():
        create_all(boto3.session.Session(), "local")
        bootstrap.use(bootstrap.Container(_config(), clock))
        try:
            with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
                # WHEN a monitor asks
                response = client.http.get("/health")
        finally:
            bootstrap.use(None)

    # THEN it is told the system cannot take reports
    assert response.status_code == 503
    assert response.json_body["status"] != "ok"
