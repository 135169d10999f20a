"""Reading the CSV layout (one file, one table, per kind of record) into records, each row
with its line; structural problems (files, columns, cells) are reported here."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping

from .records import _Problems, _Rec, _Records, _split

CSV_FILES = ("community.csv", "members.csv", "grids.csv", "buildings.csv", "units.csv", "teams.csv",
             "households.csv")
_OPTIONAL_CSV_FILES = ("teams.csv", "households.csv")       # older exports have five files

_CSV_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {   # required, optional
    "community.csv": (("field", "value"), ()),
    "members.csv": (("id", "name", "phone"), ("category", "lang", "roles", "leave", "posts", "linked_units",
                                               "paired_with")),
    "grids.csv": (("id", "name", "chief"), ("members", "volunteers")),
    "buildings.csv": (("id", "number", "grid"), ("leader", "grid_member")),
    "units.csv": (("building", "number", "leader"), ()),
    "teams.csv": (("team",), ("members",)),
    "households.csv": (("phone", "unit"), ()),
}
_COMMUNITY_FIELDS = ("id", "area_name", "area_chief", "committee", "triage", "sms_number", "sms_default")
_CSV_LISTS = {"members.csv": ("roles", "posts", "linked_units"), "grids.csv": ("members", "volunteers"),
              "teams.csv": ("members",)}


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
