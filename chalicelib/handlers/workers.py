"""The queues' consumers (partial batch responses: chalicelib.sqs_batch), the operators'
`ops` function and the schedules: the sweep, the daily digest and the weekly report."""
from __future__ import annotations

from typing import Any

from chalicelib import bootstrap

from .common import _invocation, log


def consume(purpose: str, event: Any) -> dict:
    c = bootstrap.container()
    with _invocation(WORKERS[purpose]):
        return _consume(c, purpose, event)


# The function of each queue's consumer (app.py), as its log lines name it.
WORKERS = {"intake": "case_worker", "escalation": "escalation_worker", "sms-inbound": "sms_reply_worker"}


def _consume(c: Any, purpose: str, event: Any) -> dict:
    from chalicelib.sqs_batch import process_batch

    handle = {
        "intake": lambda body, message_id: c.workflow.route(c.intake.parse_queue_message(body, message_id)),
        "escalation": lambda body, _: _escalate(c, body),
        "sms-inbound": lambda body, _: c.workflow.reply(body),
    }[purpose]
    return process_batch(event.to_dict(), event.context, handle, c.dead_letters(purpose),
                         c.config.name(purpose), c.config.max_receive_count,
                         retry_later=c.queue(purpose).retry_later, telemetry=c.telemetry)


def _escalate(c: Any, body: str) -> Any:
    """An escalation-queue message: a case's deadline, or an order's timer (services.orders)."""
    from chalicelib.services.orders import is_order_message
    return c.orders.escalate(body) if is_order_message(body) else c.workflow.escalate(body)


def ops(event: Any, context: Any) -> dict:
    """The operators' commands (docs/operations.md): a JSON command in, a JSON answer out.
    A wrong or refused command is an answer ({"ok": false, ...}), not an error; a failure of
    ours raises, so that it counts in the function's errors. The console does not tell
    Lambda who invoked it: the command names its operator, and the request id ties the
    change on the case to the invocation (and to CloudTrail, where Lambda data events are on)."""
    request = getattr(context, "aws_request_id", None)
    with _invocation("ops"):
        return bootstrap.container().ops.run(event, request=f"lambda:{request}" if request else None)


def sweep() -> dict:
    with _invocation("escalation_sweep"):
        c = bootstrap.container()
        queued = c.workflow.sweep()
        orders = c.orders.sweep()
        log.info("escalation sweep queued %d cases and %d orders", queued, orders)
        return {"queued": queued, "orders": orders}


def digest() -> dict:
    """The away members' daily digest: every community whose local digest hour has come and
    whose digest has not gone out today (docs/digest-and-weekly.md "Daily digest"). A failed
    post raises, so the schedule's retry, or the next hourly run, tries again; what was sent
    is not sent again."""
    with _invocation("daily_digest"):
        result = bootstrap.container().digest.run()
        if result["sent"]:
            log.info("daily digest sent: %s", ", ".join(f"{d['community']}/{d['grid']}" for d in result["sent"]))
        return result


def weekly_report() -> dict:
    """The weekly joint-meeting report (docs/digest-and-weekly.md "Weekly joint-meeting
    report"): each configured community's report of last week to its committee's group robot,
    once per week. A failed post raises, so the schedule's retry, or the next hourly run,
    tries again."""
    with _invocation("weekly_report"):
        result = bootstrap.container().weekly_reports.run()
        if result["sent"]:
            log.info("weekly report sent: %s", ", ".join(f"{r['community']}/{r['week']}" for r in result["sent"]))
        return result


def care_visits() -> dict:
    """This month's care visit to each elderly member, assigned to their paired member
    (services.orders.schedule_care_visits); a run that finds them made changes nothing."""
    with _invocation("care_visits"):
        made = bootstrap.container().orders.schedule_care_visits()
        if made:
            log.info("care visits made: %s", ", ".join(made))
        return {"made": made}
