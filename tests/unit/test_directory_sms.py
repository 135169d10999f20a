"""The directory's SMS parts: registered households (phone → unit), the triage member, a
community's own SMS number and the default community. YAML and CSV, each problem on its
line; the deployment-wide look-ups."""
from __future__ import annotations

import pytest

from chalicelib.domain.directory import Community, Directory, DirectoryError
from chalicelib.domain.directory_io import (
    DirectoryImportError,
    changes,
    export_csv,
    export_yaml,
    parse,
    parse_csv,
    parse_yaml,
    summarize,
)
from tests.unit.builders import edited, tiny, tiny_dict
from tests.unit.test_directory_io import TINY_YAML, csv_line, edit_csv, line_of, retag

SMS_YAML = TINY_YAML + """\
triage: gm                        # triage
sms_number: '+8613900000900'      # sms-number
sms_default: true                 # sms-default
households:
- phone: '+8613900000501'         # household-1
  unit: 1-2                       # unit-1
- phone: '13900000502'           # household-2
  unit: '2'                       # unit-2
"""


def sms_dict(cid: str = "tiny", **kwargs) -> dict:
    data = tiny_dict(cid, **kwargs)
    data.update(triage="gm", sms_number="+8613900000900", sms_default=True,
                households=[{"phone": "+8613900000501", "unit": "1-2"}, {"phone": "+8613900000502", "unit": "2"}])
    return data


def problems(call) -> list:
    with pytest.raises(DirectoryImportError) as caught:
        call()
    return caught.value.problems


def test_given_households_triage_and_sms_settings_in_yaml_then_the_community_has_them():
    community = parse_yaml(SMS_YAML, "tiny.yaml").community
    assert community == Community.from_dict(sms_dict())
    assert community.triage_id == "gm"
    assert community.sms_number == "+8613900000900" and community.sms_default is True
    assert community.households == {"+8613900000501": "tiny-01-2", "+8613900000502": "tiny-02"}


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_given_sms_settings_when_exported_then_imported_then_equal(fmt):
    community = Community.from_dict(sms_dict())
    files = {"tiny.yaml": export_yaml(community)} if fmt == "yaml" else export_csv(community)
    assert parse(files, fmt).community == community


def test_the_csv_of_households_and_sms_settings():
    files = export_csv(Community.from_dict(sms_dict()))
    assert files["households.csv"] == "phone,unit\n+8613900000501,1-2\n+8613900000502,2\n"
    assert files["community.csv"].endswith("triage,gm\nsms_number,+8613900000900\nsms_default,true\n")
    assert export_csv(tiny())["households.csv"] == "phone,unit\n"


def test_given_csv_without_households_then_it_reads_as_before():
    files = {k: v for k, v in export_csv(tiny()).items() if k != "households.csv"}
    assert parse_csv(files).community == tiny()


YAML_CASES = [
    ("unknown-triage", "triage", "triage: nobody", "triage (分诊): unknown member 'nobody'"),
    ("bad-sms-number", "sms-number", "sms_number: '123'", "sms_number '123' is not a phone number"),
    ("bad-sms-default", "sms-default", "sms_default: maybe", "sms_default must be true or false"),
    ("bad-household-phone", "household-1", "- phone: '555'", "household 555: '555' is not a valid phone number"),
    ("duplicate-household", "household-2", "- phone: '+8613900000501'",
     "household phone +8613900000501 is given twice (first on line"),
    ("unknown-unit", "unit-1", "  unit: 1-9", "unit '1-9' is not a building or stairwell unit of this community"),
    ("unknown-building", "unit-2", "  unit: '7'", "unit '7' is not a building or stairwell unit"),
    ("not-a-unit", "unit-1", "  unit: 楼下", "unit '楼下' is not a building"),
    ("missing-unit", "unit-1", "  unit: ''", "a household has no unit"),
]


@pytest.mark.parametrize("tag, new_line, message", [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_given_an_sms_problem_in_yaml_then_it_names_the_line(tag, new_line, message):
    text = retag(SMS_YAML, tag, new_line)
    found = [p for p in problems(lambda: parse_yaml(text, "tiny.yaml")) if message in p.message]
    assert found, message
    assert (found[0].file, found[0].line, found[0].severity) == ("tiny.yaml", line_of(text, tag), "error")


def test_given_the_number_default_or_a_household_of_another_community_then_refused():
    other = Community.from_dict(sms_dict("other", phone_prefix="+86139000001"))
    found = problems(lambda: parse_yaml(SMS_YAML, "tiny.yaml", others=[other]))
    assert [(p.line, p.message.split(";")[0]) for p in found] == [
        (line_of(SMS_YAML, "sms-number"), "sms_number +8613900000900 is already community other's"),
        (line_of(SMS_YAML, "sms-default"), "sms_default: community other already takes the SMS that nothing "
                                           "else places"),
        (line_of(SMS_YAML, "household-1"), "household phone +8613900000501 is registered in community other"),
        (line_of(SMS_YAML, "household-2"), "household phone +8613900000502 is registered in community other"),
    ]


def test_given_a_household_phone_of_a_member_or_an_away_triage_member_then_warnings():
    text = retag(retag(SMS_YAML, "household-1", "- phone: '+8613900000004'"), "triage", "triage: sl")
    text = text.replace("  category: at_home               # category-sl", "  category: away  # category-sl")
    parsed = parse_yaml(text, "tiny.yaml")
    assert [(w.line, w.message) for w in parsed.warnings if "household" in w.message or "triage" in w.message] == [
        (line_of(text, "triage"), "triage (分诊) sl (成员sl, away (外出)) is not at home: SMS reports with no "
                                  "place go to the committee instead"),
        (line_of(text, "household-1"), "household phone +8613900000004 is member gm's: their SMS are read as "
                                       "member replies, not as reports"),
    ]


CSV_CASES = [
    ("unknown-unit", "households.csv", "+8613900000501,1-2", "+8613900000501,1-9",
     "unit '1-9' is not a building or stairwell unit"),
    ("bad-phone", "households.csv", "+8613900000501,1-2", "555,1-2", "'555' is not a valid phone number"),
    ("duplicate", "households.csv", "+8613900000502,2", "+8613900000501,2",
     "household phone +8613900000501 is given twice (first on line 2)"),
    ("unknown-triage", "community.csv", "triage,gm", "triage,nobody", "triage (分诊): unknown member 'nobody'"),
    ("bad-default", "community.csv", "sms_default,true", "sms_default,perhaps", "sms_default must be true or false"),
]


@pytest.mark.parametrize("name, row, new_row, message", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_given_an_sms_problem_in_csv_then_it_names_the_file_and_line(name, row, new_row, message):
    files = edit_csv(export_csv(Community.from_dict(sms_dict())), name, row, new_row)
    found = [p for p in problems(lambda: parse_csv(files)) if message in p.message]
    assert found, message
    assert (found[0].file, found[0].line) == (name, csv_line(files, name, new_row))


def test_given_households_or_triage_changed_then_the_audit_names_them():
    change = changes(tiny(), Community.from_dict(sms_dict()))
    assert change["community"] == ["triage", "sms_number", "sms_default", "households"]
    assert summarize(change, tiny()).startswith("community: triage, sms_number, sms_default, households changed")


# -- the deployment-wide look-ups --------------------------------------------------------------------

def test_given_households_then_a_phone_finds_where_it_lives(directory):
    assert directory.household("+8613709741001").code == "changmu-03-2"
    assert directory.household("+8613709741004").code == "changmu-05"
    assert directory.household("+8613800000000") is None


def test_given_a_gateways_to_number_then_the_community_it_belongs_to(directory):
    assert directory.community_by_sms_number("+8613897520100").id == "garang"
    assert directory.community_by_sms_number("13897520100").id == "garang"
    assert directory.community_by_sms_number("+8613800000000") is None
    assert directory.community_by_sms_number(None) is None
    assert directory.community_by_sms_number("not a number") is None


def test_the_default_community_is_the_only_one_or_the_marked_one_or_the_first(communities):
    changmu, garang = sorted(communities, key=lambda c: c.id)
    assert Directory(communities).default_community().id == "changmu"          # marked sms_default
    assert Directory([garang]).default_community().id == "garang"             # the only one
    unmarked = Community.from_dict(edited(changmu.to_dict(), lambda d: d.update(sms_default=False)))
    assert Directory([garang, unmarked]).default_community().id == "changmu"  # the first by id
    assert Directory([]).default_community() is None


def test_given_one_household_phone_in_two_communities_then_the_directory_refuses():
    one = Community.from_dict(sms_dict())
    two = Community.from_dict(edited(sms_dict("two", phone_prefix="+86139000001"),
                                     lambda d: d.update(sms_number=None, sms_default=False)))
    with pytest.raises(DirectoryError, match="household phone \\+8613900000501 is registered in both"):
        Directory([one, two])


def test_the_triage_holder_is_the_triage_member_else_the_committee_else_the_area_chief():
    assert Community.from_dict(sms_dict()).triage_holder() == "gm"
    assert Community.from_dict(sms_dict(away=["gm"])).triage_holder() == "k1"
    assert Community.from_dict(sms_dict(away=["gm", "k1", "k2"])).triage_holder() == "area"
    assert tiny().triage_holder() == "k1"                                     # no triage member named
    assert Community.from_dict(sms_dict(away=["gm", "k1", "k2", "area"])).triage_holder() is None
