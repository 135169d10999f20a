"""Once per inbound SMS (services.answers), on the contacts table.

- `DynamoAnswerLedger`: one item per direct answer, keyed `<phone_key>#answer#<inbound
  key>#<n>` (domain.contacts.phone_key: never the phone), with `status` "sending" (until
  `sending_until`) or "sent", removed by the table's TTL (`expires_at`).
- `OnceContacts`: the contacts table's counts and opt-outs (adapters.dynamo), keyed by the
  inbound SMS being handled, if any: a window lists the keys it counted (`counted`, at most
  its limit and one more), so a redelivered SMS is not counted twice and gets the answer it
  got the first time; an opt-out remembers the SMS that made it (`changed_by`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.models import Model

from chalicelib.adapters.dynamo import DynamoContactPreferences, is_condition_failure, table_meta
from chalicelib.domain.contacts import phone_key


def build_answer_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class AnswerRecord(Model):
        Meta = table_meta(table_name, region, host)
        phone_key = UnicodeAttribute(hash_key=True)       # <phone_key>#answer#<inbound key>#<n>
        status = UnicodeAttribute(null=True)             # "sending" or "sent"
        sending_until = NumberAttribute(null=True)
        message_id = UnicodeAttribute(null=True)         # the provider's, once sent
        expires_at = NumberAttribute(null=True)          # the table's TTL attribute

    return AnswerRecord


class DynamoAnswerLedger:
    def __init__(self, model: type[Model]):
        self._model = model

    def _key(self, phone: str, key: str) -> str:
        return f"{phone_key(phone)}#answer#{key}"

    def claim(self, phone: str, key: str, now: float, until: float, keep_until: float) -> str | float:
        model = self._model
        record = model(self._key(phone, key))
        try:
            record.update(actions=[model.status.set("sending"), model.sending_until.set(until),
                                   model.expires_at.set(int(keep_until))],
                          condition=model.status.does_not_exist()
                          | ((model.status == "sending") & (model.sending_until <= now)))
            return "claimed"
        except UpdateError as error:
            if not is_condition_failure(error):
                raise
        try:
            found = model.get(self._key(phone, key), consistent_read=True)
        except DoesNotExist:      # expired and removed just now: try again later
            return now
        return "sent" if found.status == "sent" else float(found.sending_until or now)

    def sent(self, phone: str, key: str, message_id: str | None, now: float, keep_until: float) -> None:
        model = self._model
        model(self._key(phone, key)).update(actions=[
            model.status.set("sent"), model.sending_until.remove(),
            model.message_id.set(message_id) if message_id else model.message_id.remove(),
            model.expires_at.set(int(keep_until))])

    def release(self, phone: str, key: str) -> None:
        model = self._model
        try:
            model(self._key(phone, key)).update(actions=[model.status.remove(), model.sending_until.remove()],
                                                condition=model.status == "sending")
        except UpdateError as error:
            if not is_condition_failure(error):
                raise


class OnceContacts(DynamoContactPreferences):
    """ContactPreferences whose counts and opt-outs happen once per inbound SMS (see the
    module's docstring); without one being handled, as DynamoContactPreferences.
    `current_key` tells the key of the inbound SMS being handled (services.answers owns it:
    it is handed in, so this adapter does not import a service)."""

    def __init__(self, model: type[Model], current_key: Callable[[], str | None]):
        super().__init__(model)
        self._current_key = current_key

    def set_opted_out(self, phone: str, opted_out: bool, now: float) -> bool:
        key = self._current_key()
        if key is None:
            return super().set_opted_out(phone, opted_out, now)
        model = self._model
        record = model(phone_key(phone))
        if opted_out:
            actions = [model.opted_out.set(True), model.opted_out_at.set(now)]
            condition = model.opted_out.does_not_exist() | (model.opted_out == False)  # noqa: E712
        else:
            actions = [model.opted_out.set(False), model.opted_out_at.remove()]
            condition = model.opted_out == True  # noqa: E712 - a DynamoDB condition
        try:
            record.update(actions=actions + [model.updated_at.set(now), model.changed_by.set(key)],
                          condition=condition)
            return True
        except UpdateError as error:
            if not is_condition_failure(error):
                raise
        # Already so: by this very SMS (an earlier delivery of it), or before it.
        found = self._get(phone_key(phone))
        return found is not None and found.changed_by == key and bool(found.opted_out) == opted_out

    def allow(self, phone: str, counter: str, limit: int, window: float, now: float) -> bool:
        key = self._current_key()
        if key is None:
            return super().allow(phone, counter, limit, window, now)
        model = self._model
        item_key = f"{phone_key(phone)}#{counter}"
        record = model(item_key)
        cutoff = now - window
        for _ in range(3):
            try:    # one more in the current window, unless this SMS was counted, or it is full
                record.update(actions=[model.count.add(1), model.counted.set((model.counted | []).append([key]))],
                              condition=(model.window_start > cutoff)
                              & (model.counted.does_not_exist()
                                 | (~model.counted.contains(key) & (size(model.counted) <= limit))))
                return int(record.count) <= limit
            except UpdateError as error:
                if not is_condition_failure(error):
                    raise
            found = self._get(item_key)
            if found is not None and found.window_start is not None and found.window_start > cutoff:
                counted = list(found.counted or ())
                # Counted before (a redelivery): the same answer as then. Else the window is
                # full: no, and nothing to remember (a redelivery is refused the same way).
                return key in counted and counted.index(key) < limit
            try:    # no window, or an old one: this is the first of a new one
                record.update(actions=[model.count.set(1), model.counted.set([key]), model.window_start.set(now),
                                       model.expires_at.set(int(now + window) + 3600)],
                              condition=model.window_start.does_not_exist() | (model.window_start <= cutoff))
                return 1 <= limit
            except UpdateError as error:
                if not is_condition_failure(error):
                    raise
        return False

    def _get(self, key: str) -> Any:
        try:
            return self._model.get(key, consistent_read=True)
        except DoesNotExist:
            return None
