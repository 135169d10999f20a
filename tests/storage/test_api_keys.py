"""Open311's API keys on the contacts table (DynamoApiKeyStore, chalicelib/adapters/api_keys.py)
on both engines: a key is found by its hash and listed, never stored itself; a revocation holds
once however often it is run; two keys issued at once are both listed; and the cases a list
names are read back in one batch (DynamoCaseRepository.get_many)."""
from __future__ import annotations

import time

import pytest

from chalicelib.domain.case import Case
from chalicelib.services.api_keys import KeyRateLimited, KeyRefused
from tests.storage.conftest import at_once

T0 = float(int(time.time()))


def test_a_key_issued_is_found_by_its_hash_and_listed_and_only_its_hash_is_stored(bare_stack):
    # WHEN a key is issued
    key, issued = bare_stack.api_keys.issue("changmu-app", "ops:wangfang")

    # THEN its client is found by checking it, the list has it, and no item holds the key
    assert bare_stack.api_keys.check(key).client == "changmu-app"
    assert [(c.key_id, c.client, c.created_by) for c in bare_stack.api_keys.listed()] == [
        (issued.key_id, "changmu-app", "ops:wangfang")]
    items = [record.serialize() for record in bare_stack.api_key_model.scan()]
    assert key not in repr(items) and issued.key_hash in repr(items)


def test_a_key_revoked_twice_is_revoked_once_and_refused(bare_stack):
    key, issued = bare_stack.api_keys.issue("kiosk", "ops:x")

    first = bare_stack.api_keys.revoke(issued.key_id, "ops:y")
    again = bare_stack.api_keys.revoke(issued.key_id, "ops:z")

    assert (first[1], again[1]) == (True, False) and first[0].revoked_at == again[0].revoked_at
    with pytest.raises(KeyRefused):
        bare_stack.api_keys.check(key)
    [listed] = bare_stack.api_keys.listed()
    assert listed.revoked_at == first[0].revoked_at
    assert bare_stack.api_keys.revoke("000000000000", "ops:y") is None


def test_two_keys_issued_at_once_are_both_listed(bare_stack):
    issued = at_once(lambda: bare_stack.api_keys.issue("a", "ops:x"), lambda: bare_stack.api_keys.issue("b", "ops:y"))

    assert sorted(c.client for c in bare_stack.api_keys.listed()) == ["a", "b"]
    assert all(bare_stack.api_keys.check(key).client == record.client for key, record in issued)


def test_a_key_over_its_calls_is_refused_until_its_window_ends(bare_stack):
    bare_stack.api_keys.calls_per_key = 2
    key, _ = bare_stack.api_keys.issue("busy", "ops:x")
    bare_stack.api_keys.check(key)
    bare_stack.api_keys.check(key)
    with pytest.raises(KeyRateLimited) as limited:
        bare_stack.api_keys.check(key)
    assert limited.value.retry_after >= 1


def test_the_cases_a_list_names_are_read_back_in_one_batch_and_unknown_codes_left_out(bare_stack):
    codes = [f"ABC{n}Z2" for n in range(2, 9)]
    for code in codes:
        bare_stack.cases.add(Case.receive(id=code.lower() * 5, code=code, community_id="tiny", category="other",
                                          location="tiny-01", description="x", now=T0))

    found = bare_stack.cases.get_many([*codes, "NOSUCH", codes[0]])

    assert sorted(c.code for c in found) == codes and all(c.version == 1 for c in found)
