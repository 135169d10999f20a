"""The SMS words of the service loop, as members and residents type them on basic phones
(full-width characters, any case, a code glued to the word, as domain.sms reads them):

- residents: `点单 医保` / `ORDER 医保`, or free text that asks for a catalogue item
  ("想预约上门理发"); a micro-wish is `点单 心愿 <wish> [<n>元]`;
- household heads: `代点 3-2-501 医保` / `FOR 3-2-501 医保` for a household they are linked to;
- the committee: `派单 CODE` / `DISPATCH CODE` (to the pool), `派单 CODE 手机号` (to that member),
  `拒单 CODE 原因` / `REJECT CODE REASON`;
- the pool: `接单 CODE` / `CLAIM CODE`; the claimant: `进度 CODE 2` / `STEP CODE 2` (step 2 of
  the checklist is done); `完成 CODE` is the case loop's word, and means the same for an order;
- members: `积分` / `POINTS`: their balance and this month's entries.

`进度 CODE` without a step stays what it was, a status query (domain.sms). Anything else is
not an order command (None), and goes on to the case loop's parser.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from ..codes import ALPHABET, CODE_LENGTH

MAX_WISH = 120


class OrderAction(str, Enum):   # noqa: UP042 - as sms.Action
    ORDER = "order"          # 点单
    ORDER_FOR = "order_for"  # 代点
    DISPATCH = "dispatch"    # 派单
    REJECT = "reject"        # 拒单
    CLAIM = "claim"          # 接单
    STEP = "step"            # 进度 CODE N
    POINTS = "points"        # 积分


@dataclass(frozen=True)
class OrderCommand:
    action: OrderAction
    code: str | None = None
    words: str = ""            # ORDER / ORDER_FOR: what is asked for; REJECT: the reason
    place: str = ""            # ORDER_FOR: the household, as typed
    phone: str | None = None   # DISPATCH to a named member
    step: int | None = None    # STEP
    value_yuan: int | None = None   # a micro-wish's value


_CODE = rf"([{ALPHABET}](?:[\s\-]?[{ALPHABET}]){{{CODE_LENGTH - 1}}})(?![0-9A-Z])"
_SEP = r"[\s:：,，.。!！\-]*"
_WORDS = {
    OrderAction.ORDER: ("点单", "ORDER"),
    OrderAction.ORDER_FOR: ("代点", "FOR"),
    OrderAction.DISPATCH: ("派单", "DISPATCH"),
    OrderAction.REJECT: ("拒单", "REJECT"),
    OrderAction.CLAIM: ("接单", "CLAIM"),
    OrderAction.STEP: ("进度", "STEP"),
}
POINTS_WORDS = frozenset({"积分", "我的积分", "查积分", "POINTS"})
# Free text that asks for a service (with a catalogue keyword, see ServiceCatalogue.item_for).
ASKING = ("点单", "预约", "代办", "帮我办", "帮忙办", "想要", "心愿", "申请")
_MOBILE = re.compile(r"^[\s,，:：]*((?:\+?86[\s\-]?)?1\d(?:[\s\-]?\d){9})(?!\d)")
_STEP = re.compile(r"^[\s,，:：#第]*(\d{1,2})(?:\s*[步项])?\s*$")
_YUAN = re.compile(r"(\d{1,5})\s*(?:元|块|YUAN|RMB)")
_PLACE = re.compile(
    r"^[\s,，:：]*([0-9]{1,4}(?:\s*(?:号楼|单元|[-－—号栋楼])\s*[0-9]{1,4}){0,2}(?:\s*(?:单元|室|号))?)")


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def parse(text: str | None) -> OrderCommand | None:
    """The order command in `text`, or None when it is none of them."""
    original = _clean(text)
    cleaned = original.upper()
    if re.sub(r"[\s:：,，.。!！?？]+", "", cleaned) in POINTS_WORDS:
        return OrderCommand(OrderAction.POINTS)
    for action, words in _WORDS.items():
        for word in words:
            if not cleaned.startswith(word):
                continue
            rest, original_rest = cleaned[len(word):], original[len(word):]
            if word.isascii() and rest[:1].isascii() and rest[:1].isalnum():
                continue      # "FORM…", "ORDERLY": not the word ("ORDER医保" is)
            return _arguments(action, rest, original_rest)
    return None


def _arguments(action: OrderAction, rest: str, original_rest: str) -> OrderCommand | None:
    if action is OrderAction.ORDER:
        words = original_rest.strip(" \t,，:：;；。.").strip()
        return OrderCommand(action, words=words[:MAX_WISH], value_yuan=_yuan(words)) if words else None
    if action is OrderAction.ORDER_FOR:
        place = _PLACE.match(original_rest)
        if place is None:
            return None
        words = original_rest[place.end():].strip(" \t,，:：;；。.").strip()
        return OrderCommand(action, place=place.group(1).strip(), words=words[:MAX_WISH],
                            value_yuan=_yuan(words)) if words else None
    match = re.match(_SEP + _CODE, rest)
    if match is None:
        return None
    code = re.sub(r"[\s\-]", "", match.group(1))
    tail, original_tail = rest[match.end():], original_rest[match.end():]
    if action is OrderAction.STEP:
        step = _STEP.match(tail)
        return OrderCommand(action, code, step=int(step.group(1))) if step else None
    if action is OrderAction.DISPATCH:
        phone = _MOBILE.match(tail)
        return OrderCommand(action, code, phone=re.sub(r"[\s\-]", "", phone.group(1)) if phone else None)
    if action is OrderAction.REJECT:
        return OrderCommand(action, code, words=original_tail.strip(" \t,，:：;；").strip()[:200])
    return OrderCommand(action, code)


def _yuan(words: str) -> int | None:
    match = _YUAN.search(words.upper())
    return int(match.group(1)) if match else None


def asks_for_service(text: str | None) -> bool:
    """Whether a resident's free text asks for a service rather than reports a problem: it has
    an asking word ("预约", "代办", ...); ServiceCatalogue.item_for then says which one."""
    cleaned = _clean(text)
    return any(word in cleaned for word in ASKING)
