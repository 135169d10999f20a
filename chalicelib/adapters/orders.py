"""The orders table (gridloop-{stage}-orders) through PynamoDB: one item per order, written
whole on its VersionAttribute as a case is (adapters.dynamo), so that of two claims on one
order the first write wins and the second reads the order again and is refused.

Indexes (infra/resources.json): `open-due`, sparse, the orders whose timer runs (the sweep);
`by-confirmer`, sparse, the orders done and waiting for someone's 1 or 2; `by-community`, every
order by creation time with the facts the weekly report counts (never a Scan).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.adapters.dynamo import add_new_record, is_condition_failure, table_meta
from chalicelib.domain.admission import Admission
from chalicelib.domain.contacts import phone_key
from chalicelib.domain.orders import ORDERER, Order, OrderStatus
from chalicelib.services.ports import ConcurrentUpdate, SendWindows

DUE_INDEX = "open-due"
CONFIRMER_INDEX = "by-confirmer"
COMMUNITY_INDEX = "by-community"
COMMUNITY_PROJECTION = ("status", "item", "kind", "facts")
TOP_LEVEL = ("id", "community_id", "item", "kind", "location", "status", "created_at", "updated_at")


def confirmer_key(order: Order) -> str | None:
    """Whose 1 or 2 the order waits for: the pseudonym of the resident's phone, or the member."""
    # Kept once answered, so that a redelivered 1 / 2 finds what it already did (answer_key).
    if order.confirmer is None or (order.status is not OrderStatus.DONE and order.satisfied is None):
        return None
    if order.confirmer == ORDERER:
        return phone_key(order.orderer_phone or "")
    return member_confirmer_key(order.community_id, order.confirmer)


def member_confirmer_key(community_id: str, member_id: str) -> str:
    return f"{community_id}#{member_id}"


def order_facts(order: Order) -> dict:
    """What the weekly report counts of an order, without reading it whole."""
    return {"claimed_at": order.claimed_at, "done_at": order.done_at, "closed_at": order.closed_at,
            "dispatched": order.dispatched_by is not None, "satisfied": order.satisfied,
            "claimant": order.claimant, "created_at": order.created_at}


def build_order_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class DueIndex(GlobalSecondaryIndex):
        Meta = type("Meta", (), {"index_name": DUE_INDEX, "projection": KeysOnlyProjection()})
        due_shard = UnicodeAttribute(hash_key=True)
        due_at = NumberAttribute(range_key=True)

    class ConfirmerIndex(GlobalSecondaryIndex):
        Meta = type("Meta", (), {"index_name": CONFIRMER_INDEX, "projection": KeysOnlyProjection()})
        confirmer_key = UnicodeAttribute(hash_key=True)
        updated_at = NumberAttribute(range_key=True)

    class CommunityIndex(GlobalSecondaryIndex):
        Meta = type("Meta", (), {"index_name": COMMUNITY_INDEX,
                                 "projection": IncludeProjection(list(COMMUNITY_PROJECTION))})
        community_id = UnicodeAttribute(hash_key=True)
        created_at = NumberAttribute(range_key=True)

    class OrderRecord(Model):
        Meta = table_meta(table_name, region, host)
        code = UnicodeAttribute(hash_key=True)
        id = UnicodeAttribute()
        community_id = UnicodeAttribute()
        item = UnicodeAttribute()
        kind = UnicodeAttribute()
        location = UnicodeAttribute()
        status = UnicodeAttribute()
        created_at = NumberAttribute()
        updated_at = NumberAttribute()
        due_shard = UnicodeAttribute(null=True)
        due_at = NumberAttribute(null=True)
        confirmer_key = UnicodeAttribute(null=True)
        facts = JSONAttribute(null=True)
        details = JSONAttribute()
        version = VersionAttribute()
        due_index = DueIndex()
        confirmer_index = ConfirmerIndex()
        community_index = CommunityIndex()

    return OrderRecord


class DynamoOrderRepository:
    def __init__(self, model: type[Model], due_shards: int = 4,
                 admission_models: tuple[type[Model], type[Model]] | None = None):
        self._model, self._shards = model, due_shards
        self._admission_models = admission_models   # (contacts, block list): add() with an Admission

    def shard_of(self, code: str) -> str:
        return str(int(hashlib.sha1(code.encode(), usedforsecurity=False).hexdigest(), 16) % self._shards)

    def add(self, order: Order, admission: Admission | None = None) -> None:
        """Store a new order; CodeTaken when its code is in use. With an admission (a
        resident's order: domain.admission), in the same one write as a report's."""
        record = self._to_record(order, version=None)
        add_new_record(record, admission, self._admission_models)
        order.version = record.version

    def save(self, order: Order, windows: SendWindows | None = None) -> None:
        record = self._to_record(order, version=order.version)
        try:
            record.save()
        except PutError as error:
            if is_condition_failure(error):
                raise ConcurrentUpdate(order.code) from None
            raise
        order.version = record.version

    def get(self, code: str) -> Order | None:
        try:
            record = self._model.get(code, consistent_read=True)
        except DoesNotExist:
            return None
        data = dict(record.details)
        data.update({key: getattr(record, key) for key in TOP_LEVEL})
        data["code"], data["version"] = record.code, record.version
        return Order.from_dict(data)

    def due(self, now: float) -> Iterator[tuple[str, float]]:
        for shard in range(self._shards):
            for key in self._model.due_index.query(str(shard), self._model.due_at <= now):
                yield key.code, float(key.due_at)

    def awaiting_confirmation(self, confirmer: str) -> list[str]:
        return [r.code for r in self._model.confirmer_index.query(confirmer, scan_index_forward=False, limit=10)]

    def created_between(self, community_id: str, since: float, until: float) -> list[dict]:
        """The community's orders created in [since, until), oldest first, as the `by-community`
        index projects them: code, created_at, status, item, kind and the facts (order_facts:
        claimed_at, done_at, closed_at, dispatched, satisfied, claimant), flattened into one row
        each. ONE Query on the index (PynamoDB follows its pages), never a Scan; eventually
        consistent, as every read of a GSI. No location, phone or name: the index has none."""
        model = self._model
        rows = []
        for record in model.community_index.query(community_id, model.created_at.between(since, until)):
            created_at = float(record.created_at)
            if created_at >= until:
                continue                  # between() is inclusive; the range is half-open
            facts = dict(record.facts or {})
            rows.append({**facts, "code": record.code, "community_id": community_id, "created_at": created_at,
                         "status": record.status, "item": record.item, "kind": record.kind})
        return rows

    def _to_record(self, order: Order, version: int | None) -> Model:
        data = order.to_dict()
        for key in (*TOP_LEVEL, "code", "version"):
            data.pop(key, None)
        record = self._model(order.code, id=order.id, community_id=order.community_id, item=order.item,
                             kind=order.kind, location=order.location, status=order.status.value,
                             created_at=order.created_at, updated_at=order.updated_at, details=data,
                             facts=order_facts(order), confirmer_key=confirmer_key(order))
        if order.due_at is not None and order.is_open:
            record.due_shard, record.due_at = self.shard_of(order.code), order.due_at
        if version is not None:
            record.version = version
        return record
