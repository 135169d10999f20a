"""The contacts table (DynamoContactPreferences, chalicelib/adapters/dynamo.py) on both
engines: opt-outs change once however often they are asked for, rate-limit windows count
every event even when workers count the same phone at once, and no key holds a phone."""
from __future__ import annotations

import time

from chalicelib.domain.contacts import ERROR_REPLIES
from tests.storage.conftest import at_once

RESIDENT = "+8613912345678"
# The table's TTL removes a rate-limit window once its expires_at has passed, and DynamoDB
# Local does so within a second: the tests' clock must be the real one.
T0 = float(int(time.time()))


def test_an_opt_out_and_an_opt_in_each_change_the_phone_once(bare_stack):
    contacts = bare_stack.contacts
    # GIVEN a phone never seen
    assert contacts.opted_out(RESIDENT) is False
    # WHEN it opts out twice, then in twice, THEN only the first of each is a change
    assert [contacts.set_opted_out(RESIDENT, True, T0), contacts.set_opted_out(RESIDENT, True, T0 + 1)] == [True, False]
    assert contacts.opted_out(RESIDENT) is True
    assert [contacts.set_opted_out(RESIDENT, False, T0 + 2), contacts.set_opted_out(RESIDENT, False, T0 + 3)] == [
        True, False]
    assert contacts.opted_out(RESIDENT) is False
    # AND the table is keyed by a pseudonym of the phone, never the number
    [record] = list(bare_stack.contacts_model.scan())
    assert "13912345678" not in record.phone_key and record.opted_out is False


def test_the_same_stop_twice_at_once_is_one_change(bare_stack):
    # GIVEN a resident whose 退订 reached two workers at once
    # WHEN both record it at the same moment
    changed = at_once(lambda: bare_stack.contacts.set_opted_out(RESIDENT, True, T0),
                      lambda: bare_stack.contacts.set_opted_out(RESIDENT, True, T0))
    # THEN exactly one of them changed it (and so sends the one confirmation)
    assert sorted(changed) == [False, True]
    assert bare_stack.contacts.opted_out(RESIDENT) is True


def test_a_rate_limit_window_allows_its_limit_then_starts_again_when_it_ends(bare_stack):
    contacts, limit = bare_stack.contacts, ERROR_REPLIES
    # GIVEN error replies to one phone within an hour
    allowed = [contacts.allow(RESIDENT, limit.counter, limit.limit, limit.window, T0 + n) for n in range(5)]
    # THEN the first three go and the rest do not
    assert allowed == [True] * limit.limit + [False] * (5 - limit.limit)
    # AND another counter of the same phone has a window of its own
    assert contacts.allow(RESIDENT, "reports", 1, limit.window, T0 + 5) is True
    # WHEN the window has ended, THEN a new one starts
    assert contacts.allow(RESIDENT, limit.counter, limit.limit, limit.window, T0 + limit.window + 1) is True


def test_workers_counting_one_phone_at_once_each_count_and_only_the_limit_is_allowed(bare_stack):
    contacts, limit = bare_stack.contacts, ERROR_REPLIES
    # GIVEN eight replies to one phone, counted by eight workers at the same moment
    # WHEN each counts its own
    allowed = at_once(*[lambda: contacts.allow(RESIDENT, limit.counter, limit.limit, limit.window, T0)] * 8)
    # THEN every one was counted and exactly the limit was allowed
    assert sorted(allowed) == [False] * (8 - limit.limit) + [True] * limit.limit
    [window] = [r for r in bare_stack.contacts_model.scan() if r.phone_key.endswith(f"#{limit.counter}")]
    assert int(window.count) == 8
