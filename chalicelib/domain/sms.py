"""What a member's SMS reply asks for.

Members reply from basic phones: accept full-width characters, any case, extra
spaces, and a code glued to the word ("收到ABC234"). `收到`, `完成` and `位置` may come
without a code (the member's one open case is meant, see services.workflow), and the
notices' numeric shortcuts stand for the words: `1` is 收到, `2` is 完成. `帮助` / `HELP`
asks for the member's open cases, `查询 CODE` for a case's status. `取消 CODE 原因` /
`CANCEL CODE REASON` calls off a junk report. `合并 CODE 原CODE` / `MERGE CODE INTO-CODE`
joins a duplicate report (the first code) to the case it repeats (the second).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from .codes import ALPHABET, CODE_LENGTH

SEPARATORS = r"[\s:：,，.。!！\-]*"
# The code right after the word; spaces or a dash inside it are allowed, as people
# group characters when they read a code out ("ABC 234").
CODE_AFTER_WORD = (
    re.compile(rf"^{SEPARATORS}([{ALPHABET}]{{{CODE_LENGTH}}})(?![0-9A-Z])"),
    re.compile(rf"^{SEPARATORS}([{ALPHABET}](?:[\s\-]?[{ALPHABET}]){{{CODE_LENGTH - 1}}})(?![0-9A-Z])"),
)


class Action(str, Enum):
    ACKNOWLEDGE = "acknowledge"   # 接单
    RESOLVE = "resolve"           # 办结
    EXTEND = "extend"             # 延期 CODE 天数 原因: the holder asks for more days
    APPROVE = "approve"           # 同意 CODE: the level above grants it
    REFUSE = "refuse"             # 不同意 CODE: ... or refuses it
    SUSPEND = "suspend"           # 挂起 CODE 原因: the committee stops the clock
    RESUME = "resume"             # 恢复 CODE: ... and starts it again
    TRANSFER = "transfer"         # 转办 CODE 手机号 原因: the holder hands the case on
    LOCATE = "locate"             # 位置 CODE 3-2: the triage member sets an SMS report's place
    HELP = "help"                 # 帮助 / HELP: my open cases
    QUERY = "query"               # 查询 CODE: a case's status (anyone, residents too)
    CANCEL = "cancel"             # 取消 CODE 原因: a junk report is called off
    MERGE = "merge"               # 合并 CODE 原CODE: a duplicate joins the case it repeats


# A reply that may leave the code out: it applies to the member's one open case.
BARE_ALLOWED = frozenset({Action.ACKNOWLEDGE, Action.RESOLVE, Action.LOCATE})
# The numeric shortcuts offered in the notices ("回复1接单"): the digit alone, or before a code.
SHORTCUTS = {"1": Action.ACKNOWLEDGE, "2": Action.RESOLVE}
HELP_WORDS = frozenset({"帮助", "HELP", "?", "菜单", "MENU"})
QUERY_WORDS = ("查询", "查进度", "进度", "CHECK", "STATUS")


# Longest first where one word begins another (不同意 / 同意 do not, but keep the rule).
WORDS = {
    "收到": Action.ACKNOWLEDGE, "OK": Action.ACKNOWLEDGE, "接单": Action.ACKNOWLEDGE,
    "完成": Action.RESOLVE, "DONE": Action.RESOLVE,
    "延期": Action.EXTEND, "EXTEND": Action.EXTEND,
    "不同意": Action.REFUSE, "REFUSE": Action.REFUSE,
    "同意": Action.APPROVE, "APPROVE": Action.APPROVE,
    "挂起": Action.SUSPEND, "SUSPEND": Action.SUSPEND,
    "恢复": Action.RESUME, "RESUME": Action.RESUME,
    "转办": Action.TRANSFER, "TRANSFER": Action.TRANSFER,
    "位置": Action.LOCATE, "PLACE": Action.LOCATE,
    "取消": Action.CANCEL, "CANCEL": Action.CANCEL,
    "合并": Action.MERGE, "MERGE": Action.MERGE,
}
# Between a merge's two codes, besides separators: "MERGE ABC234 INTO XYZ789", "合并ABC234到XYZ789".
_INTO = re.compile(r"^[\s,，:：\-]*(?:INTO|TO|并入|合并到|到|入|>|→)?")
MAX_REASON = 200
_DAYS = re.compile(r"^[\s,，:：]*(\d{1,3})\s*(?:天|日|DAYS?|D)?(?![0-9])")
_PHONE = re.compile(r"^[\s,，:：]*(\+?[\d\s\-]{7,20}\d)")
# A Chinese mobile number (11 digits, maybe +86, maybe grouped) is taken first, so a reason
# that starts with a digit ("3号楼...") is not read as more of the number.
_MOBILE = re.compile(r"^[\s,，:：]*((?:\+?86[\s\-]?)?1\d(?:[\s\-]?\d){9})(?!\d)")


@dataclass(frozen=True)
class Command:
    action: Action
    code: str | None              # None: no code given (BARE_ALLOWED, HELP, QUERY)
    days: int | None = None       # EXTEND
    reason: str = ""              # EXTEND, SUSPEND, TRANSFER, CANCEL ("" when none was given)
    target: str | None = None     # TRANSFER: the phone of the member who takes it; MERGE: the code it joins
    place: str = ""               # LOCATE: the place as typed ("3-2", "3号楼2单元", "changmu-03-2")


class Unparsable(ValueError):
    """Not a command; `code` is set when a code was recognisable anyway."""

    def __init__(self, text: str, code: str | None = None):
        super().__init__(text)
        self.code = code


_PUNCTUATION = re.compile(r"[\s:：,，.。!！?？~～、;；\-]+")


def bare(text: str | None) -> str:
    """The text without spaces and punctuation, upper-cased: how a one-word reply is compared."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def parse(text: str) -> Command:
    original = unicodedata.normalize("NFKC", text or "").strip()
    cleaned = original.upper()
    if len(cleaned) != len(original):    # rare letters that grow when upper-cased
        original = cleaned
    word_only = bare(cleaned)
    if word_only in HELP_WORDS or cleaned in ("?", "？"):
        return Command(Action.HELP, None)
    for word in QUERY_WORDS:
        if cleaned.startswith(word):
            rest = cleaned[len(word):]
            match = CODE_AFTER_WORD[0].match(rest) or CODE_AFTER_WORD[1].match(rest)
            if match is not None:
                return Command(Action.QUERY, re.sub(r"[\s\-]", "", match.group(1)))
            if not bare(rest):
                return Command(Action.QUERY, None)
            raise Unparsable(text, _find_code(cleaned))
    words = dict(WORDS)
    shortcut = re.match(r"^([12])(?![0-9])", cleaned)
    if shortcut:
        words = {shortcut.group(1): SHORTCUTS[shortcut.group(1)]}
    for word, action in words.items():
        if cleaned.startswith(word):
            # The code is what follows the word; words after it ("OK ABC234 谢谢") are fine.
            rest = cleaned[len(word):]
            match = CODE_AFTER_WORD[0].match(rest) or CODE_AFTER_WORD[1].match(rest)
            if match is None:
                if shortcut and bare(rest):      # "1号楼…" is not the shortcut 1
                    raise Unparsable(text, _find_code(cleaned))
                return _without_code(action, rest, original[len(word):], text, cleaned)
            code = re.sub(r"[\s\-]", "", match.group(1))
            start = len(word) + match.end()
            return _with_arguments(action, code, cleaned[start:], original[start:], text)
    raise Unparsable(text, _find_code(cleaned))


def _without_code(action: Action, rest: str, original_rest: str, text: str, cleaned: str) -> Command:
    """收到 / 完成 / 1 / 2 alone (polite words after them are fine: "收到，谢谢"), or
    位置 and a place. Anything with letters or digits after 收到 was meant as a code."""
    if action is Action.LOCATE:
        place = original_rest.strip(" \t,，:：;；。.").strip()
        if not place:
            raise Unparsable(text, None)
        return Command(action, None, place=place[:MAX_REASON])
    if action in BARE_ALLOWED and not re.search(r"[0-9A-Z]", rest):
        return Command(action, None)
    raise Unparsable(text, _find_code(cleaned))


def _with_arguments(action: Action, code: str, tail: str, original_tail: str, text: str) -> Command:
    """The words after the code: 延期 needs a number of days, 转办 a phone number; the
    rest, if any, is the reason."""
    def reason(offset: int) -> str:
        return original_tail[offset:].strip(" \t,，:：;；").strip()[:MAX_REASON]

    if action is Action.EXTEND:
        days = _DAYS.match(tail)
        if days is None:
            raise Unparsable(text, code)
        return Command(action, code, days=int(days.group(1)), reason=reason(days.end()))
    if action is Action.TRANSFER:
        phone = _MOBILE.match(tail) or _PHONE.match(tail)
        if phone is None:
            raise Unparsable(text, code)
        return Command(action, code, target=re.sub(r"[\s\-]", "", phone.group(1)), reason=reason(phone.end()))
    if action is Action.MERGE:
        rest = tail[_INTO.match(tail).end():]
        into = CODE_AFTER_WORD[0].match(rest) or CODE_AFTER_WORD[1].match(rest)
        if into is None:
            raise Unparsable(text, code)
        return Command(action, code, target=re.sub(r"[\s\-]", "", into.group(1)))
    if action in (Action.SUSPEND, Action.CANCEL):
        # 取消 without a reason is parsed, not refused here: the case asks for one
        # (TransitionRefused "reason_required"), and the answer says how to give it.
        return Command(action, code, reason=reason(0))
    if action is Action.LOCATE:
        place = reason(0)
        if not place:
            raise Unparsable(text, code)
        return Command(action, code, place=place)
    return Command(action, code)


def _find_code(cleaned: str) -> str | None:
    match = re.search(rf"(?<![0-9A-Z])([{ALPHABET}]{{{CODE_LENGTH}}})(?![0-9A-Z])", cleaned)
    return match.group(1) if match else None
