"""What a resident's SMS is (chalicelib/domain/resident_sms.py): table-driven."""
from __future__ import annotations

import pytest

from chalicelib.domain.resident_sms import Intent, ResidentMessage, classify, control, feedback, not_done_reason


@pytest.mark.parametrize("text, expected", [
    # opt-out and back
    ("退订", ResidentMessage(Intent.STOP)),
    ("TD", ResidentMessage(Intent.STOP)),
    ("td", ResidentMessage(Intent.STOP)),
    ("T", ResidentMessage(Intent.STOP)),
    ("STOP", ResidentMessage(Intent.STOP)),
    ("Stop.", ResidentMessage(Intent.STOP)),
    ("退订！", ResidentMessage(Intent.STOP)),
    ("ＳＴＯＰ", ResidentMessage(Intent.STOP)),
    ("订阅", ResidentMessage(Intent.START)),
    ("START", ResidentMessage(Intent.START)),
    ("恢复订阅", ResidentMessage(Intent.START)),
    # the call-back's answer
    ("1", ResidentMessage(Intent.SATISFIED)),
    ("１", ResidentMessage(Intent.SATISFIED)),
    ("满意", ResidentMessage(Intent.SATISFIED)),
    ("非常满意！", ResidentMessage(Intent.SATISFIED)),
    ("满意 ABC234", ResidentMessage(Intent.SATISFIED, "ABC234")),
    ("1 abc234", ResidentMessage(Intent.SATISFIED, "ABC234")),
    ("2", ResidentMessage(Intent.UNSATISFIED)),
    ("不满意", ResidentMessage(Intent.UNSATISFIED)),
    ("还没修好", ResidentMessage(Intent.UNSATISFIED)),
    ("不满意，ABC234", ResidentMessage(Intent.UNSATISFIED, "ABC234")),
    ("ABC234 不满意", ResidentMessage(Intent.UNSATISFIED, "ABC234")),
    # questions
    ("查询 ABC234", ResidentMessage(Intent.QUERY, "ABC234")),
    ("查询abc234", ResidentMessage(Intent.QUERY, "ABC234")),
    ("CHECK ABC234", ResidentMessage(Intent.QUERY, "ABC234")),
    ("查询", ResidentMessage(Intent.QUERY)),
    ("进度", ResidentMessage(Intent.QUERY)),
    ("帮助", ResidentMessage(Intent.HELP)),
    ("HELP", ResidentMessage(Intent.HELP)),
    ("?", ResidentMessage(Intent.HELP)),
    # thanks: no report, no answer
    ("谢谢", ResidentMessage(Intent.COURTESY)),
    ("好的，谢谢！", ResidentMessage(Intent.COURTESY)),
    ("收到", ResidentMessage(Intent.COURTESY)),
    ("OK", ResidentMessage(Intent.COURTESY)),
    ("完成了", ResidentMessage(Intent.COURTESY)),
    ("辛苦了", ResidentMessage(Intent.COURTESY)),
    # a member's command: only members may
    ("收到 ABC234", ResidentMessage(Intent.MEMBER_COMMAND, "ABC234")),
    ("DONE abc234", ResidentMessage(Intent.MEMBER_COMMAND, "ABC234")),
    # too short to be a report
    ("。", ResidentMessage(Intent.TOO_SHORT)),
    ("3", ResidentMessage(Intent.TOO_SHORT)),
    ("12", ResidentMessage(Intent.TOO_SHORT)),
    ("3-2", ResidentMessage(Intent.TOO_SHORT)),
    ("", ResidentMessage(Intent.TOO_SHORT)),
    (None, ResidentMessage(Intent.TOO_SHORT)),
    # reports: anything else, even when it starts with one of the words
    ("3号楼2单元楼道灯坏了", ResidentMessage(Intent.REPORT)),
    ("1号楼漏水", ResidentMessage(Intent.REPORT)),
    ("查询3号楼为什么停水", ResidentMessage(Intent.REPORT)),
    ("满意度很低，垃圾没人清", ResidentMessage(Intent.REPORT)),
    ("退订的短信还在发，另外楼道灯坏了", ResidentMessage(Intent.REPORT)),
    ("停水", ResidentMessage(Intent.REPORT)),
    ("ཁང་པ་ཆུ་འཛག", ResidentMessage(Intent.REPORT)),       # Tibetan
])
def test_given_a_residents_sms_then_its_intent(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize("text, intent", [
    ("退订", Intent.STOP), ("stop", Intent.STOP), ("订阅", Intent.START), ("start", Intent.START),
    ("退订 3号楼", None), ("收到", None), ("1", None),
])
def test_given_any_sms_then_control_finds_only_stop_and_start(text, intent):
    assert control(text) == intent


@pytest.mark.parametrize("text, expected", [
    ("满意", ResidentMessage(Intent.SATISFIED)), ("不满意", ResidentMessage(Intent.UNSATISFIED)),
    ("满意了吗", None), ("收到", None), ("ABC234", None),
])
def test_given_a_text_then_feedback_reads_only_the_call_back_answers(text, expected):
    assert feedback(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("2 没人来", "没人来"), ("不满意，材料没交", "材料没交"), ("没办好: 还差收入证明", "还差收入证明"),
    # a bare answer has no reason; a text naming a place after "2" is a report
    ("2", None), ("2没人来", None), ("2 号楼灯坏了", None), ("2 3单元漏水", None), ("no one came", None),
])
def test_given_an_answer_with_why_then_its_reason(text, reason):
    assert not_done_reason(text) == reason


@pytest.mark.parametrize("text", ["办好了", "没办好"])
def test_the_order_confirmations_words_are_answers(text):
    assert classify(text).intent in (Intent.SATISFIED, Intent.UNSATISFIED)
