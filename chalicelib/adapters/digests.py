"""DynamoDB for the daily digest: which digests went out (the digests table) and where
the cases it names are (a BatchGetItem on the cases table).

`gridloop-{stage}-digests`: key `community_id` and `digest` ("2026-09-21#g1": the local
day and the grid). One small item per community, day and grid, read by a person in the
console as: status (`claimed`, `sent`, `failed`), `sent_at`, `attempts`, `error` (why the
last try failed; never the webhook URL). Items expire after 90 days (`expires_at`, TTL).
"""
from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.adapters.dynamo import is_condition_failure, table_meta

KEEP_SECONDS = 90 * 86400


def build_digest_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class DigestRecord(Model):
        Meta = table_meta(table_name, region, host)
        community_id = UnicodeAttribute(hash_key=True)
        digest = UnicodeAttribute(range_key=True)           # "<local day>#<grid id>"
        status = UnicodeAttribute()                          # claimed | sent | failed
        claimed_until = NumberAttribute(default=0)           # a claim or back-off runs until then
        attempts = NumberAttribute(default=0)
        sent_at = NumberAttribute(null=True)
        error = UnicodeAttribute(null=True)
        expires_at = NumberAttribute()                       # TTL

    return DigestRecord


class DynamoDigestLog:
    def __init__(self, model: type[Model]):
        self._model = model

    def claim(self, community_id: str, day: str, grid_id: str, now: float, lease: float) -> str:
        key = f"{day}#{grid_id}"
        model = self._model
        try:
            current = model.get(community_id, key, consistent_read=True)
        except model.DoesNotExist:
            current = None
        if current is not None and current.status == "sent":
            return "sent"
        if current is not None and float(current.claimed_until or 0) > now:
            return "busy"
        record = model(community_id, key, status="claimed", claimed_until=now + lease,
                       attempts=int(current.attempts or 0) + 1 if current is not None else 1,
                       error=current.error if current is not None else None,
                       expires_at=int(now + KEEP_SECONDS))
        # Only if nobody claimed or sent it since we read it.
        condition = (model.community_id.does_not_exist() if current is None else
                     (model.status == current.status) & (model.claimed_until == current.claimed_until))
        try:
            record.save(condition=condition)
        except PutError as error:
            if is_condition_failure(error):
                return "busy"
            raise
        return "claimed"

    def sent(self, community_id: str, day: str, grid_id: str, now: float) -> None:
        record = self._model.get(community_id, f"{day}#{grid_id}", consistent_read=True)
        record.status, record.sent_at, record.claimed_until, record.error = "sent", now, 0, None
        record.save()

    def failed(self, community_id: str, day: str, grid_id: str, now: float, retry_at: float,
               reason: str) -> None:
        record = self._model.get(community_id, f"{day}#{grid_id}", consistent_read=True)
        if record.status == "sent":
            return
        record.status, record.claimed_until, record.error = "failed", retry_at, reason
        record.save()

    def status(self, community_id: str, day: str, grid_id: str) -> str | None:
        """For tests and operators: the record's status, or None."""
        try:
            return self._model.get(community_id, f"{day}#{grid_id}", consistent_read=True).status
        except self._model.DoesNotExist:
            return None


class DynamoCasePlaces:
    """Where each case is: the digest's index rows have no location, so it reads just the
    `location` of the cases it names, 100 to a BatchGetItem."""

    def __init__(self, case_model: type[Model]):
        self._model = case_model

    def places(self, codes: Iterable[str]) -> dict[str, str | None]:
        codes = list(dict.fromkeys(codes))
        if not codes:
            return {}
        return {record.code: record.location
                for record in self._model.batch_get(codes, attributes_to_get=["code", "location"])}
