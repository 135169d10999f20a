"""What one inbound SMS causes happens once, however often SQS delivers it.

A case's notices have the case's outbox (services.notices). The reply worker's direct
answers (查询, 帮助, an error reply, the confirmation of 退订 / 订阅) have no case to keep
them in, and the counts and opt-outs they depend on are in the contacts table. While an
inbound SMS is handled (`handling`), its key (sms_replies.sms_seed: the gateway's message id,
else the queued message itself) is known here, and

- each answer is sent through `OnceSms`: the n-th answer to that SMS has a record
  (AnswerLedger) written as "sending" just before the send and "sent" just after. A
  redelivery skips what is sent; what is "sending" belongs to a worker that may still be
  at it, and is only sent again once SENDING_SECONDS have passed (the worker died, maybe
  after the send: the one at-least-once boundary). Records expire (TTL) after KEEP_SECONDS;
- the contacts table's counts and opt-outs are keyed by it (adapters.answers.OnceContacts):
  a redelivered SMS is not counted again, and still knows that it was the one that opted
  its phone out (so its confirmation is not lost when the first delivery died before it).
"""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Longer than a Lambda invocation (30 s) with its retries: a record "sending" for longer
# than this belongs to a worker that died.
SENDING_SECONDS = 60.0
# An inbound SMS may come back while SQS keeps it (4 days) and after a redrive from its
# dead-letter queue (kept 14 days): its records must outlive both.
KEEP_SECONDS = 20 * 86400


@dataclass
class Handling:
    key: str
    answers: int = 0          # answers sent (or skipped as sent) so far


_current: contextvars.ContextVar[Handling | None] = contextvars.ContextVar("gridloop_inbound", default=None)


@contextmanager
def handling(key: str) -> Iterator[Handling]:
    """While an inbound SMS with this key is handled."""
    token = _current.set(Handling(key))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_key() -> str | None:
    """The key of the inbound SMS being handled, if any."""
    now = _current.get()
    return now.key if now is not None else None


class AnswerInFlight(Exception):
    """Another worker is sending this answer (or died doing so): try again once its
    record says "sent" or has expired. `retry_after`: seconds until then (sqs_batch)."""

    def __init__(self, key: str, retry_after: float):
        super().__init__(f"answer {key} is being sent by another worker")
        self.retry_after = max(1.0, retry_after)


class AnswerLedger(Protocol):
    def claim(self, phone: str, key: str, now: float, until: float, keep_until: float) -> str | float:
        """Record that this answer is being sent, unless it is: "claimed" (ours to send),
        "sent" (already), or when another's claim ends (a float)."""

    def sent(self, phone: str, key: str, message_id: str | None, now: float, keep_until: float) -> None: ...

    def release(self, phone: str, key: str) -> None:
        """The send failed for sure: the next try may send at once."""


class OnceSms:
    """The SmsSender of the reply worker's direct answers: once per inbound SMS (see the
    module's docstring); outside `handling`, a plain sender."""

    def __init__(self, sms: Any, ledger: AnswerLedger, clock: Callable[[], float]):
        self._sms, self._ledger, self._clock = sms, ledger, clock

    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        current = _current.get()
        if current is None:
            return self._sms.send(phone, text, case_id)
        current.answers += 1
        key = f"{current.key}#{current.answers}"
        now = self._clock()
        claim = self._ledger.claim(phone, key, now, now + SENDING_SECONDS, now + KEEP_SECONDS)
        if claim == "sent":
            log.info("answer %s was sent before: not again", key)
            return None
        if not isinstance(claim, str):
            raise AnswerInFlight(key, float(claim) - now)
        try:
            message_id = self._sms.send(phone, text, case_id)
        except Exception:
            self._ledger.release(phone, key)
            raise
        self._ledger.sent(phone, key, message_id, self._clock(), now + KEEP_SECONDS)
        return message_id
