"""Directory import and export (the package chalicelib/domain/directory_io/): every kind of
problem is found, all at once, on the right file and line; YAML and CSV round trips; the
audit diff."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from chalicelib.domain.directory import Community, MemberCategory
from chalicelib.domain.directory_io import (
    CSV_FILES,
    DirectoryImportError,
    Problem,
    changes,
    export_csv,
    export_yaml,
    is_unchanged,
    parse,
    parse_csv,
    parse_yaml,
    summarize,
)
from tests.unit.builders import edited, tiny, tiny_dict, tiny_extras, tiny_extras_dict

ROOT = Path(__file__).resolve().parents[2]

# The tiny community of tests/unit/builders.py, written by hand; a "# tag" ends each line
# that a case below edits, so that a case can say which line its problem must name.
TINY_YAML = """\
id: tiny                          # community-id
name:
  zh: 小小家园
  en: Tiny Homeland
area:
  name: 小小片区
  chief: area                     # area-chief
committee:
- k1
- k2                              # committee-2
grids:
- id: g1
  name: 第一网格
  chief: chief                    # grid-chief
  members:
  - gm
  - gm2                           # grid-member-2
buildings:
- id: b1                          # building-b1
  number: 1
  grid: g1
  leader: bl                      # leader-b1
  grid_member: gm
  units:
  - number: 1                     # unit-b1-1
    leader: sl                    # leader-b1-1
  - number: 2                     # unit-b1-2
    leader: bl                    # leader-b1-2
- id: b2                          # building-b2
  number: 2                       # number-b2
  grid: g1                        # grid-of-b2
  leader: bl
  grid_member: gm2                # grid-member-of-b2
  units:
  - number: 1                     # unit-b2-1
    leader: sl2                   # leader-b2-1
members:
- id: area
  name: 成员area
  phone: '+8613900000000'
  roles: []
  category: at_home
- id: k1
  name: 成员k1
  phone: '+8613900000001'
  roles: []
  category: at_home
- id: k2
  name: 成员k2
  phone: '+8613900000002'
  roles: []
  category: at_home
- id: chief
  name: 成员chief
  phone: '+8613900000003'
  roles: []
  category: at_home
- id: gm                          # member-gm
  name: 成员gm
  phone: '+8613900000004'
  roles: []
  category: at_home
- id: gm2                         # member-gm2
  name: 成员gm2                   # name-gm2
  phone: '+8613900000005'         # phone-gm2
  roles: []                       # roles-gm2
  category: at_home               # category-gm2
- id: bl
  name: 成员bl
  phone: '+8613900000006'
  roles: []
  category: at_home               # category-bl
- id: sl
  name: 成员sl
  phone: '+8613900000007'
  roles: []
  category: at_home               # category-sl
- id: sl2
  name: 成员sl2
  phone: '+8613900000008'
  roles: []
  category: at_home
"""


def line_of(text: str, tag: str) -> int:
    """The 1-based line that ends with `# tag`."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.rstrip().endswith(f"# {tag}")]
    assert len(lines) == 1, f"tag {tag!r} must mark exactly one line"
    return lines[0]


def retag(text: str, tag: str, new_content: str | None) -> str:
    """The line tagged `tag` replaced by `new_content` (keeping the tag), or removed (None)."""
    out = []
    for line in text.splitlines(keepends=True):
        if line.rstrip().endswith(f"# {tag}"):
            if new_content is not None:
                out.append(f"{new_content}  # {tag}\n")
        else:
            out.append(line)
    return "".join(out)


def problems_of(call) -> DirectoryImportError:
    with pytest.raises(DirectoryImportError) as caught:
        call()
    return caught.value


def test_the_hand_written_yaml_is_the_tiny_community():
    parsed = parse_yaml(TINY_YAML, "tiny.yaml")
    assert parsed.community == tiny()
    assert parsed.warnings == ()


# -- YAML: each kind of problem, on its line ---------------------------------------------------

YAML_CASES = [
    # (id, tag, new line content (None: remove the line), problem on the tagged line)
    ("unknown-parent-grid", "grid-of-b2", "  grid: g9", "building b2: unknown grid 'g9'"),
    ("unknown-unit-leader", "leader-b2-1", "    leader: nobody",
     "stairwell unit b2-1 leader (楼道长): unknown member 'nobody'"),
    ("unknown-building-leader", "leader-b1", "  leader: nobody", "building b1 leader (楼长): unknown member 'nobody'"),
    ("unknown-grid-chief", "grid-chief", "  chief: nobody", "grid g1 chief (网格长): unknown member 'nobody'"),
    ("unknown-grid-member", "grid-member-2", "  - nobody", "grid g1 member (网格员): unknown member 'nobody'"),
    ("unknown-committee-member", "committee-2", "- nobody", "committee (两委): unknown member 'nobody'"),
    ("unknown-area-chief", "area-chief", "  chief: nobody", "area chief (片长): unknown member 'nobody'"),
    ("unknown-building-grid-member", "grid-member-of-b2", "  grid_member: nobody",
     "building b2 grid member (网格员): unknown member 'nobody'"),
    ("stairwell-without-leader", "leader-b1-2", "    leader:",
     "stairwell unit b1-2 has no leader (楼道长)"),
    ("duplicate-member-id", "member-gm2", "- id: gm", "member id gm is used twice (first on line "),
    ("duplicate-phone", "phone-gm2", "  phone: '+8613900000004'",
     "member gm2: phone +8613900000004 is also gm's (line "),
    ("invalid-phone", "phone-gm2", "  phone: '12345'", "member gm2: '12345' is not a valid phone number"),
    ("missing-name", "name-gm2", "  name: ''", "member gm2 has no name"),
    ("invalid-category", "category-gm2", "  category: abroad",
     "member gm2: category 'abroad' is not one of at_home, away, elderly"),
    ("duplicate-building-number", "number-b2", "  number: 1", "building b2: building number 1 is also building b1's"),
    ("bad-building-number", "number-b2", "  number: two", "building b2: number 'two' is not a positive whole number"),
    ("duplicate-unit-number", "unit-b1-2", "  - number: 1", "unit 1 of building b1 is given twice (first on line "),
    ("duplicate-building-id", "building-b2", "- id: b1", "building id b1 is used twice (first on line "),
    ("bad-id", "member-gm2", "- id: gm 2", "a member: id 'gm 2' may only have letters, digits"),
    ("unknown-field", "roles-gm2", "  role: []", "unknown field 'role'"),
    ("duplicate-key", "roles-gm2", "  phone: '+8613900000009'", "'phone' is given twice (first on line "),
    ("not-yaml", "roles-gm2", "\troles: []", "not valid YAML"),
    ("community-id", "community-id", "id: Tiny Homeland", "community id 'Tiny Homeland' must be lower-case"),
]


@pytest.mark.parametrize("tag, new_line, message", [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_given_a_yaml_problem_then_it_names_the_file_and_line(tag, new_line, message):
    text = retag(TINY_YAML, tag, new_line)
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [p for p in error.problems if message in p.message], error
    found = next(p for p in error.problems if message in p.message)
    assert (found.file, found.line, found.severity) == ("tiny.yaml", line_of(text, tag), "error")
    assert str(found).startswith(f"tiny.yaml:{line_of(text, tag)}: error: ")


def test_given_a_unit_whose_leader_line_is_missing_then_the_unit_line_is_named():
    text = retag(TINY_YAML, "leader-b1-2", None)
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [(p.line, p.message) for p in error.problems] == [
        (line_of(text, "unit-b1-2"), "stairwell unit b1-2 has no leader (楼道长): every stairwell unit needs one")]


def test_given_many_problems_then_all_are_reported_at_once_in_line_order():
    text = TINY_YAML
    for tag, new_line in [("grid-of-b2", "  grid: g9"), ("leader-b1-2", "    leader:"),
                          ("phone-gm2", "  phone: '+8613900000004'"), ("committee-2", "- nobody")]:
        text = retag(text, tag, new_line)
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [p.line for p in error.problems] == sorted(
        line_of(text, t) for t in ("grid-of-b2", "leader-b1-2", "phone-gm2", "committee-2"))
    assert "4 problems" in str(error)


def test_given_a_phone_of_another_community_then_a_member_in_two_communities_is_refused():
    other = tiny("other", phone_prefix="+86139000001")   # its member gm has +8613900000104
    text = retag(TINY_YAML, "phone-gm2", "  phone: '13900000104'")   # the same phone, written locally
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml", others=[other]))
    [problem] = error.problems
    assert problem.line == line_of(text, "phone-gm2")
    assert problem.message == ("member gm2: phone +8613900000104 belongs to member gm (成员gm) of community "
                               "other; a person can be a member of one community only")


def test_given_the_same_community_among_the_others_then_its_own_phones_are_not_a_conflict():
    # Re-importing a community: the current version of itself is not "another community".
    assert parse_yaml(TINY_YAML, others=[tiny()]).community == tiny()


def test_given_the_wrong_community_then_the_id_line_says_so():
    error = problems_of(lambda: parse_yaml(TINY_YAML, "tiny.yaml", expected_id="changmu"))
    assert [(p.line, p.message) for p in error.problems] == [
        (1, "this file is the directory of 'tiny', not of 'changmu'")]


@pytest.mark.parametrize("text, line, message", [
    ("", 0, "the file is empty"),
    ("- just\n- a list\n", 1, "the community must be a mapping"),
    ("id: tiny\nmembers: 3\n", 2, "members must be a list"),
])
def test_given_a_file_of_the_wrong_shape_then_it_says_so(text, line, message):
    error = problems_of(lambda: parse_yaml(text, "x.yaml"))
    assert any(p.line == line and message in p.message for p in error.problems), error


# -- warnings: people who are not at home --------------------------------------------------------

def test_given_an_away_stairwell_leader_then_a_warning_says_who_steps_in():
    text = retag(TINY_YAML, "category-sl", "  category: away")
    parsed = parse_yaml(text, "tiny.yaml")
    assert parsed.community.members["sl"].category is MemberCategory.AWAY
    assert [(w.line, w.severity, w.message) for w in parsed.warnings] == [
        (line_of(text, "leader-b1-1"), "warning",
         "stairwell unit b1-1 leader (楼道长) sl (成员sl, away (外出)) is not at home: "
         "building leader bl (成员bl, at home) steps in")]


def test_given_away_stairwell_and_building_leaders_then_the_warning_says_level_1_is_skipped():
    text = retag(retag(TINY_YAML, "category-sl", "  category: away"), "category-bl", "  category: elderly")
    messages = [w.message for w in parse_yaml(text).warnings]
    assert "stairwell unit b1-1 leader (楼道长) sl (成员sl, away (外出)) is not at home: and no building " \
           "leader at home steps in: level 1 is skipped" in messages
    assert any(m.startswith("building b1 leader (楼长) bl (成员bl, elderly (年老体弱)) is not at home")
               for m in messages)


def test_given_the_demo_directory_then_it_imports_with_its_two_away_stairwell_leaders_as_warnings(communities):
    demo = {c.id: c for c in communities}
    text = (ROOT / "data/directory/changmu.yaml").read_text(encoding="utf-8")
    parsed = parse_yaml(text, "changmu.yaml")
    assert parsed.community == demo["changmu"]
    assert [(w.line, w.message.split(" is not at home")[0]) for w in parsed.warnings] == [
        (text.splitlines().index("    leader: m34") + 1,
         "stairwell unit b02-3 leader (楼道长) m34 (拉姆, away (外出))"),
        (text.splitlines().index("    leader: m35") + 1,
         "stairwell unit b11-2 leader (楼道长) m35 (尕藏加, away (外出))"),
    ]


# -- CSV -------------------------------------------------------------------------------------------

def tiny_csv() -> dict[str, str]:
    return export_csv(tiny())


def edit_csv(files: dict[str, str], name: str, old_row: str, new_row: str) -> dict[str, str]:
    lines = files[name].splitlines(keepends=True)
    index = lines.index(old_row + "\n")
    lines[index] = new_row + "\n"
    return {**files, name: "".join(lines)}


def csv_line(files: dict[str, str], name: str, row: str) -> int:
    return files[name].splitlines().index(row) + 1


CSV_CASES = [
    # (id, file, row, new row, problem on the new row's line)
    ("unknown-parent-grid", "buildings.csv", "b2,2,g1,bl,gm2", "b2,2,g9,bl,gm2", "building b2: unknown grid 'g9'"),
    ("unknown-parent-building", "units.csv", "b2,1,sl2", "b9,1,sl2",
     "stairwell unit b9-1: unknown building 'b9' (not in the buildings)"),
    ("stairwell-without-leader", "units.csv", "b1,2,bl", "b1,2,", "stairwell unit b1-2 has no leader (楼道长)"),
    ("duplicate-unit", "units.csv", "b1,2,bl", "b1,1,bl", "unit 1 of building b1 is given twice (first on line 2)"),
    ("unknown-unit-leader", "units.csv", "b1,2,bl", "b1,2,nobody", "unknown member 'nobody'"),
    ("duplicate-phone", "members.csv", "gm2,成员gm2,+8613900000005,at_home,zh,,,,,",
     "gm2,成员gm2,+8613900000004,at_home,zh,,,,,", "member gm2: phone +8613900000004 is also gm's (line 6)"),
    ("duplicate-member-id", "members.csv", "gm2,成员gm2,+8613900000005,at_home,zh,,,,,",
     "gm,成员gm2,+8613900000005,at_home,zh,,,,,", "member id gm is used twice (first on line 6)"),
    ("spreadsheet-mangled-phone", "members.csv", "gm2,成员gm2,+8613900000005,at_home,zh,,,,,",
     "gm2,成员gm2,8.6139E+12,at_home,zh,,,,,", "format the column as text"),
    ("unknown-grid-member", "grids.csv", "g1,第一网格,chief,gm;gm2,", "g1,第一网格,chief,gm;nobody,",
     "grid g1 member (网格员): unknown member 'nobody'"),
    ("unknown-area-chief", "community.csv", "area_chief,area", "area_chief,nobody",
     "area chief (片长): unknown member 'nobody'"),
    ("unknown-community-field", "community.csv", "area_chief,area", "area_boss,area", "unknown field 'area_boss'"),
    ("unknown-column", "members.csv", "id,name,phone,category,lang,roles,leave,posts,linked_units,paired_with",
     "id,name,phon,category,lang,roles,leave,posts,linked_units,paired_with", "unknown column 'phon'"),
    ("too-many-cells", "units.csv", "b1,2,bl", "b1,2,bl,extra", "4 cells, but the header has 3 columns"),
]


@pytest.mark.parametrize("name, row, new_row, message", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_given_a_csv_problem_then_it_names_the_file_and_line(name, row, new_row, message):
    files = edit_csv(tiny_csv(), name, row, new_row)
    error = problems_of(lambda: parse_csv(files))
    found = [p for p in error.problems if message in p.message]
    assert found, error
    assert (found[0].file, found[0].line) == (name, csv_line(files, name, new_row))


def test_given_a_missing_csv_file_then_it_is_named():
    files = {k: v for k, v in tiny_csv().items() if k != "units.csv"}
    error = problems_of(lambda: parse_csv(files))
    assert [(p.file, p.line) for p in error.problems] == [("units.csv", 0)]
    assert "units.csv is missing" in error.problems[0].message


def test_given_csv_as_a_spreadsheet_saves_it_then_it_still_reads():
    # A BOM, CRLF line ends, blank rows, padded cells, other list separators, a phone
    # without +86, and files given by path.
    files = edit_csv(tiny_csv(), "grids.csv", "g1,第一网格,chief,gm;gm2,", " g1 , 第一网格 ,chief, gm；gm2 ,")
    files = edit_csv(files, "members.csv", "gm,成员gm,+8613900000004,at_home,zh,,,,,", "gm,成员gm,13900000004,,,,,,,")
    files = {f"C:\\Users\\clerk\\{name}": "\ufeff" + text.replace("\n", "\r\n") + ",,,,\r\n,,\r\n"
             for name, text in files.items()}
    assert parse_csv(files).community == tiny()


def test_given_a_quoted_multiline_cell_then_its_row_is_named_by_its_first_line_and_later_rows_stay_right():
    files = edit_csv(tiny_csv(), "members.csv", "sl,成员sl,+8613900000007,at_home,zh,,,,,",
                     'sl,"成员\nsl",12345,at_home,zh,,,,')                      # lines 9-10
    files = edit_csv(files, "members.csv", "sl2,成员sl2,+8613900000008,at_home,zh,,,,,",
                     "sl2,成员sl2,12346,at_home,zh,,,,,")                        # line 11
    error = problems_of(lambda: parse_csv(files))
    assert [(p.file, p.line) for p in error.problems] == [("members.csv", 9), ("members.csv", 11)]


# -- round trips -------------------------------------------------------------------------------------

def _odd_leave(data):
    data["members"][0]["leave"] = [
        {"from": "2026-12-01T08:30:00+08:00", "to": "2026-12-01T18:00:00+08:00"},      # part of a day
        {"from": "2026-12-03", "to": "2026-12-04T12:00:00Z"},                          # a day, then an instant
        {"from": 1796054400.123456789, "to": 1796054400.5},                            # no exact ISO form
    ]


VARIANTS = [tiny(), tiny(away=["sl", "bl"], elderly=["k2"]), tiny(lang={"k1": "en"}),
            Community.from_dict(edited(tiny_dict(),
                                       lambda d: d["members"][0].update(roles=["area_chief", "committee"]))),
            tiny_extras(), tiny_extras(away=["sl"]), Community.from_dict(edited(tiny_extras_dict(), _odd_leave)),
            Community.from_dict(edited(tiny_extras_dict(), lambda d: d["members"][2].update(
                category="elderly", paired_with="sl", posts=["care_visit"], linked_units=["2-1", "1"])))]


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_given_any_community_when_exported_then_imported_then_equal(communities, fmt):
    for community in [*communities, *VARIANTS]:
        exported = export_yaml(community, comment="a comment\n\nover lines") if fmt == "yaml" else export_csv(community)
        files = {f"{community.id}.yaml": exported} if fmt == "yaml" else exported
        again = parse(files, fmt).community
        assert again == community
        assert again.locations == community.locations


def test_given_the_demo_then_the_yaml_export_is_the_data_files_own_layout():
    for name in ("changmu.yaml", "garang.yaml"):
        text = (ROOT / "data/directory" / name).read_text(encoding="utf-8")
        body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
        assert export_yaml(parse_yaml(text).community) == body


def test_the_shipped_csv_example_is_the_demo_exported_and_imports_as_the_demo(communities):
    for community in communities:
        folder = ROOT / "data/directory/csv" / community.id
        shipped = {p.name: p.read_text(encoding="utf-8-sig") for p in folder.glob("*.csv")}
        assert sorted(shipped) == sorted(CSV_FILES)
        assert shipped == export_csv(community)
        assert parse_csv(shipped).community == community


# -- the audit record's diff ---------------------------------------------------------------------------

def test_given_two_versions_then_changes_lists_what_was_added_removed_and_changed():
    def edit(data):
        data["members"] = [m for m in data["members"] if m["id"] != "sl2"]
        data["members"].append({"id": "new", "name": "新人", "phone": "+8613900000099", "category": "at_home"})
        next(m for m in data["members"] if m["id"] == "gm2")["phone"] = "+8613900000098"
        data["buildings"][1]["units"][0]["leader"] = "new"
        data["buildings"][0]["units"].append({"number": 3, "leader": "sl"})
        data["committee"] = ["k2", "k1"]
    old, new = tiny(), Community.from_dict(edited(tiny_dict(), edit))
    change = changes(old, new)
    assert change == {
        "first": False,
        "community": ["committee"],
        "members": {"added": ["new"], "removed": ["sl2"], "changed": {"gm2": ["phone"]}},
        "grids": {"added": [], "removed": [], "changed": {}},
        "buildings": {"added": [], "removed": [], "changed": {}},
        "units": {"added": ["b1-3"], "removed": []},
        "unit_leaders": {"b2-1": ["sl2", "new"]},
    }
    assert summarize(change, new) == ("community: committee changed; members: 1 added (new), 1 removed (sl2), "
                                      "1 changed (gm2: phone); units: 1 added (b1-3); stairwell leaders: b2-1 sl2→new")
    assert not is_unchanged(change)


def test_given_no_previous_version_or_no_change_then_the_summary_says_so():
    first = changes(None, tiny())
    assert first["first"] and first["members"]["added"] == list(tiny().members)
    assert summarize(first, tiny()) == "first version: 9 members, 1 grids, 2 buildings, 3 stairwell units"
    same = changes(tiny(), tiny())
    assert is_unchanged(same) and summarize(same, tiny()) == "no changes"


def test_a_problem_reads_as_file_line_severity_message():
    assert str(Problem("units.csv", 3, "no leader")) == "units.csv:3: error: no leader"
    assert str(Problem("units.csv", 0, "missing", "warning")) == "units.csv: warning: missing"
    assert re.match(r"^1 problem:\n", str(DirectoryImportError([Problem("a", 1, "b")])))


# -- teams, grid volunteers and leave --------------------------------------------------------------

# TINY_YAML with a grid volunteer, a member on leave and two teams: the tiny_extras community.
EXTRAS_YAML = TINY_YAML.replace(
    "  - gm2                           # grid-member-2\n",
    "  - gm2                           # grid-member-2\n"
    "  volunteers:\n"
    "  - k2                            # volunteer-1\n",
).replace(
    "  category: at_home               # category-sl\n",
    "  category: at_home               # category-sl\n"
    "  leave:\n"
    "  - from: '2026-12-01'            # leave-from\n"
    "    to: '2026-12-10'              # leave-to\n",
) + """\
teams:
  mediation_room:                 # team-mediation
  - k1                            # team-mediation-1
  - sl2                           # team-mediation-2
  patrol_team:                    # team-patrol
  - sl                            # team-patrol-1
"""


def test_the_hand_written_yaml_with_teams_volunteers_and_leave_is_the_tiny_extras_community():
    parsed = parse_yaml(EXTRAS_YAML, "tiny.yaml")
    assert parsed.community == tiny_extras()
    assert parsed.warnings == ()


EXTRAS_YAML_CASES = [
    # (id, tag, new line content (None: remove the line), problem on the tagged line)
    ("unknown-team", "team-patrol", "  night_watch:",
     "unknown team 'night_watch' (teams are: mediation_room (暖心调解室), patrol_team (巡逻队), "
     "property_management (物业))"),
    ("team-twice", "team-patrol", "  mediation_room:", "team mediation_room is given twice (first on line "),
    ("unknown-team-member", "team-patrol-1", "  - nobody", "team patrol_team (巡逻队) member: unknown member 'nobody'"),
    ("team-member-twice", "team-mediation-2", "  - k1", "team mediation_room (暖心调解室): member k1 is listed twice"),
    ("team-member-not-an-id", "team-mediation-2", "  - {a: 1}",
     "team mediation_room (暖心调解室): {'a': 1} in members"),
    ("unknown-volunteer", "volunteer-1", "  - nobody", "grid g1 volunteer (党员志愿者): unknown member 'nobody'"),
    ("leave-to-before-from", "leave-to", "    to: '2026-11-30'",
     "member sl: leave to 2026-11-30 is before from 2026-12-01: a period must end after it starts"),
    ("leave-to-before-from-unquoted", "leave-to", "    to: 2026-11-30",
     "member sl: leave to 2026-11-30 is before from"),
    ("leave-same-instant", "leave-to", "    to: '2026-11-30T16:00:00Z'",
     "member sl: leave to 2026-11-30T16:00:00Z is the same instant as from 2026-12-01"),
    ("leave-not-a-date", "leave-from", "  - from: 'next monday'",
     "member sl: leave from: 'next monday' is not a date (YYYY-MM-DD)"),
    ("leave-bad-day", "leave-to", "    to: '2026-12-32'", "member sl: leave to: '2026-12-32' is not a date"),
    ("leave-unknown-field", "leave-to", "    until: '2026-12-10'",
     "member sl: a leave period: unknown field 'until' (fields are: from, to)"),
]


@pytest.mark.parametrize("tag, new_line, message", [c[1:] for c in EXTRAS_YAML_CASES],
                         ids=[c[0] for c in EXTRAS_YAML_CASES])
def test_given_a_team_volunteer_or_leave_problem_in_yaml_then_it_names_the_line(tag, new_line, message):
    text = retag(EXTRAS_YAML, tag, new_line)
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    found = [p for p in error.problems if message in p.message]
    assert found, error
    assert (found[0].file, found[0].line, found[0].severity) == ("tiny.yaml", line_of(text, tag), "error")


def test_given_a_volunteer_listed_twice_then_the_second_line_is_named():
    text = EXTRAS_YAML.replace("  - k2                            # volunteer-1\n",
                               "  - k2                            # volunteer-1\n"
                               "  - k2                            # volunteer-2\n")
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [(p.line, p.message) for p in error.problems] == [
        (line_of(text, "volunteer-2"), "grid g1: volunteer k2 is listed twice")]


def test_given_a_leave_period_without_to_then_its_line_is_named():
    text = retag(EXTRAS_YAML, "leave-to", None)
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [(p.line, p.message) for p in error.problems] == [
        (line_of(text, "leave-from"), "member sl: a leave period has no to")]


@pytest.mark.parametrize("text, message", [
    ("teams: [k1]\n", "teams must be a mapping of team: [members]"),
    ("teams:\n  patrol_team: k1\n", "team patrol_team must be a list"),
    ("leave: {from: '2026-12-01', to: '2026-12-10'}\n", "member sl2: leave must be a list of periods"),
    ("leave: ['2026-12-01']\n", "member sl2: a leave period is from: and to:, not '2026-12-01'"),
])
def test_given_teams_or_leave_of_the_wrong_shape_then_it_says_so(text, message):
    if text.startswith("leave"):
        text = EXTRAS_YAML.replace("  phone: '+8613900000008'\n", "  phone: '+8613900000008'\n  " + text)
    else:
        text = TINY_YAML + text
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [p for p in error.problems if message in p.message], error


def test_given_team_members_and_volunteers_not_at_home_then_warnings_say_they_are_never_assigned():
    text = retag(EXTRAS_YAML, "category-sl", "  category: away")
    messages = {w.line: w.message for w in parse_yaml(text, "tiny.yaml").warnings}
    assert messages[line_of(text, "team-patrol-1")] == (
        "team patrol_team (巡逻队) member sl (成员sl, away (外出)) is not at home: they are never assigned")
    text = EXTRAS_YAML.replace("  category: at_home\n- id: chief", "  category: elderly\n- id: chief")   # k2
    messages = {w.line: w.message for w in parse_yaml(text, "tiny.yaml").warnings}
    assert messages[line_of(text, "volunteer-1")].startswith(
        "grid g1 volunteer (党员志愿者) k2 (成员k2, elderly (年老体弱)) is not at home")


def test_given_leave_in_yaml_then_unquoted_dates_and_iso_times_read_too():
    text = retag(retag(EXTRAS_YAML, "leave-from", "  - from: 2026-12-01T08:00:00+08:00"),
                 "leave-to", "    to: 2026-12-10")
    [(start, end)] = parse_yaml(text).community.members["sl"].leave
    assert (start, end) == (1796054400.0 + 8 * 3600, 1796054400.0 + 10 * 86400)


def extras_csv() -> dict[str, str]:
    return export_csv(tiny_extras())


def test_the_csv_of_teams_volunteers_and_leave():
    files = extras_csv()
    assert files["teams.csv"] == "team,members\nmediation_room,k1;sl2\npatrol_team,sl\n"
    assert files["grids.csv"] == "id,name,chief,members,volunteers\ng1,第一网格,chief,gm;gm2,k2\n"
    assert "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/2026-12-10,,,\n" in files["members.csv"]
    assert parse_csv(files).community == tiny_extras()


EXTRAS_CSV_CASES = [
    # (id, file, row, new row, problem on the new row's line)
    ("unknown-team", "teams.csv", "patrol_team,sl", "night_watch,sl", "unknown team 'night_watch' (teams are: "),
    ("team-twice", "teams.csv", "patrol_team,sl", "mediation_room,sl", "team mediation_room is given twice"),
    ("unknown-team-member", "teams.csv", "patrol_team,sl", "patrol_team,sl;nobody",
     "team patrol_team (巡逻队) member: unknown member 'nobody'"),
    ("team-member-twice", "teams.csv", "mediation_room,k1;sl2", "mediation_room,k1;k1",
     "team mediation_room (暖心调解室): member k1 is listed twice"),
    ("unknown-volunteer", "grids.csv", "g1,第一网格,chief,gm;gm2,k2", "g1,第一网格,chief,gm;gm2,k2;nobody",
     "grid g1 volunteer (党员志愿者): unknown member 'nobody'"),
    ("volunteer-twice", "grids.csv", "g1,第一网格,chief,gm;gm2,k2", "g1,第一网格,chief,gm;gm2,k2;k2",
     "grid g1: volunteer k2 is listed twice"),
    ("leave-to-before-from", "members.csv", "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/2026-12-10,,,",
     "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/2026-11-30,,,", "member sl: leave to 2026-11-30 is before from"),
    ("leave-not-a-period", "members.csv", "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/2026-12-10,,,",
     "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01,,,", "member sl: leave '2026-12-01' is not FROM/TO"),
    ("leave-not-a-date", "members.csv", "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/2026-12-10,,,",
     "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/soon,,,", "member sl: leave to: 'soon' is not a date"),
]


@pytest.mark.parametrize("name, row, new_row, message", [c[1:] for c in EXTRAS_CSV_CASES],
                         ids=[c[0] for c in EXTRAS_CSV_CASES])
def test_given_a_team_volunteer_or_leave_problem_in_csv_then_it_names_the_file_and_line(name, row, new_row, message):
    files = edit_csv(extras_csv(), name, row, new_row)
    error = problems_of(lambda: parse_csv(files))
    found = [p for p in error.problems if message in p.message]
    assert found, error
    assert (found[0].file, found[0].line) == (name, csv_line(files, name, new_row))


def test_given_csv_without_teams_csv_or_the_new_columns_then_it_reads_as_before():
    # A directory exported before teams, volunteers, leave and the services' columns (posts,
    # linked_units, paired_with): five files, fewer columns.
    files = {name: text for name, text in tiny_csv().items() if name != "teams.csv"}
    files["members.csv"] = "\n".join(line.rsplit(",", 4)[0] for line in files["members.csv"].splitlines()) + "\n"
    files["grids.csv"] = "id,name,chief,members\ng1,第一网格,chief,gm;gm2\n"
    assert parse_csv(files).community == tiny()


def test_given_csv_leave_cells_as_a_clerk_types_them_then_they_read():
    files = edit_csv(extras_csv(), "members.csv", "sl,成员sl,+8613900000007,at_home,zh,,2026-12-01/2026-12-10,,,",
                     'sl,成员sl,+8613900000007,at_home,zh,,'
                     '" 2026-12-01 / 2026-12-10 ；2026-12-20 08:00/2026-12-20 18:00",,,')
    [first, second] = parse_csv(files).community.members["sl"].leave
    assert first == tiny_extras().members["sl"].leave[0]
    assert second == (1796054400.0 + 19 * 86400 + 8 * 3600, 1796054400.0 + 19 * 86400 + 18 * 3600)


def test_given_leave_when_exported_then_whole_days_are_dates_and_other_instants_iso_times():
    community = Community.from_dict(edited(tiny_extras_dict(), _odd_leave))
    plain = yaml.safe_load(export_yaml(community))
    assert plain["members"][7]["leave"] == [{"from": "2026-12-01", "to": "2026-12-10"}]
    assert plain["members"][0]["leave"] == [
        {"from": "2026-12-01T08:30:00+08:00", "to": "2026-12-01T18:00:00+08:00"},
        {"from": "2026-12-03", "to": "2026-12-04T20:00:00+08:00"},
        {"from": 1796054400.1234567, "to": "2026-12-01T00:00:00.500000+08:00"},
    ]
    assert "2026-12-03/2026-12-04T20:00:00+08:00" in export_csv(community)["members.csv"]
    assert "teams" not in yaml.safe_load(export_yaml(tiny()))                  # empty fields are left out
    assert "volunteers" not in yaml.safe_load(export_yaml(tiny()))["grids"][0]


def test_given_changes_to_teams_volunteers_and_leave_then_the_audit_names_them():
    def edit(data):
        data["teams"]["patrol_team"] = ["sl", "gm"]
        data["grids"][0]["volunteers"] = []
        next(m for m in data["members"] if m["id"] == "sl")["leave"] = []
    old, new = tiny_extras(), Community.from_dict(edited(tiny_extras_dict(), edit))
    change = changes(old, new)
    assert change["community"] == ["teams"]
    assert change["grids"]["changed"] == {"g1": ["volunteers"]}
    assert change["members"]["changed"] == {"sl": ["leave"]}
    assert summarize(change, new) == ("community: teams changed; members: 1 changed (sl: leave); "
                                      "grids: 1 changed (g1: volunteers)")
    assert not is_unchanged(change)
    assert is_unchanged(changes(tiny_extras(), tiny_extras()))


# -- the party members' services: posts, linked households, pairs -----------------------------------

# TINY_YAML with services: gm holds two posts, k1 is a household head linked to unit 1-1 and
# building 2, k2 is away and paired with sl2.
SERVICES_YAML = TINY_YAML.replace(
    "  phone: '+8613900000004'\n",
    "  phone: '+8613900000004'\n"
    "  posts:\n"
    "  - proxy_service                 # post-gm-1\n"
    "  - care_visit                    # post-gm-2\n",
).replace(
    "  phone: '+8613900000001'\n",
    "  phone: '+8613900000001'\n"
    "  linked_units:                   # linked-k1\n"
    "  - 1-1                           # linked-k1-1\n"
    "  - '2'                           # linked-k1-2\n",
).replace(
    "  phone: '+8613900000002'\n  roles: []\n  category: at_home\n",
    "  phone: '+8613900000002'\n  roles: []\n"
    "  category: away                  # category-k2\n"
    "  paired_with: sl2                # paired-k2\n",
)


def services_dict():
    def edit(data):
        member = {m["id"]: m for m in data["members"]}
        member["gm"]["posts"] = ["proxy_service", "care_visit"]
        member["k1"]["linked_units"] = ["1-1", "2"]
        member["k2"].update(category="away", paired_with="sl2")
    return edited(tiny_dict(), edit)


def services() -> Community:
    return Community.from_dict(services_dict())


def test_the_hand_written_yaml_with_services_is_the_services_community():
    parsed = parse_yaml(SERVICES_YAML, "tiny.yaml")
    assert parsed.community == services()
    assert parsed.community.members["k1"].linked_units == ("tiny-01-1", "tiny-02")
    assert parsed.warnings == ()


SERVICES_YAML_CASES = [
    # (id, tag, new line content, problem on the tagged line)
    ("unknown-post", "post-gm-2", "  - cooking",
     "member gm: unknown post 'cooking' (posts are: proxy_service, care_visit, help_at_home, micro_wish)"),
    ("post-twice", "post-gm-2", "  - proxy_service", "member gm: post proxy_service is listed twice"),
    ("post-not-an-id", "post-gm-2", "  - {a: 1}", "member gm: {'a': 1} in posts is not an id"),
    ("unknown-linked-unit", "linked-k1-2", "  - 9-1",
     "member k1: linked unit '9-1' is not a building or stairwell unit of this community"),
    ("linked-unit-not-a-place", "linked-k1-2", "  - lobby", "member k1: linked unit 'lobby' is not a building"),
    ("linked-unit-twice", "linked-k1-2", "  - 01-1", "member k1: linked unit 1-1 is listed twice"),
    ("linked-units-not-a-list", "linked-k1", "  linked_units: {b: 1}", "member k1: linked_units must be a list"),
    ("paired-with-unknown", "paired-k2", "  paired_with: nobody",
     "member k2 paired_with (结对帮扶): unknown member 'nobody' (not in the members)"),
    ("paired-with-self", "paired-k2", "  paired_with: k2", "member k2 is paired with themselves"),
]


@pytest.mark.parametrize("tag, new_line, message", [c[1:] for c in SERVICES_YAML_CASES],
                         ids=[c[0] for c in SERVICES_YAML_CASES])
def test_given_a_services_problem_in_yaml_then_it_names_the_member_and_the_line(tag, new_line, message):
    text = retag(SERVICES_YAML, tag, new_line)
    if tag == "linked-k1":
        text = retag(retag(text, "linked-k1-1", None), "linked-k1-2", None)
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    found = [p for p in error.problems if message in p.message]
    assert found, error
    assert (found[0].file, found[0].line, found[0].severity) == ("tiny.yaml", line_of(text, tag), "error")


def test_given_an_at_home_member_paired_with_someone_then_the_pair_line_says_only_the_elderly_or_away_are():
    text = retag(SERVICES_YAML, "category-k2", "  category: at_home")
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    assert [(p.line, p.message) for p in error.problems] == [
        (line_of(text, "paired-k2"), "member k2 is at home: only elderly or away members are paired with "
                                     "someone (paired_with sl2)")]


def test_given_a_pair_with_someone_not_at_home_then_it_is_an_error_naming_both():
    text = retag(retag(SERVICES_YAML, "paired-k2", "  paired_with: gm2"), "category-gm2", "  category: elderly")
    error = problems_of(lambda: parse_yaml(text, "tiny.yaml"))
    [problem] = [p for p in error.problems if "paired" in p.message]
    assert (problem.line, problem.message) == (
        line_of(text, "paired-k2"), "member k2 is paired with gm2 (成员gm2, elderly (年老体弱)), who is not at "
                                    "home: the member who visits them (结对帮扶) must be at home")


def test_given_posts_or_linked_households_of_a_member_not_at_home_then_warnings_say_what_it_means():
    text = retag(SERVICES_YAML, "paired-k2", "  posts: [micro_wish]")                 # k2 is away
    text = text.replace("  roles: []\n  category: at_home\n- id: k2", "  roles: []\n  category: elderly\n- id: k2")
    parsed = parse_yaml(text, "tiny.yaml")                                            # k1 is elderly
    assert parsed.community.members["k2"].posts == ("micro_wish",)
    assert [(w.line, w.message) for w in parsed.warnings if "committee" not in w.message] == [
        (line_of(text, "linked-k1"), "household head k1 (成员k1, elderly (年老体弱)) is not at home: they cannot "
                                     "visit their households"),
        (line_of(text, "paired-k2"), "member k2 (成员k2, away (外出)) holds posts but is not at home: "
                                     "they are never in a service pool"),
    ]


def test_the_csv_of_posts_linked_units_and_pairs():
    files = export_csv(services())
    rows = files["members.csv"].splitlines()
    assert rows[0] == "id,name,phone,category,lang,roles,leave,posts,linked_units,paired_with"
    assert "gm,成员gm,+8613900000004,at_home,zh,,,proxy_service;care_visit,," in rows
    assert "k1,成员k1,+8613900000001,at_home,zh,,,,1-1;2," in rows
    assert "k2,成员k2,+8613900000002,away,zh,,,,,sl2" in rows
    assert parse_csv(files).community == services()


def test_given_csv_service_cells_as_a_clerk_types_them_then_they_read():
    files = edit_csv(export_csv(services()), "members.csv", "k1,成员k1,+8613900000001,at_home,zh,,,,1-1;2,",
                     'k1,成员k1,+8613900000001,at_home,zh,,," proxy_service、micro_wish "," 1－1， 02 ",')
    k1 = parse_csv(files).community.members["k1"]
    assert (k1.posts, k1.linked_units) == (("proxy_service", "micro_wish"), ("tiny-01-1", "tiny-02"))


SERVICES_CSV_CASES = [
    # (id, row, new row, problem on the new row's line)
    ("unknown-post", "gm,成员gm,+8613900000004,at_home,zh,,,proxy_service;care_visit,,",
     "gm,成员gm,+8613900000004,at_home,zh,,,proxy_service;cooking,,", "member gm: unknown post 'cooking'"),
    ("unknown-linked-unit", "k1,成员k1,+8613900000001,at_home,zh,,,,1-1;2,",
     "k1,成员k1,+8613900000001,at_home,zh,,,,1-1;9,", "member k1: linked unit '9' is not a building"),
    ("paired-with-unknown", "k2,成员k2,+8613900000002,away,zh,,,,,sl2",
     "k2,成员k2,+8613900000002,away,zh,,,,,nobody", "member k2 paired_with (结对帮扶): unknown member 'nobody'"),
    ("paired-while-at-home", "k2,成员k2,+8613900000002,away,zh,,,,,sl2",
     "k2,成员k2,+8613900000002,at_home,zh,,,,,sl2", "member k2 is at home: only elderly or away members"),
]


@pytest.mark.parametrize("row, new_row, message", [c[1:] for c in SERVICES_CSV_CASES],
                         ids=[c[0] for c in SERVICES_CSV_CASES])
def test_given_a_services_problem_in_csv_then_it_names_the_member_and_the_line(row, new_row, message):
    files = edit_csv(export_csv(services()), "members.csv", row, new_row)
    error = problems_of(lambda: parse_csv(files))
    found = [p for p in error.problems if message in p.message]
    assert found, error
    assert (found[0].file, found[0].line) == ("members.csv", csv_line(files, "members.csv", new_row))


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_given_services_when_exported_then_imported_then_equal(fmt):
    community = services()
    exported = export_yaml(community) if fmt == "yaml" else export_csv(community)
    again = parse({"tiny.yaml": exported} if fmt == "yaml" else exported, fmt).community
    assert again == community
    assert again.members["k1"].linked_units == ("tiny-01-1", "tiny-02")


def test_given_services_when_exported_to_yaml_then_empty_fields_are_left_out():
    members = {m["id"]: m for m in yaml.safe_load(export_yaml(services()))["members"]}
    assert members["gm"]["posts"] == ["proxy_service", "care_visit"]
    assert members["k1"]["linked_units"] == ["1-1", "2"]
    assert members["k2"]["paired_with"] == "sl2"
    assert not {"posts", "linked_units", "paired_with"} & set(members["sl"])


def test_given_changes_to_posts_links_and_pairs_then_the_audit_names_them():
    change = changes(tiny(), services())
    assert change["members"]["changed"] == {"k1": ["linked_units"], "k2": ["category", "paired_with"],
                                            "gm": ["posts"]}
    assert summarize(change, services()) == ("members: 3 changed (k1: linked_units, k2: category, paired_with, "
                                             "gm: posts)")
    assert is_unchanged(changes(services(), services()))
