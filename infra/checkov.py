"""The checkov rules that do not apply to gridloop's packaged template, each with why.

`make lint` (and tests/infra/test_checkov.py) runs checkov on build/{stage}/sam.json and
fails on any finding. A finding is fixed in infra/resources.json or infra/template.py when
it can be; otherwise it is listed here, and `infra.template.merge_template` writes it into
the resource's `Metadata.checkov.skip` with its reason, where checkov (and a reader of the
template) finds it. Each skip names its resources by logical id, or by a rule over the app's
functions, never "every resource": a new resource is checked in full until someone decides.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLES = ("CasesTable", "DirectoryTable", "DirectoryHistoryTable", "ContactsTable", "BlocklistTable",
          "DigestsTable", "PointsTable", "OrdersTable")
QUEUES = ("IntakeQueue", "IntakeDeadLetterQueue", "EscalationQueue", "EscalationDeadLetterQueue",
          "SmsInboundQueue", "SmsInboundDeadLetterQueue")


@dataclass(frozen=True)
class Skip:
    check: str
    why: str
    resources: Callable[[Any], tuple[str, ...]]   # the app → logical ids the skip is for


def _functions(app: Any) -> tuple[str, ...]:
    from infra import iam
    return tuple(iam.function_logical_id(f) for f in iam.functions_of(app))


def _functions_without_async_events(app: Any) -> tuple[str, ...]:
    """Every function but the SNS subscriber, the one Lambda invokes asynchronously with an
    event worth keeping; it has its dead-letter queue (infra/template._sns_subscriber)."""
    from chalice.utils import to_cfn_resource_name
    subscribers = {to_cfn_resource_name(s.name) for s in app.event_sources if type(s).__name__ == "SNSEventConfig"}
    return tuple(f for f in _functions(app) if f not in subscribers)


def _roles_that_text_phones(app: Any) -> tuple[str, ...]:
    from infra import iam
    return tuple(iam.role_logical_id(f) for f in iam.functions_of(app)
                 if any(iam.SMS in grant.resources for grant in iam.POLICIES.get(f, ())))


SKIPS: tuple[Skip, ...] = (
    Skip("CKV_AWS_119", "DynamoDB encrypts every table at rest with an AWS owned key; a customer managed "
         "KMS key would add $1 a month per key and a KMS request per uncached read or write, and "
         "control over a key we have no one to administer", lambda app: TABLES),
    Skip("CKV_AWS_27", "encrypted with SQS-managed keys (SqsManagedSseEnabled: true, SSE-SQS); the check "
         "only accepts a KMS key, which would need KMS grants in every sender's and consumer's role "
         "and a KMS request per data key", lambda app: QUEUES),
    Skip("CKV_AWS_26", "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key "
         "aws/sns (its key policy cannot let cloudwatch.amazonaws.com in), and nothing sensitive is "
         "published: alarm names and states", lambda app: ("AlertsTopic",)),
    Skip("CKV_AWS_26", "AWS End User Messaging publishes members' replies here; it cannot use the AWS "
         "managed key aws/sns, whose key policy cannot let sms-voice.amazonaws.com in",
         lambda app: ("SmsInboundTopic",)),
    Skip("CKV_AWS_117", "the functions use only DynamoDB, SQS and SNS over their public endpoints; "
         "a VPC would need NAT or an interface endpoint per service (a fixed monthly cost) and "
         "protects nothing: there is no private resource to reach", _functions),
    Skip("CKV_AWS_115", "a new account's concurrency quota is 10, and AWS refuses a reservation that "
         "leaves fewer than 10 unreserved: a reservation per function would fail the deploy. "
         "Floods are limited per phone and address (domain.admission) and by the queues",
         _functions),
    Skip("CKV_AWS_173", "Lambda encrypts environment variables at rest with its AWS managed key; they "
         "hold the stage and settings, and the gateways' secrets come from Secrets Manager by "
         "dynamic reference (docs/sms-gateways.md); a customer managed key adds no protection "
         "from anyone who may read the function's configuration", _functions),
    Skip("CKV_AWS_116", "a function dead-letter queue only catches asynchronous invocations: the API "
         "handler is invoked synchronously, the queue consumers by event source mappings whose "
         "queues redrive to their own dead-letter queues, and a failed scheduled run (the sweep, "
         "the digest) carries no data and runs again on its schedule",
         _functions_without_async_events),
    Skip("CKV_AWS_111", "sns:Publish on \"*\" is how a role texts a phone number, which has no ARN; "
         "the same policy denies sns:Publish on every SNS ARN (infra/iam.py, TextPhonesOnly), so "
         "no topic or endpoint can be written", _roles_that_text_phones),
    Skip("CKV_AWS_120", "the GET routes answer a report's live status: a cache would serve a stale one, "
         "and the smallest cache cluster costs about $14 a month", lambda app: ("RestAPI",)),
    Skip("CKV_AWS_76", "access logs need API Gateway's account-wide CloudWatch role "
         "(AWS::ApiGateway::Account, one per account and region, not this stack's to own), and "
         "would keep every resident's IP address, which gridloop stores only as a pseudonym "
         "(docs/security.md \"Personal data\")", lambda app: ("RestAPI",)),
    Skip("CKV_AWS_73", "the code records no X-Ray segments (no tracer); a request is followed by its "
         "structured log lines, and tracing the API alone records empty traces at a price",
         lambda app: ("RestAPI",)),
)


def apply(app: Any, resources: dict[str, Any]) -> None:
    """Write each skip into its resources' Metadata (the merge template's entry for it).
    tests/infra/test_checkov.py checks that every skip lands on a resource of the packaged
    template and that checkov then finds nothing."""
    for skip in SKIPS:
        for logical_id in skip.resources(app):
            entry = resources.setdefault(logical_id, {})
            skips = entry.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
            skips.append({"id": skip.check, "comment": skip.why})


def skipped(template: dict[str, Any]) -> dict[str, set[str]]:
    """{logical id: check ids skipped on it} of a packaged template."""
    return {logical_id: {s["id"] for s in r.get("Metadata", {}).get("checkov", {}).get("skip", [])}
            for logical_id, r in template["Resources"].items()
            if r.get("Metadata", {}).get("checkov", {}).get("skip")}


# -- running it --------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".cache" / "checkov" / "bin" / "checkov"   # `make checkov` installs it there
# Without these, checkov asks Prisma Cloud for guideline links and PyPI for a newer checkov
# on every run (and waits out its retries where it cannot reach them): the checks need neither.
OFFLINE = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}


def command(template: Path) -> list[str]:
    return [str(CHECKOV), "--file", str(template), "--framework", "cloudformation", "--skip-download",
            "--compact", "--quiet"]


def main(argv: list[str] | None = None) -> int:
    """python -m infra.checkov build/dev/sam.json: exit 0 when checkov finds nothing."""
    import os

    # subprocess: the pinned checkov of .cache, no shell.
    import subprocess  # nosec B404

    (template,) = argv if argv is not None else sys.argv[1:]
    if not CHECKOV.exists():
        print(f"{CHECKOV} is missing: run `make checkov` (checkov has its own venv, see Makefile)", file=sys.stderr)
        return 2
    return subprocess.run(command(Path(template)), env={**os.environ, **OFFLINE}).returncode


if __name__ == "__main__":
    sys.exit(main())
