"""Residents are answered in the language they write in (chalicelib/domain/language.py,
resident_sms.language_of), and every English text a resident can get is one GSM-7 segment."""
from __future__ import annotations

import pytest

from chalicelib.bootstrap import load_json
from chalicelib.domain.directory import ROLE_NAMES
from chalicelib.domain.language import detect, written_in
from chalicelib.domain.messages import TEMPLATES, render
from chalicelib.domain.resident_sms import language_of
from chalicelib.domain.segments import encoding, segments


@pytest.mark.parametrize("text, lang", [
    # Latin letters and no Chinese character: English
    ("The light in building 3 unit 2 is broken", "en"),
    ("STATUS A7K2", "en"),
    ("STOP", "en"),
    ("help", "en"),
    ("ＨＥＬＰ", "en"),                         # full-width letters of a Chinese keypad
    ("Café door broken", "en"),                # Latin letters beyond ASCII
    ("water leak!!! 3-2。", "en"),             # Chinese punctuation is not a Chinese character
    # any Chinese character: Chinese, however much English is around it
    ("3号楼2单元楼道灯坏了", "zh"),
    ("3号楼 light broken", "zh"),
    ("The light in 楼道 is broken", "zh"),
    ("查询 AP3ZUM", "zh"),
    ("𠀀 broken", "zh"),                       # an ideograph outside the basic plane
    # no letters: no language
    ("1", None),
    ("3-2", None),
    ("12 34 !?", None),
    ("", None),
    (None, None),
    ("👍", None),
    ("ཁང་པ་ཆག་སོང་", None),                    # Tibetan script: no template in it
])
def test_given_a_text_then_the_language_it_is_written_in(text, lang):
    assert detect(text) == lang


@pytest.mark.parametrize("text, default, lang", [
    ("1", "zh", "zh"),                         # digits only: Chinese by default
    ("3-2!", "zh", "zh"),
    ("1", "en", "en"),                         # ... or what the caller knows
    ("OK", "zh", "en"),
    ("好的", "en", "zh"),
])
def test_given_a_text_without_letters_then_the_default(text, default, lang):
    assert written_in(text, default) == lang


@pytest.mark.parametrize("text, code, lang", [
    ("STOP", None, "en"),
    ("HELP", None, "en"),
    ("CHECK ABC234", "ABC234", "en"),
    ("STATUS ABC234", "ABC234", "en"),         # STATUS has a code's letters: only the code is taken out
    ("The light in building 3 unit 2 is broken", None, "en"),
    ("TD", None, "zh"),                        # 回复TD退订: what Chinese carriers ask for
    ("td", None, "zh"),
    ("T", None, "zh"),
    ("退订", None, "zh"),
    ("查询 ABC234", "ABC234", "zh"),
    # the case's code is in Latin letters whoever writes it: it says nothing of the language
    ("1 ABC234", "ABC234", None),
    ("abc234 2", "ABC234", None),
    ("1 abc-234", "ABC234", None),
    ("1", None, None),
    ("2。", None, None),
])
def test_given_a_residents_sms_then_the_language_to_answer_in(text, code, lang):
    assert language_of(text, code) == lang


# -- every English text a resident can get fits one GSM-7 segment -----------------------------------------

# What a resident (a phone that is no member's) can be sent: the case's notices to its
# reporter, and the workflow's direct answers (查询, 退订 / 订阅, 帮助, errors).
RESIDENT_TEMPLATES = (
    "reporter_received", "reporter_resolved",
    "status_received", "status_triage", "status_assigned", "status_acknowledged", "status_resolved",
    "status_awaiting_feedback", "status_closed", "status_cancelled", "status_duplicate",
    "reporter_help", "no_reports", "no_feedback_case", "opted_out", "opted_in", "unknown_sender", "unknown_case",
)


@pytest.fixture(scope="module")
def longest_english(communities):
    """The longest English value each parameter takes in the demo data, and a real code."""
    categories = load_json("categories.json")["categories"]
    return {
        "code": "AP3ZUM",
        "community": max((c.name["en"] for c in communities), key=len),
        "location": max((loc.short_name["en"] for c in communities for loc in c.locations.values()), key=len),
        "category": max((c["name"]["en"] for c in categories), key=len),
        "role": max((r["en"] for r in ROLE_NAMES.values()), key=len),
        "into": "XYZ789",
    }


@pytest.mark.parametrize("template", RESIDENT_TEMPLATES)
def test_every_english_text_a_resident_can_get_is_one_gsm7_segment(template, longest_english):
    text = render(template, "en", **longest_english)
    # GSM-7: 160 characters; one character outside it would make it UCS-2, 70 characters
    assert (encoding(text), segments(text)) == ("gsm7", 1), f"{len(text)}: {text}"


def test_every_status_answer_and_reporter_notice_is_measured_above():
    # a new status_* or reporter_* template is one a resident can get: it must be in the list
    assert set(RESIDENT_TEMPLATES) <= set(TEMPLATES)
    assert {t for t in TEMPLATES if t.startswith(("status_", "reporter_"))} <= set(RESIDENT_TEMPLATES)
