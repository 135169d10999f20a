"""What a resident's SMS is (chalicelib/domain/resident_sms.py): table-driven."""
from __future__ import annotations

import pytest

from chalicelib.domain.resident_sms import Intent, ResidentMessage, classify, control, feedback

I = Intent


@pytest.mark.parametrize("text, expected", [
    # opt-out and back
    ("退订", ResidentMessage(I.STOP)),
    ("TD", ResidentMessage(I.STOP)),
    ("td", ResidentMessage(I.STOP)),
    ("T", ResidentMessage(I.STOP)),
    ("STOP", ResidentMessage(I.STOP)),
    ("Stop.", ResidentMessage(I.STOP)),
    ("退订！", ResidentMessage(I.STOP)),
    ("ＳＴＯＰ", ResidentMessage(I.STOP)),
    ("订阅", ResidentMessage(I.START)),
    ("START", ResidentMessage(I.START)),
    ("恢复订阅", ResidentMessage(I.START)),
    # the call-back's answer
    ("1", ResidentMessage(I.SATISFIED)),
    ("１", ResidentMessage(I.SATISFIED)),
    ("满意", ResidentMessage(I.SATISFIED)),
    ("非常满意！", ResidentMessage(I.SATISFIED)),
    ("满意 ABC234", ResidentMessage(I.SATISFIED, "ABC234")),
    ("1 abc234", ResidentMessage(I.SATISFIED, "ABC234")),
    ("2", ResidentMessage(I.UNSATISFIED)),
    ("不满意", ResidentMessage(I.UNSATISFIED)),
    ("还没修好", ResidentMessage(I.UNSATISFIED)),
    ("不满意，ABC234", ResidentMessage(I.UNSATISFIED, "ABC234")),
    ("ABC234 不满意", ResidentMessage(I.UNSATISFIED, "ABC234")),
    # questions
    ("查询 ABC234", ResidentMessage(I.QUERY, "ABC234")),
    ("查询abc234", ResidentMessage(I.QUERY, "ABC234")),
    ("CHECK ABC234", ResidentMessage(I.QUERY, "ABC234")),
    ("查询", ResidentMessage(I.QUERY)),
    ("进度", ResidentMessage(I.QUERY)),
    ("帮助", ResidentMessage(I.HELP)),
    ("HELP", ResidentMessage(I.HELP)),
    ("?", ResidentMessage(I.HELP)),
    # thanks: no report, no answer
    ("谢谢", ResidentMessage(I.COURTESY)),
    ("好的，谢谢！", ResidentMessage(I.COURTESY)),
    ("收到", ResidentMessage(I.COURTESY)),
    ("OK", ResidentMessage(I.COURTESY)),
    ("完成了", ResidentMessage(I.COURTESY)),
    ("辛苦了", ResidentMessage(I.COURTESY)),
    # a member's command: only members may
    ("收到 ABC234", ResidentMessage(I.MEMBER_COMMAND, "ABC234")),
    ("DONE abc234", ResidentMessage(I.MEMBER_COMMAND, "ABC234")),
    # too short to be a report
    ("。", ResidentMessage(I.TOO_SHORT)),
    ("3", ResidentMessage(I.TOO_SHORT)),
    ("12", ResidentMessage(I.TOO_SHORT)),
    ("3-2", ResidentMessage(I.TOO_SHORT)),
    ("", ResidentMessage(I.TOO_SHORT)),
    (None, ResidentMessage(I.TOO_SHORT)),
    # reports: anything else, even when it starts with one of the words
    ("3号楼2单元楼道灯坏了", ResidentMessage(I.REPORT)),
    ("1号楼漏水", ResidentMessage(I.REPORT)),
    ("查询3号楼为什么停水", ResidentMessage(I.REPORT)),
    ("满意度很低，垃圾没人清", ResidentMessage(I.REPORT)),
    ("退订的短信还在发，另外楼道灯坏了", ResidentMessage(I.REPORT)),
    ("停水", ResidentMessage(I.REPORT)),
    ("ཁང་པ་ཆུ་འཛག", ResidentMessage(I.REPORT)),       # Tibetan
])
def test_given_a_residents_sms_then_its_intent(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize("text, intent", [
    ("退订", I.STOP), ("stop", I.STOP), ("订阅", I.START), ("start", I.START),
    ("退订 3号楼", None), ("收到", None), ("1", None),
])
def test_given_any_sms_then_control_finds_only_stop_and_start(text, intent):
    assert control(text) == intent


@pytest.mark.parametrize("text, expected", [
    ("满意", ResidentMessage(I.SATISFIED)), ("不满意", ResidentMessage(I.UNSATISFIED)),
    ("满意了吗", None), ("收到", None), ("ABC234", None),
])
def test_given_a_text_then_feedback_reads_only_the_call_back_answers(text, expected):
    assert feedback(text) == expected
