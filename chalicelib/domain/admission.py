"""Who may make a new report: per-sender limits, and the block list.

A new report from the web form counts against its phone (if it gives one) and its source
IP address; one by SMS against its phone. Each count is a fixed window (`window` seconds,
numbered from the epoch): at most `per_phone` (`per_ip`) new reports in one, whatever the
door, so a flood through both doors is one flood. A fixed window lets through at most
twice the limit around a window's turn; that is enough to stop a flood and cheap enough
to be folded into the report's own write (adapters.admission), so the check costs the
report path no request of its own.

A blocked sender (a phone or an address on the block list, tools/blocklist.py) makes no
report at all. Senders are named by pseudonym (domain.privacy.sender_key), never by the
number or address itself, in the tables and in the logs.

A redelivered report (the same Idempotency-Key, the same inbound SMS) finds the report it
made and counts nothing: the count goes in the same all-or-nothing write as the report.
Reports typed into the console by an operator are not limited.

A resident's service order (点单, services.orders) by SMS or from the order page is limited
the same way, by `OrderLimits`, on counters of its own (`…#orders#<window>`), so that a
flood of orders cannot fill a committee's phone: fewer a day than reports, since each asks
a member to visit. Orders a household head or the committee enters are not limited.

Looking a report up by its code on the residents' status page (`GET /r/{code}`) is limited
the same way, per source address (`LookupLimits`, `lookup_quota`): a counter of its own in
the same table, so that codes cannot be enumerated. Every look-up counts, found or not.
"""
from __future__ import annotations

from dataclasses import dataclass

from .privacy import sender_key


@dataclass(frozen=True)
class ReportLimits:
    per_phone: int = 5         # new reports from one phone per window; 0: no limit
    per_ip: int = 60           # ... from one source address (many phones share one behind CGNAT)
    window: float = 3600.0     # seconds


@dataclass(frozen=True)
class OrderLimits:
    per_phone: int = 5         # new service orders from one phone per window; 0: no limit
    per_ip: int = 60           # ... from one source address (the order page)
    window: float = 86400.0    # seconds: a day


@dataclass(frozen=True)
class LookupLimits:
    per_ip: int = 120          # status-page look-ups from one source address per window; 0: no limit
    window: float = 3600.0     # seconds


@dataclass(frozen=True)
class Quota:
    """One count a new report takes: the sender's window, and its limit."""
    sender: str                # "phone:<key>" or "ip:<key>"
    counter: str               # the contacts table's item for this window
    limit: int
    window: float
    ends_at: float             # when the window ends (and counting starts again)

    @property
    def expires_at(self) -> int:
        """When the table's TTL may remove the count: an hour after it stops mattering."""
        return int(self.ends_at) + 3600


@dataclass(frozen=True)
class Admission:
    """What a new report must pass, checked in its own write: none of `blocks` is on the
    block list, and each of `quotas` has room for one more."""
    blocks: tuple[str, ...] = ()
    quotas: tuple[Quota, ...] = ()
    now: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.blocks or self.quotas)


def admission_for(limits: ReportLimits | OrderLimits, now: float, phone: str | None = None,
                  ip: str | None = None) -> Admission:
    """What a new report (or, with OrderLimits, a new order) from `phone` and `ip` must pass."""
    what = "orders" if isinstance(limits, OrderLimits) else "reports"
    senders = [(sender_key(phone=phone), limits.per_phone)] if phone else []
    if ip:
        senders.append((sender_key(ip=ip), limits.per_ip))
    number = int(now // limits.window)
    quotas = tuple(Quota(sender, f"{sender}#{what}#{number}", limit, limits.window,
                         (number + 1) * limits.window)
                   for sender, limit in senders if limit > 0)
    return Admission(tuple(sender for sender, _ in senders), quotas, now)


def lookup_quota(limits: LookupLimits, now: float, ip: str | None) -> Quota | None:
    """The count one look-up by code takes from its source address; None: not limited."""
    if not ip or limits.per_ip <= 0:
        return None
    sender, number = sender_key(ip=ip), int(now // limits.window)
    return Quota(sender, f"{sender}#lookups#{number}", limits.per_ip, limits.window, (number + 1) * limits.window)


class NotAdmitted(Exception):
    """The report (or order) was not made; nothing was written."""

    def __init__(self, sender: str, message: str):
        super().__init__(message)
        self.sender = sender

    @property
    def by_phone(self) -> bool:
        return self.sender.startswith("phone:")


class Blocked(NotAdmitted):
    def __init__(self, sender: str):
        super().__init__(sender, f"{sender} is on the block list")


class RateLimited(NotAdmitted):
    def __init__(self, quota: Quota, now: float):
        what = ("look-ups" if "#lookups#" in quota.counter
                else "new orders" if "#orders#" in quota.counter else "new reports")
        super().__init__(quota.sender, f"{quota.sender} has had {quota.limit} {what} within {quota.window:g} s")
        self.limit, self.window = quota.limit, quota.window
        self.retry_after = max(1, int(quota.ends_at - now + 0.999))
