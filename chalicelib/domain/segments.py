"""How many SMS segments a text costs: what an operator bills.

A text of GSM 03.38 characters only goes as GSM-7: 160 septets in one segment, 153 per
segment when it is split (the extension characters take two septets each). Any other
character (all Chinese text) makes the whole text UCS-2: 70 UTF-16 units in one segment,
67 per segment when split.
"""
from __future__ import annotations

import math

GSM_BASIC = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def encoding(text: str) -> str:
    return "gsm7" if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text) else "ucs2"


def units(text: str) -> int:
    """The text's length in its encoding's units (septets, or UTF-16 code units)."""
    if encoding(text) == "gsm7":
        return sum(2 if c in GSM_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    single, multi = (160, 153) if encoding(text) == "gsm7" else (70, 67)
    length = units(text)
    return 1 if length <= single else math.ceil(length / multi)
