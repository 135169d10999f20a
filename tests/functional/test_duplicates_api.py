"""One problem reported many times, through the app's own doors on the moto stack: two JSON
reports folded by the case worker, the public view of both, a member's 合并 over the
sms-inbound queue, the office's merge command, and the look-up limit of GET /reports/{code}.

changmu-05-2 is 5号楼2单元; water_pipe folds building-wide within 2 days (the changmu book).
"""
from __future__ import annotations

import pytest

from tests.functional.conftest import (
    case,
    member_phone,
    post_report,
    report,
    routed_report,
    run_queue,
    sms_to,
    text_in,
)

LEAK = {"category": "water_pipe", "location": "changmu-05-2", "description": "5号楼2单元水管漏水"}
NEIGHBOUR = "13912345600"


def ops(client, **event):
    event.setdefault("operator", "wangfang")
    return client.lambda_.invoke("ops", event).payload


def test_given_two_reports_of_one_leak_then_one_case_and_the_second_points_to_it(client, aws_stack):
    # GIVEN a leak reported and routed
    first = routed_report(client, aws_stack, **LEAK)
    # WHEN a neighbour in the next unit reports it too
    second = routed_report(client, aws_stack, **{**LEAK, "location": "changmu-05-3", "phone": NEIGHBOUR})

    # THEN the second is a duplicate of the first, which counts two residents; the views say so
    status, view = client.http.get(f"/reports/{second}").status_code, client.http.get(f"/reports/{second}").json_body
    assert status == 200 and (view["status"], view["duplicate_of"]) == ("duplicate", first)
    original = client.http.get(f"/reports/{first}").json_body
    assert original["affected"] == 2 and original["status"] == "assigned"
    assert NEIGHBOUR not in str(original) and "13912345678" not in str(original)


def test_given_a_member_sends_merge_then_the_case_joins_the_other_and_a_redelivery_changes_nothing(
        client, aws_stack):
    # GIVEN two cases that are one problem, not folded (one was reported as heating)
    first = routed_report(client, aws_stack, **LEAK)
    second = routed_report(client, aws_stack, **{**LEAK, "category": "heating", "phone": NEIGHBOUR})
    holder = case(aws_stack, second).holder

    # WHEN its holder replies 合并 SECOND FIRST, and the same SMS is delivered twice
    aws_stack.inbound_sms.accept(member_phone(aws_stack, holder), f"合并 {second} {first}", "test-gateway",
                                 gateway_message_id="merge-1")
    records = run_queue(client, aws_stack, "sms-inbound")
    aws_stack.inbound_sms.accept(member_phone(aws_stack, holder), f"合并 {second} {first}", "test-gateway",
                                 gateway_message_id="merge-1")
    run_queue(client, aws_stack, "sms-inbound")

    # THEN one merge: the second is a duplicate, the first has its reporter as a follower
    assert len(records) == 1
    merged, original = case(aws_stack, second), case(aws_stack, first)
    assert (merged.status.value, merged.duplicate_of) == ("duplicate", first)
    assert original.merged_codes == [second] and original.affected == 2
    assert not any("合并" in text or "merge" in text.lower() for text in sms_to(member_phone(aws_stack, holder)))


def test_given_merge_words_that_are_wrong_then_a_clear_answer_and_nothing_changes(client, aws_stack):
    first = routed_report(client, aws_stack, **LEAK)
    holder_phone = member_phone(aws_stack, case(aws_stack, first).holder)
    for words in (f"合并 {first}", f"合并 {first} {first}", f"MERGE {first} INTO ZZZ999", "合并"):
        text_in(aws_stack, holder_phone, words, client=client)
    assert case(aws_stack, first).status.value == "assigned"
    answers = [t for t in sms_to(holder_phone) if "合并" in t or "未找到" in t or "编号" in t]
    assert len(answers) >= 3, sms_to(holder_phone)        # each answered (within the error replies' limit)


def test_given_the_office_merges_then_the_case_joins_and_running_it_again_changes_nothing(client, aws_stack):
    first = routed_report(client, aws_stack, **LEAK)
    second = routed_report(client, aws_stack, **{**LEAK, "category": "heating", "phone": NEIGHBOUR})

    answer = ops(client, command="merge", case=second, into=first, reason="同一根水管")
    again = ops(client, command="merge", case=second, into=first, reason="同一根水管")

    assert answer["ok"] and answer["changed"] and answer["case"]["duplicate_of"] == first
    assert answer["into"]["affected"] == 2
    assert again["ok"] and again["changed"] is False
    merged = [e for e in case(aws_stack, second).history if e.event == "merged"]
    assert len(merged) == 1 and merged[0].actor == "ops:wangfang" and "同一根水管" in merged[0].detail


@pytest.mark.parametrize("event, code", [
    ({"into": "ZZZ999"}, "merge_unknown_case"),
    ({"into": "same"}, "merge_same_case"),
    ({"into": "not a code"}, "invalid_field"),
    ({"into": None}, "missing_field"),
])
def test_given_a_wrong_merge_command_then_it_is_refused_saying_what(client, aws_stack, event, code):
    first = routed_report(client, aws_stack, **LEAK)
    command = {"command": "merge", "case": first, "reason": "r", **event}
    if command["into"] == "same":
        command["into"] = first
    if command["into"] is None:
        del command["into"]
    answer = ops(client, **command)
    assert answer["ok"] is False and answer["error"]["code"] == code
    assert case(aws_stack, first).status.value == "assigned"


def test_given_an_address_over_its_look_up_limit_then_the_json_view_is_429_too(aws_credentials, clock, monkeypatch):
    from chalice.local import LambdaEventConverter
    from chalice.test import Client

    from app import app
    from tests.conftest import moto_stack
    from tests.functional.conftest import PROJECT_DIR

    with moto_stack(clock, lookups_per_ip=2) as stack, \
            Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        code = post_report(client, report()).json_body["code"]
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.9")
        assert [client.http.get(p).status_code for p in (f"/reports/{code}", "/reports/AAAAAA")] == [200, 404]
        refused = client.http.get(f"/reports/{code}")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert refused.json_body["error"]["code"] == "rate_limited"
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.10")
        assert client.http.get(f"/reports/{code}").status_code == 200
        assert stack.cases.get(code) is not None
