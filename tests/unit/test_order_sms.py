"""The service loop's SMS words (domain.orders.commands) and its texts (domain.orders.texts):
parsed as basic phones type them, and every text in one segment."""
from __future__ import annotations

import pytest

from chalicelib.domain import sms
from chalicelib.domain.orders import commands
from chalicelib.domain.orders.commands import OrderAction, OrderCommand
from chalicelib.domain.orders.texts import ORDER_TEMPLATES, render_order
from chalicelib.domain.segments import encoding, segments


@pytest.mark.parametrize(("text", "expected"), [
    ("点单 医保", OrderCommand(OrderAction.ORDER, words="医保")),
    ("点单医保", OrderCommand(OrderAction.ORDER, words="医保")),
    ("ORDER 理发", OrderCommand(OrderAction.ORDER, words="理发")),
    ("点单 心愿 给孙子买个书包 80元", OrderCommand(OrderAction.ORDER, words="心愿 给孙子买个书包 80元", value_yuan=80)),
    ("代点 3-2-501 医保", OrderCommand(OrderAction.ORDER_FOR, place="3-2-501", words="医保")),
    ("代点3号楼2单元 低保", OrderCommand(OrderAction.ORDER_FOR, place="3号楼2单元", words="低保")),
    ("代点 3号楼2单元501室 医保", OrderCommand(OrderAction.ORDER_FOR, place="3号楼2单元501室", words="医保")),
    ("代点 12-3-1201 理发", OrderCommand(OrderAction.ORDER_FOR, place="12-3-1201", words="理发")),
    ("ORDER医保", OrderCommand(OrderAction.ORDER, words="医保")),
    ("派单 ABC234", OrderCommand(OrderAction.DISPATCH, "ABC234")),
    ("派单abc234 139 1234 5678", OrderCommand(OrderAction.DISPATCH, "ABC234", phone="13912345678")),
    ("DISPATCH ABC234", OrderCommand(OrderAction.DISPATCH, "ABC234")),
    ("拒单 ABC234 不在本社区", OrderCommand(OrderAction.REJECT, "ABC234", words="不在本社区")),
    ("接单 ABC234", OrderCommand(OrderAction.CLAIM, "ABC234")),
    ("ＣＬＡＩＭ　abc234", OrderCommand(OrderAction.CLAIM, "ABC234")),
    ("进度 ABC234 2", OrderCommand(OrderAction.STEP, "ABC234", step=2)),
    ("进度ABC234第3项", OrderCommand(OrderAction.STEP, "ABC234", step=3)),
    ("STEP ABC234 1", OrderCommand(OrderAction.STEP, "ABC234", step=1)),
    ("积分", OrderCommand(OrderAction.POINTS)),
    ("points?", OrderCommand(OrderAction.POINTS)),
])
def test_order_words_are_read_as_typed(text, expected):
    assert commands.parse(text) == expected


@pytest.mark.parametrize("text", ["进度 ABC234", "进度", "点单", "接单", "派单 3号楼", "FORM 3-2", "ORDERLY",
                                  "楼道灯坏了", "收到 ABC234", "代点 医保"])
def test_what_is_not_an_order_command_goes_on_to_the_case_loop(text):
    assert commands.parse(text) is None


def test_progress_without_a_step_stays_a_status_query():
    assert commands.parse("进度 ABC234") is None
    assert sms.parse("进度 ABC234").action is sms.Action.QUERY


def test_jiedan_of_a_case_is_the_case_loops_acknowledge():
    assert sms.parse("接单 ABC234") == sms.Command(sms.Action.ACKNOWLEDGE, "ABC234")


@pytest.mark.parametrize("text", ["想预约上门理发", "帮我办一下医保", "我有个心愿"])
def test_free_text_that_asks_for_a_service(text):
    assert commands.asks_for_service(text)


def test_a_problem_report_does_not_ask_for_a_service():
    assert not commands.asks_for_service("3号楼楼道灯坏了")


WORST = {
    "community": "常牧家园", "code": "ABC234", "item": "低保申请代办“给孙子买个书包和几本课外书吧谢谢”",
    "location": "20号楼3单元1201室", "items": "医保 / 低保 / 理发 / 看望 / 心愿 / 体检 / 代买药 / 修家电",
    "bring": "身份证、户口本、家庭收入证明、申请表（社区提供）、材料交到民政窗口",
    "reason": "回执没有给我，而且钱好像交错了，麻烦再来一趟看看吧谢谢您啦辛苦", "name": "央金卓玛拉姆", "steps": "12",
    "state": "已派单，待党员接单",
}
WORST_EN = dict(WORST, community="Changmu Homeland", item="Subsistence-allowance application made for you",
                location="Building 20, unit 3 flat 1201", items="医保 / 低保 / 理发 / 心愿",
                bring="ID card, Household register, Proof of the household's income, "
                "The application form (from the community office), The papers handed in", state="dispatched, "
                "waiting for a claim")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("template", sorted(ORDER_TEMPLATES))
def test_every_order_text_fits_one_segment_and_keeps_its_code(template, lang):
    text = render_order(template, lang, **(WORST if lang == "zh" else WORST_EN))
    assert segments(text) == 1, text
    if "{code}" in ORDER_TEMPLATES[template][lang]:
        assert "ABC234" in text


def test_an_english_text_cut_to_fit_stays_gsm7_and_keeps_most_of_its_checklist():
    # GIVEN an English order receipt whose checklist is far too long for one segment
    text = render_order("order_received", "en", **WORST_EN)
    # THEN the cut is marked "..." (GSM-7): the text keeps 160 characters, not UCS-2's 70
    assert encoding(text) == "gsm7" and segments(text) == 1, text
    assert "Please have ready: ID card, Household" in text and "..." in text


def test_a_chinese_text_cut_to_fit_is_marked_with_one_ellipsis_character():
    text = render_order("order_received", "zh", **WORST)
    assert segments(text) == 1 and "…" in text and "..." not in text
