"""The category of a report that arrives as free text (chalicelib/domain/keywords.py)."""
from __future__ import annotations

import pytest

from chalicelib.bootstrap import load_json
from chalicelib.domain.keywords import DEFAULT, KEYWORDS, category_for

CATEGORIES = frozenset(c["code"] for c in load_json("categories.json")["categories"])


@pytest.mark.parametrize("text, category", [
    ("3号楼2单元有很大的煤气味", "gas_leak"),
    ("燃气管道好像漏了", "gas_leak"),
    ("天然气味道很重", "gas_leak"),
    ("煤气味，水管也在漏水", "gas_leak"),           # the urgent one wins
    ("楼下着火了！", "fire"),
    ("5栋冒烟了", "fire"),
    ("老人晕倒了快来人", "medical_emergency"),
    ("邻居心脏病犯了", "medical_emergency"),          # not sanitation (脏)
    ("3-2漏水", "water_pipe"),
    ("水管爆了，水漫到楼道", "water_pipe"),
    ("暖气不热", "heating"),
    ("家里没有供暖", "heating"),
    ("楼道灯坏了好几天", "stairwell_light"),
    ("路灯不亮", "stairwell_light"),
    ("楼上噪音扰民", "neighbour_dispute"),
    ("两家吵架了", "neighbour_dispute"),
    ("车被偷了", "security"),
    ("有可疑的人在楼道", "security"),
    ("楼道垃圾好几天没人清", "sanitation"),
    ("想问一下低保怎么申请", "subsistence_allowance"),
    ("医保缴费", "medical_insurance"),
    ("独居老人需要帮忙", "elderly_care"),
    ("Ｇａｓ smell in building 3", "gas_leak"),     # full width, any case
    ("water LEAK", "water_pipe"),
    ("门口有个坑", DEFAULT),
    ("", DEFAULT),
    (None, DEFAULT),
])
def test_given_a_text_then_the_category_of_its_first_keyword(text, category):
    assert category_for(text) == category


def test_every_keyword_category_is_a_real_category():
    assert {category for category, _ in KEYWORDS} | {DEFAULT} <= CATEGORIES


def test_given_known_categories_then_a_match_outside_them_is_skipped():
    assert category_for("煤气味，水管漏水", known=frozenset({"water_pipe", "other"})) == "water_pipe"
