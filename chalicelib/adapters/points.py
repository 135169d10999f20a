"""The points bank's ledger (services.ports.PointsLedger) on its own table, `gridloop-{stage}-points`.

One table, keyed `account` (partition) and `key` (sort), holding five kinds of item:

| account                      | key                              | what                                         |
|------------------------------|----------------------------------|----------------------------------------------|
| `member:changmu:m06`, ...    | `balance`                        | `points`: what the account holds now         |
| the entry's debit and credit | `at#<epoch ms, 15 digits>#<id>`  | one row per entry under each of its accounts |
| `entry#<entry id>`           | `entry`                          | the entry's marker (its idempotency key)     |
| `member:changmu:m06`         | `day#2026-12-03`                 | `earned`: the day's capped points (the cap)  |
| `shop:changmu`               | `stock#rice`                     | `stock`: the shop item's stock               |

An entry is ONE TransactWriteItems: the marker put if it is not there (attribute_not_exists),
both entry rows, the debit balance's ADD -points (with the condition `points >= floor +
points` when the debit has a floor: a missing balance item holds 0), the credit balance's
ADD +points, and when asked, the day's counter (`earned <= cap - points`) and the item's
stock (`stock >= n`). DynamoDB applies all of it or none, so a balance is always the sum of
its account's entries, two redemptions cannot both spend the same points, and two credits
cannot both pass the day's cap. A cancelled transaction's reasons come back in the order
PynamoDB sends the items (condition checks, deletes, puts, updates): they say which
condition failed. A TransactionConflict (another transaction on the same items at that
moment: the branch's balance is in every credit of its community) is tried again.

A month of an account is one Query on its key range (`at#<start>` to `at#<end>`), a balance
one GetItem, an entry by id one GetItem on its marker. Nothing here is ever Scanned.
"""
from __future__ import annotations

import math
import random
import time
import uuid

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import is_condition_failure, table_meta
from chalicelib.domain.points import Entry, PointsRefused, shop_account

BALANCE = "balance"
MARKER = "entry"
CONFLICT_RETRIES = 8      # the branch's balance is one item: credits of one community at once conflict


def row_key(entry: Entry) -> str:
    """An entry's sort key under each of its accounts: by time, then id (zero-padded epoch ms)."""
    return f"at#{_millis(entry.at):015d}#{entry.id}"


def marker_account(entry_id: str) -> str:
    return f"entry#{entry_id}"


def _millis(at: float) -> int:
    return int(math.floor(at * 1000))


def build_points_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class PointsRecord(Model):
        """One item of the points table (see the module's table)."""
        Meta = table_meta(table_name, region, host)
        account = UnicodeAttribute(hash_key=True)
        key = UnicodeAttribute(range_key=True)
        points = NumberAttribute(null=True)        # a balance; an entry's points on its rows and marker
        entry_id = UnicodeAttribute(null=True)
        at = NumberAttribute(null=True)
        debit = UnicodeAttribute(null=True)
        credit = UnicodeAttribute(null=True)
        reason = UnicodeAttribute(null=True)
        ref = UnicodeAttribute(null=True)
        void = BooleanAttribute(null=True)         # a marker that keeps its entry from ever being recorded
        earned = NumberAttribute(null=True)        # day#: the capped points credited that day
        stock = NumberAttribute(null=True)         # stock#: what the shop has left of the item

    return PointsRecord


class DynamoPointsLedger:
    """PointsLedger on the points table."""

    def __init__(self, model: type[Model]):
        self._model = model

    # -- writing -----------------------------------------------------------------------------
    def record(self, entry: Entry, *, debit_floor: int | None = 0, stock: tuple[str, int] | None = None,
               daily: tuple[str, int] | None = None) -> bool:
        model = self._model
        fields = _fields(entry)
        marker = model(marker_account(entry.id), MARKER, **fields)
        rows = [model(account, row_key(entry), **fields) for account in (entry.debit, entry.credit)]
        debit_condition = None
        if debit_floor is not None:
            need = debit_floor + entry.points
            debit_condition = model.points >= need
            if need <= 0:                 # a missing balance (0) is enough
                debit_condition = model.points.does_not_exist() | debit_condition
        # The items in the order PynamoDB sends them: puts, then updates (the reasons' order).
        order = ["marker", "row", "row", "debit", "credit"]
        if daily is not None:
            order.append("daily")
        if stock is not None:
            order.append("stock")
        connection = marker._get_connection().connection
        for attempt in range(CONFLICT_RETRIES):
            try:
                # The token makes a retried request (after a timeout) succeed once, not conflict.
                with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as write:
                    write.save(marker, condition=model.account.does_not_exist())
                    for row in rows:
                        write.save(row)
                    write.update(model(entry.debit, BALANCE), actions=[model.points.add(-entry.points)],
                                 condition=debit_condition)
                    write.update(model(entry.credit, BALANCE), actions=[model.points.add(entry.points)])
                    if daily is not None:
                        day, cap = daily
                        write.update(model(entry.credit, f"day#{day}"), actions=[model.earned.add(entry.points)],
                                     condition=model.earned.does_not_exist() | (model.earned <= cap - entry.points))
                    if stock is not None:
                        key, count = stock
                        shop, _, item = key.partition("#")
                        write.update(model(shop, f"stock#{item}"), actions=[model.stock.add(-count)],
                                     condition=model.stock >= count)
                return True
            except TransactWriteError as error:
                codes = [getattr(reason, "code", None) for reason in (error.cancellation_reasons or [])]
                failed = {what for what, code in zip(order, codes, strict=False) if code == "ConditionalCheckFailed"}
                if "marker" in failed:
                    return False          # recorded (or voided) before: nothing changed
                if "debit" in failed:
                    raise PointsRefused("over_balance") from None
                if "stock" in failed:
                    raise PointsRefused("out_of_stock") from None
                if "daily" in failed:
                    raise PointsRefused("daily_cap") from None
                if "TransactionConflict" not in codes or attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 - jitter, not a secret
        raise AssertionError("unreachable")

    def void(self, entry_id: str, at: float) -> bool:
        model = self._model
        try:
            model(marker_account(entry_id), MARKER, entry_id=entry_id, at=at, void=True).save(
                condition=model.account.does_not_exist())
            return True
        except PutError as error:
            if not is_condition_failure(error):
                raise
        return self._marker(entry_id).void is True        # voided before: still void

    def restock(self, community_id: str, item: str, count: int) -> int:
        model = self._model
        record = model(shop_account(community_id), f"stock#{item}")
        record.update(actions=[model.stock.add(count)])
        return int(record.stock)

    # -- reading -----------------------------------------------------------------------------
    def balance(self, account: str) -> int:
        try:
            record = self._model.get(account, BALANCE, consistent_read=True, attributes_to_get=["points"])
        except DoesNotExist:
            return 0
        return int(record.points or 0)

    def entries(self, account: str, since: float, until: float) -> list[Entry]:
        model = self._model
        low, high = f"at#{_millis(since):015d}", f"at#{_millis(until):015d}$"    # '$' sorts after '#'
        found = [_entry(record) for record in model.query(account, model.key.between(low, high), consistent_read=True)]
        return [e for e in found if since <= e.at < until]

    def get(self, entry_id: str) -> Entry | None:
        record = self._marker(entry_id)
        return None if record is None or record.void else _entry(record)

    def stock(self, community_id: str, item: str) -> int:
        try:
            record = self._model.get(shop_account(community_id), f"stock#{item}", consistent_read=True,
                                     attributes_to_get=["stock"])
        except DoesNotExist:
            return 0
        return int(record.stock or 0)

    def stocks(self, community_id: str) -> dict[str, int]:
        model = self._model
        return {record.key.removeprefix("stock#"): int(record.stock or 0)
                for record in model.query(shop_account(community_id), model.key.startswith("stock#"),
                                          consistent_read=True)}

    def _marker(self, entry_id: str) -> Model | None:
        try:
            return self._model.get(marker_account(entry_id), MARKER, consistent_read=True)
        except DoesNotExist:
            return None


def _fields(entry: Entry) -> dict:
    return {"entry_id": entry.id, "at": entry.at, "debit": entry.debit, "credit": entry.credit,
            "points": entry.points, "reason": entry.reason, "ref": entry.ref}


def _entry(record: Model) -> Entry:
    return Entry(record.entry_id, float(record.at), record.debit, record.credit, int(record.points),
                 record.reason, record.ref)
