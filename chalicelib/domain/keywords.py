"""A category for a report that arrives as free text (SMS): a few words people use.

The first row whose word appears in the text wins, so the urgent categories come
first: "煤气味，水管也漏水" is a gas leak. Nothing matched is `other`, which takes the
standard chain; the member who handles the case knows what it is from its text.
"""
from __future__ import annotations

import unicodedata

DEFAULT = "other"

KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gas_leak", ("燃气", "煤气", "天然气", "液化气", "气味很大", "GAS")),
    ("fire", ("着火", "失火", "火灾", "起火", "冒烟", "火情", "烧起来", "FIRE")),
    ("medical_emergency", ("晕倒", "昏倒", "昏迷", "急救", "不省人事", "喘不上气", "摔倒起不来", "心脏病", "中风")),
    ("water_pipe", ("漏水", "水管", "爆管", "跑水", "渗水", "水漫", "下水道堵", "LEAK")),
    ("heating", ("暖气", "供暖", "取暖", "地暖", "不热", "HEATING")),
    ("stairwell_light", ("楼道灯", "路灯", "灯不亮", "灯坏", "灯泡", "没有灯", "LIGHT")),
    ("neighbour_dispute", ("吵架", "纠纷", "打架", "矛盾", "噪音", "扰民")),
    ("security", ("小偷", "被偷", "偷了", "盗窃", "可疑", "陌生人", "撬锁")),
    ("sanitation", ("垃圾", "卫生", "脏乱", "很脏", "异味", "老鼠", "粪")),
    ("subsistence_allowance", ("低保",)),
    ("medical_insurance", ("医保",)),
    ("elderly_care", ("独居老人", "老人没人管", "照顾老人", "看望老人", "帮扶")),
)


def category_for(text: str | None, known: set[str] | frozenset[str] | None = None) -> str:
    """The category of the first keyword found in the text; `other` if none is. With
    `known` (the deployment's categories), a match that is not one of them is skipped."""
    cleaned = unicodedata.normalize("NFKC", text or "").upper()
    for category, words in KEYWORDS:
        if known is not None and category not in known:
            continue
        if any(word in cleaned for word in words):
            return category
    return DEFAULT
