"""In-memory stand-ins for the adapters, for service tests that need no AWS."""
from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from chalicelib.domain.admission import Admission, Blocked, Quota, RateLimited
from chalicelib.domain.case import Case
from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.duplicates import OpenReport
from chalicelib.domain.points import Entry, PointsRefused
from chalicelib.domain.sla import fact_row
from chalicelib.services.ports import (
    ApiClient,
    CaseRef,
    CodeTaken,
    ConcurrentUpdate,
    SendWindows,
    WindowBusy,
)


class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class InMemorySendWindows:
    """SendWindowStore, and the windows InMemoryCases.save takes and joins."""

    def __init__(self) -> None:
        self.until: dict[str, float] = {}            # phone → when its window ends
        self.waiting: dict[str, set[str]] = {}       # phone → codes of cases waiting for it

    def busy(self, windows: SendWindows) -> dict[str, float]:
        return {phone: self.until.get(phone, windows.now) for phone in windows.claim
                if self.until.get(phone, float("-inf")) > windows.now or self.waiting.get(phone)}

    def apply(self, windows: SendWindows, code: str) -> None:
        for phone in windows.claim:
            self.until[phone] = windows.until
        for phone in windows.join:
            self.waiting.setdefault(phone, set()).add(code)

    def collect(self, phone: str, now: float, until: float) -> list[str] | None:
        if self.until.get(phone, float("-inf")) > now:
            return None
        self.until[phone] = until
        return sorted(self.waiting.get(phone, set()))     # kept until the bundle is recorded

    def join(self, phone: str, code: str, now: float) -> float:
        self.waiting.setdefault(phone, set()).add(code)
        return self.until.get(phone, now)


class InMemoryBlockList:
    """BlockList: the blocked senders ("phone:<key>" / "ip:<key>")."""

    def __init__(self) -> None:
        self.senders: set[str] = set()

    def blocked(self, sender: str) -> bool:
        return sender in self.senders


class InMemoryCases:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.send_windows = InMemorySendWindows()
        self.blocklist = InMemoryBlockList()
        self.report_counts: dict[str, int] = {}      # the admission quotas' counters

    def add(self, case: Case, admission: Admission | None = None) -> None:
        """As the adapter's one write: nothing is counted unless the case is stored."""
        if case.code in self.items:
            raise CodeTaken(case.code)
        if admission:
            blocked = [sender for sender in admission.blocks if self.blocklist.blocked(sender)]
            if blocked:
                raise Blocked(blocked[0])
            full = [q for q in admission.quotas if self.report_counts.get(q.counter, 0) >= q.limit]
            if full:
                raise RateLimited(full[0], admission.now)
            for quota in admission.quotas:
                self.report_counts[quota.counter] = self.report_counts.get(quota.counter, 0) + 1
        case.version = 1
        self.items[case.code] = copy.deepcopy(case.to_dict())

    def save(self, case: Case, windows: SendWindows | None = None) -> None:
        stored = self.items.get(case.code)
        if stored is None or stored["version"] != case.version:
            raise ConcurrentUpdate(case.code)
        if windows:
            busy = self.send_windows.busy(windows)
            if busy:
                raise WindowBusy(busy)
            self.send_windows.apply(windows, case.code)
        case.version += 1
        self.items[case.code] = copy.deepcopy(case.to_dict())

    def save_bundle(self, cases: list[Case], phone: str, codes: list[str]) -> None:
        if any(self.items.get(c.code, {}).get("version") != c.version for c in cases):
            raise ConcurrentUpdate(",".join(c.code for c in cases))
        for case in cases:
            case.version += 1
            self.items[case.code] = copy.deepcopy(case.to_dict())
        left = self.send_windows.waiting.get(phone, set()) - set(codes)
        if left:
            self.send_windows.waiting[phone] = left
        else:
            self.send_windows.waiting.pop(phone, None)

    def save_all(self, cases: list[Case]) -> None:
        if any(self.items.get(c.code, {}).get("version") != c.version for c in cases):
            raise ConcurrentUpdate(",".join(c.code for c in cases))
        for case in cases:
            case.version += 1
            self.items[case.code] = copy.deepcopy(case.to_dict())

    def open_at_place(self, place_key: str, since: float, limit: int = 20) -> list[OpenReport]:
        """As the sparse by-place index: open cases with that key created since, oldest first."""
        cases = [Case.from_dict(copy.deepcopy(data)) for data in self.items.values()
                 if data.get("place_key") == place_key and data["created_at"] >= since]
        return [OpenReport(c.code, c.location, c.created_at, c.status.value)
                for c in sorted(cases, key=lambda c: (c.created_at, c.code)) if c.is_open][:limit]

    def get(self, code: str) -> Case | None:
        stored = self.items.get(code)
        return Case.from_dict(copy.deepcopy(stored)) if stored else None

    def get_by_id(self, case_id: str) -> Case | None:
        return next((self.get(c) for c, d in self.items.items() if d["id"] == case_id), None)

    def get_many(self, codes: Iterable[str]) -> list[Case]:
        return [case for code in dict.fromkeys(codes) if (case := self.get(code)) is not None]

    def due(self, now: float) -> Iterator[tuple[str, float]]:
        for code, data in self.items.items():
            case = Case.from_dict(copy.deepcopy(data))
            if case.sweep_at is not None and case.sweep_at <= now:
                yield code, case.sweep_at

    def sla_facts(self, community_id: str, grid_id: str, since: float,
                  until: float) -> Iterator[dict[str, Any]]:
        """As the by-grid index: routed cases of the grid created in [since, until], oldest first."""
        cases = [Case.from_dict(copy.deepcopy(data)) for data in self.items.values()
                 if data["community_id"] == community_id and data.get("grid_id") == grid_id
                 and since <= data["created_at"] <= until]
        for case in sorted(cases, key=lambda c: (c.created_at, c.code)):
            yield fact_row(code=case.code, community_id=case.community_id, grid_id=case.grid_id,
                           category=case.category, status=case.status.value, level=case.level,
                           holder=case.holder, created_at=case.created_at,
                           facts=json.loads(json.dumps(case.sla_facts())))


    def open_held_by(self, community_id: str, member_id: str) -> list[CaseRef]:
        """As the sparse by-holder index: open cases with that holder, latest change first."""
        cases = [Case.from_dict(copy.deepcopy(data)) for data in self.items.values()
                 if data["community_id"] == community_id and data.get("holder") == member_id]
        return [CaseRef(c.code, c.status.value, c.updated_at)
                for c in sorted(cases, key=lambda c: (c.updated_at, c.code), reverse=True) if c.is_open]

    def reported_by(self, phone: str, limit: int = 10) -> list[CaseRef]:
        """As the sparse by-reporter index: that phone's cases, newest first."""
        cases = [Case.from_dict(copy.deepcopy(data)) for data in self.items.values()
                 if data.get("reporter_phone") == phone]
        return [CaseRef(c.code, c.status.value, c.created_at, bool(getattr(c, "awaiting_feedback", False)))
                for c in sorted(cases, key=lambda c: (c.created_at, c.code), reverse=True)][:limit]


class InMemoryContacts:
    """ContactPreferences: opt-outs and rate-limit windows, per phone."""

    def __init__(self) -> None:
        self.opted: dict[str, float] = {}                           # phone → when it opted out
        self.windows: dict[tuple[str, str], tuple[float, int]] = {}  # (phone, counter) → (start, count)

    def opted_out(self, phone: str) -> bool:
        return phone in self.opted

    def set_opted_out(self, phone: str, opted_out: bool, now: float) -> bool:
        if opted_out == (phone in self.opted):
            return False
        if opted_out:
            self.opted[phone] = now
        else:
            del self.opted[phone]
        return True

    def allow(self, phone: str, counter: str, limit: int, window: float, now: float) -> bool:
        start, count = self.windows.get((phone, counter), (now, 0))
        if now - start >= window:
            start, count = now, 0
        self.windows[(phone, counter)] = (start, count + 1)
        return count + 1 <= limit


class InMemoryFollows:
    """FollowedCases as the contacts table keeps it: a set of codes per phone."""

    def __init__(self) -> None:
        self.codes: dict[str, set[str]] = {}

    def follow(self, phone: str, code: str, now: float) -> None:
        self.codes.setdefault(phone, set()).add(code)

    def followed_by(self, phone: str) -> list[str]:
        return sorted(self.codes.get(phone, ()))


class FakeQueue:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, body: Any, attributes: dict[str, str] | None = None) -> None:
        self.messages.append(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False))

    def send_batch(self, bodies: Iterable[dict[str, Any]]) -> None:
        for body in bodies:
            self.send(body)

    def take(self) -> list[str]:
        taken, self.messages = self.messages, []
        return taken


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str, case_code: str | None = None) -> str:
        self.sent.append((phone, text))
        return f"msg-{len(self.sent)}"

    def to(self, phone: str) -> list[str]:
        return [text for to, text in self.sent if to == phone]


class FixedDirectoryStore:
    def __init__(self, communities: list[Community]):
        self.communities = {c.id: c for c in communities}
        self.loads = 0

    def load(self) -> Directory:
        self.loads += 1
        return Directory(self.communities.values())

    def put_community(self, community: Community) -> None:
        self.communities[community.id] = community


class InMemoryQuotas:
    """Quotas: each window's count, by its counter."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def take(self, quota: Quota) -> bool:
        if self.counts.get(quota.counter, 0) >= quota.limit:
            return False
        self.counts[quota.counter] = self.counts.get(quota.counter, 0) + 1
        return True


class InMemoryApiKeys:
    """ApiKeyStore: the keys issued, by hash."""

    def __init__(self) -> None:
        self.by_hash: dict[str, ApiClient] = {}

    def find(self, key_hash: str) -> ApiClient | None:
        return self.by_hash.get(key_hash)

    def add(self, client: ApiClient) -> None:
        assert client.key_hash not in self.by_hash
        self.by_hash[client.key_hash] = client

    def revoke(self, key_id: str, now: float, actor: str) -> tuple[ApiClient, bool] | None:
        found = next((c for c in self.by_hash.values() if c.key_id == key_id), None)
        if found is None:
            return None
        if found.revoked:
            return found, False
        self.by_hash[found.key_hash] = revoked = replace(found, revoked_at=now)
        return revoked, True

    def listed(self) -> list[ApiClient]:
        return sorted(self.by_hash.values(), key=lambda c: c.created_at)


class InMemoryPointsLedger:
    """PointsLedger: the entries by id, the balances, each day's capped earnings and the shop's
    stock, every write all or nothing under one lock (as the adapter's one transaction), so
    threads may race on it. `calls` counts what each method was asked (one Query a statement)."""

    def __init__(self) -> None:
        import threading
        from collections import Counter

        self._lock = threading.RLock()
        self.recorded: dict[str, Entry] = {}
        self.voided: set[str] = set()
        self.balances: dict[str, int] = {}
        self.earned: dict[tuple[str, str], int] = {}      # (account, day) → capped points credited
        self.stocked: dict[tuple[str, str], int] = {}     # (community, item) → stock
        self.calls: Counter[str] = Counter()

    def record(self, entry: Entry, *, debit_floor: int | None = 0, stock: tuple[str, int] | None = None,
               daily: tuple[str, int] | None = None) -> bool:
        self.calls["record"] += 1
        with self._lock:
            if entry.id in self.recorded or entry.id in self.voided:
                return False
            if debit_floor is not None and self.balances.get(entry.debit, 0) - entry.points < debit_floor:
                raise PointsRefused("over_balance")
            if daily is not None:
                day, cap = daily
                if self.earned.get((entry.credit, day), 0) + entry.points > cap:
                    raise PointsRefused("daily_cap")
            if stock is not None:
                key, count = stock
                shop, _, item = key.partition("#")
                where = (shop.split(":", 1)[1], item)
                if self.stocked.get(where, 0) < count:
                    raise PointsRefused("out_of_stock")
                self.stocked[where] -= count
            if daily is not None:
                self.earned[(entry.credit, daily[0])] = self.earned.get((entry.credit, daily[0]), 0) + entry.points
            self.recorded[entry.id] = entry
            self.balances[entry.debit] = self.balances.get(entry.debit, 0) - entry.points
            self.balances[entry.credit] = self.balances.get(entry.credit, 0) + entry.points
            return True

    def balance(self, account: str) -> int:
        self.calls["balance"] += 1
        return self.balances.get(account, 0)

    def entries(self, account: str, since: float, until: float) -> list[Entry]:
        self.calls["entries"] += 1
        with self._lock:
            found = [e for e in self.recorded.values() if account in (e.debit, e.credit) and since <= e.at < until]
        return sorted(found, key=lambda e: (e.at, e.id))

    def get(self, entry_id: str) -> Entry | None:
        self.calls["get"] += 1
        return self.recorded.get(entry_id)

    def void(self, entry_id: str, at: float) -> bool:
        self.calls["void"] += 1
        with self._lock:
            if entry_id in self.recorded:
                return False
            self.voided.add(entry_id)
            return True

    def restock(self, community_id: str, item: str, count: int) -> int:
        with self._lock:
            self.stocked[(community_id, item)] = self.stocked.get((community_id, item), 0) + count
            return self.stocked[(community_id, item)]

    def stock(self, community_id: str, item: str) -> int:
        return self.stocked.get((community_id, item), 0)

    def stocks(self, community_id: str) -> dict[str, int]:
        self.calls["stocks"] += 1
        return {item: n for (community, item), n in sorted(self.stocked.items()) if community == community_id}


class InMemoryOrderFacts:
    """The orders table's by-community index (adapters.orders.DynamoOrderRepository.created_between):
    order rows as it projects them (code, community_id, created_at, status, item, kind and the
    facts), read in [since, until), oldest first. `calls` counts the Queries."""

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        self.rows = [dict(r) for r in rows]
        self.calls = 0

    def created_between(self, community_id: str, since: float, until: float) -> list[dict[str, Any]]:
        self.calls += 1
        return sorted((dict(r) for r in self.rows
                       if r["community_id"] == community_id and since <= r["created_at"] < until),
                      key=lambda r: (r["created_at"], r["code"]))
