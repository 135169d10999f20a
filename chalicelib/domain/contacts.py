"""The phones gridloop talks to, as the contacts table knows them: opted out or not, and
how many auto-replies and SMS reports each has had lately.

A phone number is never a key in an index or a table: `phone_key` stands for it. It is
a pseudonym (the same phone always gives the same key, so it can be looked up), not
encryption: the case itself still keeps the reporter's phone, as it must to text them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

KEY_NAMESPACE = "gridloop:phone:v1"


def phone_key(phone: str) -> str:
    return hashlib.sha256(f"{KEY_NAMESPACE}:{phone}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RateLimit:
    counter: str       # the contacts table keeps one window per counter and phone
    limit: int         # at most this many in
    window: float      # seconds, counted from the first one


# Replies that say something went wrong (not understood, unknown case, a refusal): after
# three in an hour a number hears nothing more, so two robots cannot answer each other
# for ever (GoAlert does the same).
ERROR_REPLIES = RateLimit("errors", 3, 3600.0)
# New reports from one phone (or address) are limited in the report's own write, by
# domain.admission. A phone over its limit by SMS is told so once per window
# (this counter's), then hears nothing; the messages go to the sms-inbound dead-letter
# queue, kept, not lost.
REPORTS_REFUSED = "reports_refused"
ORDERS_REFUSED = "orders_refused"       # the same for new service orders (domain.admission.OrderLimits)
