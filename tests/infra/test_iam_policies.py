"""Least privilege, proved: each Lambda function runs its real flows on moto, every AWS
request it makes is recorded as IAM sees it (tests/infra/iam_usage.py), and its policy in
infra/iam.py must allow all of them and nothing else, apart from the grants whose `why`
says Lambda itself uses them (logs, event source mappings, the async dead-letter queue).

A failure here after a code change means a function now does something its role does not
let it do in AWS (it would fail there with AccessDenied), or no longer does something its
role still allows: change POLICIES in infra/iam.py to match, and say why in the grant.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from infra import iam
from infra.template import render
from tests.infra.iam_usage import ACCOUNT, PARTITION, REGION, Policy, Recorder, matches, resolve

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
RESIDENT = "+8613800138000"             # nobody in the directory
REPORTER = "+8613700000002"             # a resident who reports on the web


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()


# -- the flows ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def usage():
    """Every function's flows, once for the module: the recorder with what each one did."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.services.notices import BUNDLE_SECONDS
    from tests.conftest import moto_stack, use_test_environment
    from tests.fakes import FakeClock

    clock = FakeClock(at("2026-09-21 07:00"))
    with pytest.MonkeyPatch.context() as patch:
        use_test_environment(patch)
        # As in AWS: bundling on (GRIDLOOP_BUNDLE_SECONDS defaults to 120 there).
        with moto_stack(clock, bundle_seconds=BUNDLE_SECONDS) as stack:
            recorder = Recorder(lambda: bootstrap.Container(stack.config, clock))
            recorder.install(patch)
            with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
                run_every_flow(client, stack, recorder, clock, patch)
            yield recorder


def run_every_flow(client, stack, recorder, clock, patch) -> None:
    from chalicelib.services.notices import BUNDLE_SECONDS
    from tests.functional.conftest import (
        STAIRWELL_LEADER,
        FlakySms,
        failed_ids,
        invoke,
        member_phone,
        post_report,
        receive_all,
        records_from,
        report,
        run_queue,
        send_to,
        sweep,
    )
    from tests.functional.test_sms_gateways import (
        end_user_messaging,
        post_tencent,
        post_twilio,
        tencent_reply,
        twilio_params,
    )

    leader = member_phone(stack, STAIRWELL_LEADER)

    def replies(purpose: str = "sms-inbound") -> None:
        run_queue(client, stack, purpose)

    def fails_once(function: str, purpose: str, body: str) -> None:
        """A message whose SMS cannot go out: retried later (its visibility changed)."""
        flaky = FlakySms(patch, recorder.container(function).sms, failures=None)
        send_to(stack, purpose, body)
        records = records_from(receive_all(stack, purpose), purpose)
        assert len(failed_ids(invoke(client, purpose, records))) == len(records) == 1
        patch.setattr(recorder.container(function).sms, "send", flaky.real)

    # -- api_handler: every route ---------------------------------------------------------------
    assert client.http.get("/health").status_code == 200
    for path in ("/categories", "/grid", "/openapi.json"):
        assert client.http.get(path).status_code == 200, path
    first = post_report(client, report(), headers={"Idempotency-Key": "iam-1"})
    again = post_report(client, report(), headers={"Idempotency-Key": "iam-1"})   # the same report
    assert first.status_code == again.status_code == 202 and first.json_body == again.json_body
    code, case_id = first.json_body["code"], first.json_body["id"]
    assert client.http.get(f"/reports/{code}").status_code == 200
    assert client.http.get(f"/reports/{case_id}").status_code == 200             # by id: the by-id index
    # the residents' pages: the form, its report (the same intake), the status page's counted look-up
    assert client.http.get("/?community=changmu").status_code == 200
    form = "key=web-" + "0" * 32 + "&building=changmu-05&unit=1&category=sanitation&description=x"
    assert client.http.post("/", headers={"Content-Type": "application/x-www-form-urlencoded"},
                            body=form).status_code == 200
    assert client.http.get(f"/r/{code}").status_code == 200
    # Open311: a client's report and list with its key (found, then counted), a request by id and by token
    from tests.functional.test_open311_api import API, post311, request_form
    key = stack.api_keys.issue("iam-client", "ops:iam")[0]
    made = post311(client, request_form(key, description="Open311")).json_body[0]
    assert client.http.get(f"{API}/requests/{made['service_request_id']}.xml").status_code == 200
    assert client.http.get(f"{API}/tokens/{made['token']}.json").status_code == 200

    # -- case_worker: routes it (twice queued: the second finds it routed), a console report,
    # a malformed message (dead-lettered), one whose SMS fails (retried later)
    run_queue(client, stack, "intake")
    listed = client.http.get(f"{API}/requests.json?jurisdiction_id=changmu&api_key={key}")   # by-grid, then read
    assert listed.status_code == 200 and listed.json_body, listed.body
    send_to(stack, "intake", json.dumps({"source": "console", "category": "sanitation",
                                         "location": "changmu-01-1", "description": "控制台录入"}))
    send_to(stack, "intake", "not json")
    run_queue(client, stack, "intake")
    assert len(receive_all(stack, "intake-dlq")) == 1
    fails_once("case_worker", "intake", json.dumps({"source": "console", "category": "sanitation",
                                                     "location": "changmu-02-1", "description": "又一件"}))
    # two reports of one leak: the second is folded into the first (the by-place index); a third
    # whose routing message is lost is left for the sweep (the escalation worker folds it)
    for location in ("changmu-05-2", "changmu-05-3"):
        assert post_report(client, report(category="water_pipe", location=location, phone=...,
                                          name=...)).status_code == 202
        run_queue(client, stack, "intake")
    assert post_report(client, report(category="water_pipe", location="changmu-05-1", phone=...,
                                      name=...)).status_code == 202
    receive_all(stack, "intake")
    # (api_handler) the report page on that leak: "already reported?" from the by-place index and
    # the cases it lists (BatchGetItem), then "me too": the phone follows it (contacts) and the case
    form = {"key": "web-" + "1" * 32, "community": "changmu", "building": "changmu-05", "unit": "2",
            "category": "water_pipe", "description": "x", "phone": "13700000099"}
    web = {"Content-Type": "application/x-www-form-urlencoded"}
    asked = client.http.post("/", headers=web, body=urlencode(form))
    offered = re.search(r'name="me_too" value="([A-Z0-9]+)"', asked.body.decode())
    assert asked.status_code == 200 and offered, asked.body[:500]
    assert client.http.post("/", headers=web, body=urlencode({**form, "me_too": offered.group(1)})).status_code == 200
    # more reports to one stairwell within the send window: their notices wait for it
    for _ in range(2):
        clock.advance(20)
        assert post_report(client, report(phone=..., name=...)).status_code == 202
        run_queue(client, stack, "intake")

    # -- daily_digest at 08:00: claims, reads the grid's facts and places, records it sent
    patch.setenv("GRIDLOOP_DIGEST_WEBHOOKS", json.dumps({"changmu": {"url": "https://robot.invalid/x",
                                                                     "hour": 8}}))
    from chalicelib.adapters.webhook import WebhookSender
    patch.setattr(WebhookSender, "post", lambda self, url, payload: {"errcode": 0, "errmsg": "ok"})
    clock.now = at("2026-09-21 08:00")
    digest = client.lambda_.invoke("daily_digest", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=[f"arn:aws:events:{REGION}:{ACCOUNT}:rule/gridloop-local-daily_digest"])).payload
    assert digest["sent"], digest

    # -- escalation_sweep and escalation_worker: the unanswered cases climb, the waiting
    # notices go out as one text; a malformed request is dead-lettered; a failing SMS retried
    assert sweep(client)["queued"] >= 1
    run_queue(client, stack, "escalation")
    send_to(stack, "escalation", "{}")
    run_queue(client, stack, "escalation")
    assert len(receive_all(stack, "escalation-dlq")) == 1
    clock.advance(3 * 3600)
    assert sweep(client)["queued"] >= 1
    fails_once("escalation_worker", "escalation", receive_all(stack, "escalation")[0]["Body"])
    receive_all(stack, "escalation")

    # -- the gateways (api_handler) and sms_reply_worker: members and residents. One
    # reporter's cases are resolved within one send window, so the second "resolved" waits
    # for it. The case worker, given a routing message again (SQS delivers at least once),
    # finds that case resolved and sends what waits, checking the reporter's opt-out; the
    # escalation worker does the same for the next one, after the sweep.
    def reported(location: str) -> tuple[str, list]:
        code = post_report(client, report(location=location, phone=REPORTER)).json_body["code"]
        routing = records_from(receive_all(stack, "intake"), "intake")
        assert failed_ids(invoke(client, "intake", routing)) == []
        return code, routing

    def resolved(code: str) -> None:
        holder = member_phone(stack, stack.cases.get(code).holder)
        for text in (f"收到 {code}", f"完成 {code}"):
            stack.inbound_sms.accept(holder, text, "test-gateway")
            replies()

    third, routing = reported("changmu-03-2")
    fourth, _ = reported("changmu-11-2")
    resolved(fourth)                                                  # takes the reporter's window
    holder = member_phone(stack, "m30")
    assert post_twilio(client, twilio_params(holder, f"收到 {third}")).status_code == 200
    replies()
    assert post_tencent(client, tencent_reply(holder, "完成")).status_code == 200   # bare: by-holder
    replies()
    assert stack.cases.get(third).outbox, "the reporter's notice waits for their window"
    clock.advance(BUNDLE_SECONDS + 1)
    redelivered = [dict(r, attributes=dict(r["attributes"], ApproximateReceiveCount="2")) for r in routing]
    assert failed_ids(invoke(client, "intake", redelivered)) == []
    assert not stack.cases.get(third).outbox
    fifth, _ = reported("changmu-01-2")
    resolved(fifth)
    assert stack.cases.get(fifth).outbox, "the reporter's notice waits for their window"
    clock.advance(BUNDLE_SECONDS + 1)
    assert sweep(client)["queued"] >= 1
    run_queue(client, stack, "escalation")
    assert not stack.cases.get(fifth).outbox

    for text in ("1", "查询"):                                        # the reporter: by-reporter
        stack.inbound_sms.accept(REPORTER, text, "test-gateway")
    stack.inbound_sms.accept(RESIDENT, "3号楼2单元门口有个大坑，晚上看不见", "test-gateway")   # an SMS report
    stack.inbound_sms.accept("+8613800000505", "5号楼2单元水管漏水了", "test-gateway")   # the same leak, by SMS
    stack.inbound_sms.accept(RESIDENT, "退订", "test-gateway")
    stack.inbound_sms.accept(leader, "什么意思", "test-gateway")      # an error reply, rate-limited
    stack.inbound_sms.accept(leader, "帮助", "test-gateway")
    replies()
    send_to(stack, "sms-inbound", "not json")
    replies()
    assert len(receive_all(stack, "sms-inbound-dlq")) == 1
    fails_once("sms_reply_worker", "sms-inbound", json.dumps({"from": leader, "text": "帮助"}))

    # -- sms_inbound_sns: an End User Messaging reply queued, a bad one dead-lettered
    for message in (end_user_messaging(leader, "帮助"), "not json"):
        client.lambda_.invoke("sms_inbound_sns", client.events.generate_sns_event(message=message))
    assert len(receive_all(stack, "sms-inbound")) == 1
    assert len(receive_all(stack, "sms-inbound-dlq")) == 1

    # -- weekly_report the Monday after: claims the week, reads the grids' facts and the listed
    # open cases' places, records it sent with the report (the robot is stubbed as above)
    patch.setenv("GRIDLOOP_WEEKLY_WEBHOOKS", json.dumps({"changmu": "https://robot.invalid/weekly"}))
    clock.now = at("2026-09-28 08:00")
    weekly = client.lambda_.invoke("weekly_report", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=[f"arn:aws:events:{REGION}:{ACCOUNT}:rule/gridloop-local-weekly_report"])).payload
    assert [r["week"] for r in weekly["sent"]] == ["2026-W39"], weekly

    # -- the service loop: sms_reply_worker, escalation_sweep and escalation_worker, care_visits
    from tests.functional.test_orders_by_sms import run_every_order_flow
    run_every_order_flow(client, stack, clock)

    # -- ops: every operator's command (tests/functional/test_ops.py)
    from tests.functional.test_ops import run_every_ops_command
    run_every_ops_command(client, stack, clock)
    from tests.functional.test_order_ops import run_every_order_command
    run_every_order_command(client, stack)
    from tests.functional.test_open311_keys import run_every_api_key_command
    run_every_api_key_command(client, stack)


# -- the checks -------------------------------------------------------------------------------------
def local_policy(function: str) -> Policy:
    return Policy(iam.policy_document(function, "local"))


def test_every_function_of_the_app_has_a_policy_and_no_policy_is_left_over():
    from app import app

    assert sorted(iam.functions_of(app)) == sorted(iam.POLICIES)


def test_every_function_ran(usage):
    assert sorted(usage.uses) == sorted(iam.POLICIES), "a function made no AWS request in the flows"


@pytest.mark.parametrize("function", sorted(iam.POLICIES))
def test_everything_a_function_does_is_allowed_to_it(usage, function):
    policy = local_policy(function)
    denied = sorted(use for use in usage.uses[function] if not policy.allows(*use))
    assert not denied, (
        f"{function} makes AWS requests its role does not allow (AccessDenied in AWS): {denied}. "
        f"Add them to POLICIES[{function!r}] in infra/iam.py, on exactly these resources.")


@pytest.mark.parametrize("function", sorted(iam.POLICIES))
def test_everything_allowed_to_a_function_is_something_it_does(usage, function):
    unused = []
    for grant in iam.POLICIES[function]:
        if grant.why:
            continue
        for action in grant.actions:
            for resource in grant.resources:
                pattern = resolve(iam.resource_arn(resource, function, "local"))
                if not any(used == action and matches(pattern, arn) for used, arn in usage.uses[function]):
                    unused.append((grant.sid, action, pattern))
    assert not unused, (
        f"{function}'s role allows what none of its flows does: {unused}. Take it out of "
        f"POLICIES[{function!r}] in infra/iam.py, or, if Lambda itself needs it, say so in the "
        f"grant's `why`; if a flow is missing here, add it to run_every_flow.")


def test_the_grants_no_flow_shows_are_only_what_lambda_itself_needs():
    """logs for each function on its own log group; the event source mapping's three actions on
    each consumer's own queue; SendMessage on the subscriber's async dead-letter queue."""
    from app import app

    queues = {s.name: s.queue for s in app.event_sources if type(s).__name__ == "SQSEventConfig"}
    for function, grants in iam.POLICIES.items():
        explained = {(g.actions, g.resources) for g in grants if g.why}
        expected = {(("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"), (iam.LOG_GROUP,))}
        if function in queues:
            purpose = re.sub(r"^gridloop-[a-z]+-", "", queues[function])   # app.py's import stage
            expected.add((("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
                          (iam.queue(purpose),)))
        if function == "sms_inbound_sns":
            expected.add((("sqs:SendMessage",), (iam.queue("sms-inbound-dlq"),)))
        assert explained == expected, function
        assert all(len(g.why) > 20 for g in grants if g.why)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_stages_policies_name_only_that_stages_own_resources(stage):
    resources = render(stage)["Resources"].values()
    tables = {r["Properties"]["TableName"]: {i["IndexName"] for i in r["Properties"].get("GlobalSecondaryIndexes", [])}
              for r in resources if r["Type"] == "AWS::DynamoDB::Table"}
    queues = {r["Properties"]["QueueName"] for r in resources if r["Type"] == "AWS::SQS::Queue"}
    for function in iam.POLICIES:
        document = iam.policy_document(function, stage)
        assert "gridloop-local-" not in json.dumps(document)
        for statement in document["Statement"]:
            named = statement["Resource"]
            for resource in named if isinstance(named, list) else [named]:
                arn = resolve(resource)
                if statement["Effect"] == "Deny" or arn == "*":
                    assert statement["Action"] in ("sns:Publish", ["sns:Publish"]), statement
                    continue
                service, name = arn.split(":")[2], arn.split(":", 5)[5]
                if service == "dynamodb":
                    table, _, index = name.removeprefix("table/").partition("/index/")
                    assert table in tables and (not index or index in tables[table]), arn
                elif service == "sqs":
                    assert name in queues, arn
                else:
                    assert arn == (f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/"
                                   f"{iam.function_name(function, stage)}:*"), arn
                assert "*" not in arn.removesuffix(":*"), f"a wildcard in {arn}"


def test_sms_may_go_to_phone_numbers_and_to_no_topic():
    policy = local_policy("case_worker")
    assert policy.allows("sns:Publish", "*")
    topic = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:gridloop-local-alerts"
    assert not policy.allows("sns:Publish", topic)
    assert not local_policy("api_handler").allows("sns:Publish", "*")


def test_the_packaged_roles_carry_these_policies_one_role_per_function(packaged_dev):
    from app import app

    roles = set()
    for function in iam.functions_of(app):
        resource = packaged_dev[iam.function_logical_id(function)]["Properties"]
        role = iam.role_logical_id(function)
        assert resource["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert resource["FunctionName"] == iam.function_name(function, "dev")
        assert packaged_dev[role]["Properties"]["Policies"] == [
            {"PolicyName": f"{role}Policy", "PolicyDocument": iam.policy_document(function, "dev")}]
        roles.add(role)
    assert len(roles) == len(iam.functions_of(app))
    # Nothing else in the template grants anything to our functions.
    other = [k for k, r in packaged_dev.items() if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::Policy",
                                                                "AWS::IAM::ManagedPolicy") and k not in roles]
    assert other == []
