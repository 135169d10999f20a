"""Per-phone send windows (bundling, services.notices) on the contacts table.

One item per phone, keyed `<phone_key>#window` (domain.contacts.phone_key: never the
phone): `until`, when the phone's current window ends, and `waiting`, the codes of the
cases whose notices to it are held for the next one. A case's own write takes or joins
its windows in one TransactWriteItems (DynamoCaseRepository.save); the sweep's side
takes a window and its waiting list in one conditional UpdateItem (collect).
"""
from __future__ import annotations

import uuid
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import is_condition_failure, table_meta
from chalicelib.domain.contacts import phone_key
from chalicelib.services.ports import ConcurrentUpdate, SendWindows, WindowBusy

# Long after any window or quiet night: the table's TTL then removes a forgotten item.
KEEP_SECONDS = 2 * 86400


def window_key(phone: str) -> str:
    return f"{phone_key(phone)}#window"


def build_send_window_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class SendWindowRecord(Model):
        Meta = table_meta(table_name, region, host)
        phone_key = UnicodeAttribute(hash_key=True)      # <phone_key>#window
        until = NumberAttribute(null=True)
        waiting = UnicodeSetAttribute(null=True)
        expires_at = NumberAttribute(null=True)         # the table's TTL attribute

    return SendWindowRecord


def _free(model: type[Model], now: float):
    return model.until.does_not_exist() | (model.until <= now)


def save_with_windows(case_record: Model, window_model: type[Model], code: str,
                      windows: SendWindows) -> None:
    """Save the case record (its VersionAttribute condition included) and take / join its
    windows, all or nothing. ConcurrentUpdate when the case or a window changed under us
    at the same moment; WindowBusy when a window to take is not free."""
    phones = sorted(windows.claim | windows.join)
    connection = case_record._get_connection().connection     # the case model's client
    try:
        # The token makes a retried request (after a timeout) succeed once, not conflict.
        with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as write:
            write.save(case_record)
            for phone in phones:
                record = window_model(window_key(phone))
                actions = [window_model.expires_at.set(int(windows.now) + KEEP_SECONDS)]
                condition = None
                if phone in windows.claim:   # free, and nobody waiting to go first
                    actions.append(window_model.until.set(windows.until))
                    condition = _free(window_model, windows.now) & window_model.waiting.does_not_exist()
                if phone in windows.join:
                    actions.append(window_model.waiting.add({code}))
                write.update(record, actions=actions, condition=condition, return_values="ALL_OLD")
    except TransactWriteError as error:
        reasons = list(getattr(error, "cancellation_reasons", None) or [])
        codes = [getattr(reason, "code", None) for reason in reasons]
        if not reasons or "TransactionConflict" in codes or codes[0] == "ConditionalCheckFailed":
            raise ConcurrentUpdate(code) from None
        busy = {phone: _until(reason, window_model, phone, windows.now)
                for phone, reason in zip(phones, reasons[1:], strict=False)
                if getattr(reason, "code", None) == "ConditionalCheckFailed"}
        if busy:
            raise WindowBusy(busy) from None
        raise


def save_bundle(case_records: list[Model], window_model: type[Model], phone: str, codes: list[str]) -> None:
    """Save the records of every case one bundled text carried (each on its VersionAttribute)
    and take `codes` off the phone's waiting list, all or nothing. ConcurrentUpdate when a
    case changed under us."""
    connection = case_records[0]._get_connection().connection
    try:
        with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as write:
            for record in case_records:
                write.save(record)
            if codes:
                write.update(window_model(window_key(phone)), actions=[window_model.waiting.delete(set(codes))])
    except TransactWriteError as error:
        reasons = list(getattr(error, "cancellation_reasons", None) or [])
        changed = [record.code for record, reason in zip(case_records, reasons, strict=False)
                   if getattr(reason, "code", None) == "ConditionalCheckFailed"]
        if changed or not reasons or "TransactionConflict" in [getattr(r, "code", None) for r in reasons]:
            raise ConcurrentUpdate(",".join(changed) or case_records[0].code) from None
        raise


def _until(reason: Any, model: type[Model], phone: str, now: float) -> float:
    """When a busy window ends: from the item the failed condition saw, else read it."""
    item = getattr(reason, "raw_item", None)
    if not item:
        try:
            item = model.get(window_key(phone), consistent_read=True).serialize()
        except model.DoesNotExist:
            return now
    value = (item.get("until") or {}).get("N")
    return float(value) if value is not None else now


class DynamoSendWindows:
    """SendWindowStore: the sweep's side of the windows."""

    def __init__(self, model: type[Model]):
        self._model = model

    def collect(self, phone: str, now: float, until: float) -> list[str] | None:
        model = self._model
        try:
            # The waiting list stays until the bundle is recorded (save_bundle): should the
            # worker die before, whoever collects after this window sends the same bundle.
            answer = model._get_connection().update_item(
                window_key(phone),
                actions=[model.until.set(until), model.expires_at.set(int(now) + KEEP_SECONDS)],
                condition=_free(model, now), return_values="ALL_OLD")
        except UpdateError as error:
            if is_condition_failure(error):
                return None
            raise
        waiting = (answer.get("Attributes") or {}).get("waiting") or {}
        return sorted(waiting.get("SS") or ())

    def join(self, phone: str, code: str, now: float) -> float:
        record = self._model(window_key(phone))
        record.update(actions=[self._model.waiting.add({code}),
                               self._model.expires_at.set(int(now) + KEEP_SECONDS)])
        return float(record.until) if record.until is not None else now
