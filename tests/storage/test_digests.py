"""The daily digest's tables (chalicelib/adapters/digests.py) on both engines: the digests
table lets each digest go once, also when runs race for it, and the cases it names are
placed with one batch read of the cases table."""
from __future__ import annotations

import time

import pytest

from chalicelib.adapters.digests import DynamoCasePlaces, DynamoDigestLog, build_digest_model
from tests.storage.conftest import at_once

# The table's TTL removes items whose expires_at (now + 90 days) has passed, and DynamoDB
# Local does so within a second: the tests' clock must be the real one.
NOW = float(int(time.time()))


@pytest.fixture
def digest_log(bare_stack) -> DynamoDigestLog:
    config = bare_stack.config
    return DynamoDigestLog(build_digest_model(config.name("digests"), config.region, config.endpoint_url))


def test_the_digests_table_lets_one_run_send_each_digest_once(digest_log):
    log = digest_log
    key = ("changmu", "2026-09-21", "g1")
    assert log.status(*key) is None
    assert log.claim(*key, now=NOW, lease=120) == "claimed"
    assert log.claim(*key, now=NOW + 60, lease=120) == "busy"          # another run, within the lease
    log.failed(*key, now=NOW + 70, retry_at=NOW + 120, reason="errcode 45009, api freq out of limit")
    assert log.status(*key) == "failed"
    assert log.claim(*key, now=NOW + 100, lease=120) == "busy"          # backing off
    assert log.claim(*key, now=NOW + 121, lease=120) == "claimed"
    log.sent(*key, now=NOW + 125)
    assert log.claim(*key, now=NOW + 98999, lease=120) == "sent"         # never again that day
    log.failed(*key, now=NOW + 98999, retry_at=0, reason="late")          # a late failure changes nothing
    item = log._model.get("changmu", "2026-09-21#g1")
    assert (item.status, item.sent_at, int(item.attempts), item.error) == ("sent", NOW + 125, 2, None)
    assert item.expires_at > NOW + 125 + 80 * 86400
    # another grid, another day: their own records
    assert log.claim("changmu", "2026-09-21", "g2", now=NOW, lease=120) == "claimed"
    assert log.claim("changmu", "2026-09-22", "g1", now=NOW, lease=120) == "claimed"


def test_two_runs_that_both_read_nothing_yet_let_only_one_claim_through(digest_log, monkeypatch):
    log = digest_log
    model = log._model

    def nothing_yet(*args, **kwargs):
        raise model.DoesNotExist()

    # GIVEN both runs read "nothing there" before either writes: the conditional write decides
    monkeypatch.setattr(model, "get", nothing_yet)
    first = log.claim("changmu", "2026-09-21", "g1", now=NOW, lease=120)
    second = log.claim("changmu", "2026-09-21", "g1", now=NOW, lease=120)
    assert (first, second) == ("claimed", "busy")


def test_four_runs_claiming_one_digest_at_once_let_exactly_one_through(digest_log):
    # GIVEN the schedule fired on four containers at once
    # WHEN each claims the same digest at the same moment
    answers = at_once(*[lambda: digest_log.claim("changmu", "2026-09-21", "g1", now=NOW, lease=120)] * 4)
    # THEN one of them sends it and the others leave it
    assert sorted(answers) == ["busy", "busy", "busy", "claimed"]
    assert int(digest_log._model.get("changmu", "2026-09-21#g1").attempts) == 1


def test_the_places_of_named_cases_come_from_the_cases_table(stack):
    case = stack.intake.submit({"category": "sanitation", "location": "changmu-03-2",
                                "description": "楼道垃圾好几天没人清"})
    places = DynamoCasePlaces(stack.case_model)
    assert places.places([case.code, "NOSUCH"]) == {case.code: "changmu-03-2"}
    assert places.places([]) == {}
