"""A new report's admission on DynamoDB: the block list table, and the report's write with
its checks folded in.

`add_admitted` writes a new case in one TransactWriteItems with what it must pass
(domain.admission): a ConditionCheck that each sender is not on the block list, and for
each quota an UpdateItem on the contacts table that adds one to the window's count only
while it is below the limit. One request, as the plain PutItem it replaces, so limits and
the block list cost the report path nothing more (bench figure 1). All or nothing: a
refused report counts nothing, and a counted one is stored.

The block list, `gridloop-{stage}-blocklist`, is keyed by `sender`: "phone:<phone_key>"
or "ip:<ip_key>" (domain.privacy.sender_key), never the number or address; an item
also keeps what an operator needs to recognise it (masked), why, who and when.

`DynamoQuotas` counts what is limited outside a report's write (the status page's look-ups
by code) on the same contacts table, with the same conditional add, one UpdateItem each.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import is_condition_failure, table_meta
from chalicelib.domain.admission import Admission, Blocked, Quota, RateLimited
from chalicelib.services.ports import CodeTaken

CONFLICT_RETRIES = 3     # another report from the same sender in the same instant


def build_blocklist_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class BlockRecord(Model):
        Meta = table_meta(table_name, region, host)
        sender = UnicodeAttribute(hash_key=True)    # "phone:<key>" or "ip:<key>"
        kind = UnicodeAttribute()                   # "phone" or "ip"
        shown = UnicodeAttribute()                  # masked: "+86138****8000", "203.0.113.*"
        note = UnicodeAttribute(null=True)
        actor = UnicodeAttribute(null=True)
        created_at = NumberAttribute()

    return BlockRecord


class DynamoBlockList:
    """BlockList (services.ports) on the block list table, and what tools/blocklist.py needs."""

    def __init__(self, model: type[Model]):
        self._model = model

    def blocked(self, sender: str) -> bool:
        try:
            self._model.get(sender, attributes_to_get=["sender"])
        except DoesNotExist:
            return False
        return True

    def add(self, sender: str, shown: str, note: str | None, actor: str | None, now: float) -> bool:
        """False when the sender was on the list already (it is left as it was)."""
        model = self._model
        record = model(sender, kind=sender.split(":", 1)[0], shown=shown, note=note, actor=actor, created_at=now)
        try:
            record.save(condition=model.sender.does_not_exist())
        except PutError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def remove(self, sender: str) -> bool:
        """False when the sender was not on the list."""
        try:
            self._model(sender).delete(condition=self._model.sender.exists())
        except DeleteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first. The table holds only what operators put there: a Scan."""
        rows = [{"sender": r.sender, "kind": r.kind, "shown": r.shown, "note": r.note, "actor": r.actor,
                 "created_at": float(r.created_at)} for r in self._model.scan(consistent_read=True)]
        return sorted(rows, key=lambda row: (row["created_at"], row["sender"]))


class DynamoQuotas:
    """Quotas (services.ports) on the contacts table: the window's item gets one more while
    it is below the limit, in one conditional UpdateItem; the table's TTL removes it."""

    def __init__(self, counter_model: type[Model]):
        self._model = counter_model

    def take(self, quota: Quota) -> bool:
        model = self._model
        try:
            model(quota.counter).update(
                actions=[model.count.add(1), model.expires_at.set(quota.expires_at)],
                condition=model.count.does_not_exist() | (model.count < quota.limit))
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


def add_admitted(case_record: Model, admission: Admission, counter_model: type[Model],
                 blocklist_model: type[Model]) -> None:
    """Store a new case record if its code is free, none of its senders is blocked and each
    quota has room: all in one TransactWriteItems. CodeTaken, Blocked or RateLimited (in
    that order) otherwise, and nothing is written."""
    connection = case_record._get_connection().connection      # the case model's client
    for attempt in range(CONFLICT_RETRIES):
        try:
            # The token makes a retried request (after a timeout) succeed once, not conflict.
            with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as write:
                # PynamoDB sends condition checks, then puts, then updates: the reasons of a
                # cancelled transaction come back in that order.
                for sender in admission.blocks:
                    write.condition_check(blocklist_model, sender, condition=blocklist_model.sender.does_not_exist())
                write.save(case_record)                     # VersionAttribute: a new item only
                for quota in admission.quotas:
                    write.update(counter_model(quota.counter),
                                 actions=[counter_model.count.add(1), counter_model.expires_at.set(quota.expires_at)],
                                 condition=counter_model.count.does_not_exist() | (counter_model.count < quota.limit))
            return
        except TransactWriteError as error:
            reasons = [getattr(reason, "code", None) for reason in (error.cancellation_reasons or [])]
            failed = [code == "ConditionalCheckFailed" for code in reasons]
            checks, put, counts = (failed[:len(admission.blocks)], failed[len(admission.blocks):][:1],
                                   failed[len(admission.blocks) + 1:])
            if any(put):
                raise CodeTaken(case_record.code) from None
            for sender, refused in zip(admission.blocks, checks, strict=False):
                if refused:
                    raise Blocked(sender) from None
            for quota, refused in zip(admission.quotas, counts, strict=False):
                if refused:
                    raise RateLimited(quota, admission.now) from None
            if "TransactionConflict" not in reasons or attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
