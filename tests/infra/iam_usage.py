"""What each Lambda function does in AWS, as IAM sees it, and what its policy allows.

`Recorder` wraps every botocore client (boto3's and PynamoDB's: all requests go through
`BaseClient._make_api_call`) and the Chalice test client: an HTTP request runs as the API
handler, `client.lambda_.invoke(name, ...)` as that function. Each function gets its own
composition root (bootstrap.Container), as each has its own warm container in Lambda, so a
queue URL or the directory one function looked up is not lent to another.
"""
from __future__ import annotations

import contextlib
import fnmatch
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"    # moto's default account
PHONE = "*"      # sns:Publish to a phone number: IAM has no ARN for it, the request is on "*"

# Operations that IAM authorises under another action's name.
SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
               "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
# TransactWriteItems has no action of its own: each item needs its own on its table.
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "ConditionCheck": "ConditionCheckItem",
                    "Delete": "DeleteItem", "Get": "GetItem"}


def iam_requests(service: str, operation: str, params: dict[str, Any], region: str,
                 account: str = ACCOUNT) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one API call needs."""
    if service == "dynamodb":
        def arn(table: str, index: str | None = None) -> str:
            return f"arn:{PARTITION}:dynamodb:{region}:{account}:table/{table}" + (f"/index/{index}" if index else "")
        if operation in ("TransactWriteItems", "TransactGetItems"):
            return [(f"dynamodb:{TRANSACT_ACTIONS[kind]}", arn(body["TableName"]))
                    for item in params["TransactItems"] for kind, body in item.items()]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", arn(table)) for table in params["RequestItems"]]
        return [(f"dynamodb:{operation}", arn(params["TableName"], params.get("IndexName")))]
    if service == "sqs":
        name = params.get("QueueName") or str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{SQS_ACTIONS.get(operation, operation)}", f"arn:{PARTITION}:sqs:{region}:{account}:{name}")]
    if service == "sns":
        return [(f"sns:{operation}", params.get("TopicArn") or params.get("TargetArn") or PHONE)]
    return [(f"{service}:{operation}", "*")]


class Recorder:
    def __init__(self, make_container: Callable[[], Any]):
        self._make_container = make_container
        self.function: str | None = None
        self.containers: dict[str, Any] = {}
        self.uses: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.calls: dict[str, list[str]] = defaultdict(list)

    def container(self, function: str) -> Any:
        if function not in self.containers:
            self.containers[function] = self._make_container()
        return self.containers[function]

    @contextlib.contextmanager
    def running(self, function: str) -> Iterator[None]:
        from chalicelib import bootstrap

        outer, outer_container = self.function, bootstrap._container
        self.function = function
        bootstrap.use(self.container(function))
        try:
            yield
        finally:
            self.function = outer
            bootstrap.use(outer_container)

    def record(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        if self.function is None:       # the test's own setup and checks
            return
        service = client.meta.service_model.service_name
        for action, resource in iam_requests(service, operation, params, client.meta.region_name):
            self.uses[self.function].add((action, resource))
        self.calls[self.function].append(f"{service}.{operation}")

    def install(self, patch: Any) -> None:
        """Hook botocore and the Chalice test client (through `patch`, a MonkeyPatch)."""
        from botocore.client import BaseClient
        from chalice.test import TestHTTPClient, TestLambdaClient

        recorder = self
        make_api_call = BaseClient._make_api_call
        http_request = TestHTTPClient.request
        lambda_invoke = TestLambdaClient.invoke

        def recorded_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            recorder.record(client, operation, params)
            return make_api_call(client, operation, params)

        def as_api_handler(client: Any, *args: Any, **kwargs: Any) -> Any:
            with recorder.running("api_handler"):
                return http_request(client, *args, **kwargs)

        def as_function(client: Any, function_name: str, payload: Any = None) -> Any:
            with recorder.running(function_name):
                return lambda_invoke(client, function_name, payload)

        patch.setattr(BaseClient, "_make_api_call", recorded_call)
        patch.setattr(TestHTTPClient, "request", as_api_handler)
        patch.setattr(TestLambdaClient, "invoke", as_function)


# -- policies ---------------------------------------------------------------------------------
def resolve(value: Any, region: str = REGION, account: str = ACCOUNT) -> str:
    """An ARN of the template (a string or an Fn::Sub on the pseudo parameters only)."""
    if isinstance(value, dict):
        [(function, text)] = value.items()
        assert function == "Fn::Sub" and isinstance(text, str), value
        value = (text.replace("${AWS::Partition}", PARTITION).replace("${AWS::Region}", region)
                 .replace("${AWS::AccountId}", account))
        assert "${" not in value, f"unresolved substitution in {value}"
    return value


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def matches(pattern: str, value: str) -> bool:
    """IAM's wildcards: * any run of characters (across : and /), ? one character."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


class Policy:
    """One policy document's Allow and Deny statements, evaluated as IAM does for a single
    identity policy: an explicit Deny wins, else an Allow is needed."""

    def __init__(self, document: dict[str, Any]):
        self.statements = []
        for statement in document["Statement"]:
            assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, \
                f"{statement.get('Sid')}: only Action and Resource are checked here, not {sorted(statement)}"
            self.statements.append((statement.get("Sid"), statement["Effect"],
                                    [a.lower() for a in _listed(statement["Action"])],
                                    [resolve(r) for r in _listed(statement["Resource"])]))

    def _matching(self, effect: str, action: str, resource: str) -> list[str]:
        return [sid for sid, eff, actions, resources in self.statements if eff == effect
                and any(matches(a, action.lower()) for a in actions)
                and any(matches(r, resource) for r in resources)]

    def allows(self, action: str, resource: str) -> bool:
        return not self._matching("Deny", action, resource) and bool(self._matching("Allow", action, resource))

    def allowed(self) -> list[tuple[str, str, str]]:
        """(sid, action, resource pattern) of every Allow."""
        return [(sid, action, resource) for sid, effect, actions, resources in self.statements
                if effect == "Allow" for action in actions for resource in resources]
