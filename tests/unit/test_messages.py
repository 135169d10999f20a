"""The message catalogue: every template renders in both languages and fits one SMS."""
from __future__ import annotations

import string

import pytest

from chalicelib.bootstrap import load_json
from chalicelib.domain.directory import ROLE_NAMES
from chalicelib.domain.messages import TEMPLATES, render

CATEGORIES = load_json("categories.json")["categories"]
CODE = "ABC234"          # every code is 6 characters
LANGS = ("zh", "en")

# GSM 03.38: a text of these characters goes as GSM-7 (160 septets per segment, the
# extension characters take two); anything else makes the whole text UCS-2 (70 per segment).
GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
             "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = "^{}\\[~]|€\f"


def one_segment(text: str) -> tuple[int, int]:
    """(length in the encoding's units, the one-segment limit)."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text):
        return sum(2 if c in GSM_EXTENSION else 1 for c in text), 160
    return len(text), 70


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def longest(values):
    return max(values, key=len)


@pytest.fixture(scope="module")
def worst_params(communities):
    """The longest value of every parameter the demo data and catalogue can produce, per language."""
    members = [m.name for c in communities for m in c.members.values()]
    return {lang: {
        "code": CODE,
        "community": longest(c.name[lang] for c in communities),
        "location": longest(loc.short_name[lang] for c in communities for loc in c.locations.values()),
        "category": longest(c["name"][lang] for c in CATEGORIES),
        "role": longest(r[lang] for r in ROLE_NAMES.values()),
        "by": longest(members),               # a member's name is not translated
        "holder": longest(members),
        "to": longest(members),
        "days": "30",
        # SMS both ways: a list of open cases as services.workflow fits it, a resident's
        # words as domain.sms_intake.snippet cuts them (Chinese, even to an English
        # speaker), a resident's phone in national form
        "codes": "ABC234、DEF567、GHJ892" if lang == "zh" else "ABC234, DEF567, GHJ892",
        "text": "三号楼二单元楼道里煤气味很大快来看看吧谢…" if lang == "zh" else "楼道里煤气味很大快…",
        "phone": "13912345678",
        # duplicates: the code a report joined or that joined it, and how many residents now
        "into": "XYZ789", "duplicate": "XYZ789", "affected": "120",
    } for lang in LANGS}


def test_worst_case_parameters_are_the_expected_ones(worst_params):
    zh = worst_params["zh"]
    assert len(zh["location"]) == len("20号楼3单元") == 7
    assert zh["category"] in ("医保缴费代办", "低保申请代办")
    assert worst_params["en"]["category"] == "Subsistence-allowance application"


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_exists_in_both_languages_with_the_same_parameters(template):
    assert set(TEMPLATES[template]) == set(LANGS)
    assert placeholders(TEMPLATES[template]["zh"]) == placeholders(TEMPLATES[template]["en"])
    assert placeholders(TEMPLATES[template]["zh"]) <= {"code", "community", "location", "category", "role", "by",
                                                       "holder", "to", "days", "codes", "text", "phone",
                                                       "into", "duplicate", "affected"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_with_realistic_parameters(template, lang, worst_params):
    params = worst_params[lang]
    text = render(template, lang, **params)
    assert "{" not in text and "}" not in text
    for name in placeholders(TEMPLATES[template][lang]):
        assert params[name] in text
    if lang == "zh":
        assert not text.isascii()


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_zh_notice_fits_one_sms_segment_of_70_characters(template, worst_params):
    text = render(template, "zh", **worst_params["zh"])
    assert len(text) <= 70, f"{len(text)} characters: {text}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_notice_fits_one_segment_of_its_encoding(template, lang, worst_params):
    # English with a Chinese name (taken_over) is UCS-2 and must fit 70, otherwise 160 GSM septets.
    text = render(template, lang, **worst_params[lang])
    length, limit = one_segment(text)
    assert length <= limit, f"{length} > {limit}: {text}"


def test_the_assigned_notice_reads_as_expected():
    text = render("assigned", "zh", code=CODE, community="常牧家园", location="1号楼1单元", category="楼道照明")
    assert text == "【常牧家园】新事项ABC234：1号楼1单元，楼道照明。回复1或“收到 ABC234”接单，办完回复2"


def test_given_an_unknown_language_then_chinese():
    assert render("resolved", "bo", code=CODE) == render("resolved", "zh", code=CODE) == (
        "事项ABC234已由跟办人办结，您无需再办理。")


def test_given_a_missing_parameter_then_render_fails_loudly():
    with pytest.raises(KeyError):
        render("assigned", "zh", code=CODE)
