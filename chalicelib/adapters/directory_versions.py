"""The directory with history, on DynamoDB.

Two tables:
- `directory` (unchanged for the handlers): one item per community, its current
  document. It now also carries `version` and `updated_by`; DynamoDirectoryStore.load()
  reads it exactly as before.
- `directory-history`: one item per community and version (hash community_id, range
  version): the document as it was, and the audit record — who, when, from which file,
  a one-line summary and the full list of changes. Read in the console, newest first.

An import is one TransactWriteItems: put the history item (only if that version does
not exist yet), put the current item (only if its version is still the one read), and
check that every other community is still at the version that the import was validated
against (so that two imports cannot give one phone to two communities). Two concurrent
imports: one is written, the other fails with DirectoryConflict and writes nothing.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import DynamoDirectoryStore, build_directory_model, table_meta
from chalicelib.services.ports import DirectoryConflict, DirectoryVersion, StoredCommunity

_LISTED = ("community_id", "version", "created_at", "actor", "source", "summary", "changes", "warnings")


def build_versioned_directory_model(table_name: str, region: str, host: str | None) -> type[Model]:
    """The directory table's model, with the version of each community's document."""
    base = build_directory_model(table_name, region, host)

    class VersionedCommunityRecord(base):
        version = NumberAttribute(null=True)      # None: written before versioning
        updated_by = UnicodeAttribute(null=True)

    return VersionedCommunityRecord


def build_directory_history_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class DirectoryVersionRecord(Model):
        """One version of one community's directory, with its audit record."""
        Meta = table_meta(table_name, region, host)
        community_id = UnicodeAttribute(hash_key=True)
        version = NumberAttribute(range_key=True)
        created_at = NumberAttribute()
        created_at_utc = UnicodeAttribute()        # the same, for a person in the console
        actor = UnicodeAttribute()
        source = UnicodeAttribute()
        summary = UnicodeAttribute()
        changes = JSONAttribute()
        warnings = JSONAttribute(null=True)
        document = JSONAttribute()

    return DirectoryVersionRecord


class DynamoVersionedDirectoryStore(DynamoDirectoryStore):
    """DynamoDirectoryStore (load() and put_community() inherited, unchanged) plus the
    history. put_community() still overwrites without a version or history; imports
    go through commit()."""

    def __init__(self, model: type[Model], history_model: type[Model]):
        super().__init__(model)
        self._history = history_model

    def snapshot(self) -> dict[str, StoredCommunity]:
        return {record.community_id: StoredCommunity(
                    record.document, None if record.version is None else int(record.version))
                for record in self._model.scan(consistent_read=True)}

    def latest_version(self, community_id: str) -> int:
        for record in self._history.query(community_id, scan_index_forward=False, limit=1,
                                          consistent_read=True, attributes_to_get=["version"]):
            return int(record.version)
        return 0

    def commit(self, record: DirectoryVersion, expected: dict[str, int | None]) -> None:
        if record.document is None:
            raise ValueError("a new version needs its document")
        cid = record.community_id
        current = self._model(cid, document=record.document, updated_at=record.created_at,
                              version=record.version, updated_by=record.actor)
        history = self._history(
            cid, record.version, created_at=record.created_at,
            created_at_utc=datetime.fromtimestamp(record.created_at, UTC).isoformat(timespec="seconds"),
            actor=record.actor, source=record.source, summary=record.summary, changes=record.changes,
            warnings=list(record.warnings), document=record.document)
        connection = self._model._get_connection().connection   # the model's client, reused
        try:
            # The token makes a retried request (after a timeout) succeed once, not conflict.
            with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as write:
                write.save(history, condition=self._history.version.does_not_exist())
                write.save(current, condition=self._unchanged(expected.get(cid)))
                for other, version in sorted(expected.items()):
                    if other != cid:
                        write.condition_check(self._model, other, condition=self._unchanged(version))
        except TransactWriteError as error:
            reasons = getattr(error, "cancellation_reasons", None) or []
            if any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons):
                raise DirectoryConflict(
                    f"the directory changed while version {record.version} of {cid} was being "
                    f"prepared; nothing was written") from None
            raise

    def _unchanged(self, version: int | None):
        return self._model.version.does_not_exist() if version is None else self._model.version == version

    def history(self, community_id: str) -> list[DirectoryVersion]:
        return [self._to_version(record, with_document=False) for record in self._history.query(
            community_id, scan_index_forward=False, consistent_read=True, attributes_to_get=list(_LISTED))]

    def get_version(self, community_id: str, version: int) -> DirectoryVersion | None:
        try:
            record = self._history.get(community_id, version, consistent_read=True)
        except DoesNotExist:
            return None
        return self._to_version(record, with_document=True)

    @staticmethod
    def _to_version(record: Model, with_document: bool) -> DirectoryVersion:
        return DirectoryVersion(
            community_id=record.community_id, version=int(record.version),
            created_at=float(record.created_at), actor=record.actor, source=record.source,
            summary=record.summary, changes=record.changes or {},
            warnings=tuple(record.warnings or ()),
            document=record.document if with_document else None)
