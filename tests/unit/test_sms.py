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
    ("收到", None),                 # a word without a code
    ("OK", None),
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
