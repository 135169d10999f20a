"""Property tests (Hypothesis) for the SMS parsers: a member's reply (domain/sms.py), a
resident's SMS (domain/resident_sms.py) and the places it names (domain/places.py).

Whatever a basic phone sends, the parsers answer with a command or a clear "not a command",
never another exception; what the notices ask members to type always parses back."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.domain import places, resident_sms, sms
from chalicelib.domain.codes import ALPHABET, CODE_LENGTH, CODE_PATTERN, code_for

CODES = st.builds(code_for, st.text(max_size=8), st.integers(0, 7))
# A few words and characters that make the parsers work harder than random text does.
PIECES = st.sampled_from(sorted(sms.WORDS) + sorted(sms.HELP_WORDS) + list(sms.QUERY_WORDS) + [
    "1", "2", " ", "　", "，", "：", "-", "号楼", "单元", "栋", "3", "12", "天", "谢谢", "满意", "不满意",
    "退订", "STOP", "ＯＫ", "ａｂｃ", "ß", "ﬃ", "İ", "\n", "?", "？"])
TEXTS = st.one_of(st.text(), st.lists(st.one_of(PIECES, CODES, st.text(max_size=3)), max_size=8).map("".join))
SIMPLE = {sms.Action.ACKNOWLEDGE, sms.Action.RESOLVE, sms.Action.APPROVE, sms.Action.REFUSE,
          sms.Action.RESUME, sms.Action.SUSPEND}
SEPARATORS = st.sampled_from(["", " ", "  ", "　", ":", "：", "，", ", ", "\n", "-"])
# The machine is shared and small: a slow draw is no failure.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def full_width(text: str) -> str:
    """As a Chinese keypad may type it: ASCII as full-width forms, spaces as ideographic ones."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def mixed_case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.lower() if flip else c.upper() for c, flip in zip(text, flips, strict=True))


def outcome(text: str):
    """What parse makes of a text: the command, or the code an Unparsable still recognised."""
    try:
        return sms.parse(text)
    except sms.Unparsable as unparsable:
        return ("unparsable", unparsable.code)


# -- members' replies ---------------------------------------------------------------------
@PROPERTY
@given(TEXTS)
@example("ǅ收到")        # a letter that changes under upper-casing, before a word
@example("ﬃ 收到 ABC234")  # one character that grows into three when upper-cased
def test_any_text_is_a_well_formed_command_or_unparsable(text):
    try:
        command = sms.parse(text)
    except sms.Unparsable as unparsable:
        assert unparsable.code is None or CODE_PATTERN.match(unparsable.code)
        return
    assert isinstance(command.action, sms.Action)
    assert command.code is None or CODE_PATTERN.match(command.code)
    if command.code is None:
        assert command.action in sms.BARE_ALLOWED | {sms.Action.HELP, sms.Action.QUERY}
    assert len(command.reason) <= sms.MAX_REASON and len(command.place) <= sms.MAX_REASON
    if command.action is sms.Action.EXTEND:
        assert isinstance(command.days, int) and command.days >= 0
    if command.action is sms.Action.TRANSFER:
        assert command.target and re.fullmatch(r"\+?\d+", command.target)
    if command.action is sms.Action.LOCATE:
        assert command.place


@PROPERTY
@given(word=st.sampled_from(sorted(w for w, a in sms.WORDS.items() if a in SIMPLE)), code=CODES,
       separator=SEPARATORS, data=st.data())
def test_a_command_word_and_a_code_parse_back_in_any_case_and_width(word, code, separator, data):
    if separator in ("", "-") and word.isascii():
        separator = " "   # an English word glued to a code is only readable with something between
    typed = mixed_case(data.draw, f"{word}{separator}{code}")
    if data.draw(st.booleans()):
        typed = full_width(typed)

    command = sms.parse(typed)

    assert (command.action, command.code) == (sms.WORDS[word], code)


@PROPERTY
@given(word=st.sampled_from(sorted(w for w, a in sms.WORDS.items() if a in SIMPLE - {sms.Action.SUSPEND})),
       code=CODES, grouping=st.integers(1, CODE_LENGTH - 1), politeness=st.sampled_from(["", " 谢谢", "，马上去", "!"]))
def test_a_code_read_out_in_groups_with_polite_words_after_it_still_parses(word, code, grouping, politeness):
    typed = f"{word} {code[:grouping]} {code[grouping:]}{politeness}"

    command = sms.parse(typed)

    assert (command.action, command.code) == (sms.WORDS[word], code)


@PROPERTY
@given(shortcut=st.sampled_from(sorted(sms.SHORTCUTS)), code=st.one_of(st.none(), CODES),
       separator=st.sampled_from([" ", "　", "，"]))
def test_the_numeric_shortcuts_parse_alone_or_before_a_code(shortcut, code, separator):
    typed = shortcut if code is None else f"{shortcut}{separator}{code.lower()}"

    assert sms.parse(typed) == sms.Command(sms.SHORTCUTS[shortcut], code)


@PROPERTY
@given(code=CODES, days=st.integers(1, 30), unit=st.sampled_from(["", "天", " 天", "日", " days", "d"]),
       reason=st.text(alphabet="孩子生病材料不齐等配件需要时间", min_size=1, max_size=30))
def test_extend_parses_back_its_days_and_reason(code, days, unit, reason):
    command = sms.parse(f"延期 {code.lower()} {days}{unit} {reason}")

    assert command == sms.Command(sms.Action.EXTEND, code, days=days, reason=reason)


@PROPERTY
@given(code=CODES, phone=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       grouped=st.booleans(), reason=st.text(alphabet="我出差请他代办谢谢", max_size=20))
def test_transfer_parses_back_the_phone_and_reason(code, phone, grouped, reason):
    typed_phone = f"{phone[:3]} {phone[3:7]} {phone[7:]}" if grouped else phone

    command = sms.parse(f"转办 {code} {typed_phone} {reason}")

    assert command == sms.Command(sms.Action.TRANSFER, code, target=phone, reason=reason)


@PROPERTY
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_ascii_text_parses_the_same_typed_full_width(text):
    """NFKC folds the full-width forms: a Chinese keypad's ＯＫ　ＡＢＣ２３４ is OK ABC234."""
    assert outcome(full_width(text)) == outcome(text)


@PROPERTY
@given(st.lists(st.sampled_from(list(ALPHABET.lower() + ALPHABET + " ,.:-!") + ["OK", "DONE", "收到", "完成"]))
       .map("".join))
def test_the_case_of_letters_changes_nothing_but_the_reason(text):
    def essence(result):
        return result if isinstance(result, tuple) else (result.action, result.code, result.days, result.target)

    assert essence(outcome(text.lower())) == essence(outcome(text.upper()))


# -- residents' SMS -------------------------------------------------------------------------
@PROPERTY
@given(TEXTS)
@example("\U000e0001")   # a tag character: not meaningful, not a report
@example("3-2")
def test_any_resident_text_has_exactly_one_intent(text):
    message = resident_sms.classify(text)

    assert isinstance(message.intent, resident_sms.Intent)
    assert message.code is None or CODE_PATTERN.match(message.code)


@PROPERTY
@given(word=st.sampled_from(sorted(resident_sms.STOP_WORDS | resident_sms.START_WORDS)), data=st.data(),
       around=st.sampled_from(["", " ", "。", "！", "  "]))
def test_stop_and_start_are_understood_in_any_case_and_width(word, data, around):
    typed = around + mixed_case(data.draw, word) + around
    if data.draw(st.booleans()):
        typed = full_width(typed)
    expected = resident_sms.Intent.STOP if word in resident_sms.STOP_WORDS else resident_sms.Intent.START

    assert resident_sms.classify(typed).intent is expected


DESCRIPTIONS = st.text(alphabet="楼道灯坏了水管漏暖气不热垃圾没人清晚上看见", min_size=2, max_size=40)


@PROPERTY
@given(building=st.integers(1, 99), unit=st.integers(1, 9), description=DESCRIPTIONS,
       spelled=st.sampled_from(["{b}号楼{u}单元", "{b}栋{u}单元", "{b}幢{u}单元", "{b}号{u}单元", "{b}-{u}，"]))
def test_a_residents_report_naming_a_stairwell_is_a_report_about_it(building, unit, description, spelled):
    text = spelled.format(b=building, u=unit) + description

    assert resident_sms.classify(text) == resident_sms.ResidentMessage(resident_sms.Intent.REPORT)
    assert places.find(text) == places.Mention(building, unit, explicit="-" not in spelled)


# -- places -------------------------------------------------------------------------------
def chinese(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


@PROPERTY
@given(TEXTS)
@example("3-2-501")
@example("０-１")        # building 0 is no building
def test_any_text_names_no_place_or_a_well_formed_one(text):
    mention = places.find(text)

    assert mention is None or (mention.building >= 1 and (mention.unit is None or mention.unit >= 1))


@PROPERTY
@given(building=st.integers(1, 99), unit=st.integers(1, 9), numerals=st.sampled_from(["arabic", "full", "chinese"]),
       spelled=st.sampled_from(["{b}号楼{u}单元", "{b}栋{u}单元", "{b}號樓{u}單元", "{b}号楼 {u}单元",
                                "{b}号楼，{u}单元"]),
       before=st.sampled_from(["", "我家", "请问，", "住在"]), after=st.sampled_from(["", "楼道灯坏了", "，漏水"]))
def test_building_and_unit_are_found_however_the_numbers_are_written(building, unit, numerals, spelled, before, after):
    write = {"arabic": str, "full": lambda n: full_width(str(n)), "chinese": chinese}[numerals]
    text = before + spelled.format(b=write(building), u=write(unit)) + after

    assert places.find(text) == places.Mention(building, unit)


@PROPERTY
@given(st.integers(1, 99))
def test_numbers_read_back_in_every_writing(n):
    assert places.number(str(n)) == places.number(full_width(str(n))) == places.number(chinese(n)) == n


@pytest.fixture(scope="module")
def changmu(communities):
    return communities["changmu"] if isinstance(communities, dict) else next(
        c for c in communities if c.id == "changmu")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_unit_of_the_community_is_placed_from_each_way_of_writing_it(changmu, data):
    code = data.draw(st.sampled_from(sorted(c for c in changmu.locations if c.count("-") == 2)))
    building, unit = (int(part) for part in code.split("-")[1:])
    typed = data.draw(st.sampled_from([f"{building}-{unit}", f"{building} - {unit}", f"{building}号楼{unit}单元",
                                       f"{chinese(building)}栋{chinese(unit)}单元", code.upper()]))

    assert places.parse_place(changmu, typed) == code
