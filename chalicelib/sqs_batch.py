"""Running a queue consumer over an SQS batch with partial batch responses.

A message that can never work (PermanentFailure) goes to the queue's dead-letter
queue at once, with the reason; one that keeps failing goes there with its last
error when its receive count reaches the redrive limit. Either way nothing is
dropped, and the rest of the batch is processed.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from chalicelib.domain.privacy import redact
from chalicelib.services.intake import PermanentFailure
from chalicelib.services.ports import DeadLetters
from chalicelib.services.telemetry import NoTelemetry, Telemetry

log = logging.getLogger("gridloop.consumer")

RecordHandler = Callable[[str, str], Any]   # (body, message_id)


class RetryLater(Exception):
    """A record that failed and comes back: its error, as the log may say it."""


def queue_purpose(source: str) -> str:
    """gridloop-{stage}-{purpose} → purpose: a metric's dimension, the same in every stage."""
    parts = source.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "gridloop" else source


def backoff_seconds(receives: int) -> int:
    """Exponential, with jitter so that messages that failed together do not all come back
    together: about 30 s after the first failure, 60, 120, ... at most 15 minutes."""
    import random

    base = min(900, 30 * 2 ** max(0, receives - 1))
    return int(base * random.uniform(0.75, 1.0))


def process_batch(event: dict, context: Any, handle: RecordHandler, dead_letters: DeadLetters,
                  source: str, max_receive_count: int,
                  retry_later: Callable[[str, int], None] | None = None,
                  telemetry: Telemetry | None = None) -> dict:
    from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                       process_partial_response)

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
            if retry_later is not None:
                try:   # back off instead of coming back after the fixed visibility timeout
                    # At least as long as the error asks for (services.answers.AnswerInFlight).
                    delay = max(backoff_seconds(receives), int(getattr(error, "retry_after", 0) or 0))
                    retry_later(record.receipt_handle, delay)
                except Exception as backoff_error:   # the fixed timeout still applies
                    log.warning("could not delay the retry of %s: %r", record.message_id, backoff_error)
            raise RetryLater(said) from error     # Powertools logs the message of what it gets

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=processor, context=context)
