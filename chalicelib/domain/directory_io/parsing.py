"""The entry points of reading: parse, parse_yaml and parse_csv read, validate and build the
Community, or raise one DirectoryImportError with every problem."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..directory import Community, DirectoryError
from .csv_reader import _read_csv
from .records import DirectoryImportError, Parsed, Problem, _order, _Problems, _Records
from .validation import _Validator
from .yaml_reader import _read_yaml

FORMATS = ("yaml", "csv")


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
