"""Open311's API keys (chalicelib/services/api_keys.py) over in-memory stores: a key is shown
once and kept only as its hash, a revoked or unknown one is refused, each key has its own
window of calls, and the demo key exists only while its setting is set."""
from __future__ import annotations

import hashlib

import pytest

from chalicelib.services.api_keys import KEY_PREFIX, ApiKeys, KeyRateLimited, KeyRefused
from tests.fakes import FakeClock, InMemoryApiKeys, InMemoryQuotas


def keys(calls: int = 3, demo: str | None = None, clock: FakeClock | None = None):
    store = InMemoryApiKeys()
    return ApiKeys(store, InMemoryQuotas(), clock or FakeClock(), calls, 3600.0, demo_key=lambda: demo), store


def test_given_a_key_issued_when_stored_then_only_its_sha256_is_kept_and_it_lets_its_client_in():
    service, store = keys()

    key, issued = service.issue("changmu-app", "ops:wangfang")

    assert key.startswith(KEY_PREFIX) and len(key) > 40
    assert issued.key_hash == hashlib.sha256(key.encode()).hexdigest() and issued.key_id == issued.key_hash[:12]
    assert key not in repr(store.by_hash)
    assert service.check(key).client == "changmu-app"


def test_given_two_keys_issued_when_compared_then_they_differ():
    service, _ = keys()
    assert service.issue("a", "ops:x")[0] != service.issue("a", "ops:x")[0]


@pytest.mark.parametrize("given,missing", [(None, True), ("", True), ("g311_nothing-issued", False),
                                           ("x" * 5000, False)])
def test_given_no_key_or_an_unknown_one_when_checked_then_it_is_refused(given, missing):
    service, _ = keys()

    with pytest.raises(KeyRefused) as refused:
        service.check(given)

    assert refused.value.missing is missing


def test_given_a_revoked_key_when_checked_then_it_is_refused_and_revoking_again_changes_nothing():
    service, _ = keys()
    key, issued = service.issue("kiosk", "ops:x")

    first, again = service.revoke(issued.key_id, "ops:y"), service.revoke(issued.key_id, "ops:y")

    assert first[1] is True and again[1] is False and first[0].revoked
    with pytest.raises(KeyRefused):
        service.check(key)
    assert service.revoke("000000000000", "ops:y") is None
    assert [c.revoked for c in service.listed()] == [True]


def test_given_a_key_over_its_calls_when_checked_then_it_waits_for_the_next_window_and_other_keys_do_not():
    # GIVEN 3 calls a window for each key
    clock = FakeClock(7200.0)
    service, _ = keys(calls=3, clock=clock)
    busy, _ = service.issue("busy", "ops:x")
    calm, _ = service.issue("calm", "ops:x")
    for _ in range(3):
        service.check(busy)

    # WHEN it calls a 4th time THEN it is told when to try again, and another key still gets in
    clock.advance(600)
    with pytest.raises(KeyRateLimited) as limited:
        service.check(busy)
    assert limited.value.retry_after == 3000 and limited.value.limit == 3
    assert service.check(calm).client == "calm"
    # AND in the next window it gets in again
    clock.advance(3000)
    assert service.check(busy).client == "busy"


def test_given_the_demo_setting_when_checked_then_its_key_is_the_demo_client_and_unset_there_is_none():
    with_demo, _ = keys(demo="local-demo-open311-key")
    without, _ = keys(demo=None)

    assert with_demo.check("local-demo-open311-key").client == "demo"
    with pytest.raises(KeyRefused):
        with_demo.check("local-demo-open311-kez")
    with pytest.raises(KeyRefused):
        without.check("local-demo-open311-key")


# -- the ops commands' fields (domain.ops) ----------------------------------------------------
@pytest.mark.parametrize("event,field", [
    ({"command": "api-key-issue"}, "client"),
    ({"command": "api-key-issue", "client": "has spaces"}, "client"),
    ({"command": "api-key-issue", "client": "app", "key_id": "3f9a1c0b2d4e"}, "key_id"),
    ({"command": "api-key-revoke", "key_id": "g311_the-key-itself"}, "key_id"),
    ({"command": "api-key-list", "client": "app"}, "client"),
])
def test_given_a_key_command_with_a_wrong_field_when_parsed_then_it_is_rejected_naming_the_field(event, field):
    from chalicelib.domain.ops import Rejected, parse

    parsed = parse({**event, "operator": "wangfang"})

    assert isinstance(parsed, Rejected) and parsed.field == field


def test_given_key_commands_when_parsed_then_the_client_and_the_key_id_are_kept():
    from chalicelib.domain.ops import parse

    assert parse({"command": "api-key-issue", "client": "changmu-app", "operator": "w"}).client == "changmu-app"
    assert parse({"command": "api-key-revoke", "key_id": " 3F9A1C0B2D4E ", "operator": "w"}).key_id == "3f9a1c0b2d4e"
