"""The Open311 clients' API keys (services.api_keys) on the contacts table, beside the phones'
items (its key attribute is `phone_key` whatever an item is about).

- `apikey#<sha256 of the key>`: one item per key issued, with `key_id`, `client`,
  `created_at`, `created_by` and, once revoked, `revoked_at`. A request's key is checked by
  one consistent GetItem of it.
- `apikeys`: the list of every key issued (`entries`: key id, hash, client, when, by whom),
  and of every revocation (`revocations`), so that `api-key-list` is one GetItem, not a
  Scan of the whole table. A key and its entry are written in one TransactWriteItems, and so
  are a revocation and its record.

Neither holds a key itself: the hash of a 256-bit random key cannot be turned back into it.
The calls' rate-limit windows are counted by adapters.admission.DynamoQuotas on the same table.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import table_meta
from chalicelib.services.ports import ApiClient

REGISTRY = "apikeys"
CONFLICT_RETRIES = 3


def key_item(key_hash: str) -> str:
    return f"apikey#{key_hash}"


def build_api_key_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class ApiKeyRecord(Model):
        Meta = table_meta(table_name, region, host)
        phone_key = UnicodeAttribute(hash_key=True)     # apikey#<sha256>, or apikeys (the registry)
        key_id = UnicodeAttribute(null=True)
        client = UnicodeAttribute(null=True)
        created_at = NumberAttribute(null=True)
        created_by = UnicodeAttribute(null=True)
        revoked_at = NumberAttribute(null=True)
        # The registry's lists: {key_id, key_hash, client, created_at, created_by}; {key_id, at, by}.
        entries = ListAttribute(null=True)
        revocations = ListAttribute(null=True)

    return ApiKeyRecord


class DynamoApiKeyStore:
    """ApiKeyStore (services.ports) on the contacts table."""

    def __init__(self, model: type[Model]):
        self._model = model

    def find(self, key_hash: str) -> ApiClient | None:
        try:
            record = self._model.get(key_item(key_hash), consistent_read=True)
        except DoesNotExist:
            return None
        return _client(record, key_hash)

    def add(self, client: ApiClient) -> None:
        model = self._model
        record = model(key_item(client.key_hash), key_id=client.key_id, client=client.client,
                       created_at=client.created_at, created_by=client.created_by)
        entry = {"key_id": client.key_id, "key_hash": client.key_hash, "client": client.client,
                 "created_at": client.created_at, "created_by": client.created_by}
        for attempt in range(CONFLICT_RETRIES):
            try:
                with TransactWrite(connection=record._get_connection().connection,
                                   client_request_token=str(uuid.uuid4())) as write:
                    write.save(record, condition=model.phone_key.does_not_exist())
                    write.update(model(REGISTRY), actions=[model.entries.set((model.entries | []).append([entry]))])
                return
            except TransactWriteError as error:     # two operators issuing at once: the registry is one item
                reasons = [getattr(r, "code", None) for r in (error.cancellation_reasons or [])]
                if "TransactionConflict" not in reasons or attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def revoke(self, key_id: str, now: float, actor: str) -> tuple[ApiClient, bool] | None:
        entry = next((e for e in self._registry().get("entries", []) if e.get("key_id") == key_id), None)
        if entry is None:
            return None
        model = self._model
        record = model(key_item(entry["key_hash"]))
        try:
            with TransactWrite(connection=record._get_connection().connection,
                               client_request_token=str(uuid.uuid4())) as write:
                write.update(record, actions=[model.revoked_at.set(now)],
                             condition=model.phone_key.exists() & model.revoked_at.does_not_exist())
                write.update(model(REGISTRY), actions=[model.revocations.set(
                    (model.revocations | []).append([{"key_id": key_id, "at": now, "by": actor}]))])
            changed = True
        except TransactWriteError as error:
            reasons = [getattr(r, "code", None) for r in (error.cancellation_reasons or [])]
            if "ConditionalCheckFailed" not in reasons:
                raise
            changed = False          # revoked before (a console event run again)
        found = self.find(entry["key_hash"])
        return (found, changed) if found is not None else None

    def listed(self) -> list[ApiClient]:
        registry = self._registry()
        revoked = {r.get("key_id"): float(r["at"]) for r in reversed(registry.get("revocations", [])) if "at" in r}
        clients = [ApiClient(e["key_id"], e["key_hash"], e["client"], float(e["created_at"]), e.get("created_by"),
                             revoked.get(e["key_id"])) for e in registry.get("entries", [])]
        return sorted(clients, key=lambda c: c.created_at)      # stable: in the order issued

    def _registry(self) -> dict[str, Any]:
        try:
            record = self._model.get(REGISTRY, consistent_read=True)
        except DoesNotExist:
            return {}
        return {"entries": list(record.entries or []), "revocations": list(record.revocations or [])}


def _client(record: Model, key_hash: str) -> ApiClient:
    return ApiClient(record.key_id, key_hash, record.client, float(record.created_at), record.created_by,
                     float(record.revoked_at) if record.revoked_at is not None else None)
