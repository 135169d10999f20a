"""The operators' `ops` function, invoked as the Lambda console's test event invokes it
(`client.lambda_.invoke("ops", event)`), on the moto stack: every command, what it records
on the case and with whose name, and a redrive of real dead-letter queues."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.functional.conftest import (
    GRID_MEMBER,
    STAIRWELL_LEADER,
    case,
    member_phone,
    receive_all,
    routed_report,
    sms_to,
    text_in,
)

OPERATOR = "wangfang"
VOLUNTEER = "m07"            # at home in changmu, on nobody's chain for changmu-01-1 at level 1


def ops(client, **event):
    """The ops function's answer to one console test event, by OPERATOR unless told."""
    event.setdefault("operator", OPERATOR)
    return client.lambda_.invoke("ops", event).payload


def ops_events(stack, code):
    return [e for e in case(stack, code).history if e.event.startswith("ops_")]


def test_given_a_routed_case_when_shown_then_the_holder_chain_and_history_come_without_personal_data(client, aws_stack):
    # GIVEN a routed case reported with a phone and a name
    code = routed_report(client, aws_stack)
    version = case(aws_stack, code).version

    # WHEN an operator shows it
    answer = ops(client, command="show", case=code.lower())

    # THEN its state, chain and full history are there, the reporter's data is not, and nothing was written
    shown = answer["case"]
    assert answer["ok"] and shown["code"] == code and shown["holder"] == STAIRWELL_LEADER and shown["level"] == 1
    assert [e["event"] for e in shown["history"]][:2] == ["received", "assigned"]
    assert shown["chain"][0]["holder"] == STAIRWELL_LEADER and shown["has_reporter_phone"] is True
    text = json.dumps(answer, ensure_ascii=False)
    assert "13912345678" not in text and "卓玛" not in text and "楼道灯" not in text
    assert case(aws_stack, code).version == version


def test_given_personal_asked_for_when_shown_then_the_reporters_data_comes_and_who_saw_it_is_recorded(
        client, aws_stack):
    code = routed_report(client, aws_stack)

    answer = ops(client, command="show", case=code, personal=True)

    assert answer["case"]["reporter_phone"] == "+8613912345678" and answer["case"]["reporter_name"] == "卓玛"
    [viewed] = ops_events(aws_stack, code)
    detail = json.loads(viewed.detail)
    assert viewed.event == "ops_viewed" and viewed.actor == f"ops:{OPERATOR}"
    assert detail["request"].startswith("lambda:") and len(detail["request"]) > len("lambda:") + 30


def test_given_an_unanswered_case_when_escalated_now_then_it_goes_up_once_however_often_the_event_is_run(
        client, aws_stack):
    # GIVEN a case at level 1 with its stairwell leader
    code = routed_report(client, aws_stack)
    event = dict(command="escalate", case=code, from_level=1, reason="楼道长电话不通")

    # WHEN the operator escalates it, then runs the same test event again
    first, again = ops(client, **event), ops(client, **event)

    # THEN it is at level 2 with the grid member, who was texted, and the leader stood down; once
    assert first["ok"] and first["changed"] and first["case"]["level"] == 2
    assert again["ok"] and again["changed"] is False
    stored = case(aws_stack, code)
    assert (stored.level, stored.holder, stored.status.value) == (2, GRID_MEMBER, "assigned")
    [escalated] = ops_events(aws_stack, code)
    assert escalated.actor == f"ops:{OPERATOR}"
    assert json.loads(escalated.detail) | {"request": None} == {
        "from": 1, "to": 2, "member": GRID_MEMBER, "reason": "楼道长电话不通", "request": None}
    assert len(sms_to(member_phone(aws_stack, GRID_MEMBER))) == 1
    assert any("转办给" in text for text in sms_to(member_phone(aws_stack, STAIRWELL_LEADER)))
    # and one that saw an older level is refused: the case has moved since
    stale = ops(client, command="escalate", case=code, from_level=3, reason="x")
    assert stale["error"]["code"] == "level_changed" and case(aws_stack, code).level == 2


def test_given_a_case_when_reassigned_then_the_new_member_holds_it_and_a_stranger_is_refused(client, aws_stack):
    code = routed_report(client, aws_stack)

    answer = ops(client, command="reassign", case=code, member=VOLUNTEER, reason="楼道长外出")
    refused = ops(client, command="reassign", case=code, member="nobody", reason="x")

    assert answer["ok"] and answer["case"]["holder"] == VOLUNTEER
    assert case(aws_stack, code).holder == VOLUNTEER and len(sms_to(member_phone(aws_stack, VOLUNTEER))) == 1
    assert [e.event for e in ops_events(aws_stack, code)] == ["ops_reassigned"]
    assert refused["error"] == {"code": "invalid_field", "field": "member",
                                "message": "nobody is not an available member of changmu (at home, not on leave)"}


def test_given_open_cases_when_closed_or_cancelled_then_the_holder_is_told_to_stop_and_reason_and_operator_kept(
        client, aws_stack):
    closing, cancelling = routed_report(client, aws_stack), routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    before = len(sms_to(leader))

    closed = ops(client, command="close", case=closing, reason="居民来电：已修好")
    cancelled = ops(client, command="cancel", case=cancelling, reason="重复报事", operator="lisi")
    closed_again = ops(client, command="close", case=closing, reason="居民来电：已修好")

    assert closed["case"]["status"] == "closed" and cancelled["case"]["status"] == "cancelled"
    assert closed_again["changed"] is False
    assert [(e.event, e.actor, json.loads(e.detail)["reason"]) for e in ops_events(aws_stack, cancelling)] == [
        ("ops_cancelled", "ops:lisi", "重复报事")]
    assert case(aws_stack, closing).due_at is None       # out of the sweep's index
    told = sms_to(leader)[before:]
    assert any("结案" in t and closing in t for t in told) and any("撤销" in t and cancelling in t for t in told)
    assert client.http.get(f"/reports/{closing}").json_body["status"] == "closed"


def test_given_a_member_who_lost_the_sms_when_resent_then_they_get_it_again(client, aws_stack):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    [assigned] = sms_to(leader)

    answer = ops(client, command="resend", case=code)       # the latest notice to the holder

    assert answer["ok"] and answer["notice"]["template"] == "assigned" and answer["notice"]["sent"]
    assert sms_to(leader) == [assigned, assigned]
    assert [e.event for e in ops_events(aws_stack, code)] == ["ops_resent"]
    missing = ops(client, command="resend", case=code, notice=f"{code}.99")
    assert missing["error"]["code"] == "no_such_notice"


def test_given_a_case_past_its_deadline_when_listing_overdue_then_it_is_there_and_others_are_not(
        client, aws_stack, clock):
    late, on_time = routed_report(client, aws_stack), None
    clock.advance(31 * 60)                    # level 1 has 30 minutes to accept
    on_time = routed_report(client, aws_stack)

    answer = ops(client, command="overdue")
    elsewhere = ops(client, command="overdue", community="garang")

    assert [row["code"] for row in answer["cases"]] == [late] and on_time != late
    assert answer["cases"][0]["overdue_minutes"] == 1 and answer["cases"][0]["at_top"] is False
    assert elsewhere["cases"] == []


def test_given_the_directory_when_exported_and_imported_by_the_function_then_the_version_names_the_operator(
        client, aws_stack):
    exported = ops(client, command="directory-export", community="changmu")
    edited = exported["document"].replace("第一网格", "一网格")

    dry = ops(client, command="directory-import", community="changmu", format="yaml", document=edited, dry_run=True)
    applied = ops(client, command="directory-import", community="changmu", format="yaml", document=edited)
    broken = ops(client, command="directory-import", community="changmu", format="yaml", document="id: changmu\n")

    assert dry["ok"] and dry["applied"] is False
    assert applied["ok"] and applied["applied"] and applied["version"] == dry["version"]
    [latest, *_] = aws_stack.directory_admin.history("changmu")
    assert latest.actor == f"ops:{OPERATOR}" and latest.version == applied["version"]
    assert broken["error"]["code"] == "invalid_directory" and broken["problems"]


def test_given_dead_letters_when_redriven_then_they_go_back_with_the_ids_they_had(client, aws_stack):
    # GIVEN a console report that was dead-lettered (with the id it had), and an End User
    # Messaging payload in the sms-inbound DLQ that came from the topic, not the queue
    body = json.dumps({"source": "console", "category": "sanitation", "location": "changmu-01-1",
                       "description": "控制台录入"})
    aws_stack.dead_letters("intake").put(body, "failed 5 times", "gridloop-local-intake", "console-1")
    aws_stack.dead_letters("sms-inbound").put('{"originationNumber": 1}', "not an SMS",
                                              "gridloop-local-sms-inbound-topic")

    # WHEN an operator redrives both
    intake = ops(client, command="redrive", queue="intake-dlq", max=10)
    inbound = ops(client, command="redrive", queue="sms-inbound")

    # THEN the report is back on its queue with the id it had (what makes it one report) and
    # without the dead letter's reason; the topic's payload stays in its DLQ
    assert intake | {"operator": None} == {"ok": True, "command": "redrive", "operator": None, "queue": "intake",
                                           "moved": 1, "kept": 0, "failed": 0, "more": False}
    assert inbound["moved"] == 0 and inbound["kept"] == 1
    [message] = receive_all(aws_stack, "intake")
    assert message["Body"] == body
    assert {k: v["StringValue"] for k, v in message["MessageAttributes"].items()} == {"message_id": "console-1"}
    assert receive_all(aws_stack, "intake-dlq") == [] and receive_all(aws_stack, "sms-inbound") == []


def test_given_a_bad_command_when_invoked_then_the_answer_says_what_is_wrong_and_nothing_happens(client, aws_stack):
    code = routed_report(client, aws_stack)
    version = case(aws_stack, code).version

    no_operator = client.lambda_.invoke("ops", {"command": "close", "case": code, "reason": "x"}).payload
    unknown = ops(client, command="delete", case=code)
    no_reason = ops(client, command="close", case=code)

    assert no_operator["ok"] is False and no_operator["error"]["field"] == "operator"
    assert unknown["error"]["code"] == "unknown_command" and no_reason["error"]["field"] == "reason"
    assert ops(client, command="show", case="ZZZZZZ")["error"]["code"] == "not_found"
    assert case(aws_stack, code).version == version


# -- every command once: tests/infra/test_iam_policies.py records what the function does ------------
def run_every_ops_command(client, stack, clock) -> None:
    """Each command, on the stack as it is (routed cases, queues): every AWS request the ops
    function can make is made here, for its least-privilege policy (infra/iam.py)."""
    first, second, third = (routed_report(client, stack) for _ in range(3))
    clock.advance(31 * 60)
    assert ops(client, command="overdue")["ok"]
    assert ops(client, command="show", case=first, personal=True)["ok"]
    assert ops(client, command="escalate", case=first, from_level=1, reason="r")["changed"]
    assert ops(client, command="reassign", case=second, member=VOLUNTEER, reason="r")["changed"]
    assert ops(client, command="resend", case=second)["notice"]["sent"] is not None
    text_in(stack, member_phone(stack, VOLUNTEER), f"完成 {second}", client)     # the call-back goes out
    clock.advance(121)            # after the reporter's send window (bundling): the resend goes now
    assert ops(client, command="resend", case=second, member="@reporter")["notice"]["template"] == "reporter_resolved"
    assert ops(client, command="close", case=first, reason="r")["changed"]
    assert ops(client, command="cancel", case=third, reason="r")["changed"]
    exported = ops(client, command="directory-export", community="changmu")["document"]
    applied = ops(client, command="directory-import", community="changmu", format="yaml",
                  document=exported.replace("第一网格", "一网格"))
    assert applied["applied"]
    assert ops(client, command="directory-export", community="changmu", version=applied["version"])["ok"]
    # a community new to the stage (a copy of garang with its own id and phones): checked, not applied
    garang = ops(client, command="directory-export", community="garang")["document"]
    new = garang.replace("id: garang", "id: xinju").replace("+86138975", "+86150975")
    assert ops(client, command="directory-import", community="xinju", format="yaml", document=new,
               dry_run=True)["previous_version"] is None
    for purpose in ("intake", "escalation", "sms-inbound"):
        stack.dead_letters(purpose).put('{"kind": "x"}', "why", f"gridloop-local-{purpose}", "id-1")
        assert ops(client, command="redrive", queue=purpose)["moved"] == 1
        receive_all(stack, purpose)
    assert ops(client, command="weekly-report", community="changmu", html=True)["ok"]
    assert ops(client, command="weekly-report", community="changmu", week="2026-W01",
               stored=True)["error"]["code"] == "not_found"
    from tests.functional.test_points_ops import run_every_points_command  # the points bank's commands
    run_every_points_command(client, stack)


def test_given_a_week_of_cases_when_the_weekly_report_is_asked_for_then_it_comes_with_its_page(
        client, aws_stack, clock):
    # GIVEN a case reported and escalated this week
    code = routed_report(client, aws_stack)
    clock.advance(31 * 60)
    assert ops(client, command="escalate", case=code, from_level=1, reason="r")["changed"]
    week = datetime.fromtimestamp(clock.now, ZoneInfo("Asia/Shanghai")).strftime("%G-W%V")

    # WHEN an operator asks for this week's joint-meeting report, with its page
    answer = ops(client, command="weekly-report", community="changmu", week=week, html=True)

    # THEN the report counts the case, the page is there, and a bad week or community is refused
    assert answer["ok"] and answer["report"]["community"]["id"] == "changmu"
    assert code in json.dumps(answer["report"]) and answer["html"].lstrip().lower().startswith("<!doctype html")
    assert ops(client, command="weekly-report", community="changmu", week="2026-W99")["error"]["field"] == "week"
    assert ops(client, command="weekly-report", community="nowhere")["error"]["code"] == "not_found"
    assert ops(client, command="weekly-report", community="changmu", stored=True)["error"]["field"] == "week"


def test_given_the_cli_when_a_case_is_escalated_by_words_or_json_then_it_is_the_same_command(aws_stack, client, capsys):
    from tools.ops import command_of, main

    code = routed_report(client, aws_stack)
    words = ["--operator", "zhaoliu", "escalate", code, "--from-level", "1", "--reason", "电话不通"]
    as_json = [json.dumps({"command": "escalate", "case": code, "from_level": 1, "reason": "电话不通"}),
               "--operator", "zhaoliu"]
    assert command_of(words) == command_of(as_json)

    status = main(words, container=aws_stack)

    assert status == 0 and json.loads(capsys.readouterr().out)["case"]["level"] == 2
    [escalated] = ops_events(aws_stack, code)
    assert escalated.actor == "ops:zhaoliu" and json.loads(escalated.detail)["request"].startswith("cli:")
    assert main(["show", "ZZZZZZ"], container=aws_stack) == 1


def test_every_command_works_from_the_cli_as_words(aws_stack, client, clock, capsys, tmp_path):
    """`make ops ARGS='...'`: each command typed as words, on the stack (what a terminal on the
    local stack does), answered ok."""
    from tools.ops import main

    first, second, third = (routed_report(client, aws_stack) for _ in range(3))
    clock.advance(31 * 60)
    aws_stack.dead_letters("intake").put('{"kind": "x"}', "why", "gridloop-local-intake", "id-1")
    directory = tmp_path / "changmu.yaml"

    def run(*words: str) -> dict:
        status = main(["--operator", "zhaoliu", *words], container=aws_stack)
        answer = json.loads(capsys.readouterr().out)
        assert status == 0 and answer["ok"], answer
        return answer

    run("show", first)
    run("show", first, "--personal")
    assert run("overdue", "--community", "changmu")["cases"]
    run("escalate", first, "--from-level", "1", "--reason", "电话不通")
    run("reassign", second, VOLUNTEER, "--reason", "楼道长外出")
    run("resend", second)
    run("close", first, "--reason", "已修好")
    run("cancel", third, "--reason", "重复报事")
    directory.write_text(run("directory-export", "--community", "changmu")["document"], encoding="utf-8")
    run("directory-import", "--community", "changmu", "--dry-run", str(directory))
    assert run("redrive", "intake")["moved"] == 1
    assert run("weekly-report", "--community", "changmu", "--html")["html"]
    assert [e.actor for e in ops_events(aws_stack, first)][-1] == "ops:zhaoliu"
