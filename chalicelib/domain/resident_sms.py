"""What a resident's SMS is: a new report, a question, the call-back's answer, or an opt-out.

A resident is anyone whose phone is not a member's. They write free text; only a few
short replies mean something else, and those are matched whole (after spaces and
punctuation are taken out), so that a report that happens to start with one of the
words is still a report:

| text | intent |
|---|---|
| `退订`, `TD`, `STOP`, `UNSUBSCRIBE` | STOP: no more SMS to this phone |
| `订阅`, `START`, `UNSTOP` | START: SMS again |
| `1`, `满意`, `办好了` (with a code or not) | SATISFIED, the answer to the call-back |
| `2`, `不满意`, `没修好`, `没办好` (with a code or not) | UNSATISFIED |
| `2 没人来` (an answer with its reason) | REPORT, unless an order awaits this phone's answer (services.order_replies) |
| `查询 CODE`, `查询`, `CHECK CODE` | QUERY: the status of that case, or of the phone's latest report |
| `帮助`, `HELP`, `?` | HELP: how to report by SMS |
| `谢谢`, `好的`, `收到`, `OK` ... | COURTESY: a thank-you needs no answer and is no report |
| a member's command with a code (`收到 ABC234`) | MEMBER_COMMAND: only members may |
| under two letters, digits or characters, or only digits (`12`, `3-2`) | TOO_SHORT: not a report; answered with HELP |
| anything else | REPORT |

STOP and START are matched for members as well (services.workflow): a member's duty
SMS never stop, but the notices about what they reported as a resident do.

A resident is answered in the language they write in (`language_of`, domain.language):
English for Latin letters without a Chinese character, else Chinese.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from . import language, sms
from .codes import ALPHABET, CODE_LENGTH


class Intent(str, Enum):
    REPORT = "report"
    QUERY = "query"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    STOP = "stop"
    START = "start"
    HELP = "help"
    COURTESY = "courtesy"
    MEMBER_COMMAND = "member_command"
    TOO_SHORT = "too_short"


STOP_WORDS = frozenset({"退订", "TD", "T", "STOP", "UNSUBSCRIBE", "STOPALL", "取消订阅", "退订短信"})
# Latin letters that Chinese SMS users write too: a Chinese carrier's unsubscribe (回复TD退订).
CHINESE_IN_LATIN = frozenset({"TD", "T"})
START_WORDS = frozenset({"订阅", "START", "UNSTOP", "恢复订阅", "重新订阅"})
SATISFIED_WORDS = ("满意", "很满意", "非常满意", "满意了", "办好了", "1")
UNSATISFIED_WORDS = ("不满意", "很不满意", "非常不满意", "没修好", "还没修好", "没有修好", "没解决", "还没解决",
                     "没办好", "没有办好", "还没办好", "2")
COURTESY_WORDS = frozenset({
    "谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "好", "好的", "好的谢谢", "好谢谢", "嗯", "嗯嗯", "哦", "知道了",
    "收到", "收到谢谢", "收到了", "OK", "OKAY", "THANKS", "THANKYOU", "THX", "辛苦了", "辛苦", "👍",
})
_CODE = rf"[{ALPHABET}]{{{CODE_LENGTH}}}"
_MEANINGFUL = re.compile(r"[0-9A-Za-z\u3400-\u9fff\u0f00-\u0fff]")   # Tibetan script too


@dataclass(frozen=True)
class ResidentMessage:
    intent: Intent
    code: str | None = None


def control(text: str | None) -> Intent | None:
    """STOP or START, for anyone; None for any other text."""
    word = sms.bare(text)
    if word in STOP_WORDS:
        return Intent.STOP
    if word in START_WORDS:
        return Intent.START
    return None


def feedback(text: str | None) -> ResidentMessage | None:
    """满意 / 不满意 (or 1 / 2), alone or with the case's code."""
    word = sms.bare(text)
    match = re.fullmatch(rf"(.+?)({_CODE})?", word)
    if match is None:
        return None
    answer, code = match.group(1), match.group(2)
    if answer in SATISFIED_WORDS:
        return ResidentMessage(Intent.SATISFIED, code)
    if answer in UNSATISFIED_WORDS:
        return ResidentMessage(Intent.UNSATISFIED, code)
    # A code in front: "ABC234 满意"
    match = re.fullmatch(rf"({_CODE})(.+)", word)
    if match and match.group(2) in SATISFIED_WORDS[:-1]:
        return ResidentMessage(Intent.SATISFIED, match.group(1))
    if match and match.group(2) in UNSATISFIED_WORDS[:-1]:
        return ResidentMessage(Intent.UNSATISFIED, match.group(1))
    return None


# "2 没人来", "没办好：材料没交": the answer with why, which is more than a bare 2.
_REASONED_NO = re.compile(
    r"^\s*(?:2|不满意|没办好|没有办好|还没办好|没修好)(?:\s*[,，:：。;；!！、]\s*|\s+)(?![号栋楼单元层\-\d])(\S.*)$",
    re.DOTALL)      # "2 号楼灯坏了", "2 3 单元" name a place: a report


def not_done_reason(text: str | None) -> str | None:
    """The reason of a "not done" answer given with one ("2 没人来"), or None. A text that
    only starts so is still a report: the caller tries it as an answer first, and only where
    an answer is awaited."""
    match = _REASONED_NO.match(unicodedata.normalize("NFKC", text or ""))
    return match.group(1).strip()[:200] if match else None


def language_of(text: str | None, code: str | None = None) -> str | None:
    """The language to answer a resident's SMS in (domain.language): "en" for Latin letters
    without a Chinese character, "zh" with one, None when the text shows none (digits,
    punctuation, or only `code`, the case's code it names: "1 ABC234") and the caller
    falls back on what it knows (the report's language)."""
    if sms.bare(text) in CHINESE_IN_LATIN:
        return "zh"
    normal = unicodedata.normalize("NFKC", text or "")
    if code:     # a code is in Latin letters whatever one speaks; as typed: "abc 234", "ABC-234"
        normal = re.sub(r"[\s\-]?".join(map(re.escape, code)), " ", normal, flags=re.IGNORECASE)
    return language.detect(normal)


def classify(text: str | None) -> ResidentMessage:
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    intent = control(cleaned)
    if intent is not None:
        return ResidentMessage(intent)
    answer = feedback(cleaned)
    if answer is not None:
        return answer
    word = sms.bare(cleaned)
    if word in COURTESY_WORDS:
        return ResidentMessage(Intent.COURTESY)
    try:
        command = sms.parse(cleaned)
    except sms.Unparsable:
        command = None
    if command is not None:
        if command.action is sms.Action.HELP:
            return ResidentMessage(Intent.HELP)
        if command.action is sms.Action.QUERY:
            return ResidentMessage(Intent.QUERY, command.code)
        if command.code is not None:
            return ResidentMessage(Intent.MEMBER_COMMAND, command.code)
        if command.action in (sms.Action.ACKNOWLEDGE, sms.Action.RESOLVE):
            return ResidentMessage(Intent.COURTESY)      # "完成了", "OK!": nothing to do
    meaningful = _MEANINGFUL.findall(cleaned)
    if len(meaningful) < 2 or all(c.isdigit() for c in meaningful):
        return ResidentMessage(Intent.TOO_SHORT)
    return ResidentMessage(Intent.REPORT)
