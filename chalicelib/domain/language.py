"""Which language a resident wrote in, so that we answer in it.

gridloop speaks Chinese (zh) and English (en). A resident's SMS in Latin letters with no
Chinese character in it is English; anything with a Chinese (CJK) character is Chinese,
however much English is mixed in ("3号楼 light broken"); text with no letters at all
(digits, punctuation, "3-2", "1") says nothing, and Chinese is the default. Tibetan
script is read as no signal too: there are no Tibetan templates, and the community's
Tibetan speakers read Chinese more often than English.
"""
from __future__ import annotations

import re
import unicodedata

LANGS = ("zh", "en")
DEFAULT = "zh"

# Han ideographs (the basic block, extension A, compatibility ideographs and the
# supplementary planes), with kana and hangul, which no English text contains either.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]")


def detect(text: str | None) -> str | None:
    """"zh" for text with a CJK character, "en" for Latin letters without one, None when
    the text shows no language (digits, punctuation, other scripts)."""
    normal = unicodedata.normalize("NFKC", text or "")      # full-width letters become ASCII
    if _CJK.search(normal):
        return "zh"
    if any(c.isalpha() and unicodedata.name(c, "").startswith("LATIN ") for c in normal):
        return "en"
    return None


def written_in(text: str | None, default: str = DEFAULT) -> str:
    """The language to answer `text` in: as detected, else `default`."""
    return detect(text) or default
