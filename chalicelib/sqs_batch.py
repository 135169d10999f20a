"""Running a queue consumer over an SQS batch with partial batch responses.

A message that can never work (PermanentFailure) goes to the queue's dead-letter
queue at once, with the reason; one that keeps failing goes there with its last
error when its receive count reaches the redrive limit. Either way nothing is
dropped, and the rest of the batch is processed.

A failed record comes back through ChangeMessageVisibility (`retry_later`), sooner or
later by what failed: a failure that may pass on its own (`is_transient`: a throttle, a
5xx, a timeout, a race that a re-read resolves) in a second or two and then ×5 (about
10 s, 50 s, 250 s: dead-lettered after about five minutes of failing), anything else
(likely a bug, or an outage a few seconds will not fix) after about 30 s and then
doubling; both with jitter, at most 15 minutes (`backoff_seconds`).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from chalicelib.domain.privacy import redact
from chalicelib.services.intake import PermanentFailure
from chalicelib.services.ports import ConcurrentUpdate, DeadLetters, WindowBusy
from chalicelib.services.telemetry import NoTelemetry, Telemetry

log = logging.getLogger("gridloop.consumer")

RecordHandler = Callable[[str, str], Any]   # (body, message_id)


class RetryLater(Exception):
    """A record that failed and comes back: its error, as the log may say it."""


def queue_purpose(source: str) -> str:
    """gridloop-{stage}-{purpose} → purpose: a metric's dimension, the same in every stage."""
    parts = source.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "gridloop" else source


# -- what may pass on its own ----------------------------------------------------------------
# Error codes of AWS answers: botocore's own throttling codes (botocore.retries.standard,
# ThrottledRetryableChecker; tests/unit/test_sqs_batch_retry.py keeps this a superset) and
# the throttles it misses (SNS Publish's modeled "Throttled", KMS's behind SNS and SQS).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException", "Throttled", "KMSThrottling", "KmsThrottled"})
# The service failing on its side, by name: PynamoDB's errors keep the code, not the HTTP status.
SERVICE_CODES = frozenset({
    "InternalServerError", "InternalError", "InternalFailure", "InternalErrorException", "ServiceUnavailable",
    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException"})
# Someone wrote first: the redelivery reads again and redoes (or finds done) the change.
RACE_CODES = frozenset({"ConditionalCheckFailedException", "TransactionConflictException",
                        "ReplicatedWriteConflictException"})
# A cancelled transaction passes when every item that cancelled it was one of these.
PASSING_CANCELLATIONS = frozenset({"TransactionConflict", "ConditionalCheckFailed", "ThrottlingError",
                                   "ProvisionedThroughputExceeded"})
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
# botocore.exceptions' bases of what its HTTP layer raises: ConnectTimeoutError,
# EndpointConnectionError, ReadTimeoutError, ConnectionClosedError, ...
BOTOCORE_NETWORK_ERRORS = frozenset({"ConnectionError", "HTTPClientError"})


def is_transient(error: BaseException) -> bool:
    """Whether `error` may pass by itself within seconds, so that its record is worth trying
    again soon: AWS throttling or failing on its side, a connection or read timeout, a
    conditional write or transaction that lost a race, the case changed meanwhile
    (ConcurrentUpdate) or a send window busy (WindowBusy), or anything that says when to
    come back (`retry_after`: services.answers.AnswerInFlight). Looks through PynamoDB's
    wrappers (`cause`) and explicit chains (`raise ... from`). Duck-typed: no AWS library
    is imported here; by the time one of their errors exists, it is loaded anyway."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen or len(seen) > 8:
            continue
        seen.add(id(current))
        if _passes(current):
            return True
        pending += [getattr(current, "cause", None), current.__cause__]
    return False


def _passes(error: BaseException) -> bool:
    if isinstance(error, (ConcurrentUpdate, WindowBusy)) or getattr(error, "retry_after", None):
        return True
    if any(cls.__module__ == "botocore.exceptions" and cls.__name__ in BOTOCORE_NETWORK_ERRORS
           for cls in type(error).__mro__):
        return True
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = (response.get("Error") or {}).get("Code")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code in THROTTLING_CODES or code in SERVICE_CODES or code in RACE_CODES or status in TRANSIENT_STATUS:
        return True
    if code == "TransactionCanceledException":
        reasons = [r.get("Code") for r in response.get("CancellationReasons") or []] or \
                  [getattr(r, "code", None) for r in getattr(error, "cancellation_reasons", None) or []]
        cancelled = {r for r in reasons if r not in (None, "None")}
        return bool(cancelled) and cancelled <= PASSING_CANCELLATIONS
    return False


# -- when it comes back --------------------------------------------------------------------------
TRANSIENT_FIRST_RETRY = 2      # seconds, at most, after a first failure that may pass
# ... then ×5: a record that keeps failing so is dead-lettered after about five minutes of
# it (2 + 10 + 50 + 250 s with the default maxReceiveCount 5), not after half a minute.
TRANSIENT_GROWTH = 5
OTHER_FIRST_RETRY = 30         # seconds, at most, after any other first failure; then ×2
MAX_BACKOFF = 900              # 15 minutes (SQS allows up to 12 hours)
JITTER = 0.75                  # a delay is drawn from [JITTER × its ceiling, its ceiling]


def backoff_ceiling(receives: int, transient: bool = False) -> int:
    """The longest delay `backoff_seconds` draws after the `receives`-th receive failed."""
    first, growth = (TRANSIENT_FIRST_RETRY, TRANSIENT_GROWTH) if transient else (OTHER_FIRST_RETRY, 2)
    return min(MAX_BACKOFF, first * growth ** min(max(0, receives - 1), 20))


def backoff_seconds(receives: int, transient: bool = False) -> int:
    """Exponential, with jitter so that messages that failed together do not all come back
    together, and never 0 (visible at once: a hot loop). Transient: 1-2 s after the first
    failure, 7-10, 37-50, 187-250, ...; otherwise 22-30 s, 45-60, 90-120, ...; at most 15 minutes."""
    import random

    ceiling = backoff_ceiling(receives, transient)
    return random.randint(max(1, int(ceiling * JITTER)), ceiling)


def retry_delay(error: BaseException, receives: int) -> tuple[int, bool]:
    """(seconds until the record's next try, whether its error may pass by itself): the
    backoff for its kind, at least as long as the error asks for (`retry_after`)."""
    transient = is_transient(error)
    floor = math.ceil(float(getattr(error, "retry_after", 0) or 0))
    return max(backoff_seconds(receives, transient), floor), transient


def process_batch(event: dict, context: Any, handle: RecordHandler, dead_letters: DeadLetters,
                  source: str, max_receive_count: int,
                  retry_later: Callable[[str, int], None] | None = None,
                  telemetry: Telemetry | None = None) -> dict:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    telemetry = telemetry or NoTelemetry()
    queue = queue_purpose(source)

    def record_handler(record: Any) -> None:
        telemetry.about_case(None, None)      # the last record's case is not this one's
        # A message redriven from its dead-letter queue is a new SQS message: the id it had
        # (kept beside it there) is still what it is, so a console report makes one report.
        kept = record.message_attributes["message_id"]
        message_id = (kept.string_value if kept is not None else None) or record.message_id
        if kept is not None and int(record.attributes.approximate_receive_count or 1) == 1:
            telemetry.count("Redriven", queue=queue)    # its first delivery since the redrive
        try:
            handle(record.body, message_id)
        except PermanentFailure as failure:
            log.warning("dead-lettering %s from %s: %s", record.message_id, source, redact(str(failure)))
            dead_letters.put(record.body, str(failure), source, message_id)
            telemetry.count("DeadLettered", queue=queue)
        except Exception as error:
            receives = int(record.attributes.approximate_receive_count or 1)
            # What the log may say: errors from elsewhere can quote a phone (SNS names the
            # number it refused). The dead letter keeps the whole error, beside the message.
            said = f"{type(error).__name__}: {redact(str(error))}"
            if receives >= max_receive_count:
                log.error("giving up on %s from %s after %d receives: %s",
                          record.message_id, source, receives, said)
                dead_letters.put(record.body, f"failed {receives} times, last: {error!r}", source, message_id)
                telemetry.count("DeadLettered", queue=queue)
                return
            delay, transient = retry_delay(error, receives)
            when = "after the queue's visibility timeout"
            if retry_later is not None:
                try:   # back off instead of coming back after the fixed visibility timeout
                    retry_later(record.receipt_handle, delay)
                    when = f"in {delay} s"
                except Exception as backoff_error:   # the fixed timeout still applies
                    log.warning("could not delay the retry of %s: %r", record.message_id, backoff_error)
            log.warning("retrying %s from %s %s (receive %d of %d, %s): %s", record.message_id, source, when,
                        receives, max_receive_count, "transient" if transient else "not known to pass", said)
            raise RetryLater(said) from error     # Powertools logs the message of what it gets

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=processor, context=context)
