"""What a member's SMS reply asks for.

Members reply from basic phones: accept full-width characters, any case, extra
spaces, and a code glued to the word ("收到ABC234").
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

from .codes import ALPHABET, CODE_LENGTH, normalize_code


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
            rest = cleaned[len(word):].strip(" \t:：,，.。!！")
            code = normalize_code(rest)
            if code is None:
                raise Unparsable(text)
            return Command(action, code)
    raise Unparsable(text, _find_code(cleaned))


def _find_code(cleaned: str) -> str | None:
    for token in cleaned.split():
        if len(token) == CODE_LENGTH and all(c in ALPHABET for c in token):
            return token
    return None
