"""DynamoDB through PynamoDB: the cases table, the directory table and the contacts table.

Table names depend on the stage, so the model classes are built at run time by
the composition root, not at import.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.domain.admission import Admission
from chalicelib.domain.case import Case
from chalicelib.domain.contacts import phone_key
from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.duplicates import OpenReport
from chalicelib.domain.sla import fact_row
from chalicelib.services.ports import CaseRef, CodeTaken, ConcurrentUpdate, SendWindows

DUE_INDEX = "open-due"
ID_INDEX = "by-id"
GRID_INDEX = "by-grid"
# What the SLA report reads from the by-grid index, besides the keys (code, grid_key,
# created_at): the same list is the index's INCLUDE projection in infra/resources.json.
GRID_PROJECTION = ("sla", "status", "level", "holder", "category", "community_id")
HOLDER_INDEX = "by-holder"
REPORTER_INDEX = "by-reporter"
# What the reply worker reads from them besides the keys (the same lists are the indexes'
# INCLUDE projections in infra/resources.json).
HOLDER_PROJECTION = ("status",)
REPORTER_PROJECTION = ("status", "awaiting_feedback")
PLACE_INDEX = "by-place"
PLACE_PROJECTION = ("status", "location")
# Kept as plain top-level attributes so a person reading the table in the console
# sees the case; the rest of the case is in `details`.
TOP_LEVEL = ("id", "community_id", "category", "location", "status", "level", "holder",
             "due_at", "timer", "resolve_due_at", "created_at", "updated_at", "policy_version")


def table_meta(table_name: str, region: str, host: str | None) -> type:
    """A PynamoDB model's Meta: the stage's table, the region, the local stack's endpoint."""
    attrs = {"table_name": table_name, "region": region, "max_retry_attempts": 3}
    if host:
        attrs["host"] = host
    return type("Meta", (), attrs)


def build_case_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class DueIndex(GlobalSecondaryIndex):
        """Sparse: only open, unacknowledged cases carry due_shard/due_at, so the sweep's
        cost follows the cases that are due, never the closed ones."""
        Meta = type("Meta", (), {"index_name": DUE_INDEX, "projection": KeysOnlyProjection()})
        due_shard = UnicodeAttribute(hash_key=True)
        due_at = NumberAttribute(range_key=True)

    class IdIndex(GlobalSecondaryIndex):
        Meta = type("Meta", (), {"index_name": ID_INDEX, "projection": KeysOnlyProjection()})
        id = UnicodeAttribute(hash_key=True)

    class GridIndex(GlobalSecondaryIndex):
        """Sparse: only a routed case (one with a grid) carries grid_key. The SLA report
        queries it by grid and creation time and reads the projected facts, no Scan."""
        Meta = type("Meta", (), {"index_name": GRID_INDEX,
                                 "projection": IncludeProjection(list(GRID_PROJECTION))})
        grid_key = UnicodeAttribute(hash_key=True)
        created_at = NumberAttribute(range_key=True)

    class HolderIndex(GlobalSecondaryIndex):
        """Sparse: only an open case with a holder carries holder_key ("<community>#<member>":
        member ids are per community). A member's reply without a code, and 帮助, read it."""
        Meta = type("Meta", (), {"index_name": HOLDER_INDEX,
                                 "projection": IncludeProjection(list(HOLDER_PROJECTION))})
        holder_key = UnicodeAttribute(hash_key=True)
        updated_at = NumberAttribute(range_key=True)

    class ReporterIndex(GlobalSecondaryIndex):
        """Sparse: only a case with a reporter's phone carries reporter_key, a pseudonym of the
        phone (domain.contacts.phone_key), never the phone. The call-back answer (1 / 2) and
        查询 without a code read it."""
        Meta = type("Meta", (), {"index_name": REPORTER_INDEX,
                                 "projection": IncludeProjection(list(REPORTER_PROJECTION))})
        reporter_key = UnicodeAttribute(hash_key=True)
        created_at = NumberAttribute(range_key=True)

    class PlaceIndex(GlobalSecondaryIndex):
        """Sparse: only an open case carries place_key (domain.duplicates.place_key: its
        community, building and category). The case worker's duplicate check and the report
        page's "already reported?" read it."""
        Meta = type("Meta", (), {"index_name": PLACE_INDEX,
                                 "projection": IncludeProjection(list(PLACE_PROJECTION))})
        place_key = UnicodeAttribute(hash_key=True)
        created_at = NumberAttribute(range_key=True)

    class CaseRecord(Model):
        Meta = table_meta(table_name, region, host)
        code = UnicodeAttribute(hash_key=True)
        id = UnicodeAttribute()
        community_id = UnicodeAttribute()
        category = UnicodeAttribute()
        location = UnicodeAttribute()
        status = UnicodeAttribute()
        level = NumberAttribute()
        holder = UnicodeAttribute(null=True)
        due_shard = UnicodeAttribute(null=True)
        due_at = NumberAttribute(null=True)
        timer = UnicodeAttribute(null=True)
        resolve_due_at = NumberAttribute(null=True)
        created_at = NumberAttribute()
        updated_at = NumberAttribute()
        policy_version = UnicodeAttribute(null=True)
        grid_key = UnicodeAttribute(null=True)      # "<community_id>#<grid_id>", once routed
        sla = JSONAttribute(null=True)              # Case.sla_facts(), rewritten on every save
        holder_key = UnicodeAttribute(null=True)    # "<community_id>#<holder>", open cases only
        reporter_key = UnicodeAttribute(null=True)  # phone_key(reporter_phone), if it has one
        awaiting_feedback = BooleanAttribute(null=True)   # for the by-reporter index; the case keeps its own
        place_key = UnicodeAttribute(null=True)     # open cases only: the by-place index
        details = JSONAttribute()
        version = VersionAttribute()
        due_index = DueIndex()
        id_index = IdIndex()
        grid_index = GridIndex()
        holder_index = HolderIndex()
        reporter_index = ReporterIndex()
        place_index = PlaceIndex()

    return CaseRecord


def build_directory_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class CommunityRecord(Model):
        """One item per community: its whole current directory."""
        Meta = table_meta(table_name, region, host)
        community_id = UnicodeAttribute(hash_key=True)
        document = JSONAttribute()
        updated_at = NumberAttribute(null=True)

    return CommunityRecord


def build_contacts_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class ContactRecord(Model):
        """Keyed by a pseudonym of the phone (domain.contacts.phone_key), never the phone.
        `<key>`: the phone's preferences (opted out), kept until changed;
        `<key>#<counter>`: a rate-limit window, which DynamoDB's TTL removes (expires_at)."""
        Meta = table_meta(table_name, region, host)
        phone_key = UnicodeAttribute(hash_key=True)
        opted_out = BooleanAttribute(null=True)
        opted_out_at = NumberAttribute(null=True)
        updated_at = NumberAttribute(null=True)
        count = NumberAttribute(null=True)
        window_start = NumberAttribute(null=True)
        expires_at = NumberAttribute(null=True)   # the table's TTL attribute (epoch seconds)
        # Once per inbound SMS (adapters.answers.OnceContacts): the inbound keys a window
        # counted, and the one that made the last opt-out change.
        counted = ListAttribute(of=UnicodeAttribute, null=True)
        changed_by = UnicodeAttribute(null=True)

    return ContactRecord


def is_condition_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def grid_key(community_id: str, grid_id: str) -> str:
    return f"{community_id}#{grid_id}"


def add_new_record(record: Model, admission: Admission | None = None,
                   admission_models: tuple[type[Model], type[Model]] | None = None) -> None:
    """Store a new case or order record (keyed by `code`): CodeTaken when the code is in use.
    With an admission, in one write with its checks (adapters.admission.add_admitted), which
    needs the (contacts, block list) models."""
    if admission:
        if admission_models is None:
            raise ValueError("this repository was built without the contacts and block list models")
        from chalicelib.adapters.admission import add_admitted
        add_admitted(record, admission, *admission_models)
        return
    try:
        record.save()   # VersionAttribute: on a new item, "version does not exist yet"
    except PutError as error:
        if is_condition_failure(error):
            raise CodeTaken(record.code) from None
        raise


class DynamoCaseRepository:
    def __init__(self, model: type[Model], due_shards: int = 4, page_size: int | None = None,
                 window_model: type[Model] | None = None,
                 admission_models: tuple[type[Model], type[Model]] | None = None):
        self._model, self._shards = model, due_shards
        self._page_size = page_size     # items per Query page for the SLA report (None: 1 MB pages)
        self._window_model = window_model   # send windows (adapters.send_windows), for save()
        self._admission_models = admission_models   # (contacts, block list): add() with an Admission

    def shard_of(self, code: str) -> str:
        # Spreads codes over the index's shards; not a security use (and the same digest as ever).
        return str(int(hashlib.sha1(code.encode(), usedforsecurity=False).hexdigest(), 16) % self._shards)

    def add(self, case: Case, admission: Admission | None = None) -> None:
        record = self._to_record(case, version=None)
        add_new_record(record, admission, self._admission_models)
        case.version = record.version

    def save(self, case: Case, windows: SendWindows | None = None) -> None:
        record = self._to_record(case, version=case.version)
        if windows:
            if self._window_model is None:
                raise ValueError("this repository was built without the send windows' model")
            from chalicelib.adapters.send_windows import save_with_windows
            save_with_windows(record, self._window_model, case.code, windows)
            case.version = record.version
            return
        try:
            record.save()   # VersionAttribute: only if nobody saved since we read it
        except PutError as error:
            if is_condition_failure(error):
                raise ConcurrentUpdate(case.code) from None
            raise
        case.version = record.version

    def save_bundle(self, cases: list[Case], phone: str, codes: list[str]) -> None:
        if self._window_model is None:
            raise ValueError("this repository was built without the send windows' model")
        from chalicelib.adapters.send_windows import save_bundle
        records = [self._to_record(case, version=case.version) for case in cases]
        save_bundle(records, self._window_model, phone, codes)
        for case, record in zip(cases, records, strict=True):
            case.version = record.version

    def get(self, code: str) -> Case | None:
        try:
            return self._to_case(self._model.get(code, consistent_read=True))
        except DoesNotExist:
            return None

    def get_by_id(self, case_id: str) -> Case | None:
        for key in self._model.id_index.query(case_id, limit=1):
            return self.get(key.code)
        return None

    def get_many(self, codes: Iterable[str]) -> list[Case]:
        """BatchGetItem (PynamoDB asks for 100 at a time and again for what DynamoDB left
        unprocessed), read consistently as `get` reads."""
        codes = list(dict.fromkeys(codes))
        if not codes:
            return []
        return [self._to_case(record) for record in self._model.batch_get(codes, consistent_read=True)]

    def due(self, now: float) -> Iterator[tuple[str, float]]:
        for shard in range(self._shards):
            for key in self._model.due_index.query(str(shard), self._model.due_at <= now):
                yield key.code, float(key.due_at)

    def sla_facts(self, community_id: str, grid_id: str, since: float, until: float) -> Iterator[dict]:
        """The fact rows (domain.sla.fact_row) of the grid's cases created in [since, until],
        oldest first: one Query on the by-grid index, page after page; never a Scan."""
        results = self._model.grid_index.query(
            grid_key(community_id, grid_id), self._model.created_at.between(since, until),
            page_size=self._page_size)
        for record in results:
            yield fact_row(code=record.code, community_id=record.community_id, grid_id=grid_id,
                           category=record.category, status=record.status, level=record.level,
                           holder=record.holder, created_at=record.created_at, facts=record.sla or {})

    def open_held_by(self, community_id: str, member_id: str) -> list[CaseRef]:
        """One Query on the sparse by-holder index, latest change first."""
        results = self._model.holder_index.query(f"{community_id}#{member_id}", scan_index_forward=False)
        return [CaseRef(r.code, r.status, float(r.updated_at)) for r in results]

    def reported_by(self, phone: str, limit: int = 10) -> list[CaseRef]:
        """One Query on the sparse by-reporter index, newest first."""
        results = self._model.reporter_index.query(phone_key(phone), scan_index_forward=False, limit=limit)
        return [CaseRef(r.code, r.status, float(r.created_at), bool(r.awaiting_feedback)) for r in results]

    def open_at_place(self, place_key: str, since: float, limit: int = 20) -> list[OpenReport]:
        """One Query on the sparse by-place index, oldest first."""
        results = self._model.place_index.query(place_key, self._model.created_at >= since, limit=limit)
        return [OpenReport(r.code, r.location, float(r.created_at), r.status) for r in results]

    def save_all(self, cases: list[Case]) -> None:
        """Every case (each on its VersionAttribute) in one all-or-nothing write."""
        import uuid

        from pynamodb.exceptions import TransactWriteError
        from pynamodb.transactions import TransactWrite

        records = [self._to_record(case, version=case.version) for case in cases]
        connection = records[0]._get_connection().connection
        try:
            with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as write:
                for record in records:
                    write.save(record)
        except TransactWriteError as error:
            reasons = list(getattr(error, "cancellation_reasons", None) or [])
            codes = [getattr(reason, "code", None) for reason in reasons]
            if not reasons or "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise ConcurrentUpdate(",".join(c.code for c in cases)) from None
            raise
        for case, record in zip(cases, records, strict=True):
            case.version = record.version

    def _to_record(self, case: Case, version: int | None) -> Model:
        data = case.to_dict()
        details = {k: v for k, v in data.items() if k not in TOP_LEVEL and k not in ("code", "version")}
        record = self._model(case.code, **{k: data[k] for k in TOP_LEVEL}, details=details)
        # Only a case with a running clock, or a notice held back for quiet hours, is in the
        # sweep's index, at whichever comes first; the clock's own deadline is then in details.
        sweep_at = case.sweep_at
        record.due_shard = self.shard_of(case.code) if sweep_at is not None else None
        if record.due_shard is None:
            record.due_at = record.timer = None
        elif sweep_at != case.due_at:
            details["clock_due_at"] = case.due_at if case.has_running_clock else None
            record.due_at, record.details = sweep_at, details
        # Only a routed case is in the SLA report's index; its facts are kept current.
        record.grid_key = grid_key(case.community_id, case.grid_id) if case.grid_id else None
        record.sla = case.sla_facts()
        # Only open cases someone holds are in by-holder; only reported ones in by-reporter.
        record.holder_key = f"{case.community_id}#{case.holder}" if case.is_open and case.holder else None
        record.reporter_key = phone_key(case.reporter_phone) if case.reporter_phone else None
        record.awaiting_feedback = bool(getattr(case, "awaiting_feedback", False)) if case.reporter_phone else None
        record.place_key = case.place_key if case.is_open else None
        if version is not None:
            record.version = version
        return record

    @staticmethod
    def _to_case(record: Model) -> Case:
        data = dict(record.details)
        clock_due_at = data.pop("clock_due_at", ...)
        for key in TOP_LEVEL:
            value = getattr(record, key)
            data[key] = value
        if clock_due_at is not ...:          # the index holds a held notice's time
            data["due_at"] = clock_due_at
        data["code"], data["version"] = record.code, record.version
        data["level"] = int(data["level"])
        return Case.from_dict(data)


class DynamoDirectoryStore:
    def __init__(self, model: type[Model]):
        self._model = model

    def load(self) -> Directory:
        # The table holds one small item per community, so reading it whole is cheap.
        return Directory(Community.from_dict(record.document) for record in self._model.scan())

    def put_community(self, community: Community, now: float | None = None) -> None:
        self._model(community.id, document=json.loads(json.dumps(community.to_dict())),
                    updated_at=now).save()


class DynamoContactPreferences:
    """ContactPreferences on the contacts table: every change is one conditional UpdateItem,
    so two workers counting the same phone at once both count."""

    def __init__(self, model: type[Model]):
        self._model = model

    def opted_out(self, phone: str) -> bool:
        try:
            record = self._model.get(phone_key(phone), consistent_read=True, attributes_to_get=["opted_out"])
        except DoesNotExist:
            return False
        return bool(record.opted_out)

    def set_opted_out(self, phone: str, opted_out: bool, now: float) -> bool:
        model = self._model
        record = model(phone_key(phone))
        if opted_out:     # a change only: the condition fails when it is already so
            actions = [model.opted_out.set(True), model.opted_out_at.set(now), model.updated_at.set(now)]
            condition = model.opted_out.does_not_exist() | (model.opted_out == False)  # noqa: E712
        else:
            actions = [model.opted_out.set(False), model.opted_out_at.remove(), model.updated_at.set(now)]
            condition = model.opted_out == True  # noqa: E712 - a DynamoDB condition, not a comparison
        try:
            record.update(actions=actions, condition=condition)
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def allow(self, phone: str, counter: str, limit: int, window: float, now: float) -> bool:
        model = self._model
        record = model(f"{phone_key(phone)}#{counter}")
        cutoff = now - window
        for _ in range(3):
            try:    # one more in the current window
                record.update(actions=[model.count.add(1)], condition=model.window_start > cutoff)
                return int(record.count) <= limit
            except UpdateError as error:
                if not is_condition_failure(error):
                    raise
            try:    # no window, or an old one: this is the first of a new one
                record.update(actions=[model.count.set(1), model.window_start.set(now),
                                       model.expires_at.set(int(now + window) + 3600)],
                              condition=model.window_start.does_not_exist() | (model.window_start <= cutoff))
                return 1 <= limit
            except UpdateError as error:
                if not is_condition_failure(error):
                    raise
        return False
