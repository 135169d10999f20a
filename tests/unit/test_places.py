"""Places named in a resident's SMS (chalicelib/domain/places.py): table-driven."""
from __future__ import annotations

import pytest

from chalicelib.domain.places import Mention, door, find, location_code, number, parse_place


@pytest.mark.parametrize("text, expected", [
    # building and unit, as people write them
    ("3号楼2单元楼道灯坏了", Mention(3, 2)),
    ("我家在3栋2单元，暖气不热", Mention(3, 2)),
    ("3幢2单元", Mention(3, 2)),
    ("3号2单元", Mention(3, 2)),
    ("3号楼 2单元", Mention(3, 2)),
    ("3号楼，2单元", Mention(3, 2)),
    ("11号楼3单元", Mention(11, 3)),
    ("20栋1单元501", Mention(20, 1)),
    ("3座2单元", Mention(3, 2)),
    ("3號樓2單元", Mention(3, 2)),                  # traditional characters
    # full-width digits, Chinese numerals
    ("３号楼２单元", Mention(3, 2)),
    ("三号楼二单元", Mention(3, 2)),
    ("十一号楼三单元", Mention(11, 3)),
    ("二十号楼一单元", Mention(20, 1)),
    ("两号楼", Mention(2)),
    # a whole building
    ("3号楼门口垃圾没人清", Mention(3)),
    ("5栋的路灯不亮", Mention(5)),
    ("楼道里，12号楼", Mention(12)),
    # building-unit with a dash, with or without the flat, full-width too
    ("3-2楼道灯坏了", Mention(3, 2, explicit=False)),   # 楼道: the stairwell of 3-2
    ("3-2 楼梯扶手坏了", Mention(3, 2, explicit=False)),
    ("3-2楼漏水", None),                            # "3-2楼": a floor, not a place
    ("3-2 楼漏水", None),                           # the same, with a space
    ("3-2漏水", Mention(3, 2, explicit=False)),
    ("住3-2-501，漏水", Mention(3, 2, explicit=False)),
    ("３－２ 没有暖气", Mention(3, 2, explicit=False)),
    ("3—2单元", Mention(3, 2, explicit=False)),
    ("我是11-3的，水管爆了", Mention(11, 3, explicit=False)),
    # the first place wins
    ("3号楼2单元和4号楼1单元都停电", Mention(3, 2)),
    ("7-1和3号楼", Mention(7, 1, explicit=False)),
    # what is not a place
    ("楼道灯坏了", None),
    ("3楼漏水", None),                             # the third floor
    ("3号停水", None),                             # the 3rd of the month
    ("2026-12-01停水", None),                      # a date
    ("12-01停水", None),
    ("下午3-5点停水", None),                        # a span of time
    ("10:30-11点", None),
    ("3-5天了还没修", None),
    ("电话139-1234-5678", None),                   # a phone number
    ("1.5-2米", None),
    ("0号楼", None),
    ("", None),
    (None, None),
])
def test_given_a_text_when_searched_then_the_place_it_names(text, expected):
    assert find(text) == expected


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("３", 3), ("12", 12), ("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23),
    ("两", 2), ("零", 0), ("三三", None), ("十十", None), ("百", None), ("", None), ("x", None),
])
def test_given_a_number_as_written_then_its_value(text, value):
    assert number(text) == value


@pytest.mark.parametrize("mention, code", [
    (Mention(3, 2), "changmu-03-2"),
    (Mention(3, 2, explicit=False), "changmu-03-2"),
    (Mention(3), "changmu-03"),
    (Mention(3, 9), "changmu-03"),                 # 3号楼9单元: building 3 has 3 units; it is still building 3
    (Mention(3, 9, explicit=False), None),         # "3-9" is not a place here at all
    (Mention(30, 1), None),                        # no building 30
    (Mention(30), None),
    (None, None),
])
def test_given_a_mention_then_the_communitys_location_if_it_has_it(communities, mention, code):
    changmu = next(c for c in communities if c.id == "changmu")
    assert location_code(changmu, mention) == code


@pytest.mark.parametrize("typed, code", [
    ("3-2", "changmu-03-2"), ("３－２", "changmu-03-2"), ("3号楼2单元", "changmu-03-2"), ("3栋2单元", "changmu-03-2"),
    ("changmu-03-2", "changmu-03-2"), ("CHANGMU-03-2", "changmu-03-2"), ("3", "changmu-03"), ("3号楼", "changmu-03"),
    ("03-2", "changmu-03-2"), ("3-9", None), ("99", None), ("garang-01-1", None), ("楼下", None), ("", None),
])
def test_given_what_a_triage_member_types_then_the_place(communities, typed, code):
    changmu = next(c for c in communities if c.id == "changmu")
    assert parse_place(changmu, typed) == code


@pytest.mark.parametrize("text, flat", [
    ("代点 3-2-501 医保", "501"), ("3号楼2单元501室", "501"), ("三号楼二单元 1201", "1201"), ("12－3－1201", "1201"),
    # no flat: a unit alone, a number alone, a date, a phone
    ("3-2", None), ("501", None), ("3号楼2单元", None), ("2026-12-05", None), ("13912345678", None), (None, None),
])
def test_given_a_text_then_the_flat_it_names_after_its_unit(text, flat):
    assert door(text) == flat
