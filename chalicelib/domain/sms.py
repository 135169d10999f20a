"""What a member's SMS reply asks for.

Members reply from basic phones: accept full-width characters, any case, extra
spaces, and a code glued to the word ("收到ABC234").
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


WORDS = {
    "收到": Action.ACKNOWLEDGE, "OK": Action.ACKNOWLEDGE,
    "完成": Action.RESOLVE, "DONE": Action.RESOLVE,
}


@dataclass(frozen=True)
class Command:
    action: Action
    code: str


class Unparsable(ValueError):
    """Not a command; `code` is set when a code was recognisable anyway."""

    def __init__(self, text: str, code: str | None = None):
        super().__init__(text)
        self.code = code


def parse(text: str) -> Command:
    cleaned = unicodedata.normalize("NFKC", text or "").strip().upper()
    for word, action in WORDS.items():
        if cleaned.startswith(word):
            # The code is what follows the word; words after it ("OK ABC234 谢谢") are fine.
            rest = cleaned[len(word):]
            match = CODE_AFTER_WORD[0].match(rest) or CODE_AFTER_WORD[1].match(rest)
            if match is None:
                raise Unparsable(text, _find_code(cleaned))
            return Command(action, re.sub(r"[\s\-]", "", match.group(1)))
    raise Unparsable(text, _find_code(cleaned))


def _find_code(cleaned: str) -> str | None:
    match = re.search(rf"(?<![0-9A-Z])([{ALPHABET}]{{{CODE_LENGTH}}})(?![0-9A-Z])", cleaned)
    return match.group(1) if match else None
