"""One community's directory in and out of YAML and CSV, with errors that name the line.

Pure: the standard library, plus PyYAML, which only the YAML functions import.

Reading collects every problem before giving up, and raises one DirectoryImportError
holding them all, each a Problem(file, line, message). A clerk fixes the whole file in
one go instead of one error per attempt. Errors (nothing is applied):

- structure: not valid YAML, a missing or unknown field or column, a duplicate key;
- a record without an id, a duplicate member, grid or building id;
- an unknown parent: a building in a grid that is not in the file, a stairwell unit of
  a building that is not in the file;
- an unknown member: any leader, chief, grid member, committee member, volunteer or team
  member who is not in the file's members;
- teams: a team other than mediation_room (暖心调解室), patrol_team (巡逻队) and
  property_management (物业), a team given twice, a member listed twice in one team (or
  twice among one grid's volunteers);
- leave: a period without from or to, a bound that is not a date (YYYY-MM-DD) or an ISO
  date and time, a period whose to is before its from;
- phones: missing, not a phone number, used by two members of the file, or used by a
  member of another community of the deployment (a person is a member of one community
  only: SMS replies are matched to members by phone);
- a stairwell unit with no leader (楼道长), a duplicate unit of a building, a duplicate
  building number, a number that is not a positive whole number;
- a category other than at_home, away, elderly;
- SMS reports: a triage member who is not in the file's members; an sms_number that is
  not a phone number or is another community's; sms_default not true/false, or set by
  another community too; a household without a phone or a unit, with a phone that is
  not a phone number, given twice, or registered in another community, or living at a
  building or stairwell unit that is not in the file.

Warnings (the import goes ahead, and the warnings are kept with its audit record):

- a leader, chief, grid member, volunteer or team member who is not at home (外出 away or
  年老体弱 elderly).
  Not an error, because it is how things are: away members stay in the directory, and
  the escalation chain skips a level with nobody at home and records the skip. The
  demo data has two away stairwell leaders on purpose. The warning says who steps in;
- a building whose grid member is not among its grid's members;
- a role or a language gridloop does not know (informational fields);
- a triage member who is not at home (SMS reports with no place go to the committee);
- a household phone that is a member's (their texts are read as member replies, not reports).

YAML: the shape of data/directory/*.yaml (one community per file). Besides the grid:

  teams:                       the community's specialist teams, each a list of members
    mediation_room: [m41, m42]       暖心调解室
    patrol_team: [m43, m44]          巡逻队
    property_management: [m45, m46]  物业
  grids: - ... volunteers: [m03]     the grid's party volunteers (党员志愿者协办)
  members: - ... leave:              periods the member is away (on leave):
      - {from: "2026-12-01", to: "2026-12-10"}
      Dates are whole days in Asia/Shanghai time, both included (from 00:00 of `from`
      to 00:00 of the day after `to`); an ISO date and time with an offset
      ("2026-12-01T08:00:00+08:00") is an instant, and as `to` the first moment back.
  triage: m06                  the member on triage duty (分诊): SMS reports whose place
                               is not known go to them, and they set it (位置 CODE 3-2)
  sms_number: "+8613800000000" the number this community's residents text, if it has its
                               own: an SMS to it from an unknown phone is this community's
  sms_default: true            SMS from unknown phones that nothing else places come here
                               (one community of the deployment at most)
  households:                  registered households: a resident's phone and where they
    - {phone: "+8613900000001", unit: "3-2"}    live, building 3 unit 2 ("3" alone: the
                                                building); their SMS reports go there

CSV: six files, one per kind of record, each with a header row, so that each opens in
a spreadsheet as one plain table. Cells are trimmed; blank rows are skipped; a list in
one cell is separated by ";" (also "；", "," or "、"). Files are UTF-8 (a BOM, as Excel
writes with "CSV UTF-8", is fine). Keep the phone column formatted as text in a
spreadsheet, or it turns +8613971007101 into 8.61397E+12.

  community.csv   field,value — one row per field:
                  id           the community's id (changmu)
                  name_zh      its name in Chinese; name_en, name_<lang> for others
                  area_name    the area (片区) name
                  area_chief   member id of the area chief (片长)
                  committee    member ids of the committee (两委), in the order they
                               are asked: "m03;m05;m02"
  members.csv     id,name,phone,category,lang,roles,leave
                  category: at_home (default), away or elderly; lang: zh (default) or en;
                  roles: informational, e.g. "committee;grid_chief";
                  leave: periods away, each FROM/TO as in YAML, separated by ";":
                  "2026-12-01/2026-12-10;2027-01-05/2027-01-06"
  grids.csv       id,name,chief,members,volunteers
                  members: the grid members (网格员), in order; volunteers: its party
                  volunteers (党员志愿者)
  buildings.csv   id,number,grid,leader,grid_member
                  leader: the building leader (楼长), optional; grid_member: the one who
                  looks after this building, optional
  units.csv       building,number,leader      (one row per stairwell unit; leader required)
  teams.csv       team,members                (one row per team: mediation_room, patrol_team
                                               or property_management; optional: a directory
                                               without it has no teams)
  households.csv  phone,unit                  (one row per registered household, unit "3-2" or
                                               "3"; optional)
  community.csv may also have the rows triage, sms_number and sms_default (true or false).

The example in data/directory/csv/ is the demo directory exported this way.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import leave as _leave
from .directory import ROLE_NAMES, TEAM_ROLES, Community, DirectoryError, MemberCategory

FORMATS = ("yaml", "csv")
CSV_FILES = ("community.csv", "members.csv", "grids.csv", "buildings.csv", "units.csv", "teams.csv",
             "households.csv")
_OPTIONAL_CSV_FILES = ("teams.csv", "households.csv")       # older exports have five files
KNOWN_ROLES = ("area_chief", "committee", "grid_chief", "grid_member", "building_leader",
               "stairwell_leader", "volunteer", *TEAM_ROLES)
_TEAM_NAMES = ", ".join(f"{role} ({ROLE_NAMES[role]['zh']})" for role in TEAM_ROLES)
_LEAVE_SEPARATORS = re.compile(r"[;；,，、\n]+")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_COMMUNITY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LIST_SEPARATORS = re.compile(r"[;；,，、\s]+")
_CATEGORY_NAMES = {"at_home": "at home", "away": "away (外出)", "elderly": "elderly (年老体弱)"}

Loc = tuple[str, int]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int            # 1-based; 0 when it is about the file as a whole
    message: str
    severity: str = "error"   # or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


class DirectoryImportError(DirectoryError):
    """The file cannot be imported; `problems` says everything that is wrong, and where."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Problem] = ()):
        self.problems = sorted(problems, key=_order)
        self.warnings = sorted(warnings, key=_order)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''}:\n"
                         + "\n".join(str(p) for p in self.problems))


def _order(problem: Problem) -> tuple:
    return problem.file, problem.line


@dataclass(frozen=True)
class Parsed:
    community: Community
    warnings: tuple[Problem, ...]


# -- reading: records with where they came from ----------------------------------------

class _Rec:
    """One record as read: its raw values, where it is, and where each field is."""

    def __init__(self, loc: Loc, values: dict[str, Any] | None = None,
                 locs: dict[Any, Loc] | None = None):
        self.loc, self.values, self.locs = loc, values or {}, locs or {}

    def at(self, field: str | None = None, index: int | None = None) -> Loc:
        if field is not None:
            if index is not None and (field, index) in self.locs:
                return self.locs[(field, index)]
            if field in self.locs:
                return self.locs[field]
        return self.loc


class _Records:
    def __init__(self) -> None:
        self.head: _Rec | None = None
        self.members: list[_Rec] = []
        self.grids: list[_Rec] = []
        self.buildings: list[_Rec] = []
        self.units: list[_Rec] = []
        self.teams: list[_Rec] = []
        self.households: list[_Rec] = []


class _Problems:
    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, loc: Loc, message: str) -> None:
        self.errors.append(Problem(loc[0], loc[1], message))

    def warn(self, loc: Loc, message: str) -> None:
        self.warnings.append(Problem(loc[0], loc[1], message, "warning"))


# -- YAML ----------------------------------------------------------------------------------

_TOP_FIELDS = ("id", "name", "area", "committee", "teams", "grids", "buildings", "members",
               "triage", "sms_number", "sms_default", "households")
_HOUSEHOLD_FIELDS = ("phone", "unit")
_AREA_FIELDS = ("name", "chief")
_MEMBER_FIELDS = ("id", "name", "phone", "roles", "category", "lang", "leave")
_GRID_FIELDS = ("id", "name", "chief", "members", "volunteers")
_BUILDING_FIELDS = ("id", "number", "grid", "leader", "grid_member", "units")
_UNIT_FIELDS = ("number", "leader")


def _read_yaml(text: str, filename: str, out: _Problems) -> _Records | None:
    import yaml   # lazily: only the YAML path needs PyYAML

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        out.error((filename, mark.line + 1 if mark else 0),
                  f"not valid YAML: {error.problem or error.context or error}")
        return None
    except yaml.YAMLError as error:
        out.error((filename, 0), f"not valid YAML: {error}")
        return None
    if root is None:
        out.error((filename, 0), "the file is empty")
        return None

    constructor = yaml.constructor.SafeConstructor()

    def line(node: Any) -> Loc:
        return filename, node.start_mark.line + 1

    def plain(node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return {plain(k): plain(v) for k, v in node.value}
        if isinstance(node, yaml.SequenceNode):
            return [plain(v) for v in node.value]
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return node.value

    def mapping(node: Any, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[Any, Any]] | None:
        """{key: (key node, value node)}, with duplicate and unknown keys reported."""
        if not isinstance(node, yaml.MappingNode):
            out.error(line(node), f"{what} must be a mapping of {', '.join(allowed)}")
            return None
        result: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            key = plain(key_node)
            if not isinstance(key, str):
                out.error(line(key_node), f"{what}: field names must be text, not {key!r}")
            elif key in result:
                out.error(line(key_node), f"{what}: {key!r} is given twice "
                                          f"(first on line {line(result[key][0])[1]})")
            elif key not in allowed:
                out.error(line(key_node), f"{what}: unknown field {key!r} "
                                          f"(fields are: {', '.join(allowed)})")
            else:
                result[key] = (key_node, value_node)
        return result

    def sequence(node: Any, what: str) -> list[Any]:
        if isinstance(node, yaml.ScalarNode) and plain(node) is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            out.error(line(node), f"{what} must be a list")
            return []
        return list(node.value)

    def record(fields: dict[str, tuple[Any, Any]], loc: Loc, lists: tuple[str, ...] = ()) -> _Rec:
        rec = _Rec(loc)
        for key, (key_node, value_node) in fields.items():
            rec.locs[key] = line(key_node)
            if key in lists and isinstance(value_node, yaml.SequenceNode):
                rec.values[key] = [plain(v) for v in value_node.value]
                for index, item in enumerate(value_node.value):
                    rec.locs[(key, index)] = line(item)
                    if isinstance(item, yaml.MappingNode):       # e.g. a leave period's from and to
                        for sub_key, _ in item.value:
                            rec.locs[(f"{key}.{plain(sub_key)}", index)] = line(sub_key)
            else:
                rec.values[key] = plain(value_node)
        return rec

    records = _Records()
    top = mapping(root, "the community", _TOP_FIELDS)
    if top is None:
        return None
    head = record({k: v for k, v in top.items()
                   if k in ("id", "name", "committee", "triage", "sms_number", "sms_default")},
                  line(root), lists=("committee",))
    if "name" in top and isinstance(top["name"][1], yaml.MappingNode):
        for key_node, _ in top["name"][1].value:
            head.locs[("name", plain(key_node))] = line(key_node)
    if "area" in top:
        area = mapping(top["area"][1], "area", _AREA_FIELDS) or {}
        head.locs["area"] = line(top["area"][0])
        for key, (key_node, value_node) in area.items():
            head.values[f"area_{key}"] = plain(value_node)
            head.locs[f"area_{key}"] = line(key_node)
    records.head = head

    if "teams" in top:
        teams_node = top["teams"][1]
        if isinstance(teams_node, yaml.ScalarNode) and plain(teams_node) is None:
            pass
        elif not isinstance(teams_node, yaml.MappingNode):
            out.error(line(teams_node), f"teams must be a mapping of team: [members] "
                                        f"(teams are: {_TEAM_NAMES})")
        else:
            for key_node, value_node in teams_node.value:
                team = _Rec(line(key_node), {"team": plain(key_node)}, {"team": line(key_node)})
                team.locs["members"] = line(key_node)
                items = sequence(value_node, f"team {plain(key_node)}")
                team.values["members"] = [plain(v) for v in items]
                for index, item in enumerate(items):
                    team.locs[("members", index)] = line(item)
                records.teams.append(team)

    for kind, fields, lists in (("members", _MEMBER_FIELDS, ("roles", "leave")),
                                ("grids", _GRID_FIELDS, ("members", "volunteers")),
                                ("households", _HOUSEHOLD_FIELDS, ())):
        if kind not in top:
            continue
        for item in sequence(top[kind][1], kind):
            found = mapping(item, {"members": "a member", "grids": "a grid",
                                   "households": "a household"}[kind], fields)
            if found is not None:
                getattr(records, kind).append(record(found, line(item), lists))
    if "buildings" in top:
        for item in sequence(top["buildings"][1], "buildings"):
            found = mapping(item, "a building", _BUILDING_FIELDS)
            if found is None:
                continue
            units = found.pop("units", None)
            building = record(found, line(item))
            records.buildings.append(building)
            if units is None:
                continue
            for unit_node in sequence(units[1], "units"):
                unit_fields = mapping(unit_node, "a stairwell unit", _UNIT_FIELDS)
                if unit_fields is not None:
                    unit = record(unit_fields, line(unit_node))
                    unit.values["building"] = building.values.get("id")
                    unit.values["nested"] = True
                    records.units.append(unit)
    return records


# -- CSV -------------------------------------------------------------------------------------

_CSV_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {   # required, optional
    "community.csv": (("field", "value"), ()),
    "members.csv": (("id", "name", "phone"), ("category", "lang", "roles", "leave")),
    "grids.csv": (("id", "name", "chief"), ("members", "volunteers")),
    "buildings.csv": (("id", "number", "grid"), ("leader", "grid_member")),
    "units.csv": (("building", "number", "leader"), ()),
    "teams.csv": (("team",), ("members",)),
    "households.csv": (("phone", "unit"), ()),
}
_COMMUNITY_FIELDS = ("id", "area_name", "area_chief", "committee", "triage", "sms_number", "sms_default")
_CSV_LISTS = {"members.csv": ("roles",), "grids.csv": ("members", "volunteers"), "teams.csv": ("members",)}


def _split(cell: str) -> list[str]:
    return [part for part in _LIST_SEPARATORS.split(cell) if part]


def _read_csv_table(text: str, name: str, out: _Problems) -> list[_Rec] | None:
    required, optional = _CSV_COLUMNS[name]
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header: list[str] | None = None
    rows: list[_Rec] = []
    previous = 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                seen: set[str] = set()
                for column in header:
                    if not column:
                        continue
                    if column in seen:
                        out.error((name, start), f"column {column!r} is given twice")
                    elif column not in required + optional:
                        out.error((name, start), f"unknown column {column!r} "
                                                 f"(columns are: {', '.join(required + optional)})")
                    seen.add(column)
                for column in required:
                    if column not in header:
                        out.error((name, start), f"the column {column!r} is missing")
                if any(c not in header for c in required):
                    return None
                continue
            extra = [cell for cell in row[len(header):] if cell.strip()]
            if extra:
                out.error((name, start), f"{len(row)} cells, but the header has {len(header)} columns")
            rec = _Rec((name, start))
            for index, column in enumerate(header):
                if column not in required + optional:
                    continue
                cell = row[index].strip() if index < len(row) else ""
                if column in _CSV_LISTS.get(name, ()):
                    rec.values[column] = _split(cell)
                else:
                    rec.values[column] = cell or None
            rows.append(rec)
    except csv.Error as error:
        out.error((name, reader.line_num), f"not valid CSV: {error}")
        return None
    if header is None:
        out.error((name, 0), "the file is empty (it needs a header row: "
                             f"{','.join(required + optional)})")
        return None
    return rows


def _read_csv(files: Mapping[str, str], out: _Problems) -> _Records | None:
    by_name: dict[str, tuple[str, str]] = {}
    for path, text in files.items():
        name = re.split(r"[\\/]", path)[-1].lower()
        if name not in CSV_FILES:
            out.error((name, 0), f"not one of the directory's CSV files ({', '.join(CSV_FILES)})")
        else:
            by_name[name] = (path, text)
    for name in CSV_FILES:
        if name not in by_name and name not in _OPTIONAL_CSV_FILES:
            out.error((name, 0), f"{name} is missing: a directory in CSV is the files "
                                 f"{', '.join(CSV_FILES)} ({', '.join(_OPTIONAL_CSV_FILES)} optional)")
    tables = {name: _read_csv_table(text, name, out) for name, (_, text) in by_name.items()}
    if any(tables.get(name) is None for name in CSV_FILES
           if name in by_name or name not in _OPTIONAL_CSV_FILES):
        return None

    records = _Records()
    head = _Rec(("community.csv", 0), {"name": {}})
    for row in tables["community.csv"]:
        field, value = (row.values.get("field") or "").lower(), row.values.get("value")
        key = ("name", field[5:]) if field.startswith("name_") and len(field) > 5 else field
        if key != field or field in _COMMUNITY_FIELDS:
            if key in head.locs:
                out.error(row.loc, f"{field!r} is given twice (first on line {head.locs[key][1]})")
                continue
            head.locs[key] = row.loc
            if key != field:
                head.values["name"][key[1]] = value
            elif field == "committee":
                head.values["committee"] = _split(value or "")
            else:
                head.values[field] = value
        elif not field:
            out.error(row.loc, "a row without a field name")
        else:
            out.error(row.loc, f"unknown field {field!r} (fields are: id, name_zh, name_en, "
                               f"area_name, area_chief, committee, triage, sms_number, sms_default)")
    records.head = head
    records.members = tables["members.csv"]
    records.grids = tables["grids.csv"]
    records.buildings = tables["buildings.csv"]
    records.units = tables["units.csv"]
    records.teams = tables.get("teams.csv") or []
    records.households = tables.get("households.csv") or []
    return records


# -- validation, shared by both formats --------------------------------------------------------

class _Validator:
    def __init__(self, records: _Records, out: _Problems, expected_id: str | None,
                 others: Iterable[Community]):
        self.r, self.out, self.expected_id = records, out, expected_id
        self.others = list(others)
        self.members: dict[str, _Rec] = {}        # valid member ids → their record
        self.category: dict[str, MemberCategory] = {}
        self.names: dict[str, str] = {}

    # value helpers: each reports what is wrong and returns None
    def text(self, rec: _Rec, field: str, what: str, required: bool = True) -> str | None:
        value = rec.values.get(field)
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif value is not None:
            self.out.error(rec.at(field), f"{what}: {field} must be text, not {value!r}")
            return None
        if not value:
            if required:
                self.out.error(rec.at(field), f"{what} has no {field}")
            return None
        return value

    def ident(self, rec: _Rec, field: str, what: str, required: bool = True) -> str | None:
        value = self.text(rec, field, what, required)
        if value is not None and not _ID.match(value):
            self.out.error(rec.at(field), f"{what}: {field} {value!r} may only have letters, digits, "
                                          f"'-', '_' and '.'")
            return None
        return value

    def number(self, rec: _Rec, what: str) -> int | None:
        value = rec.values.get("number")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if value is None or value == "":
            self.out.error(rec.at("number"), f"{what} has no number")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.out.error(rec.at("number"), f"{what}: number {value!r} is not a positive whole number")
            return None
        return value

    def id_list(self, rec: _Rec, field: str, what: str) -> list[tuple[str, Loc]]:
        value = rec.values.get(field)
        if value is None:
            return []
        if isinstance(value, str):
            value = _split(value)
        if not isinstance(value, list):
            self.out.error(rec.at(field), f"{what}: {field} must be a list")
            return []
        result = []
        for index, item in enumerate(value):
            loc = rec.at(field, index)
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not _ID.match(item.strip()):
                self.out.error(loc, f"{what}: {item!r} in {field} is not an id")
                continue
            result.append((item.strip(), loc))
        return result

    def member_ref(self, member_id: str | None, loc: Loc, as_what: str) -> bool:
        if member_id is None:
            return False
        if member_id not in self.members:
            self.out.error(loc, f"{as_what}: unknown member {member_id!r} (not in the members)")
            return False
        return True

    def at_home(self, member_id: str | None) -> bool:
        return member_id is not None and self.category.get(member_id) is MemberCategory.AT_HOME

    def who(self, member_id: str) -> str:
        category = self.category.get(member_id)
        label = _CATEGORY_NAMES.get(category.value, category.value) if category else "?"
        return f"{member_id} ({self.names.get(member_id, '?')}, {label})"

    def warn_if_away(self, member_id: str | None, loc: Loc, role: str, consequence: str) -> None:
        if member_id in self.members and not self.at_home(member_id):
            self.out.warn(loc, f"{role} {self.who(member_id)} is not at home: {consequence}")

    # the checks
    def run(self) -> dict[str, Any] | None:
        head = self.r.head
        data: dict[str, Any] = {}
        cid = self.text(head, "id", "the community")
        if cid is not None and not _COMMUNITY_ID.match(cid):
            self.out.error(head.at("id"), f"community id {cid!r} must be lower-case letters, digits "
                                          f"and '_', starting with a letter")
            cid = None
        if cid is not None and self.expected_id is not None and cid != self.expected_id:
            self.out.error(head.at("id"), f"this file is the directory of {cid!r}, "
                                          f"not of {self.expected_id!r}")
        data["id"] = cid

        name = head.values.get("name")
        if name is not None and not isinstance(name, dict):
            self.out.error(head.at("name"), "the community's name must be given per language "
                                            "(zh: ..., en: ...)")
            name = None
        names: dict[str, str] = {}
        for lang, value in (name or {}).items():
            if not isinstance(value, str) or not value.strip():
                self.out.error(head.at("name", lang) if ("name", lang) in head.locs else head.at("name"),
                               f"the community's name in {lang!r} is empty")
            else:
                names[str(lang)] = value.strip()
        if "zh" not in names and not any(isinstance(k, tuple) and k[1] == "zh" for k in head.locs):
            self.out.error(head.at("name"), "the community has no Chinese name (name zh / name_zh)")
        data["name"] = names

        self.check_members(cid)

        area = _Rec(head.at("area"), {"name": head.values.get("area_name"),
                                      "chief": head.values.get("area_chief")},
                    {k: head.locs[f"area_{k}"] for k in ("name", "chief") if f"area_{k}" in head.locs})
        area_name = self.text(area, "name", "the area (片区)")
        area_chief = self.ident(area, "chief", "the area (片区)")
        if self.member_ref(area_chief, area.at("chief"), "area chief (片长)"):
            self.warn_if_away(area_chief, area.at("chief"), "area chief (片长)",
                              "the top of the chain (level 5) is always skipped")
        data["area"] = {"name": area_name, "chief": area_chief}

        committee, seen = [], {}
        for member_id, loc in self.id_list(head, "committee", "the committee"):
            if member_id in seen:
                self.out.error(loc, f"committee: {member_id} is listed twice (first on line {seen[member_id]})")
            elif self.member_ref(member_id, loc, "committee (两委)"):
                committee.append(member_id)
            seen.setdefault(member_id, loc[1])
        if committee and not any(self.at_home(m) for m in committee):
            self.out.warn(head.at("committee"), "no committee member is at home: level 4 (社区响应) "
                                                "is always skipped")
        data["committee"] = committee
        data["teams"] = self.check_teams()

        data["grids"], grid_members = self.check_grids()
        data["buildings"] = self.check_buildings(set(g["id"] for g in data["grids"]), grid_members)
        data["members"] = [self.members[m].values["_plain"] for m in self.members]
        self.check_sms(cid, data)
        return data

    def check_sms(self, cid: str | None, data: dict[str, Any]) -> None:
        """triage, sms_number, sms_default and households: what SMS reports need."""
        from .report import InvalidReport, normalize_phone

        head = self.r.head
        triage = self.ident(head, "triage", "the community", required=False)
        if self.member_ref(triage, head.at("triage"), "triage (分诊)"):
            self.warn_if_away(triage, head.at("triage"), "triage (分诊)",
                              "SMS reports with no place go to the committee instead")
        data["triage"] = triage if triage in self.members else None

        others = [o for o in self.others if o.id != cid]
        number = self.text(head, "sms_number", "the community", required=False)
        data["sms_number"] = None
        if number is not None:
            try:
                data["sms_number"] = normalize_phone(number)
            except InvalidReport:
                self.out.error(head.at("sms_number"), f"sms_number {number!r} is not a phone number")
            taken = next((o for o in others if getattr(o, "sms_number", None) == data["sms_number"]), None)
            if data["sms_number"] is not None and taken is not None:
                self.out.error(head.at("sms_number"), f"sms_number {data['sms_number']} is already "
                                                      f"community {taken.id}'s")
        default = head.values.get("sms_default")
        if isinstance(default, str) and default.strip().lower() in ("true", "yes", "1", "false", "no", "0", ""):
            default = default.strip().lower() in ("true", "yes", "1")
        if default is None:
            default = False
        if not isinstance(default, bool):
            self.out.error(head.at("sms_default"), f"sms_default must be true or false, not {default!r}")
            default = False
        taken = next((o for o in others if getattr(o, "sms_default", False)), None)
        if default and taken is not None:
            self.out.error(head.at("sms_default"), f"sms_default: community {taken.id} already takes the "
                                                   f"SMS that nothing else places; only one community may")
        data["sms_default"] = default

        places = {str(b["number"]) for b in data["buildings"] if b["number"] is not None}
        places |= {f"{b['number']}-{u['number']}" for b in data["buildings"] for u in b["units"]}
        member_phones = {rec.values["_plain"]["phone"]: m for m, rec in self.members.items()}
        elsewhere = {phone: o.id for o in others for phone in getattr(o, "households", {})}
        elsewhere_members = {m.phone: (o.id, m.id) for o in others for m in o.members.values()}
        households, seen = [], {}
        for rec in self.r.households:
            raw = self.text(rec, "phone", "a household")
            unit = self.text(rec, "unit", "a household")
            what = f"household {raw}" if raw else "a household"
            phone = None
            if raw is not None:
                try:
                    phone = normalize_phone(raw)
                except InvalidReport:
                    self.out.error(rec.at("phone"), f"{what}: {raw!r} is not a valid phone number")
            if phone is not None:
                if phone in seen:
                    self.out.error(rec.at("phone"), f"household phone {phone} is given twice "
                                                    f"(first on line {seen[phone]})")
                    phone = None
                elif phone in elsewhere:
                    self.out.error(rec.at("phone"), f"household phone {phone} is registered in community "
                                                    f"{elsewhere[phone]}; a household lives in one community")
                    phone = None
                else:
                    seen[phone] = rec.loc[1]
                    if phone in member_phones or phone in elsewhere_members:
                        owner = member_phones.get(phone) or "{1} of community {0}".format(*elsewhere_members[phone])
                        self.out.warn(rec.at("phone"), f"household phone {phone} is member {owner}'s: their "
                                                       f"SMS are read as member replies, not as reports")
            label = None
            if unit is not None:
                parts = [p.strip() for p in unit.replace("－", "-").split("-")]
                if 1 <= len(parts) <= 2 and all(p.isdigit() for p in parts):
                    label = "-".join(str(int(p)) for p in parts)
                if label is None or label not in places:
                    self.out.error(rec.at("unit"), f"{what}: unit {unit!r} is not a building or stairwell "
                                                   f"unit of this community (write building-unit: \"3-2\", "
                                                   f"or \"3\" for building 3)")
                    label = None
            if phone is not None and label is not None:
                households.append({"phone": phone, "unit": label})
        data["households"] = households

    def check_members(self, cid: str | None) -> None:
        phones: dict[str, tuple[str, Loc]] = {}
        elsewhere: dict[str, tuple[str, Any]] = {}
        for other in self.others:
            if other.id == cid:
                continue
            for member in other.members.values():
                elsewhere[member.phone] = (other.id, member)
        from .report import InvalidReport, normalize_phone

        for rec in self.r.members:
            member_id = self.ident(rec, "id", "a member")
            what = f"member {member_id}" if member_id else "a member"
            if member_id is not None and member_id in self.members:
                self.out.error(rec.at("id"), f"member id {member_id} is used twice "
                                             f"(first on line {self.members[member_id].loc[1]})")
                member_id = None
            name = self.text(rec, "name", what)
            raw_phone = self.text(rec, "phone", what)
            phone = None
            if raw_phone is not None:
                try:
                    phone = normalize_phone(raw_phone)
                except InvalidReport:
                    hint = " (a spreadsheet turned it into a number: format the column as text)" \
                        if "E+" in raw_phone.upper() else ""
                    self.out.error(rec.at("phone"), f"{what}: {raw_phone!r} is not a valid phone number{hint}")
            if phone is not None:
                if phone in phones:
                    first_id, first_loc = phones[phone]
                    self.out.error(rec.at("phone"), f"{what}: phone {phone} is also {first_id}'s "
                                                    f"(line {first_loc[1]}); each member needs their own phone")
                elif phone in elsewhere:
                    other_id, other = elsewhere[phone]
                    self.out.error(rec.at("phone"), f"{what}: phone {phone} belongs to member {other.id} "
                                                    f"({other.name}) of community {other_id}; a person can "
                                                    f"be a member of one community only")
                else:
                    phones[phone] = (member_id or "another member", rec.at("phone"))
            category = self.text(rec, "category", what, required=False) or MemberCategory.AT_HOME.value
            try:
                category_value = MemberCategory(category)
            except ValueError:
                self.out.error(rec.at("category"), f"{what}: category {category!r} is not one of "
                                                   f"{', '.join(c.value for c in MemberCategory)}")
                category_value = None
            lang = self.text(rec, "lang", what, required=False) or "zh"
            if lang not in _languages():
                self.out.warn(rec.at("lang"), f"{what}: gridloop has no messages in {lang!r} "
                                              f"(it has {', '.join(sorted(_languages()))}); they will get Chinese")
            leave = self.leave(rec, what)
            roles = [r for r, _ in self.id_list(rec, "roles", what)]
            for index, role in enumerate(roles):
                if role not in KNOWN_ROLES:
                    self.out.warn(rec.at("roles", index), f"{what}: unknown role {role!r} "
                                                          f"(roles are: {', '.join(KNOWN_ROLES)})")
            if member_id is None:
                continue
            self.members[member_id] = rec
            self.names[member_id] = name or "?"
            if category_value is not None:
                self.category[member_id] = category_value
            rec.values["_plain"] = {"id": member_id, "name": name, "phone": phone, "roles": roles,
                                    "category": category, "lang": lang, "leave": leave}

    def leave(self, rec: _Rec, what: str) -> list[dict[str, float]]:
        """The member's leave periods as {"from": start, "to": end} in epoch seconds."""
        value = rec.values.get("leave")
        periods: list[tuple[Any, Loc, Any, Loc]] = []        # from, its line, to, its line
        if value is None or value == "":
            return []
        if isinstance(value, str):                            # CSV: FROM/TO;FROM/TO
            for part in _LEAVE_SEPARATORS.split(value):
                if not part.strip():
                    continue
                bounds = part.split("/")
                if len(bounds) != 2 or not all(b.strip() for b in bounds):
                    self.out.error(rec.at("leave"), f"{what}: leave {part.strip()!r} is not FROM/TO "
                                                    f"(e.g. 2026-12-01/2026-12-10)")
                    continue
                periods.append((bounds[0].strip(), rec.at("leave"), bounds[1].strip(), rec.at("leave")))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                loc = rec.at("leave", index)
                if not isinstance(item, dict):
                    self.out.error(loc, f"{what}: a leave period is from: and to:, not {item!r}")
                    continue
                unknown = [k for k in item if k not in ("from", "to")]
                for key in unknown:
                    self.out.error(rec.at(f"leave.{key}", index) if (f"leave.{key}", index) in rec.locs else loc,
                                   f"{what}: a leave period: unknown field {key!r} (fields are: from, to)")
                missing = [k for k in ("from", "to") if item.get(k) in (None, "")]
                if missing:
                    self.out.error(loc, f"{what}: a leave period has no {' and no '.join(missing)}")
                if unknown or missing:
                    continue
                periods.append((item["from"], rec.at("leave.from", index) if ("leave.from", index) in rec.locs
                                else loc, item["to"], rec.at("leave.to", index)
                                if ("leave.to", index) in rec.locs else loc))
        else:
            self.out.error(rec.at("leave"), f"{what}: leave must be a list of periods (from:, to:)")
            return []
        result = []
        for start_value, start_loc, end_value, end_loc in periods:
            bounds = []
            for bound, loc, end in ((start_value, start_loc, False), (end_value, end_loc, True)):
                try:
                    bounds.append(_leave.parse_bound(bound, end=end))
                except _leave.LeaveError as error:
                    self.out.error(loc, f"{what}: leave {'to' if end else 'from'}: {error}")
            if len(bounds) != 2:
                continue
            start, end = bounds
            if end <= start:
                shown = [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in (start_value, end_value)]
                same = end == start and _leave.parse_bound(end_value, end=False) == end   # not a whole day
                relation = "is the same instant as" if same else "is before"
                self.out.error(end_loc, f"{what}: leave to {shown[1]} {relation} from {shown[0]}: "
                                        f"a period must end after it starts")
                continue
            result.append({"from": start, "to": end})
        return result

    def distinct_members(self, rec: _Rec, field: str, what: str, listed_as: str, as_what: str,
                         away: str | None = None) -> list[str]:
        """The known members a record lists in `field`, each once: a repeat or an unknown
        id is a problem on its line; with `away`, an away member is a warning saying so."""
        members: list[str] = []
        listed: set[str] = set()
        for member_id, loc in self.id_list(rec, field, what):
            if member_id in listed:
                self.out.error(loc, f"{what}: {listed_as} {member_id} is listed twice")
            elif self.member_ref(member_id, loc, as_what):
                if away is not None:
                    self.warn_if_away(member_id, loc, as_what, away)
                members.append(member_id)
            listed.add(member_id)
        return members

    def check_teams(self) -> dict[str, list[str]]:
        teams: dict[str, list[str]] = {}
        first: dict[str, int] = {}
        for rec in self.r.teams:
            role = self.ident(rec, "team", "a team")
            if role is not None and role not in TEAM_ROLES:
                self.out.error(rec.at("team"), f"unknown team {role!r} (teams are: {_TEAM_NAMES})")
                role = None
            elif role is not None and role in first:
                self.out.error(rec.at("team"), f"team {role} is given twice (first on line {first[role]})")
                role = None
            what = f"team {role} ({ROLE_NAMES[role]['zh']})" if role else "a team"
            members = self.distinct_members(rec, "members", what, "member", f"{what} member",
                                            away="they are never assigned")
            if role is None:
                continue
            first[role] = rec.at("team")[1]
            if members:
                teams[role] = members
        return {role: teams[role] for role in TEAM_ROLES if role in teams}

    def check_grids(self) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        grids: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        members_of: dict[str, list[str]] = {}
        for rec in self.r.grids:
            grid_id = self.ident(rec, "id", "a grid")
            what = f"grid {grid_id}" if grid_id else "a grid"
            if grid_id is not None and grid_id in seen:
                self.out.error(rec.at("id"), f"grid id {grid_id} is used twice (first on line {seen[grid_id]})")
                grid_id = None
            name = self.text(rec, "name", what)
            chief = self.ident(rec, "chief", what)
            if self.member_ref(chief, rec.at("chief"), f"{what} chief (网格长)"):
                self.warn_if_away(chief, rec.at("chief"), f"{what} chief (网格长)",
                                  "level 3 is skipped for this grid")
            members = self.distinct_members(rec, "members", what, "member", f"{what} member (网格员)")
            volunteers = self.distinct_members(rec, "volunteers", what, "volunteer",
                                               f"{what} volunteer (党员志愿者)", away="they are never assigned")
            if grid_id is None:
                continue
            seen[grid_id] = rec.loc[1]
            members_of[grid_id] = members
            grids.append({"id": grid_id, "name": name, "chief": chief, "members": members,
                          "volunteers": volunteers})
        return grids, members_of

    def check_buildings(self, grid_ids: set[str], grid_members: dict[str, list[str]]) -> list[dict[str, Any]]:
        buildings: dict[str, dict[str, Any]] = {}
        first_line: dict[str, int] = {}
        numbers: dict[int, tuple[str, int]] = {}
        broken: set[str] = set()            # building ids given, but unusable (duplicates)
        for rec in self.r.buildings:
            building_id = self.ident(rec, "id", "a building")
            what = f"building {building_id}" if building_id else "a building"
            if building_id is not None and building_id in buildings:
                self.out.error(rec.at("id"), f"building id {building_id} is used twice "
                                             f"(first on line {first_line[building_id]})")
                broken.add(building_id)
                building_id = None
            number = self.number(rec, what)
            if number is not None:
                if number in numbers:
                    self.out.error(rec.at("number"), f"{what}: building number {number} is also building "
                                                     f"{numbers[number][0]}'s (line {numbers[number][1]})")
                else:
                    numbers[number] = (building_id or "?", rec.loc[1])
            grid = self.ident(rec, "grid", what)
            if grid is not None and grid not in grid_ids:
                self.out.error(rec.at("grid"), f"{what}: unknown grid {grid!r} (not in the grids)")
            leader = self.ident(rec, "leader", what, required=False)
            if self.member_ref(leader, rec.at("leader"), f"{what} leader (楼长)"):
                self.warn_if_away(leader, rec.at("leader"), f"{what} leader (楼长)",
                                  "they cannot step in for an absent stairwell leader")
            grid_member = self.ident(rec, "grid_member", what, required=False)
            if self.member_ref(grid_member, rec.at("grid_member"), f"{what} grid member (网格员)"):
                self.warn_if_away(grid_member, rec.at("grid_member"), f"{what} grid member (网格员)",
                                  "the grid's other members are asked at level 2")
                if grid in grid_members and grid_member not in grid_members[grid]:
                    self.out.warn(rec.at("grid_member"), f"{what}: grid member {grid_member} is not one of "
                                                         f"grid {grid}'s members")
            if building_id is None:
                continue
            first_line[building_id] = rec.loc[1]
            buildings[building_id] = {"id": building_id, "number": number, "grid": grid,
                                      "leader": leader, "grid_member": grid_member, "units": []}

        units_seen: dict[tuple[str, int], int] = {}
        for rec in self.r.units:
            nested = rec.values.get("nested", False)
            building_id = self.ident(rec, "building", "a stairwell unit", required=not nested)
            number = self.number(rec, f"a stairwell unit of building {building_id or '?'}")
            what = f"stairwell unit {building_id or '?'}-{number if number is not None else '?'}"
            building = None
            if building_id is not None and building_id not in broken:
                building = buildings.get(building_id)
                if building is None and not nested:
                    self.out.error(rec.at("building"), f"{what}: unknown building {building_id!r} "
                                                       f"(not in the buildings)")
            if building is not None and number is not None:
                key = (building_id, number)
                if key in units_seen:
                    self.out.error(rec.at("number"), f"unit {number} of building {building_id} is given "
                                                     f"twice (first on line {units_seen[key]})")
                    building = None
                else:
                    units_seen[key] = rec.loc[1]
            leader = self.ident(rec, "leader", what, required=False)
            if leader is None and rec.values.get("leader") in (None, ""):
                self.out.error(rec.at("leader") if "leader" in rec.locs else rec.loc,
                               f"{what} has no leader (楼道长): every stairwell unit needs one")
            elif self.member_ref(leader, rec.at("leader"), f"{what} leader (楼道长)") \
                    and not self.at_home(leader) and building is not None:
                steps_in = building["leader"]
                if self.at_home(steps_in):
                    consequence = f"building leader {self.who(steps_in)} steps in"
                else:
                    consequence = "and no building leader at home steps in: level 1 is skipped"
                self.out.warn(rec.at("leader"), f"{what} leader (楼道长) {self.who(leader)} is not at home: "
                                                f"{consequence}")
            if building is not None and number is not None:
                building["units"].append({"number": number, "leader": leader})
        return list(buildings.values())


_LANGUAGES: set[str] = set()


def _languages() -> set[str]:
    """The languages every message template has."""
    if not _LANGUAGES:
        try:
            from .messages import TEMPLATES
            _LANGUAGES.update(set.intersection(*(set(t) for t in TEMPLATES.values())))
        except Exception:   # the messages module is not ours to break on
            _LANGUAGES.update({"zh", "en"})
    return _LANGUAGES


def _finish(records: _Records | None, out: _Problems, expected_id: str | None,
            others: Iterable[Community], default_file: str) -> Parsed:
    data = None
    if records is not None and records.head is not None:
        data = _Validator(records, out, expected_id, others).run()
    if out.errors or data is None:
        raise DirectoryImportError(out.errors, out.warnings)
    try:
        community = Community.from_dict(data)
    except (DirectoryError, KeyError, TypeError, ValueError) as error:   # a check above missed it
        raise DirectoryImportError([Problem(default_file, 0, str(error))], out.warnings) from None
    return Parsed(community, tuple(sorted(out.warnings, key=_order)))


# -- the entry points ------------------------------------------------------------------------------

def parse_yaml(text: str, filename: str = "directory.yaml", *, expected_id: str | None = None,
               others: Iterable[Community] = ()) -> Parsed:
    """One community from YAML. `others`: the deployment's other communities, whose
    members' phones this one may not use. DirectoryImportError lists every problem."""
    out = _Problems()
    return _finish(_read_yaml(text, filename, out), out, expected_id, others, filename)


def parse_csv(files: Mapping[str, str], *, expected_id: str | None = None,
              others: Iterable[Community] = ()) -> Parsed:
    """One community from the CSV files ({file name or path: text}; teams.csv optional)."""
    out = _Problems()
    return _finish(_read_csv(files, out), out, expected_id, others, "community.csv")


def parse(files: Mapping[str, str], format: str, *, expected_id: str | None = None,
          others: Iterable[Community] = ()) -> Parsed:
    if format == "yaml":
        if len(files) != 1:
            raise DirectoryImportError([Problem(", ".join(files) or "(none)", 0,
                                                "a directory in YAML is exactly one file")])
        [(name, text)] = files.items()
        return parse_yaml(text, re.split(r"[\\/]", name)[-1], expected_id=expected_id, others=others)
    if format == "csv":
        return parse_csv(files, expected_id=expected_id, others=others)
    raise ValueError(f"format must be one of {FORMATS}, not {format!r}")


def to_plain(community: Community) -> dict[str, Any]:
    """The data-file shape (data/directory/*.yaml): empty fields (teams, volunteers, leave,
    a building's leader) left out, lang only when not zh."""
    data = community.to_dict()
    if not data["teams"]:
        del data["teams"]
    for grid in data["grids"]:
        if not grid["volunteers"]:
            del grid["volunteers"]
    for building in data["buildings"]:
        for key in ("leader", "grid_member"):
            if building[key] is None:
                del building[key]
    for member in data["members"]:
        if member["lang"] == "zh":
            del member["lang"]
        if not member["leave"]:
            del member["leave"]
    for key, empty in (("triage", None), ("sms_number", None), ("sms_default", False), ("households", [])):
        if data[key] == empty:
            del data[key]
    return data


def export_yaml(community: Community, comment: str | None = None) -> str:
    import yaml   # lazily: only the YAML path needs PyYAML

    text = yaml.safe_dump(to_plain(community), allow_unicode=True, sort_keys=False,
                          default_flow_style=False, width=1000)
    if comment:
        text = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines()) + text
    return text


def export_csv(community: Community) -> dict[str, str]:
    """{file name: text} for the six CSV files (see the module docstring)."""
    def table(header: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
        return buffer.getvalue()

    c = community
    head = [("id", c.id)] + [(f"name_{lang}", name) for lang, name in c.name.items()] + [
        ("area_name", c.area_name), ("area_chief", c.area_chief_id), ("committee", ";".join(c.committee_ids))]
    head += [(key, value) for key, value in (("triage", c.triage_id), ("sms_number", c.sms_number),
                                             ("sms_default", "true" if c.sms_default else None)) if value]
    units = sorted(c.units.values(), key=lambda u: (c.buildings[u.building_id].number, u.number))
    return {
        "community.csv": table(("field", "value"), head),
        "members.csv": table(("id", "name", "phone", "category", "lang", "roles", "leave"),
                             ((m.id, m.name, m.phone, m.category.value, m.lang, ";".join(m.roles),
                               ";".join(_leave.period_text(p) for p in m.leave))
                              for m in c.members.values())),
        "grids.csv": table(("id", "name", "chief", "members", "volunteers"),
                           ((g.id, g.name, g.chief_id, ";".join(g.member_ids), ";".join(g.volunteer_ids))
                            for g in c.grids.values())),
        "buildings.csv": table(("id", "number", "grid", "leader", "grid_member"),
                               ((b.id, b.number, b.grid_id, b.leader_id, b.grid_member_id)
                                for b in c.buildings.values())),
        "units.csv": table(("building", "number", "leader"),
                           ((u.building_id, u.number, u.leader_id) for u in units)),
        "teams.csv": table(("team", "members"),
                           ((role, ";".join(c.teams[role])) for role in TEAM_ROLES if role in c.teams)),
        "households.csv": table(("phone", "unit"),
                                ((phone, c.unit_label(code)) for phone, code in c.households.items())),
    }


# -- what changed, for the audit record --------------------------------------------------------------

_MEMBER_DIFF = (("name", "name"), ("phone", "phone"), ("roles", "roles"), ("category", "category"),
                ("lang", "lang"), ("leave", "leave"))
_GRID_DIFF = (("name", "name"), ("chief_id", "chief"), ("member_ids", "members"),
              ("volunteer_ids", "volunteers"))
_BUILDING_DIFF = (("number", "number"), ("grid_id", "grid"), ("leader_id", "leader"),
                  ("grid_member_id", "grid_member"))
_COMMUNITY_DIFF = (("name", "name"), ("area_name", "area_name"), ("area_chief_id", "area_chief"),
                   ("committee_ids", "committee"), ("teams", "teams"), ("triage_id", "triage"),
                   ("sms_number", "sms_number"), ("sms_default", "sms_default"), ("households", "households"))


def changes(old: Community | None, new: Community) -> dict[str, Any]:
    """What an import changes, as plain data: added, removed and changed records (with the
    names of the fields that changed) and every stairwell unit whose leader changed."""
    def diff(before: Mapping[str, Any], after: Mapping[str, Any], fields) -> dict[str, Any]:
        return {
            "added": [k for k in after if k not in before],
            "removed": [k for k in before if k not in after],
            "changed": {k: [label for attr, label in fields
                            if getattr(before[k], attr) != getattr(after[k], attr)]
                        for k in after if k in before and before[k] != after[k]},
        }

    empty: dict[str, Any] = {}
    return {
        "first": old is None,
        "community": [] if old is None else [label for attr, label in _COMMUNITY_DIFF
                                             if getattr(old, attr) != getattr(new, attr)],
        "members": diff(old.members if old else empty, new.members, _MEMBER_DIFF),
        "grids": diff(old.grids if old else empty, new.grids, _GRID_DIFF),
        "buildings": diff(old.buildings if old else empty, new.buildings, _BUILDING_DIFF),
        "units": {k: v for k, v in diff(old.units if old else empty, new.units, ()).items()
                  if k != "changed"},
        "unit_leaders": {} if old is None else {
            unit_id: [old.units[unit_id].leader_id, unit.leader_id]
            for unit_id, unit in new.units.items()
            if unit_id in old.units and old.units[unit_id].leader_id != unit.leader_id},
    }


def is_unchanged(change: Mapping[str, Any]) -> bool:
    if change["first"] or change["community"] or change["unit_leaders"]:
        return False
    return not any(change[kind][part] for kind in ("members", "grids", "buildings", "units")
                   for part in change[kind])


def summarize(change: Mapping[str, Any], new: Community, limit: int = 8) -> str:
    """One line for a person reading the history (or the table in the console)."""
    if change["first"]:
        return (f"first version: {len(new.members)} members, {len(new.grids)} grids, "
                f"{len(new.buildings)} buildings, {len(new.units)} stairwell units")

    def ids(items: list[str]) -> str:
        shown = ", ".join(items[:limit])
        return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")

    parts = []
    if change["community"]:
        parts.append(f"community: {', '.join(change['community'])} changed")
    for kind in ("members", "grids", "buildings", "units"):
        part = change[kind]
        bits = []
        if part["added"]:
            bits.append(f"{len(part['added'])} added ({ids(part['added'])})")
        if part["removed"]:
            bits.append(f"{len(part['removed'])} removed ({ids(part['removed'])})")
        changed = part.get("changed") or {}
        if changed:
            described = [f"{k}: {', '.join(v)}" for k, v in changed.items()]
            bits.append(f"{len(changed)} changed ({ids(described)})")
        if bits:
            parts.append(f"{kind}: {', '.join(bits)}")
    if change["unit_leaders"]:
        moves = [f"{unit} {old}→{new_id}" for unit, (old, new_id) in change["unit_leaders"].items()]
        parts.append(f"stairwell leaders: {ids(moves)}")
    return "; ".join(parts) or "no changes"
