"""Where a resident's SMS says the problem is: "3号楼2单元", "3栋2单元", "3-2".

Residents write as they speak, on basic phones: full-width digits (３号楼), Chinese
numerals (三号楼二单元), a dash between building and unit (3-2, 3－2, or 3-2-501 with the
flat), and words around it ("我家3栋2单元楼道灯坏了"). Pure: no directory here; the
caller checks that the place exists (`location_code`).

What is not a place: a date (2026-12-01, 12-01), a time or a span (3-5点, 10:30-11),
a phone number (139-1234-5678), a floor on its own ("3楼" is the third floor).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(\d{1,3}|[零〇一二两三四五六七八九十]{1,3})"
_BUILDING_WORD = r"(?:号楼|號樓|号樓|栋|棟|幢|座|号|號)"      # 号 alone only before a unit
_STRONG_BUILDING_WORD = r"(?:号楼|號樓|号樓|栋|棟|幢|座)"
_UNIT_WORD = r"(?:单元|單元)"
_GAP = r"[\s,，、]*"
# What may follow "3-2" when it is not a place: a time, a span, a quantity, a floor ("3-2楼";
# but 楼道 / 楼梯, the stairwell, is where residents say the problem is: "3-2楼道灯坏了").
_NOT_A_PLACE_AFTER = (r"(?!\s*(?:点|點|时|時|天|日|月|号|號|个|個|次|岁|歲|层|層|元|块|塊|分|小时|周|年|斤|米|度"
                      r"|(?:楼|樓)(?![道梯])|[:：.\d]))")

_PATTERNS = (
    # 3号楼2单元, 3栋2单元, 3号2单元, 三号楼二单元
    (re.compile(rf"{_NUM}\s*{_BUILDING_WORD}{_GAP}{_NUM}\s*{_UNIT_WORD}"), True),
    # 3号楼, 3栋 (a whole building)
    (re.compile(rf"{_NUM}\s*{_STRONG_BUILDING_WORD}"), True),
    # 3-2, 3－2, 3—2, 3-2-501: digits only, not inside a date, a time or a phone number
    # (a unit is never written with a leading zero: "12-01" is a date)
    (re.compile(rf"(?<![\d\-.:：/])(\d{{1,2}})\s*[-—–~]\s*([1-9]\d?){_NOT_A_PLACE_AFTER}"), False),
)


# The flat after a unit: 3-2-501, 3号楼2单元501室. Only ever after a unit: "501" alone is
# no flat (it may be a sum, a bus, a phone's tail).
_DOORS = (
    re.compile(r"(?<![\d\-.:：/])\d{1,2}\s*[-—–]\s*[1-9]\d?\s*[-—–]\s*(\d{3,4})(?!\d)"),
    re.compile(rf"{_NUM}\s*{_BUILDING_WORD}{_GAP}{_NUM}\s*{_UNIT_WORD}{_GAP}(\d{{3,4}})(?!\d)\s*(?:室|号|號)?"),
)


@dataclass(frozen=True)
class Mention:
    building: int
    unit: int | None = None
    explicit: bool = True      # named with 号楼/栋/单元 rather than a bare "3-2"


def number(text: str) -> int | None:
    """3, ３, 三, 十二, 二十, 二十三 → the number; None if it is not one."""
    text = unicodedata.normalize("NFKC", text)
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text)) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    value = (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return value


def find(text: str | None) -> Mention | None:
    """The first place named in the text, or None."""
    cleaned = unicodedata.normalize("NFKC", text or "")
    best: tuple[int, Mention] | None = None
    for pattern, explicit in _PATTERNS:
        for match in pattern.finditer(cleaned):
            building = number(match.group(1))
            unit = number(match.group(2)) if pattern.groups > 1 else None
            if not building or unit == 0:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), Mention(building, unit, explicit))
            break
    return best[1] if best else None


def door(text: str | None) -> str | None:
    """The flat a text names after its unit ("501" of "3-2-501" or "3号楼2单元501室"), or None.
    The directory knows stairwell units, not flats: a flat is said to whoever goes there."""
    cleaned = unicodedata.normalize("NFKC", text or "")
    for pattern in _DOORS:
        match = pattern.search(cleaned)
        if match:
            return match.group(match.lastindex)
    return None


def location_code(community: Any, mention: Mention | None) -> str | None:
    """The community's location code for a mention, if it has that place: the stairwell
    unit, or the building when the unit is unknown but the building was named plainly
    ("3号楼5单元" in a building of three units is still building 3). A bare "3-5" that
    is not a unit of building 3 is not taken as a place at all."""
    if mention is None:
        return None
    building = f"{community.id}-{mention.building:02d}"
    if mention.unit is not None:
        unit = f"{building}-{mention.unit}"
        if unit in community.locations:
            return unit
        if not mention.explicit:
            return None
    return building if building in community.locations else None


def parse_place(community: Any, text: str) -> str | None:
    """What a member types to set a report's place (位置 CODE 3-2): a mention as above,
    or a location code ("changmu-03-2")."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip().lower()
    if cleaned in community.locations:
        return cleaned
    bare = re.fullmatch(r"(\d{1,2})(?:\s*[-—–~]\s*(\d{1,2}))?", cleaned)
    if bare:   # "3" alone is building 3 here: the member was asked for a place
        return location_code(community, Mention(int(bare.group(1)),
                                                int(bare.group(2)) if bare.group(2) else None, False))
    return location_code(community, find(cleaned))
