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
- services: a post other than proxy_service, care_visit, help_at_home, micro_wish, or one
  given twice; a linked unit that is not a building or stairwell unit of the file, or one
  given twice; a paired_with on an at-home member, naming the member themselves, an unknown
  member, or a member who is not at home;
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
- a household phone that is a member's (their texts are read as member replies, not reports);
- a member who holds posts, or is linked to households, but is not at home (they are never
  in a service pool; they cannot visit).

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
  members: - ... posts: [proxy_service, micro_wish]
      the service posts (设岗) they hold: proxy_service (代办), care_visit (关爱走访),
      help_at_home (上门帮扶), micro_wish (微心愿). A grid's at-home chief, members and
      volunteers who hold a post are its service pool for that post (Community.service_pool).
  members: - ... linked_units: ["3-2", "3-3"]
      a household head (党群连心户): the households they are linked to, as building-unit
      (or "3", a building); they may order services on their behalf (代点)
  members: - ... paired_with: m12
      an elderly or away member only: the at-home member paired with them (结对帮扶), who
      does their care visits
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
  members.csv     id,name,phone,category,lang,roles,leave,posts,linked_units,paired_with
                  category: at_home (default), away or elderly; lang: zh (default) or en;
                  roles: informational, e.g. "committee;grid_chief";
                  leave: periods away, each FROM/TO as in YAML, separated by ";":
                  "2026-12-01/2026-12-10;2027-01-05/2027-01-06";
                  posts: "proxy_service;micro_wish"; linked_units: "3-2;3-3";
                  paired_with: a member id (elderly and away members only)
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

The package, one concern a module: records.py (Problem, DirectoryImportError and the records
as read), yaml_reader.py and csv_reader.py (each layout into records), validation.py with
value_checks.py, member_checks.py, place_checks.py and sms_checks.py (the checks shared by both
formats), parsing.py (the entry points), export.py (YAML and CSV out) and diff.py (the audit diff).
"""
from __future__ import annotations

from .csv_reader import CSV_FILES
from .diff import changes, is_unchanged, summarize
from .export import export_csv, export_yaml, to_plain
from .member_checks import KNOWN_ROLES
from .parsing import FORMATS, parse, parse_csv, parse_yaml
from .records import DirectoryImportError, Parsed, Problem

__all__ = ["CSV_FILES", "FORMATS", "KNOWN_ROLES", "DirectoryImportError", "Parsed", "Problem",
           "changes", "export_csv", "export_yaml", "is_unchanged", "parse", "parse_csv",
           "parse_yaml", "summarize", "to_plain"]
