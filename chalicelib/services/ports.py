"""What the services need from the outside world. Adapters implement these for AWS;
tests use the in-memory fakes in tests/fakes.py."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.domain.admission import Admission, Quota
from chalicelib.domain.case import Case
from chalicelib.domain.directory import Directory
from chalicelib.domain.duplicates import OpenReport
from chalicelib.domain.points import Entry


class CodeTaken(Exception):
    """Another record already has this code."""


class ConcurrentUpdate(Exception):
    """The case changed since it was read; read it again and redo the change."""


@dataclass(frozen=True)
class SendWindows:
    """Per-phone send windows to take or wait for in the same write as a case (bundling:
    services.notices). `claim`: phones this case's notices go to now, which must have had
    no text since `now` minus the window and nobody waiting; each is then taken until
    `until`. `join`: phones this case waits for (its notices held), so that whoever takes
    the next window sends them too."""
    now: float
    until: float
    claim: frozenset[str] = frozenset()
    join: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.claim or self.join)


class WindowBusy(Exception):
    """Some phones to claim were busy; nothing was written. `until`: phone → when its
    window ends (at or before `now` when it has ended but other cases wait for it)."""

    def __init__(self, until: dict[str, float]):
        super().__init__(f"{len(until)} send window(s) busy")
        self.until = until


@dataclass(frozen=True)
class CaseRef:
    """A case as an index lists it: enough to choose one, not the case itself."""
    code: str
    status: str
    at: float                          # updated_at (by holder) or created_at (by reporter)
    awaiting_feedback: bool = False


class CaseRepository(Protocol):
    def add(self, case: Case, admission: Admission | None = None) -> None:
        """Store a new case; CodeTaken when its code is in use. With an admission
        (domain.admission), in the same all-or-nothing write: Blocked when a sender is on
        the block list, RateLimited when a quota is full, and then nothing is counted."""

    def get(self, code: str) -> Case | None: ...

    def get_by_id(self, case_id: str) -> Case | None: ...

    def save(self, case: Case, windows: SendWindows | None = None) -> None:
        """Store a changed case if nobody else changed it since it was read
        (ConcurrentUpdate otherwise), and bump its version. With `windows`, in the same
        atomic write: take and join those send windows (WindowBusy if one to take is not
        free; ConcurrentUpdate first when the case changed too)."""

    def save_bundle(self, cases: list[Case], phone: str, codes: list[str]) -> None:
        """Store every case one bundled text carried (as `save`, each if nobody changed it
        since it was read; ConcurrentUpdate otherwise) and take `codes` off the phone's
        waiting list (SendWindowStore.collect), all in one atomic write."""

    def save_all(self, cases: list[Case]) -> None:
        """Store every case (as `save`, each if nobody changed it since it was read;
        ConcurrentUpdate otherwise) in one atomic write: a merge changes two cases at once."""

    def open_at_place(self, place_key: str, since: float, limit: int = 20) -> list[OpenReport]:
        """The open cases with this domain.duplicates.place_key created since `since`,
        oldest first. One Query on the sparse by-place index: no Scan."""

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

    def get_many(self, codes: Iterable[str]) -> list[Case]:
        """The stored cases among these codes, in no particular order (a code that matches
        nothing is left out): BatchGetItem, 100 codes a request, not one read each."""


class FollowedCases(Protocol):
    """The cases a phone follows ("me too" on the report page), so that its call-back answer
    (1 / 2) and 查询 find them: the by-reporter index knows only the phone that reported."""

    def follow(self, phone: str, code: str, now: float) -> None:
        """Add the case to what the phone follows (again: no change)."""

    def followed_by(self, phone: str) -> list[str]:
        """The codes the phone follows (in no particular order)."""


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
    def put(self, body: str, reason: str, source: str, message_id: str | None = None) -> None:
        """Keep a message that cannot be processed, with why, and the id it had (which it
        keeps when it is redriven: sqs_batch)."""


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


class SendWindowStore(Protocol):
    """The per-phone send windows (bundling) outside a case's own write."""

    def collect(self, phone: str, now: float, until: float) -> list[str] | None:
        """Take the phone's window until `until` if it has ended, and hand over the codes of
        the cases waiting for it; None while it runs. The codes stay on the waiting list
        until the bundle is recorded (CaseRepository.save_bundle)."""

    def join(self, phone: str, code: str, now: float) -> float:
        """Add the case to those waiting for the phone's window; returns when it ends."""


class BlockList(Protocol):
    """The senders whose reports are refused (tools/blocklist.py manages it)."""

    def blocked(self, sender: str) -> bool:
        """Whether a sender ("phone:<key>" / "ip:<key>", domain.privacy.sender_key) is on it."""


class Quotas(Protocol):
    """Fixed-window counts outside a report's own write: the status page's look-ups."""

    def take(self, quota: Quota) -> bool:
        """Count one more against `quota` (domain.admission); False, counting nothing, when
        its window already has `quota.limit`."""


@dataclass(frozen=True)
class ApiClient:
    """An Open311 client's API key as stored (services.api_keys): never the key itself, only
    its SHA-256, by which a request's key is found."""
    key_id: str                    # the hash's first 12 hex digits: how operators and logs name the key
    key_hash: str                  # sha256 of the key, hex
    client: str                    # who it was issued to, as the operator named them
    created_at: float
    created_by: str | None = None  # the operator who issued it ("ops:<login>")
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ApiKeyStore(Protocol):
    """The issued API keys (on the contacts table: adapters.api_keys)."""

    def find(self, key_hash: str) -> ApiClient | None:
        """The key with this hash, revoked or not; None if there is none."""

    def add(self, client: ApiClient) -> None:
        """Store a newly issued key, and list it."""

    def revoke(self, key_id: str, now: float, actor: str) -> tuple[ApiClient, bool] | None:
        """Revoke the listed key with this id: the key as it is now, and whether this call
        revoked it (False: it was revoked before). None when no key has this id."""

    def listed(self) -> list[ApiClient]:
        """Every key issued, oldest first, revoked ones too."""


class PointsLedger(Protocol):
    """The points bank's double-entry ledger (domain.points; adapters.points on the points
    table). Each entry is kept once by its id, with both accounts' balances changed in the
    same all-or-nothing write, so a balance is always the sum of its account's entries."""

    def record(self, entry: Entry, *, debit_floor: int | None = 0, stock: tuple[str, int] | None = None,
               daily: tuple[str, int] | None = None) -> bool:
        """Append the entry once: True when it is new, False when an entry (or a void: `void`)
        with its id is there already, and then nothing changes. In the same atomic write:
        - the debited account's balance may not go below `debit_floor` (None: no floor, the
          branch that issues points): PointsRefused("over_balance") otherwise;
        - `stock` (domain.points.stock_key(community, item), n): take n of the shop item,
          PointsRefused("out_of_stock") when fewer are left;
        - `daily` (the local day "YYYY-MM-DD", cap): add the points to what the credited account
          earned that day, PointsRefused("daily_cap") when that would pass the cap.
        A refused entry records nothing at all."""

    def balance(self, account: str) -> int:
        """What the account holds now (0 for an account with no entries): one GetItem."""

    def entries(self, account: str, since: float, until: float) -> list[Entry]:
        """The account's entries with since <= at < until, oldest first: one Query, no Scan."""

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id; None when there is none (or it was voided)."""

    def void(self, entry_id: str, at: float) -> bool:
        """Make sure no entry with this id is ever recorded (a reversal that came before its
        credit): True when it is now void, False when an entry with the id is already there."""

    def restock(self, community_id: str, item: str, count: int) -> int:
        """Add `count` to the shop item's stock; returns the stock now."""

    def stock(self, community_id: str, item: str) -> int:
        """The shop item's stock (0 for one never stocked)."""

    def stocks(self, community_id: str) -> dict[str, int]:
        """Every stocked shop item of the community → its stock: one Query."""


class OrderRepository(Protocol):
    """The party members' service orders (services.orders), saved as cases are: each write
    conditional on the version read (ConcurrentUpdate), so the first of two claims wins."""

    def add(self, order: Any, admission: Admission | None = None) -> None:
        """Store a new order; CodeTaken when its code is in use. With an admission, in the
        same all-or-nothing write, as CaseRepository.add: Blocked, RateLimited."""

    def get(self, code: str) -> Any | None: ...

    def save(self, order: Any, windows: SendWindows | None = None) -> None:
        """Store a changed order if nobody else changed it since it was read (ConcurrentUpdate
        otherwise). `windows` is NoticeDelivery's argument: orders take none."""

    def due(self, now: float) -> Iterator[tuple[str, float]]:
        """(code, due_at) of the open orders whose timer is due."""

    def awaiting_confirmation(self, confirmer_key: str) -> list[str]:
        """Codes of the orders done and waiting for this confirmer (domain.orders: a phone's
        pseudonym, or "<community>#<member>"), newest first."""
