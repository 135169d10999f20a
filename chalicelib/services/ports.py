"""What the services need from the outside world. Adapters implement these for AWS;
tests use the in-memory fakes in tests/fakes.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Protocol

from chalicelib.domain.case import Case
from chalicelib.domain.directory import Directory


class CodeTaken(Exception):
    """Another record already has this code."""


class ConcurrentUpdate(Exception):
    """The case changed since it was read; read it again and redo the change."""


@dataclass(frozen=True)
class CaseRef:
    """A case as an index lists it: enough to choose one, not the case itself."""
    code: str
    status: str
    at: float                          # updated_at (by holder) or created_at (by reporter)
    awaiting_feedback: bool = False


class CaseRepository(Protocol):
    def add(self, case: Case) -> None:
        """Store a new case; CodeTaken when its code is in use."""

    def get(self, code: str) -> Case | None: ...

    def get_by_id(self, case_id: str) -> Case | None: ...

    def save(self, case: Case) -> None:
        """Store a changed case if nobody else changed it since it was read
        (ConcurrentUpdate otherwise), and bump its version."""

    def due(self, now: float) -> Iterator[tuple[str, float]]:
        """(code, due_at) of every open case whose acknowledge deadline has passed."""

    def sla_facts(self, community_id: str, grid_id: str, since: float,
                  until: float) -> Iterator[dict[str, Any]]:
        """The SLA fact rows (domain.sla.fact_row: code, community_id, grid_id, category,
        status, level, holder, created_at and Case.sla_facts()) of the grid's routed cases
        created in [since, until], oldest first. Reads only that grid's cases: no Scan."""

    def open_held_by(self, community_id: str, member_id: str) -> list[CaseRef]:
        """The open cases a member holds (received ones waiting for triage too), the most
        recently changed first. One Query on the sparse by-holder index: no Scan."""

    def reported_by(self, phone: str, limit: int = 10) -> list[CaseRef]:
        """The latest cases reported from this phone, newest first, with whether each waits
        for the reporter's call-back answer. One Query on the sparse by-reporter index,
        keyed by domain.contacts.phone_key, never the phone itself."""


class DirectoryStore(Protocol):
    def load(self) -> Directory: ...

    def put_community(self, community: Any) -> None: ...


class DirectoryConflict(Exception):
    """The directory changed since it was read (another import won); nothing was written."""


@dataclass(frozen=True)
class StoredCommunity:
    """A community's current directory as stored, with its version (None: written
    before versioning, or by put_community, which keeps no history)."""
    document: dict[str, Any]
    version: int | None


@dataclass(frozen=True)
class DirectoryVersion:
    """One version of a community's directory, and its audit record: who made it,
    when, from what, and what changed."""
    community_id: str
    version: int
    created_at: float
    actor: str
    source: str                          # e.g. "yaml changmu.yaml"
    summary: str                         # one line, for people
    changes: dict[str, Any]              # directory_io.changes(): added, removed, changed
    warnings: tuple[str, ...] = ()
    document: dict[str, Any] | None = field(default=None, compare=False)   # None in listings


class VersionedDirectoryStore(DirectoryStore, Protocol):
    """The directory store with history: what the directory import needs. Handlers
    only ever need DirectoryStore.load()."""

    def snapshot(self) -> dict[str, StoredCommunity]:
        """Every community's current document and version, read consistently."""

    def latest_version(self, community_id: str) -> int:
        """The highest version in the community's history; 0 if none."""

    def commit(self, record: DirectoryVersion, expected: dict[str, int | None]) -> None:
        """In one transaction: add `record` to the history and make its document the
        community's current one, provided every community in `expected` still has the
        version it had when read. DirectoryConflict otherwise, and nothing is written."""

    def history(self, community_id: str) -> list[DirectoryVersion]:
        """Newest first, without documents."""

    def get_version(self, community_id: str, version: int) -> DirectoryVersion | None:
        """One version, with its document."""


class MessageQueue(Protocol):
    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> None: ...

    def send_batch(self, bodies: Iterable[dict[str, Any]]) -> None: ...


class DeadLetters(Protocol):
    def put(self, body: str, reason: str, source: str) -> None:
        """Keep a message that cannot be processed, with why."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        """Send one SMS; returns the provider's message id."""


class ContactPreferences(Protocol):
    """What gridloop remembers about a phone number (the contacts table)."""

    def opted_out(self, phone: str) -> bool:
        """True when the resident at this phone sent 退订 / STOP (and not 订阅 / START since):
        no SMS goes to it but the answers to what they ask (查询, 帮助, 订阅)."""

    def set_opted_out(self, phone: str, opted_out: bool, now: float) -> bool:
        """Record 退订 (True) or 订阅 (False); returns whether it changed anything."""

    def allow(self, phone: str, counter: str, limit: int, window: float, now: float) -> bool:
        """Count one more event of `counter` (domain.contacts.RateLimit) for this phone; True
        while there have been at most `limit` in the window that began with the first."""
