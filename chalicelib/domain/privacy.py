"""Keeping personal data out of logs.

gridloop's own log lines name cases by code and people by member id, never by phone, name
or what a resident wrote. Two things still need care, and are handled here:

- errors from elsewhere can quote a phone number (AWS's SNS does: "PhoneNumber Reason:
  +8613800138000 is not valid"): `redact` takes phone-like digit runs out of such text
  before it is logged;
- a sender we must refer to in a log (a blocked or rate-limited one) is named by its
  pseudonym (`sender_key`), which an operator can block by but cannot read back.
"""
from __future__ import annotations

import hashlib
import re

from .contacts import phone_key

# Seven or more digits, maybe after a +, maybe grouped by spaces, dashes, dots or brackets:
# any phone number in any format; also long ids and timestamps, which errors can spare.
_PHONE_LIKE = re.compile(r"\+?\d(?:[\s\-.()]{0,2}\d){6,}")
IP_NAMESPACE = "gridloop:ip:v1"


def redact(text: str) -> str:
    """`text` with every phone-like run of digits replaced by "<number>"."""
    return _PHONE_LIKE.sub("<number>", text)


_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")


def scrub(text: str) -> str:
    """`text` as an unexpected error may be logged: phone-like digits out (`redact`), and
    every run of non-ASCII characters too, which is where residents' names and words are
    (Chinese, Tibetan); what is left is the error's own English and its ids."""
    return _NOT_ASCII.sub("<text>", redact(text))


def ip_key(address: str) -> str:
    """A pseudonym of a source IP address, as phone_key is of a phone."""
    return hashlib.sha256(f"{IP_NAMESPACE}:{address.strip().lower()}".encode()).hexdigest()[:32]


def sender_key(phone: str | None = None, ip: str | None = None) -> str:
    """How logs and the block list name a sender: "phone:<phone_key>" or "ip:<ip_key>"."""
    if phone is not None:
        return f"phone:{phone_key(phone)}"
    if ip is not None:
        return f"ip:{ip_key(ip)}"
    raise ValueError("a sender is a phone or an IP address")


def masked(phone: str | None = None, ip: str | None = None) -> str:
    """What the block list shows of a sender, enough to recognise it: "+86138****8000",
    "203.0.113.*", "2001:db8:85a3:*"."""
    if phone is not None:
        return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"
    if ip is not None:
        return ".".join(ip.split(".")[:3]) + ".*" if "." in ip else ":".join(ip.split(":")[:3]) + ":*"
    raise ValueError("a sender is a phone or an IP address")
