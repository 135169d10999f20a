"""What reading a directory produces and works on: Problem and DirectoryImportError, the
Parsed result, and the records as read, each with where it came from (file, line)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..directory import ROLE_NAMES, TEAM_ROLES, Community, DirectoryError

_TEAM_NAMES = ", ".join(f"{role} ({ROLE_NAMES[role]['zh']})" for role in TEAM_ROLES)
_LIST_SEPARATORS = re.compile(r"[;；,，、\s]+")

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


def _split(cell: str) -> list[str]:
    return [part for part in _LIST_SEPARATORS.split(cell) if part]
