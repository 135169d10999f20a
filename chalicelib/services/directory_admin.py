"""Directory management: a community's grid and members imported from YAML or CSV,
exported back, and every change kept as a version with its audit record.

An import is checked whole before anything is written (directory_io: every problem,
with its file and line), including against the deployment's other communities (no
phone in two communities). Then it is applied atomically as the next version: the
history item and the current directory item in one transaction, conditional on
nobody having changed the directory since it was read. A file that changes nothing
makes no new version.

Handlers read the current directory as before (DirectoryStore.load(), through the
DirectoryCache): an import reaches every warm Lambda container within the cache's TTL.

Small edits (a member's leave) go the same way: the current version is edited, written
out as YAML, and imported as the next version, conditional on the version it was read
from (set_leave, edit_community).
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import directory_io, leave
from chalicelib.domain.directory import Community, Directory, DirectoryError
from chalicelib.domain.directory_io import DirectoryImportError, Problem

from .ports import DirectoryVersion, VersionedDirectoryStore


class UnknownCommunity(LookupError):
    """No such community (or no such version of it)."""


class UnknownMember(LookupError):
    """No such member in the community."""


@dataclass(frozen=True)
class ImportResult:
    community_id: str
    applied: bool                       # False: nothing changed, or a dry run
    version: int                        # the current version after the import (or the one it would make)
    previous_version: int | None        # None: the community is new (or was never versioned)
    summary: str
    changes: dict[str, Any]
    warnings: tuple[Problem, ...]

    @property
    def changed(self) -> bool:
        """False when the file is the current version already (no version was, or would be, made)."""
        return self.version != self.previous_version


class DirectoryAdmin:
    def __init__(self, store: VersionedDirectoryStore, clock: Callable[[], float] = time.time,
                 on_change: Callable[[], None] | None = None):
        self._store, self._clock, self._on_change = store, clock, on_change

    def import_community(self, source: str | Mapping[str, str], format: str, actor: str,
                         now: float | None = None, *, community_id: str | None = None,
                         dry_run: bool = False) -> ImportResult:
        """Check `source` (YAML text, or {file name: text}: one YAML file or the CSV
        files) and apply it as the community's next version, recorded as made by `actor`.

        DirectoryImportError: the file has problems; nothing was written.
        DirectoryConflict: the directory changed meanwhile; nothing was written.
        """
        if format not in directory_io.FORMATS:
            raise ValueError(f"format must be one of {directory_io.FORMATS}, not {format!r}")
        if not actor or not actor.strip():
            raise ValueError("an import must say who makes it (actor)")
        files = {f"directory.{format}": source} if isinstance(source, str) else dict(source)
        return self._apply(files, format, actor, now, community_id, dry_run, self._store.snapshot(),
                           f"{format} {', '.join(_names(files))}")

    def edit_community(self, community_id: str, edit: Callable[[Community], Community], actor: str,
                       source: str, now: float | None = None, *, dry_run: bool = False) -> ImportResult:
        """Apply `edit` to the current version and import the result as the next version,
        exactly as an import of its YAML export (checked whole, audited as made by `actor`,
        with `source` saying what was done). DirectoryConflict if anyone imported meanwhile."""
        if not actor or not actor.strip():
            raise ValueError("an import must say who makes it (actor)")
        snapshot = self._store.snapshot()
        stored = snapshot.get(community_id)
        if stored is None:
            raise UnknownCommunity(f"no community {community_id!r} in the directory")
        edited = edit(Community.from_dict(stored.document))
        files = {f"{community_id}.yaml": directory_io.export_yaml(edited)}
        return self._apply(files, "yaml", actor, now, community_id, dry_run, snapshot, source)

    def set_leave(self, community_id: str, member_id: str, period: tuple[float, float] | None,
                  actor: str, now: float | None = None, *, clear: bool = False,
                  dry_run: bool = False) -> ImportResult:
        """Mark a member away (on leave) for `period` ([start, end) epoch seconds), merged with
        their other periods; with `clear`, take `period` out of their leave (None: all of it)."""
        if period is None and not clear:
            raise ValueError("a leave needs a period")

        def edit(community: Community) -> Community:
            member = community.members.get(member_id)
            if member is None:
                raise UnknownMember(f"no member {member_id!r} in the directory of {community_id}")
            if not clear:
                periods = leave.add(member.leave, period)
            else:
                periods = () if period is None else leave.remove(member.leave, period)
            return replace(community, members={**community.members, member_id: replace(member, leave=periods)})

        what = "all" if period is None else leave.describe(period)
        source = f"leave {member_id} {'cleared: ' if clear else ''}{what}"
        return self.edit_community(community_id, edit, actor, source, now, dry_run=dry_run)

    def _apply(self, files: dict[str, str], format: str, actor: str, now: float | None,
               community_id: str | None, dry_run: bool, snapshot: Mapping[str, Any],
               source: str) -> ImportResult:
        now = self._clock() if now is None else now
        current = {cid: Community.from_dict(stored.document) for cid, stored in snapshot.items()}
        parsed = directory_io.parse(files, format, expected_id=community_id, others=current.values())
        community = parsed.community
        cid = community.id
        try:   # the deployment-wide checks that handlers rely on, exactly as load() makes them
            Directory([*(c for i, c in current.items() if i != cid), community])
        except DirectoryError as error:
            raise DirectoryImportError([Problem(_names(files)[0], 0, str(error))], parsed.warnings) from None

        stored = snapshot.get(cid)
        known = stored.version if stored is not None else None
        base = known if known is not None else self._store.latest_version(cid)
        old = current.get(cid)
        change = directory_io.changes(old, community)
        if old is not None and known is not None and old == community:
            return ImportResult(cid, False, known, known, "no changes", change, parsed.warnings)

        summary = directory_io.summarize(change, community)
        if dry_run:
            return ImportResult(cid, False, base + 1, base or None, summary, change, parsed.warnings)
        record = DirectoryVersion(
            community_id=cid, version=base + 1, created_at=now, actor=actor.strip(),
            source=source, summary=summary, changes=change,
            warnings=tuple(str(w) for w in parsed.warnings),
            document=json.loads(json.dumps(community.to_dict(), ensure_ascii=False)))
        self._store.commit(record, {i: s.version for i, s in snapshot.items()})
        if self._on_change is not None:
            self._on_change()
        return ImportResult(cid, True, record.version, base or None, summary, change, parsed.warnings)

    def export_community(self, community_id: str, format: str,
                         version: int | None = None) -> str | dict[str, str]:
        """The current directory (or an older version) as YAML text or {CSV file name: text}."""
        if format not in directory_io.FORMATS:
            raise ValueError(f"format must be one of {directory_io.FORMATS}, not {format!r}")
        community, number = self._read(community_id, version)
        if format == "csv":
            return directory_io.export_csv(community)
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        label = f"version {number}" if number is not None else "unversioned"
        return directory_io.export_yaml(community, comment=(
            f"gridloop directory of {community.name.get('zh', community_id)} ({community_id}), "
            f"{label}, exported {stamp}\n"
            f"Edit, then: python -m tools.directory import --community {community_id} --format yaml FILE"))

    def community(self, community_id: str, version: int | None = None) -> Community:
        """The current directory of the community (or an older version)."""
        return self._read(community_id, version)[0]

    def _read(self, community_id: str, version: int | None) -> tuple[Community, int | None]:
        if version is None:
            stored = self._store.snapshot().get(community_id)
            if stored is None:
                raise UnknownCommunity(f"no community {community_id!r} in the directory")
            document, number = stored.document, stored.version
        else:
            record = self._store.get_version(community_id, version)
            if record is None:
                raise UnknownCommunity(f"{community_id!r} has no version {version}")
            document, number = record.document, record.version
        return Community.from_dict(document), number

    def history(self, community_id: str) -> list[DirectoryVersion]:
        """Every version of the community's directory, newest first (without documents)."""
        return self._store.history(community_id)


def _names(files: Mapping[str, str]) -> list[str]:
    return sorted(re.split(r"[\\/]", name)[-1] for name in files) or ["(no file)"]
