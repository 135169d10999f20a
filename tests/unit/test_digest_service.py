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


# -- the month's orders and the away members' points ------------------------------------------------
def order_row(code, created, status="ordered", claimant=None):
    return {"code": code, "community_id": "changmu", "created_at": at(created), "status": status,
            "item": "medical_insurance_payment", "kind": "proxy_service", "dispatched": claimant is not None,
            "claimant": claimant, "claimed_at": at(created) + 600 if claimant else None, "done_at": None,
            "closed_at": None, "satisfied": True if status == "verified" else None}


@pytest.fixture
def with_orders(services, setting):
    from chalicelib.domain.points import Entry, member_account
    from chalicelib.services.points import PointsBank
    from tests.fakes import InMemoryOrderFacts, InMemoryPointsLedger

    # GIVEN September's orders (and one of August), and m34's credits: one in September, one in August
    orders = InMemoryOrderFacts([order_row("AUG001", "2026-08-31 10:00", "verified", "m03"),
                                 order_row("SEP001", "2026-09-02 10:00", "verified", "m03"),
                                 order_row("SEP002", "2026-09-15 10:00", "claimed", "m20"),
                                 order_row("SEP003", "2026-09-20 10:00")])
    ledger = InMemoryPointsLedger()
    account = member_account("changmu", "m34")
    for entry_id, when, points in (("event:changmu:a:" + account, "2026-08-20 10:00", 5),
                                   ("event:changmu:b:" + account, "2026-09-05 10:00", 3)):
        ledger.record(Entry(entry_id, at(when), "branch:changmu", account, points, "event_attended", "x"),
                      debit_floor=None)
    ledger.calls.clear()
    services.clock.now = at("2026-09-21 08:00")
    service = DigestService(services.cases, Places(services.cases), FakeWebhook(), InMemoryDigestLog(),
                            services.directory, services.categories, lambda: parse_config(setting["raw"]),
                            services.clock, orders=orders, points=PointsBank(ledger, {}, services.clock))
    return service, orders, ledger


def test_each_grid_s_digest_tells_the_month_s_orders_and_its_away_members_points(with_orders, services):
    service, orders, ledger = with_orders
    # WHEN the schedule runs
    result = service.run()
    # THEN the community's orders were one Query, and each away member's points one GetItem and one
    # Query, though m36 and m37 follow all four grids
    assert orders.calls == 1
    assert (ledger.calls["balance"], ledger.calls["entries"]) == (4, 4)
    assert [(d["grid"], d["orders"], d["orders_completed"]) for d in result["sent"]] == [
        (g, 3, 1) for g in ("g1", "g2", "g3", "g4")]
    g1, g3 = service._webhook.contents()[0], service._webhook.contents()[2]
    community = services.directory().communities["changmu"]
    tail = community.members["m34"].phone[-4:]
    # AND g1 (grid of m03, who completed SEP001) shows it; m34's line is September's +3 of a balance of 8
    assert "本社区点单 **3** · 已办结 1 · 办理中 2" in g1 and "本网格党员接单 1 · 已办结 1" in g1
    assert f"尾号{tail}：本月 +3 · 余额 8" in g1 and f"尾号{tail}" not in g3
    assert "本网格党员接单 1 · 已办结 0" in g3                         # m20's claim, in grid 3
    assert g1.count("尾号") == 3 and g3.count("尾号") == 3               # m34 / m35, m36, m37
    for member in community.members.values():
        assert all(member.name not in content for content in service._webhook.contents())


def test_a_community_that_turns_points_off_reads_no_points(with_orders, setting):
    service, orders, ledger = with_orders
    setting["raw"] = json.dumps({"changmu": {"url": URL, "hour": 8, "points": False}})
    service.run()
    assert ledger.calls["balance"] == ledger.calls["entries"] == 0
    assert all("外出党员本月积分" not in c and "为民服务" in c for c in service._webhook.contents())
