"""validate(): what a resident submits, from any door."""
from __future__ import annotations

import pytest

from chalicelib.bootstrap import load_json
from chalicelib.domain.report import MAX_DESCRIPTION, MAX_NAME, InvalidReport, ReportRequest, problems, validate

CATEGORIES = {c["code"]: c for c in load_json("categories.json")["categories"]}


def body(**overrides):
    data = {"category": "stairwell_light", "location": "changmu-01-1", "description": "楼道灯坏了"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def rejected(directory, payload, **kwargs) -> InvalidReport:
    with pytest.raises(InvalidReport) as error:
        validate(payload, directory, CATEGORIES, **kwargs)
    return error.value


def test_given_a_valid_report_then_a_request_for_its_community(directory):
    request = validate(body(phone="13912345678", name=" 卓玛 "), directory, CATEGORIES)
    assert request == ReportRequest("changmu", "stairwell_light", "changmu-01-1", "楼道灯坏了",
                                    "+8613912345678", "卓玛")


def test_given_a_location_in_the_other_community_then_that_community(directory):
    assert validate(body(location="garang-02-1"), directory, CATEGORIES).community_id == "garang"


def test_given_padded_values_then_they_are_trimmed_and_blank_optionals_are_none(directory):
    request = validate(body(description="  漏水  ", category=" water_pipe ", phone="  ", name=""),
                       directory, CATEGORIES)
    assert (request.description, request.category, request.phone, request.name) == ("漏水", "water_pipe", None, None)


@pytest.mark.parametrize("payload", [[], "text", None, 42, ["category"]])
def test_given_not_an_object_then_invalid_body(directory, payload):
    assert rejected(directory, payload).code == "invalid_body"


@pytest.mark.parametrize("extra, field", [({"source": "console"}, "source"), ({"zz": 1, "aa": 2}, "aa"),
                                          ({"Phone": "139"}, "Phone")])
def test_given_an_unknown_field_then_unknown_field_naming_it(directory, extra, field):
    error = rejected(directory, body(**extra))
    assert (error.code, error.field) == ("unknown_field", field)


def test_given_an_extra_allowed_field_then_accepted(directory):
    assert validate(body(source="console"), directory, CATEGORIES, extra_allowed=("source",)).category \
        == "stairwell_light"


@pytest.mark.parametrize("field", ["category", "location", "description"])
@pytest.mark.parametrize("value", [..., None, "", "   "], ids=["absent", "null", "empty", "blank"])
def test_given_a_required_field_missing_then_missing_field(directory, field, value):
    error = rejected(directory, body(**{field: value}))
    assert (error.code, error.field) == ("missing_field", field)


@pytest.mark.parametrize("field, value", [
    ("category", 1), ("location", ["changmu-01-1"]), ("description", {"text": "x"}),
    ("phone", 13912345678), ("name", True), ("description", True),
])
def test_given_a_field_of_the_wrong_type_then_invalid_type(directory, field, value):
    error = rejected(directory, body(**{field: value}))
    assert (error.code, error.field) == ("invalid_type", field)


@pytest.mark.parametrize("field, value, code", [
    ("category", "potholes", "unknown_category"),
    ("category", "Water_Pipe", "unknown_category"),
    ("location", "changmu-21", "unknown_location"),
    ("location", "changmu-01-4", "unknown_location"),
    ("location", "changmu", "unknown_location"),
])
def test_given_an_unknown_category_or_location_then_rejected(directory, field, value, code):
    error = rejected(directory, body(**{field: value}))
    assert (error.code, error.field) == (code, field)


def test_given_description_at_the_limit_then_accepted_and_one_more_too_long(directory):
    assert validate(body(description="灯" * MAX_DESCRIPTION), directory, CATEGORIES)
    error = rejected(directory, body(description="灯" * (MAX_DESCRIPTION + 1)))
    assert (error.code, error.field) == ("too_long", "description")


def test_given_name_at_the_limit_then_accepted_and_one_more_too_long(directory):
    assert validate(body(name="卓" * MAX_NAME), directory, CATEGORIES)
    error = rejected(directory, body(name="卓" * (MAX_NAME + 1)))
    assert (error.code, error.field) == ("too_long", "name")


@pytest.mark.parametrize("raw, e164", [
    ("13912345678", "+8613912345678"),
    ("139 1234 5678", "+8613912345678"),
    ("139-1234-5678", "+8613912345678"),
    ("+86 139 1234 5678", "+8613912345678"),
    ("+8613912345678", "+8613912345678"),
    ("008613912345678", "+8613912345678"),
    ("0971 8123456", "+869718123456"),          # a Xining landline
    ("+1 650 253 0000", "+16502530000"),
])
def test_given_a_phone_then_normalized_to_e164(directory, raw, e164):
    assert validate(body(phone=raw), directory, CATEGORIES).phone == e164


@pytest.mark.parametrize("raw", ["12345", "abc", "+86 123", "1391234567", "139123456789", "+861389752001"])
def test_given_an_invalid_phone_then_invalid_phone(directory, raw):
    error = rejected(directory, body(phone=raw))
    assert (error.code, error.field) == ("invalid_phone", "phone")


def test_fingerprint_tells_content_apart(directory):
    one = validate(body(), directory, CATEGORIES)
    assert one.fingerprint() == validate(body(description=" 楼道灯坏了 "), directory, CATEGORIES).fingerprint()
    assert one.fingerprint() != validate(body(description="楼道灯坏了!"), directory, CATEGORIES).fingerprint()
    assert one.fingerprint() != validate(body(phone="13912345678"), directory, CATEGORIES).fingerprint()


# -- lang: the language of the reporter's SMS ------------------------------------------------------

@pytest.mark.parametrize("given, lang", [(..., "zh"), (None, "zh"), ("", "zh"), ("zh", "zh"), ("en", "en"),
                                         (" EN ", "en")])
def test_given_a_lang_or_none_then_the_reporters_language_chinese_by_default(directory, given, lang):
    assert validate(body(lang=given), directory, CATEGORIES).lang == lang


@pytest.mark.parametrize("given, code", [("fr", "invalid_lang"), ("english", "invalid_lang"), ("bo", "invalid_lang"),
                                         (1, "invalid_type"), (["en"], "invalid_type")])
def test_given_another_lang_then_rejected_naming_the_field(directory, given, code):
    error = rejected(directory, body(lang=given))
    assert (error.code, error.field) == (code, "lang")


def test_given_a_lang_then_the_fingerprint_tells_it_apart_and_chinese_keeps_the_old_one(directory):
    # the same Idempotency-Key with another language is another report (422), and a report
    # made before `lang` existed keeps its fingerprint: zh is the default
    plain = ReportRequest("changmu", "stairwell_light", "changmu-01-1", "楼道灯坏了")
    assert validate(body(lang="zh"), directory, CATEGORIES).fingerprint() == plain.fingerprint()
    assert validate(body(lang="en"), directory, CATEGORIES).fingerprint() != plain.fingerprint()


# -- problems(): every fault at once, for the report form ------------------------------------
def test_given_several_faults_then_problems_lists_each_in_validates_order_with_validates_words(directory):
    payload = body(category="", location="changmu-99", description="x" * (MAX_DESCRIPTION + 1), phone="call me")

    found = problems(payload, directory, CATEGORIES)

    assert [(e.code, e.field) for e in found] == [("missing_field", "category"), ("unknown_location", "location"),
                                                 ("too_long", "description"), ("invalid_phone", "phone")]
    assert found[0].message == rejected(directory, payload).message      # the first is validate's own


def test_given_a_valid_report_then_problems_finds_none(directory):
    assert problems(body(phone="13912345678"), directory, CATEGORIES) == []


def test_given_an_unknown_field_and_a_bad_priority_then_both_are_found_and_the_stand_ins_end(directory):
    found = problems(body(colour="red", priority="soon"), directory, CATEGORIES)
    assert [(e.code, e.field) for e in found] == [("unknown_field", "colour"), ("invalid_priority", "priority")]


def test_given_an_empty_directory_then_problems_stops_at_the_location_it_cannot_stand_in_for():
    from chalicelib.domain.directory import Directory

    found = problems(body(), Directory([]), CATEGORIES)
    assert [(e.code, e.field) for e in found] == [("unknown_location", "location")]
