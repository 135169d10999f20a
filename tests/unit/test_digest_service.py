"""The daily digest service over in-memory fakes: when it sends, to whom, once a day,
and what happens when a webhook fails."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.digest import DigestConfigError, parse_config
from chalicelib.services.digest import LEASE_SECONDS, RETRY_AFTER, DigestFailed, DigestService

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=unit-test-key"
OTHER = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=grid-three-key"


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()


class FakeWebhook:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.failing: set[str] = set()

    def post(self, url, payload):
        if url in self.failing:
            raise ConnectionError("robot unreachable")
        self.posts.append((url, json.loads(json.dumps(payload))))

    def contents(self, url=None):
        return [p[p["msgtype"]]["content"] for u, p in self.posts if url is None or u == url]


class InMemoryDigestLog:
    """As the digests table: one record per community, day and grid."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict] = {}

    def claim(self, community_id, day, grid_id, now, lease):
        item = self.items.get((community_id, day, grid_id))
        if item is not None and item["status"] == "sent":
            return "sent"
        if item is not None and item["claimed_until"] > now:
            return "busy"
        self.items[(community_id, day, grid_id)] = {
            "status": "claimed", "claimed_until": now + lease,
            "attempts": (item["attempts"] if item else 0) + 1, "error": item and item["error"]}
        return "claimed"

    def sent(self, community_id, day, grid_id, now):
        self.items[(community_id, day, grid_id)].update(status="sent", sent_at=now, claimed_until=0, error=None)

    def failed(self, community_id, day, grid_id, now, retry_at, reason):
        self.items[(community_id, day, grid_id)].update(status="failed", claimed_until=retry_at, error=reason)


class Places:
    def __init__(self, cases):
        self.cases, self.asked = cases, []

    def places(self, codes):
        codes = list(codes)
        self.asked.append(codes)
        return {c: self.cases.items[c]["location"] for c in codes if c in self.cases.items}


@pytest.fixture
def setting(monkeypatch):
    value = {"raw": json.dumps({"changmu": {"url": URL, "grids": {"g3": OTHER}, "hour": 8}})}
    return value


@pytest.fixture
def digest(services, setting):
    services.clock.now = at("2026-09-21 07:00")
    webhook, log = FakeWebhook(), InMemoryDigestLog()
    service = DigestService(services.cases, Places(services.cases), webhook, log, services.directory,
                            services.categories, lambda: parse_config(setting["raw"]), services.clock)
    service.webhook, service.log = webhook, log
    return service


def report(services, location="changmu-01-1", category="sanitation", **extra):
    case = services.intake.submit({"category": category, "location": location,
                                   "description": "楼道垃圾没人清", "phone": "13912345678", "name": "卓玛", **extra})
    services.run_intake()
    return case.code


def test_given_the_hour_has_not_come_when_the_schedule_runs_then_nothing_is_sent(services, digest):
    report(services)
    assert digest.run() == {"sent": []}
    assert digest.webhook.posts == [] and digest.log.items == {}


def test_given_the_hour_when_the_schedule_runs_then_each_followed_grid_gets_its_digest_once(services, digest):
    code = report(services)                                  # building 1: grid g1
    services.clock.now = at("2026-09-21 08:00")
    result = digest.run()
    # changmu's away volunteers m36 and m37 follow every grid: four digests, g3's to its own robot
    assert [(d["grid"], d["new"], d["open"]) for d in result["sent"]] == [
        ("g1", 1, 1), ("g2", 0, 0), ("g3", 0, 0), ("g4", 0, 0)]
    assert [u for u, _ in digest.webhook.posts] == [URL, URL, OTHER, URL]
    g1 = digest.webhook.contents()[0]
    assert g1.startswith("### 【常牧家园】第一网格 每日简报")
    assert f"`{code}` 环境卫生 · 1号楼1单元 · 待接单 · 第1级" in g1
    assert "本网格外出党员 3 人" in g1
    for private in ("13912345678", "卓玛", "楼道垃圾没人清"):
        assert private not in g1
    assert {k: v["status"] for k, v in digest.log.items.items()} == {
        ("changmu", "2026-09-21", g): "sent" for g in ("g1", "g2", "g3", "g4")}

    # later the same day: nothing more, and no reads at all (this container knows)
    services.clock.now = at("2026-09-21 09:00")
    cases_read = digest._cases.sla_facts
    digest._cases.sla_facts = lambda *a: pytest.fail("read again")   # type: ignore[method-assign]
    assert digest.run() == {"sent": []}
    digest._cases.sla_facts = cases_read
    assert len(digest.webhook.posts) == 4

    # the next day: yesterday's case is no longer new, still open
    services.clock.now = at("2026-09-22 08:00")
    sent = digest.run()["sent"]
    assert [(d["grid"], d["day"], d["new"], d["open"]) for d in sent][0] == ("g1", "2026-09-22", 0, 1)


def test_given_another_container_sent_it_when_the_schedule_runs_then_it_is_not_sent_again(services, digest):
    services.clock.now = at("2026-09-21 08:00")
    digest.run()
    other = DigestService(services.cases, Places(services.cases), digest.webhook, digest.log, services.directory,
                          services.categories, digest._settings, services.clock)
    assert other.run() == {"sent": []}
    assert len(digest.webhook.posts) == 4


def test_given_a_run_in_progress_when_another_runs_then_the_claimed_grid_is_left_to_it(services, digest):
    services.clock.now = at("2026-09-21 08:00")
    digest.log.claim("changmu", "2026-09-21", "g2", services.clock.now, LEASE_SECONDS)   # someone else's
    assert [d["grid"] for d in digest.run()["sent"]] == ["g1", "g3", "g4"]
    # that run crashed without marking it: once its lease is over, g2 goes out
    services.clock.advance(LEASE_SECONDS + 1)
    assert [d["grid"] for d in digest.run()["sent"]] == ["g2"]


def test_given_a_failing_webhook_when_the_schedule_runs_then_it_raises_and_a_later_run_retries(services, digest):
    services.clock.now = at("2026-09-21 08:00")
    digest.webhook.failing.add(OTHER)
    with pytest.raises(DigestFailed) as failure:
        digest.run()
    assert "changmu g3 → https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…" in str(failure.value)
    assert "grid-three-key" not in str(failure.value)
    assert [u for u, _ in digest.webhook.posts] == [URL, URL, URL]          # the others went out
    record = digest.log.items[("changmu", "2026-09-21", "g3")]
    assert record["status"] == "failed" and "robot unreachable" in record["error"]

    # a retry during the back-off does not hammer the robot
    services.clock.advance(RETRY_AFTER / 2)
    assert digest.run() == {"sent": []}
    # after it, with the robot back, only g3 goes out
    digest.webhook.failing.clear()
    services.clock.advance(RETRY_AFTER)
    assert [d["grid"] for d in digest.run()["sent"]] == ["g3"]
    assert digest.log.items[("changmu", "2026-09-21", "g3")]["attempts"] == 2
    assert len(digest.webhook.posts) == 4


def test_given_no_setting_when_the_schedule_runs_then_nothing_happens(services, digest, setting):
    setting["raw"] = ""
    services.clock.now = at("2026-09-21 08:00")
    assert digest.run() == {"sent": []}


def test_given_a_broken_setting_when_the_schedule_runs_then_it_fails_loudly(services, digest, setting):
    setting["raw"] = json.dumps({"changmu": {"url": URL, "hour": 25}})
    services.clock.now = at("2026-09-21 08:00")
    with pytest.raises(DigestConfigError, match="changmu.hour"):
        digest.run()


def test_given_a_community_without_away_members_then_it_gets_no_digest_unless_a_grid_is_named(services, digest,
                                                                                              setting):
    setting["raw"] = json.dumps({"garang": URL})
    services.clock.now = at("2026-09-21 08:00")
    assert digest.run() == {"sent": []}
    setting["raw"] = json.dumps({"garang": {"grids": {"g1": URL}}})
    assert [(d["community"], d["grid"]) for d in digest.run()["sent"]] == [("garang", "g1")]


def test_given_a_community_unknown_to_the_directory_then_it_is_skipped(services, digest, setting):
    setting["raw"] = json.dumps({"nowhere": URL, "changmu": {"url": URL, "grids": {"g2": None, "g3": None,
                                                                                   "g4": None}}})
    services.clock.now = at("2026-09-21 08:00")
    assert [d["grid"] for d in digest.run()["sent"]] == ["g1"]


def test_only_the_places_of_named_cases_are_read(services, digest):
    services.clock.now = at("2026-09-01 10:00")
    old = report(services)
    services.clock.now = at("2026-09-21 07:30")
    new = report(services, "changmu-03-2")
    services.clock.now = at("2026-09-21 08:00")
    digest.run()
    assert digest._places.asked == [sorted([old, new])]


def test_on_demand_it_covers_the_last_24_hours_and_is_not_recorded(services, digest):
    services.clock.now = at("2026-09-21 10:00")
    code = report(services)
    services.clock.now = at("2026-09-21 10:05")
    result = digest.send_now("changmu")
    assert [d["grid"] for d in result["sent"]] == ["g1", "g2", "g3", "g4"]
    assert f"`{code}`" in digest.webhook.contents()[0] and "新受理 **1**" in digest.webhook.contents()[0]
    assert digest.log.items == {}
    assert len(digest.run()["sent"]) == 4          # the scheduled one still goes out
    assert digest.send_now("nowhere") == {"sent": []}


def test_a_preview_shows_the_digests_without_sending(services, digest):
    report(services)
    previews = digest.preview("changmu")
    assert [p.grid_id for p in previews] == ["g1", "g2", "g3", "g4"]
    assert digest.webhook.posts == []
