"""Personal data never appears in logs or in public views.

Personal data here: every phone number (residents' and members'), in any format a log
might carry it (+8613800138000, 13800138000, 138 0013 8000, 138-0013-8000); residents' and
members' names; and what residents wrote (a report's description, an SMS report's text).

The flows below run on moto through the real handlers with every log record captured at
DEBUG: the root logger at DEBUG (what a function's log level DEBUG does) and the Powertools
package logger at DEBUG (what POWERTOOLS_DEBUG does). Nothing else is turned up: a library
that keeps its own logger quieter is part of what is tested. Each record is searched in its
message, its arguments, its exception and stack text, and every extra field.

The public view (GET /reports/{code}) and the daily digest's webhook payload are searched
the same way. The digest goes to the members' group chat, but through a third party's
robot, and a chat outlives its membership: it names cases by code, category and place only,
never a member (the members know who they are; the SLA report, not the chat, is for who did
what).
"""
from __future__ import annotations

import json
import logging

import pytest

from tests.functional.conftest import (
    invoke,
    member_phone,
    post_report,
    receive_all,
    records_from,
    report,
    run_queue,
    send_to,
    text_in,
)
from tests.functional.test_digest import Robot, at, run_schedule

REPORTER = "138 0013 8000"          # the web report's phone, as typed
REPORTER_NAME = "尼玛拉姆"
DESCRIPTION = "水管爆裂，水流到楼下央宗家里"
SMS_RESIDENT = "+8613900139000"
SMS_TEXT = "5号楼1单元门口路灯坏了好几天"
TRIAGE_TEXT = "我家门口的井盖被人偷走了"      # no place: the triage member gets it, with the phone
# A sender that is not a phone number but holds one, as a gateway might pass on.
NOT_A_SENDER = "138-0013-8000 转 2"
# AWS's own answer when a number cannot be texted: it names the number.
SNS_REFUSAL = "Invalid parameter: PhoneNumber Reason: +8613800138000 is not valid to publish to"

# Loggers that only exist in the test process: the AWS emulator and its web server.
NOT_OURS = ("moto", "werkzeug", "responses")
STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 1, "x", (), None))) | {"message", "asctime"}


def phone_forms(e164: str) -> set[str]:
    """The ways a +86 mobile number shows up in text."""
    national = e164.removeprefix("+86")
    return {e164, e164[1:], national, f"{national[:3]} {national[3:7]} {national[7:]}",
            f"{national[:3]}-{national[3:7]}-{national[7:]}"}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(NOT_OURS):
            self.records.append(record)

    def texts(self) -> list[tuple[str, str]]:
        """(logger, text) for every piece of every record."""
        formatter = logging.Formatter()
        found = []
        for record in self.records:
            parts = [record.getMessage(), repr(record.args)]
            if record.exc_info:
                parts.append(formatter.formatException(record.exc_info))
            parts += [record.exc_text or "", record.stack_info or ""]
            parts += [f"{key}={value!r}" for key, value in vars(record).items() if key not in STANDARD]
            found += [(record.name, part) for part in parts if part]
        return found


@pytest.fixture
def logs(aws_stack):      # after the container: building it sets the loggers' levels
    """Every record at DEBUG, as a deployed function would emit it with every switch up:
    its log level at DEBUG (the root logger), POWERTOOLS_DEBUG (the Powertools package
    logger) and Chalice's debug mode (the app's logger, "gridloop"). The capture is also on
    every logger that does not pass its records to the root (Powertools', Chalice's)."""
    capture = Capture()
    turned_up = [logging.getLogger(), logging.getLogger("aws_lambda_powertools"), logging.getLogger("gridloop")]
    isolated = [logger for logger in logging.root.manager.loggerDict.values()
                if isinstance(logger, logging.Logger) and not logger.propagate]
    saved = [logger.level for logger in turned_up]
    for logger in turned_up:
        logger.setLevel(logging.DEBUG)
    for logger in {*turned_up, *isolated}:
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger in {*turned_up, *isolated}:
            logger.removeHandler(capture)
        for logger, level in zip(turned_up, saved, strict=True):
            logger.setLevel(level)


def private_data(stack) -> set[str]:
    """Every phone, name and resident's text of these flows, and of every member."""
    secrets = {REPORTER_NAME, DESCRIPTION, SMS_TEXT, TRIAGE_TEXT}
    secrets |= phone_forms("+8613800138000") | phone_forms(SMS_RESIDENT) | phone_forms("+8613900139002")
    for community in stack.directory().communities.values():
        for member in community.members.values():
            secrets |= phone_forms(member.phone) | {member.name}
        for household in community.households:
            secrets |= phone_forms(household)
    return secrets


def encodings(secret: str) -> set[str]:
    """A text as it may be written in a log: itself, JSON-escaped, as UTF-8 bytes' repr."""
    return {secret, json.dumps(secret)[1:-1], repr(secret.encode("utf-8"))[2:-1]}


def leaks(texts, secrets) -> list[str]:
    forms = {form: secret for secret in secrets for form in encodings(secret)}
    return [f"{where}: {secret!r} in {text[:300]!r}" for where, text in texts for form, secret in forms.items()
            if form in text]


def test_no_phone_name_or_resident_text_in_any_log_or_public_view(client, aws_stack, clock, logs,
                                                                   monkeypatch):
    robot = Robot()
    try:
        monkeypatch.setenv("GRIDLOOP_DIGEST_WEBHOOKS", json.dumps({"changmu": {"url": robot.url, "hour": 8}}))
        clock.now = at("2026-09-21 07:30")
        views = drive_every_flow(client, aws_stack, clock, monkeypatch)
        clock.now = at("2026-09-21 08:00")
        assert run_schedule(client)["sent"], "the digest was not sent"
        payloads = [json.dumps(m["json"], ensure_ascii=False) for m in robot.received]
    finally:
        robot.close()

    secrets = private_data(aws_stack)
    said = [record.getMessage() for record in logs.records]
    for path in ("giving up on", "dead-lettering", "Record processing exception", "failed: ClientError",
                 "report refused", "SMS report ignored", "SMS ignored", "daily digest sent"):
        # the flows did pass where errors and refusals are logged
        assert any(path in line for line in said), path
    assert leaks(logs.texts(), secrets) == []
    assert leaks([("GET /reports", v) for v in views], secrets) == []
    assert leaks([("digest", p) for p in payloads], secrets) == []


def drive_every_flow(client, stack, clock, monkeypatch) -> list[str]:
    """A web report with a phone, a name and a description; a resident's SMS reports (one
    placed, one for triage); members' replies that work and one that is refused; the
    resident's call-back; an SMS that cannot be sent until it is dead-lettered; a blocked
    resident's report by web and by SMS; bad messages dead-lettered. Returns the public
    views of the reports, as served."""
    leader, stranger_member = member_phone(stack, "m10"), member_phone(stack, "m12")

    response = post_report(client, report(phone=REPORTER, name=REPORTER_NAME, description=DESCRIPTION))
    assert response.status_code == 202, response.body
    code = response.json_body["code"]
    run_queue(client, stack, "intake")

    text_in(stack, stranger_member, f"收到 {code}", client)        # refused: not on its chain
    text_in(stack, leader, f"收到 {code}", client)
    text_in(stack, leader, f"完成 {code}", client)
    text_in(stack, "+8613800138000", "2", client)                    # not fixed: reopened above

    text_in(stack, SMS_RESIDENT, SMS_TEXT, client)
    text_in(stack, "+8613900139001", TRIAGE_TEXT, client)
    codes = [code] + [c.code for c in (stack.cases.get(r.code) for r in stack.cases.reported_by(SMS_RESIDENT))]

    # An SMS that SNS refuses with an error naming the number, on every try, until the
    # message is dead-lettered.
    from botocore.exceptions import ClientError

    def refuse(**_):
        raise ClientError({"Error": {"Code": "InvalidParameter", "Message": SNS_REFUSAL}}, "Publish")
    with monkeypatch.context() as patch:
        patch.setattr(stack.sns_client, "publish", refuse)
        failing = post_report(client, report(phone=REPORTER, name=REPORTER_NAME, description=DESCRIPTION + "2"))
        messages = receive_all(stack, "intake")
        for receive_count in (1, 5):
            invoke(client, "intake", records_from(messages, "intake", receive_count=receive_count))
    codes.append(failing.json_body["code"])

    # A blocked resident, by the web form and by SMS: refused, and logged by pseudonym.
    from tools.blocklist import main as blocklist
    assert blocklist(["add", "--phone", "+8613900139002", "--note", "test"], container=stack) == 0
    assert post_report(client, report(phone="+8613900139002", name=REPORTER_NAME,
                                      description=DESCRIPTION)).status_code == 403
    text_in(stack, "+8613900139002", SMS_TEXT, client)
    text_in(stack, "+8613900139002", "帮助", client)

    # Messages that can never work, each holding personal data.
    send_to(stack, "sms-inbound", json.dumps({"from": NOT_A_SENDER, "text": SMS_TEXT}, ensure_ascii=False))
    send_to(stack, "sms-inbound", json.dumps({"from": SMS_RESIDENT}))
    send_to(stack, "intake", json.dumps({"category": "water_pipe", "location": "changmu-01-1",
                                         "description": DESCRIPTION, "phone": "138 0013 80",
                                         "source": "console"}, ensure_ascii=False))
    run_queue(client, stack, "sms-inbound")
    run_queue(client, stack, "intake")
    assert len(receive_all(stack, "sms-inbound-dlq")) == 2 and len(receive_all(stack, "intake-dlq")) == 2

    return [client.http.get(f"/reports/{c}").body.decode("utf-8") for c in codes]


@pytest.fixture
def telemetry_on(monkeypatch):
    """As in Lambda: Powertools' JSON logs and EMF metrics on stdout (chalicelib.observability)."""
    monkeypatch.setenv("GRIDLOOP_TELEMETRY", "1")


def test_json_log_lines_name_their_case_and_community_and_nothing_printed_holds_personal_data(
        telemetry_on, client, aws_stack, clock, logs, monkeypatch, capsys):
    views = drive_every_flow(client, aws_stack, clock, monkeypatch)
    printed = capsys.readouterr().out
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    log_lines = [line for line in lines if "_aws" not in line and "level" in line]
    metric_lines = [line for line in lines if "_aws" in line]

    codes = {json.loads(view)["code"] for view in views}
    about_cases = [line for line in log_lines if "case" in line]
    assert about_cases and metric_lines
    # the dead-lettered report's warnings, logged while its case was handled
    assert {line["case"] for line in about_cases} & codes
    assert all(line["community"] == "changmu" and line["function"] for line in about_cases)
    assert all(line["service"] == "gridloop" for line in log_lines)
    assert leaks([("stdout", printed)], private_data(aws_stack)) == []
    assert leaks(logs.texts(), private_data(aws_stack)) == []


def test_the_search_finds_a_phone_or_a_name_in_a_log_record(logs, aws_stack):
    """The check above is only as good as its search: a record that does leak is found."""
    logging.getLogger("gridloop.anything").debug("texting %s", "138 0013 8000")
    logging.getLogger("gridloop.anything").info("done", extra={"who": REPORTER_NAME})
    found = leaks(logs.texts(), private_data(aws_stack))
    assert any("'138 0013 8000'" in leak for leak in found) and any(REPORTER_NAME in leak for leak in found)


def test_an_unexpected_error_is_logged_with_where_it_happened_and_without_what_it_quotes(
        client, aws_stack, logs, monkeypatch):
    # GIVEN storing a report fails with an error that quotes the report (as a library might)
    def broken_create(request, seed, source, **_):
        raise ValueError(f"cannot store {request.phone} / {request.name} / {request.description}")

    monkeypatch.setattr(aws_stack.intake, "create", broken_create)
    # WHEN a resident posts a report
    response = post_report(client, report(phone=REPORTER, name=REPORTER_NAME, description=DESCRIPTION))
    # THEN they get a 503 that tells nothing, and the log says what failed and where,
    # with none of what the error quoted
    assert response.status_code == 503
    (failed,) = [r for r in logs.records if r.getMessage().startswith("request failed")]
    message = failed.getMessage()
    assert "ValueError: cannot store <number> / <text> / <text>" in message
    assert "broken_create" in message                     # the frames: where it happened
    assert leaks(logs.texts(), private_data(aws_stack)) == []
