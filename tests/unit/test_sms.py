"""Parsing members' SMS replies: 收到/OK to acknowledge, 完成/DONE to resolve, a code in any case."""
from __future__ import annotations

import pytest

from chalicelib.domain.sms import Action, Command, Unparsable, parse

ACK, RESOLVE = Action.ACKNOWLEDGE, Action.RESOLVE


@pytest.mark.parametrize("text, action", [
    ("收到 ABC234", ACK),
    ("OK ABC234", ACK),
    ("ok abc234", ACK),
    ("Ok AbC234", ACK),
    ("完成 ABC234", RESOLVE),
    ("DONE abc234", RESOLVE),
    ("done ABC234", RESOLVE),
    # full-width letters, digits and the ideographic space of a Chinese keypad
    ("ＯＫ　ａｂｃ２３４", ACK),
    ("ＤＯＮＥ　ＡＢＣ２３４", RESOLVE),
    ("完成　ＡＢＣ２３４！", RESOLVE),
    # the code glued to the word
    ("收到ABC234", ACK),
    ("OKabc234", ACK),
    ("完成abc234", RESOLVE),
    # punctuation, stray spaces, dashes, line breaks
    ("收到，abc234。", ACK),
    ("收到：ABC234", ACK),
    ("OK: ABC-234", ACK),
    ("ok, abc 234!", ACK),
    ("  OK   ABC234  ", ACK),
    ("完成!ABC234", RESOLVE),
    ("DONE ABC234.", RESOLVE),
    ("收到\nABC234", ACK),
])
def test_given_a_command_reply_when_parsed_then_action_and_normalized_code(text, action):
    assert parse(text) == Command(action, "ABC234")


@pytest.mark.parametrize("text, code", [
    ("", None),
    ("   ", None),
    ("谢谢", None),
    ("OK ABC23", None),            # too short
    ("OK ABC2345", None),          # too long
    ("OK ABC230", None),           # 0 is not in the alphabet
    ("DONE ABCIL2", None),         # nor I, L
    ("好的 ABC234", "ABC234"),      # an unknown word: the code is still recognisable
    ("ABC234", "ABC234"),          # a bare code
    ("hello abc234", "ABC234"),
    ("ABC234 收到", "ABC234"),      # the word after the code
    ("YES ABC234", "ABC234"),
    ("hello world", None),
])
def test_given_anything_else_when_parsed_then_unparsable(text, code):
    with pytest.raises(Unparsable) as error:
        parse(text)
    assert error.value.code == code


def test_given_none_when_parsed_then_unparsable():
    with pytest.raises(Unparsable):
        parse(None)


# -- 延期 / 同意 / 不同意 / 挂起 / 恢复 / 转办 ---------------------------------------------------------

EXTEND, APPROVE, REFUSE = Action.EXTEND, Action.APPROVE, Action.REFUSE
SUSPEND, RESUME, TRANSFER = Action.SUSPEND, Action.RESUME, Action.TRANSFER
CANCEL = Action.CANCEL


@pytest.mark.parametrize("text, expected", [
    # 延期 CODE 天数 原因
    ("延期 ABC234 3 等配件", Command(EXTEND, "ABC234", days=3, reason="等配件")),
    ("延期 ABC234 3天 等配件", Command(EXTEND, "ABC234", days=3, reason="等配件")),
    ("延期 ABC234 3天等配件", Command(EXTEND, "ABC234", days=3, reason="等配件")),
    ("延期 ABC234 2 天 住户不在家", Command(EXTEND, "ABC234", days=2, reason="住户不在家")),
    ("延期ABC234，2日，下雨", Command(EXTEND, "ABC234", days=2, reason="下雨")),
    ("延期　ＡＢＣ２３４　３天　等配件", Command(EXTEND, "ABC234", days=3, reason="等配件")),   # full width
    ("延期 ABC234 ３０ 天", Command(EXTEND, "ABC234", days=30)),
    ("延期 ABC 234 3 等", Command(EXTEND, "ABC234", days=3, reason="等")),
    ("延期 ABC234 3 20号前修好", Command(EXTEND, "ABC234", days=3, reason="20号前修好")),
    ("延期 ABC234 0", Command(EXTEND, "ABC234", days=0)),            # parsed; the case refuses it
    ("延期 ABC234 31天", Command(EXTEND, "ABC234", days=31)),
    ("EXTEND abc234 5 days Waiting for parts", Command(EXTEND, "ABC234", days=5, reason="Waiting for parts")),
    ("extend ABC234 1 day", Command(EXTEND, "ABC234", days=1)),
    ("EXTEND ABC234 2d rain", Command(EXTEND, "ABC234", days=2, reason="rain")),
    # 同意 / 不同意 CODE
    ("同意 ABC234", Command(APPROVE, "ABC234")),
    ("同意abc234", Command(APPROVE, "ABC234")),
    ("不同意 ABC234", Command(REFUSE, "ABC234")),
    ("不同意，ABC234。", Command(REFUSE, "ABC234")),
    ("APPROVE abc234", Command(APPROVE, "ABC234")),
    ("refuse ABC234", Command(REFUSE, "ABC234")),
    ("ＡＰＰＲＯＶＥ　ＡＢＣ２３４", Command(APPROVE, "ABC234")),
    # 挂起 CODE 原因 / 恢复 CODE
    ("挂起 ABC234 等待住户回家", Command(SUSPEND, "ABC234", reason="等待住户回家")),
    ("挂起ABC234", Command(SUSPEND, "ABC234")),
    ("SUSPEND abc234 Waiting for the thaw", Command(SUSPEND, "ABC234", reason="Waiting for the thaw")),
    ("恢复 ABC234", Command(RESUME, "ABC234")),
    ("RESUME abc234", Command(RESUME, "ABC234")),
    # 转办 CODE 手机号 原因
    ("转办 ABC234 13912345678 我在外地", Command(TRANSFER, "ABC234", target="13912345678", reason="我在外地")),
    ("转办 ABC234 139 1234 5678 我在外地", Command(TRANSFER, "ABC234", target="13912345678", reason="我在外地")),
    ("转办 ABC234 139-1234-5678", Command(TRANSFER, "ABC234", target="13912345678")),
    ("转办ABC234：13912345678，出差", Command(TRANSFER, "ABC234", target="13912345678", reason="出差")),
    ("转办　ＡＢＣ２３４　１３９１２３４５６７８　我在外地",
     Command(TRANSFER, "ABC234", target="13912345678", reason="我在外地")),
    ("转办 ABC234 +86 139 1234 5678 住院", Command(TRANSFER, "ABC234", target="+8613912345678", reason="住院")),
    ("转办 ABC234 13912345678 3号楼楼长管", Command(TRANSFER, "ABC234", target="13912345678", reason="3号楼楼长管")),
    ("转办 ABC234 139 1234 5678 2单元的事", Command(TRANSFER, "ABC234", target="13912345678", reason="2单元的事")),
    ("TRANSFER abc234 +86 139-1234-5678 Away", Command(TRANSFER, "ABC234", target="+8613912345678", reason="Away")),
    ("TRANSFER abc234 +44 20 7946 0958 away", Command(TRANSFER, "ABC234", target="+442079460958", reason="away")),
    # 取消 CODE 原因: a junk report called off
    ("取消 ABC234 重复报事", Command(CANCEL, "ABC234", reason="重复报事")),
    ("取消ABC234，测试短信", Command(CANCEL, "ABC234", reason="测试短信")),
    ("取消　ＡＢＣ２３４　广告", Command(CANCEL, "ABC234", reason="广告")),
    ("CANCEL abc234 duplicate of K7XQ2M", Command(CANCEL, "ABC234", reason="duplicate of K7XQ2M")),
    ("cancel ABC-234 spam", Command(CANCEL, "ABC234", reason="spam")),
    # ... without a reason it is still 取消: the case refuses it, and the answer says how
    ("取消 ABC234", Command(CANCEL, "ABC234")),
    ("CANCEL ABC234 ,", Command(CANCEL, "ABC234")),
])
def test_given_a_new_command_when_parsed_then_action_code_and_arguments(text, expected):
    assert parse(text) == expected


def test_given_a_long_reason_when_parsed_then_it_is_cut_to_200_characters():
    assert parse("延期 ABC234 3 " + "等" * 300).reason == "等" * 200


@pytest.mark.parametrize("text, code", [
    ("延期 ABC234", "ABC234"),                 # no days
    ("延期 ABC234 等配件", "ABC234"),
    ("延期 ABC234 三天", "ABC234"),             # days in figures only
    ("延期 ABC234 1000", "ABC234"),
    ("EXTEND ABC234", "ABC234"),
    ("转办 ABC234", "ABC234"),                 # no phone
    ("转办 ABC234 我在外地", "ABC234"),
    ("转办 ABC234 12345", "ABC234"),           # too short for a phone
    ("TRANSFER ABC234 away", "ABC234"),
    ("延期", None),
    ("同意", None),
    ("挂起 ABC23", None),
    ("不同意 ABC2345", None),
    ("同意吗 ABC234", "ABC234"),               # not a word it knows, followed by a code
    ("取消", None),                           # 取消 needs a code: never "the one open case"
    ("取消 重复了", None),
    ("CANCEL", None),
])
def test_given_a_new_command_without_its_arguments_when_parsed_then_unparsable_with_the_code(text, code):
    with pytest.raises(Unparsable) as error:
        parse(text)
    assert error.value.code == code


# -- replies without a code, the numeric shortcuts, 帮助, 查询, 位置 -----------------------------------

LOCATE, HELP, QUERY = Action.LOCATE, Action.HELP, Action.QUERY


@pytest.mark.parametrize("text, expected", [
    # 收到 / 完成 alone: the member's one open case (services.workflow picks it)
    ("收到", Command(ACK, None)),
    ("OK", Command(ACK, None)),
    ("ok!", Command(ACK, None)),
    ("收到了", Command(ACK, None)),
    ("收到，谢谢", Command(ACK, None)),
    ("完成", Command(RESOLVE, None)),
    ("DONE.", Command(RESOLVE, None)),
    ("完成了，已经修好", Command(RESOLVE, None)),
    ("ＯＫ", Command(ACK, None)),
    # the numeric shortcuts offered in the notices: 1 = 收到, 2 = 完成
    ("1", Command(ACK, None)),
    ("2", Command(RESOLVE, None)),
    ("１", Command(ACK, None)),
    (" 2。", Command(RESOLVE, None)),
    ("1 ABC234", Command(ACK, "ABC234")),
    ("2abc234", Command(RESOLVE, "ABC234")),
    ("1，abc 234", Command(ACK, "ABC234")),
    # 帮助 / HELP: the member's open cases
    ("帮助", Command(HELP, None)),
    ("HELP", Command(HELP, None)),
    ("help!", Command(HELP, None)),
    ("?", Command(HELP, None)),
    ("？", Command(HELP, None)),
    # 查询 CODE: a case's status; 查询 alone: the sender's latest report
    ("查询 ABC234", Command(QUERY, "ABC234")),
    ("查询abc234", Command(QUERY, "ABC234")),
    ("CHECK abc234", Command(QUERY, "ABC234")),
    ("查询", Command(QUERY, None)),
    ("进度？", Command(QUERY, None)),
    # 位置 CODE PLACE: the triage member sets an SMS report's place; the code may be left out
    ("位置 ABC234 3-2", Command(LOCATE, "ABC234", place="3-2")),
    ("位置ABC234 3号楼2单元", Command(LOCATE, "ABC234", place="3号楼2单元")),
    ("位置 ABC234，changmu-03-2", Command(LOCATE, "ABC234", place="changmu-03-2")),
    ("PLACE abc234 3-2", Command(LOCATE, "ABC234", place="3-2")),
    ("位置 3-2", Command(LOCATE, None, place="3-2")),
    ("位置：３栋２单元", Command(LOCATE, None, place="3栋2单元")),
    ("位置 changmu-03-2", Command(LOCATE, None, place="changmu-03-2")),
])
def test_given_a_reply_without_a_code_or_a_shortcut_when_parsed_then_its_command(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, code", [
    ("OK 123", None),              # digits after the word were meant as a code
    ("收到 ABC", None),
    ("完成 AB-23", None),
    ("12", None),                  # not a shortcut
    ("3", None),
    ("1号楼漏水", None),            # a place, not the shortcut 1
    ("2天后再来", None),
    ("位置", None),                 # 位置 needs a place
    ("位置 ABC234", "ABC234"),
    ("延期", None),                 # only 收到, 完成 and 位置 may leave the code out
    ("转办 13912345678", None),
    ("查询3号楼的水管", None),       # 查询 followed by words, not a code
    ("CHECKED", None),
])
def test_given_a_reply_that_is_not_quite_a_command_when_parsed_then_unparsable(text, code):
    with pytest.raises(Unparsable) as error:
        parse(text)
    assert error.value.code == code
