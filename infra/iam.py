"""Each Lambda function's IAM policy: only the actions it uses, on only the resources it uses.

Chalice gives every function its own role (`autogen_policy` is off in .chalice/config.json)
and fills it from `.chalice/policy-{stage}.json`, which grants logging and nothing else.
`infra.template.merge_template` replaces that policy, role by role, with the one written
here, rendered for the stage: exact table, index and queue ARNs named `gridloop-{stage}-*`,
in the stack's own partition, region and account. A function of the app without an entry
here stops `make package` (fail closed).

`tests/infra/test_iam_policies.py` runs every function's flows on moto, records each AWS
request it makes (service, operation, resource), and checks both ways: everything a
function does is allowed to it, and everything allowed to it is something it does, except
the grants below that carry a `why`: those are used by Lambda itself on the function's
behalf (its logs, its queue's event source mapping, its dead-letter queue), never by our
code, so no flow can show them.

How an operation maps to IAM actions (what the test checks):
- a PynamoDB TransactWriteItems needs PutItem / UpdateItem / ConditionCheckItem /
  DeleteItem on each table in it, no action of its own;
- SQS SendMessageBatch is authorised as sqs:SendMessage;
- SNS Publish to a phone number has no resource ARN: `sms` below allows sns:Publish on "*"
  and denies it on every SNS ARN (topics, platform endpoints), so the role can text a phone
  and publish nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APP = "gridloop"
ARN = "arn:${AWS::Partition}"
HERE = "${AWS::Region}:${AWS::AccountId}"
EVERY_SNS_ARN = "arn:${AWS::Partition}:sns:*:*:*"


@dataclass(frozen=True)
class Grant:
    """`actions` on `resources` (symbolic, see `resource_arn`). `why`: set only on a grant no
    code of ours uses, saying who uses it; the test leaves those out of "is it used"."""
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    why: str | None = None


def table(purpose: str) -> str:
    return f"table:{purpose}"


def index(purpose: str, name: str) -> str:
    return f"index:{purpose}/{name}"


def queue(purpose: str) -> str:
    return f"queue:{purpose}"


SMS = "sms"          # sns:Publish to phone numbers only
LOG_GROUP = "log-group"   # the function's own log group


# -- what each function does ----------------------------------------------------------------
def _logs() -> Grant:
    return Grant("OwnLogGroup", ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
                 (LOG_GROUP,), why="the Lambda runtime writes the function's logs to its own log group")


def _event_source(purpose: str) -> Grant:
    return Grant("EventSourceMapping", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
                 (queue(purpose),),
                 why=f"Lambda's event source mapping polls gridloop-{{stage}}-{purpose} and deletes what "
                     f"the function took, with the function's role")


READ_DIRECTORY = Grant("ReadDirectory", ("dynamodb:Scan",), (table("directory"),))
TEXT_PHONES = Grant("TextPhones", ("sns:Publish",), (SMS,))


def _consumer(purpose: str, *grants: Grant) -> tuple[Grant, ...]:
    """A queue consumer: its own queue (event source, backoff of a retry) and its DLQ."""
    return (_logs(), _event_source(purpose),
            Grant("RetryBackoff", ("sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"), (queue(purpose),)),
            Grant("DeadLetters", ("sqs:GetQueueUrl", "sqs:SendMessage"), (queue(f"{purpose}-dlq"),)),
            *grants)


# What every worker does with a case: read it, write it (a PutItem, alone or in the
# TransactWriteItems that also takes its notices' send windows on the contacts table), read
# opt-outs and count per-phone limits on contacts (UpdateItem), and send the SMS.
CASES = Grant("Cases", ("dynamodb:GetItem", "dynamodb:PutItem"), (table("cases"),))
CONTACTS = Grant("Contacts", ("dynamodb:GetItem", "dynamodb:UpdateItem"), (table("contacts"),))
# The duplicate check (services.duplicates): the open cases of a building and category, one Query
# when a report is routed: by the case worker, the sweep's escalation worker (a report whose
# routing message was lost) and the reply worker (an SMS report); and by the report page, which
# asks "already reported?" before it sends a report (chalicelib/web/pages.py).
PLACES = Grant("OpenCasesAtPlace", ("dynamodb:Query",), (index("cases", "by-place"),))
# The points bank (adapters.points): an entry is one TransactWriteItems (its marker and two rows
# put, the balances, the day's cap counter and the shop's stock updated); a balance, an entry by
# id and a stock are GetItems, a statement and the shop's stock one Query each; a restock one
# UpdateItem. The reply worker (credits on an order's confirmation, the 积分 answer) and ops.
POINTS = Grant("PointsBank", ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
               (table("points"),))
# The service orders (services.orders), read and written whole as cases are: by the reply worker
# (点单, 派单, 接单, ... and the confirmer's 1 / 2, found on the by-confirmer index), the
# escalation worker (an order's timer) and ops.
ORDERS = Grant("Orders", ("dynamodb:GetItem", "dynamodb:PutItem"), (table("orders"),))
# The weekly report's and the daily digest's orders: one Query per community on the by-community
# index (adapters.orders.created_between: the projected facts), never a Scan.
ORDER_FACTS = Grant("OrderFacts", ("dynamodb:Query",), (index("orders", "by-community"),))

POLICIES: dict[str, tuple[Grant, ...]] = {
    # Every route of app.py is one function (Chalice's API handler).
    "api_handler": (
        _logs(),
        READ_DIRECTORY,
        CASES,
        Grant("CaseById", ("dynamodb:Query",), (index("cases", "by-id"),)),
        # A new report's admission, in its own TransactWriteItems (adapters.admission): the
        # sender's quota counted on contacts, and a condition that it is not on the block list.
        # The status page's look-ups are counted on contacts too (adapters.admission.DynamoQuotas).
        Grant("ReportQuotas", ("dynamodb:UpdateItem",), (table("contacts"),)),
        Grant("BlockList", ("dynamodb:ConditionCheckItem",), (table("blocklist"),)),
        Grant("Queues", ("sqs:GetQueueUrl", "sqs:SendMessage"), (queue("intake"), queue("sms-inbound"))),
        # Open311 (docs/open311.md): a client's API key is read (GetItem) and its calls counted
        # (ReportQuotas' UpdateItem) on contacts; GET requests lists a community's cases from the
        # by-grid index and reads those it lists, 100 to a BatchGetItem.
        Grant("ApiKeys", ("dynamodb:GetItem",), (table("contacts"),)),
        Grant("CaseList", ("dynamodb:Query",), (index("cases", "by-grid"),)),
        Grant("CaseListRead", ("dynamodb:BatchGetItem",), (table("cases"),)),
        # The report page's "already reported?" (docs/web.md): the open cases at the place (PLACES),
        # read in one BatchGetItem (CaseListRead); "me too" adds the case to the phone's followed
        # cases on contacts (ReportQuotas' UpdateItem) and saves the case (Cases).
        PLACES,
    ),
    "case_worker": _consumer("intake", READ_DIRECTORY, CASES, CONTACTS, TEXT_PHONES, PLACES),
    "escalation_worker": _consumer("escalation", READ_DIRECTORY, CASES, CONTACTS, TEXT_PHONES, PLACES, ORDERS),
    "sms_reply_worker": _consumer(
        "sms-inbound", READ_DIRECTORY, CASES, CONTACTS, TEXT_PHONES, PLACES, ORDERS, POINTS,
        Grant("OrdersToConfirm", ("dynamodb:Query",), (index("orders", "by-confirmer"),)),
        Grant("CaseIndexes", ("dynamodb:Query",), (index("cases", "by-holder"), index("cases", "by-reporter"))),
        # A resident on the block list is ignored (GetItem); an SMS report is admitted as a
        # web report is (ConditionCheckItem in its TransactWriteItems).
        Grant("BlockList", ("dynamodb:GetItem", "dynamodb:ConditionCheckItem"), (table("blocklist"),))),
    "sms_inbound_sns": (
        _logs(),
        Grant("InboundQueue", ("sqs:GetQueueUrl", "sqs:SendMessage"), (queue("sms-inbound"),)),
        Grant("DeadLetters", ("sqs:GetQueueUrl", "sqs:SendMessage"), (queue("sms-inbound-dlq"),)),
        Grant("AsyncDeadLetters", ("sqs:SendMessage",), (queue("sms-inbound-dlq"),),
              why="Lambda puts an SNS event that failed all its retries on the function's "
                  "dead-letter queue (infra/template.py) with the function's role"),
    ),
    "escalation_sweep": (
        _logs(),
        Grant("DueCases", ("dynamodb:Query",), (index("cases", "open-due"),)),
        Grant("DueOrders", ("dynamodb:Query",), (index("orders", "open-due"),)),
        Grant("EscalationQueue", ("sqs:GetQueueUrl", "sqs:SendMessage"), (queue("escalation"),)),
    ),
    # The operators' commands (services.ops), invoked from the console by staff allowed to
    # invoke it: what the workers do to a case, the sweep's index (overdue), the directory
    # import and export with its history, and moving dead letters back to their queues.
    "ops": (
        _logs(),
        READ_DIRECTORY,
        CASES, CONTACTS, TEXT_PHONES, POINTS, ORDERS,
        Grant("DueCases", ("dynamodb:Query",), (index("cases", "open-due"),)),
        Grant("DirectoryImport", ("dynamodb:PutItem", "dynamodb:ConditionCheckItem"), (table("directory"),)),
        # An import adds a version to the history (PutItem) after the latest (Query, for a
        # community new to the stage); an export of an older version reads it (GetItem).
        Grant("DirectoryHistory", ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"),
              (table("directory-history"),)),
        Grant("DeadLetterQueues", ("sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"),
              (queue("intake-dlq"), queue("escalation-dlq"), queue("sms-inbound-dlq"))),
        Grant("SourceQueues", ("sqs:GetQueueUrl", "sqs:SendMessage"),
              (queue("intake"), queue("escalation"), queue("sms-inbound"))),
        # weekly-report: built from the SLA facts as the schedule builds it, or read as sent.
        Grant("GridFacts", ("dynamodb:Query",), (index("cases", "by-grid"),)),
        Grant("CasePlaces", ("dynamodb:BatchGetItem",), (table("cases"),)),
        Grant("WeeklyReportLog", ("dynamodb:GetItem",), (table("digests"),)),
        ORDER_FACTS,      # (its honour roll's Queries on the points table are POINTS')
        # Open311's API keys (services.api_keys): one issued is a TransactWriteItems of its own item
        # (PutItem) and the registry's entry (UpdateItem) on contacts; revoked, two UpdateItems.
        Grant("ApiKeys", ("dynamodb:PutItem",), (table("contacts"),)),
    ),
    # The elderly members' monthly care visits (services.orders): placed (or found, on a later run)
    # and assigned as orders are, and the paired member texted (a member: no opt-out to read).
    "care_visits": (_logs(), READ_DIRECTORY, ORDERS, TEXT_PHONES),
    "daily_digest": (
        _logs(),
        READ_DIRECTORY,
        Grant("GridFacts", ("dynamodb:Query",), (index("cases", "by-grid"),)),
        Grant("CasePlaces", ("dynamodb:BatchGetItem",), (table("cases"),)),
        Grant("DigestLog", ("dynamodb:GetItem", "dynamodb:PutItem"), (table("digests"),)),
        # The month's orders of the community; each away member's balance (GetItem) and month (Query).
        ORDER_FACTS,
        Grant("AwayMembersPoints", ("dynamodb:GetItem", "dynamodb:Query"), (table("points"),)),
    ),
    # The digest's case reads; its week's record (and the report sent) on the digests table.
    "weekly_report": (
        _logs(),
        READ_DIRECTORY,
        Grant("GridFacts", ("dynamodb:Query",), (index("cases", "by-grid"),)),
        Grant("CasePlaces", ("dynamodb:BatchGetItem",), (table("cases"),)),
        Grant("WeeklyReportLog", ("dynamodb:GetItem", "dynamodb:PutItem"), (table("digests"),)),
        # The week's orders; the honour roll: one Query per member on the points table.
        ORDER_FACTS,
        Grant("HonourRoll", ("dynamodb:Query",), (table("points"),)),
    ),
}


# -- rendering --------------------------------------------------------------------------------
def function_name(function: str, stage: str) -> str:
    """The Lambda function's name: the one `chalice deploy` gives (the API handler is
    gridloop-{stage}); infra.template sets it, so the log group's ARN is exact."""
    return f"{APP}-{stage}" if function == "api_handler" else f"{APP}-{stage}-{function}"


def resource_arn(resource: str, function: str, stage: str) -> Any:
    """A symbolic resource as CloudFormation's ARN (an Fn::Sub) for the stage, or "*" for SMS."""
    if resource == SMS:
        return "*"
    if resource == LOG_GROUP:
        return {"Fn::Sub": f"{ARN}:logs:{HERE}:log-group:/aws/lambda/{function_name(function, stage)}:*"}
    kind, _, name = resource.partition(":")
    if kind == "table":
        return {"Fn::Sub": f"{ARN}:dynamodb:{HERE}:table/{APP}-{stage}-{name}"}
    if kind == "index":
        purpose, _, index_name = name.partition("/")
        return {"Fn::Sub": f"{ARN}:dynamodb:{HERE}:table/{APP}-{stage}-{purpose}/index/{index_name}"}
    if kind == "queue":
        return {"Fn::Sub": f"{ARN}:sqs:{HERE}:{APP}-{stage}-{name}"}
    raise ValueError(f"unknown resource {resource!r}")


def policy_document(function: str, stage: str) -> dict[str, Any]:
    """The function's whole policy for the stage."""
    if function not in POLICIES:
        raise ValueError(f"infra/iam.py has no IAM policy for the Lambda function {function!r}: "
                         f"add one to POLICIES with only what it uses")
    statements: list[dict[str, Any]] = []
    used_sids: dict[str, int] = {}
    for grant in POLICIES[function]:
        used_sids[grant.sid] = used_sids.get(grant.sid, 0) + 1
        sid = grant.sid if used_sids[grant.sid] == 1 else f"{grant.sid}{used_sids[grant.sid]}"
        resources = [resource_arn(r, function, stage) for r in grant.resources]
        statements.append({"Sid": sid, "Effect": "Allow", "Action": sorted(grant.actions),
                           "Resource": resources[0] if len(resources) == 1 else resources})
    if any(SMS in grant.resources for grant in POLICIES[function]):
        statements.append({"Sid": "TextPhonesOnly", "Effect": "Deny", "Action": "sns:Publish",
                           "Resource": {"Fn::Sub": EVERY_SNS_ARN}})
    return {"Version": "2012-10-17", "Statement": statements}


def functions_of(app: Any) -> list[str]:
    """The Lambda functions Chalice makes of the app: the API handler (every route), one per
    event source (queue consumer, topic subscriber, schedule) and one per @app.lambda_function."""
    names = ["api_handler"] if app.routes else []
    return names + [source.name for source in app.event_sources] + [f.name for f in app.pure_lambda_functions]


def function_logical_id(function: str) -> str:
    """The function's resource in Chalice's SAM template (its role is `<this>Role`, but the
    API handler's role is ApiHandlerRole)."""
    from chalice.utils import to_cfn_resource_name
    return "APIHandler" if function == "api_handler" else to_cfn_resource_name(function)


def role_logical_id(function: str) -> str:
    from chalice.utils import to_cfn_resource_name
    return to_cfn_resource_name(f"{function}_role")
