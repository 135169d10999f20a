"""FollowedCases on the contacts table: one item per phone, keyed `<phone_key>#follows`
(domain.contacts.phone_key: never the phone), with the set of codes it follows ("me too").
Kept a year after its last change (the table's TTL, `expires_at`): a call-back is answered
within days."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.adapters.dynamo import table_meta
from chalicelib.domain.contacts import phone_key

KEEP_SECONDS = 365 * 86400


def build_follows_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class FollowsRecord(Model):
        Meta = table_meta(table_name, region, host)
        phone_key = UnicodeAttribute(hash_key=True)       # <phone_key>#follows
        codes = UnicodeSetAttribute(null=True)
        expires_at = NumberAttribute(null=True)          # the table's TTL attribute

    return FollowsRecord


class DynamoFollowedCases:
    def __init__(self, model: type[Model]):
        self._model = model

    @staticmethod
    def _key(phone: str) -> str:
        return f"{phone_key(phone)}#follows"

    def follow(self, phone: str, code: str, now: float) -> None:
        """ADD to a set: the same code again changes nothing."""
        model = self._model
        model(self._key(phone)).update(actions=[model.codes.add({code}),
                                                model.expires_at.set(int(now + KEEP_SECONDS))])

    def followed_by(self, phone: str) -> list[str]:
        try:
            record = self._model.get(self._key(phone), consistent_read=True, attributes_to_get=["codes"])
        except DoesNotExist:
            return []
        return sorted(record.codes or ())
