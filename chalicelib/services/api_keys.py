"""The Open311 clients' API keys (docs/open311.md "API keys").

An operator issues a key to a named client (`api-key-issue`): 32 random bytes from `secrets`,
shown once in the command's answer and never stored. The store keeps its SHA-256 (`key_hash`),
by which a request's key is found in one read. No salt, on purpose: a salt protects secrets
people choose, which are few enough to guess or to find in a precomputed table; a key of 256
random bits is neither, so its plain hash is as hard to reverse as a salted one, and a salt
would cost a read to find it before the key could be checked.

Each call made with a key counts against that key's fixed window (`calls_per_key` per
`window` seconds), one conditional UpdateItem on the contacts table (Quotas, as the status
page's look-ups are counted): over it, KeyRateLimited. A revoked key is refused at once (the
check reads consistently).

The local stack also takes a demo key, GRIDLOOP_OPEN311_DEMO_KEY (read on every call, like
the gateways' secrets), for the client "demo"; when it is unset, there is no demo key.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from chalicelib.domain.admission import Quota

from .ports import ApiClient, ApiKeyStore, Quotas

KEY_PREFIX = "g311_"          # tells a gridloop Open311 key from other secrets in a client's config
KEY_BYTES = 32
MAX_KEY = 200                 # longer is no key of ours: refused before it is hashed
KEY_ID_LENGTH = 12
DEMO_CLIENT = "demo"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRefused(Exception):
    """No key, or one that is not a valid (issued, not revoked) key."""

    def __init__(self, missing: bool):
        super().__init__("no api_key" if missing else "not a valid api_key")
        self.missing = missing


class KeyRateLimited(Exception):
    def __init__(self, client: ApiClient, limit: int, retry_after: int):
        super().__init__(f"api key {client.key_id} has had its {limit} calls for this window")
        self.client, self.limit, self.retry_after = client, limit, retry_after


class ApiKeys:
    def __init__(self, store: ApiKeyStore, quotas: Quotas, clock: Callable[[], float], calls_per_key: int,
                 window: float, demo_key: Callable[[], str | None] = lambda: None):
        self._store, self._quotas, self._clock = store, quotas, clock
        self.calls_per_key, self._window, self._demo_key = calls_per_key, window, demo_key

    def issue(self, client: str, actor: str) -> tuple[str, ApiClient]:
        """A new key for `client`: the key itself (to hand over; it is not kept) and its record."""
        key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        hashed = key_hash(key)
        record = ApiClient(hashed[:KEY_ID_LENGTH], hashed, client, self._clock(), actor)
        self._store.add(record)
        return key, record

    def revoke(self, key_id: str, actor: str) -> tuple[ApiClient, bool] | None:
        return self._store.revoke(key_id, self._clock(), actor)

    def listed(self) -> list[ApiClient]:
        return self._store.listed()

    def check(self, key: str | None) -> ApiClient:
        """The client whose valid key this is, after counting the call against its window.
        KeyRefused (missing or not valid), KeyRateLimited (its window is full)."""
        if not key:
            raise KeyRefused(missing=True)
        client = self._demo(key) if len(key) <= MAX_KEY else None
        if client is None and len(key) <= MAX_KEY:
            client = self._store.find(key_hash(key))
        if client is None or client.revoked:
            raise KeyRefused(missing=False)
        now = self._clock()
        if self.calls_per_key > 0:
            number = int(now // self._window)
            ends_at = (number + 1) * self._window
            quota = Quota(f"apikey:{client.key_id}", f"apikey:{client.key_id}#calls#{number}", self.calls_per_key,
                          self._window, ends_at)
            if not self._quotas.take(quota):
                raise KeyRateLimited(client, self.calls_per_key, max(1, int(ends_at - now + 0.999)))
        return client

    def _demo(self, key: str) -> ApiClient | None:
        demo = self._demo_key()
        if not demo or not hmac.compare_digest(key.encode("utf-8"), demo.encode("utf-8")):
            return None
        hashed = key_hash(demo)
        return ApiClient(hashed[:KEY_ID_LENGTH], hashed, DEMO_CLIENT, 0.0, "GRIDLOOP_OPEN311_DEMO_KEY")
