"""Idempotency-Key on POST /reports: a retried submission is the same report, once."""
from __future__ import annotations

from urllib.parse import urlencode

from tests.conftest import sent_sms
from tests.functional.conftest import (
    STAIRWELL_LEADER,
    count_cases,
    member_phone,
    post_report,
    receive_all,
    report,
    run_queue,
    sms_to,
)

RESIDENT = "+8613912345678"       # the phone of report(), as stored: the reporter gets the code


def test_the_same_key_twice_is_one_report_one_case_and_one_sms(client, aws_stack):
    # GIVEN a resident's phone retries a submission with the same Idempotency-Key
    key = {"Idempotency-Key": "c0ffee-2026-11-01-0001"}
    first = post_report(client, report(), headers=key)
    second = post_report(client, report(), headers=key)

    # THEN both answers name the same report
    assert first.status_code == second.status_code == 202
    assert (second.json_body["id"], second.json_body["code"]) == (first.json_body["id"], first.json_body["code"])

    # WHEN the case worker runs over everything on the intake queue
    run_queue(client, aws_stack, "intake")

    # THEN there is exactly one case, routed once, and one SMS about it to the leader (and
    # one to the reporter, with the code)
    assert count_cases(aws_stack) == 1
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    assert len(sms_to(leader)) == 1 and first.json_body["code"] in sms_to(leader)[0]
    assert len(sms_to(RESIDENT)) == 1 and first.json_body["code"] in sms_to(RESIDENT)[0]
    assert len(sent_sms()) == 2
    view = client.http.get(f"/reports/{first.json_body['code']}").json_body
    assert [e["event"] for e in view["history"]].count("assigned") == 1


def test_a_retry_after_routing_names_the_same_report_and_queues_nothing(client, aws_stack):
    # GIVEN a report already routed
    key = {"Idempotency-Key": "retry-after-routing"}
    first = post_report(client, report(), headers=key).json_body
    run_queue(client, aws_stack, "intake")

    # WHEN the same request comes again (a retry after a lost answer)
    again = post_report(client, report(), headers=key)

    # THEN it is the same report, nothing more is queued or sent
    assert again.status_code == 202
    assert (again.json_body["id"], again.json_body["code"]) == (first["id"], first["code"])
    assert receive_all(aws_stack, "intake") == []
    assert count_cases(aws_stack) == 1
    assert len(sms_to(member_phone(aws_stack, STAIRWELL_LEADER))) == 1
    assert len(sms_to(RESIDENT)) == 1
    assert len(sent_sms()) == 2


def test_a_json_and_a_form_submission_with_the_same_key_and_content_are_one_report(client, aws_stack):
    key = "same-content-two-encodings"
    first = post_report(client, report(), headers={"Idempotency-Key": key})
    second = client.http.post("/reports", body=urlencode(report()), headers={
        "Idempotency-Key": key, "Content-Type": "application/x-www-form-urlencoded"})

    assert second.status_code == 202
    assert second.json_body["code"] == first.json_body["code"]
    run_queue(client, aws_stack, "intake")
    assert count_cases(aws_stack) == 1
    assert len(sms_to(member_phone(aws_stack, STAIRWELL_LEADER))) == 1
    assert len(sms_to(RESIDENT)) == 1
    assert len(sent_sms()) == 2


def test_different_keys_are_different_reports(client, aws_stack):
    first = post_report(client, report(), headers={"Idempotency-Key": "key-one"}).json_body
    second = post_report(client, report(), headers={"Idempotency-Key": "key-two"}).json_body

    assert first["code"] != second["code"] and first["id"] != second["id"]
    run_queue(client, aws_stack, "intake")
    assert count_cases(aws_stack) == 2
    for code in (first["code"], second["code"]):
        assert len([t for t in sms_to(member_phone(aws_stack, STAIRWELL_LEADER)) if code in t]) == 1
        assert len([t for t in sms_to(RESIDENT) if code in t]) == 1
    assert len(sent_sms()) == 4


def test_the_same_key_with_a_different_body_is_refused(client, aws_stack):
    # GIVEN a report made with a key
    key = {"Idempotency-Key": "reused-key"}
    first = post_report(client, report(), headers=key).json_body

    for changed in (report(description="水管漏水"), report(location="changmu-02-1"),
                    report(category="water_pipe"), report(phone="13900000000"), report(name=...)):
        # WHEN the key is used again for a different report
        response = post_report(client, changed, headers=key)

        # THEN it is refused and nothing new is made
        assert response.status_code == 422, changed
        error = response.json_body["error"]
        assert error["code"] == "idempotency_key_reused"
        assert error["field"] == "Idempotency-Key"
        assert error["message"]
    assert count_cases(aws_stack) == 1
    assert len(receive_all(aws_stack, "intake")) == 1
    view = client.http.get(f"/reports/{first['code']}").json_body
    assert (view["category"], view["location"]) == ("sanitation", "changmu-01-1")
