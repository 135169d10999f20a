"""The weekly joint-meeting report, pure: the week, the figures of a known set of fact rows,
the HTML page (charts, escaping, self-contained) and the group robot's summary."""
from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.points import Entry
from chalicelib.domain.sla import fact_row
from chalicelib.domain.weekly import (
    InvalidWeek,
    Week,
    WeeklyConfigError,
    build_report,
    due_week,
    duration,
    honour_roll,
    listed,
    order_figures,
    parse_config,
    points_earned,
    render_html,
    summary_markdown,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = Week.parse("2026-W47")                                  # Monday 16 to Sunday 22 November 2026
BUILT = datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI).timestamp()
CATEGORIES = {"sanitation": {"name": {"zh": "环境卫生", "en": "Sanitation"}},
              "water_pipe": {"name": {"zh": "水管漏水", "en": "Water pipe leak"}},
              "medical_insurance": {"name": {"zh": "医保缴费代办", "en": "Medical insurance payment"}}}


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()


def row(code, created, *, grid="g1", status="assigned", level=1, category="sanitation", ack=None, ack_by=None,
        resolve=None, resolve_by=None, escalations=None, red=None, yellow=None, breaches=0):
    facts = {"escalations": escalations or {}, "supervisions_yellow": yellow or {},
             "supervisions_red": red or {}, "breaches": breaches}
    if ack is not None:
        facts.update(acknowledged_at=at(created) + ack, acknowledged_by=ack_by, seconds_to_acknowledge=ack)
    if resolve is not None:
        facts.update(resolved_at=at(created) + resolve, resolved_by=resolve_by, seconds_to_resolve=resolve)
    return fact_row(code=code, community_id="changmu", grid_id=grid, category=category, status=status,
                    level=level, holder=None, created_at=at(created), facts=facts)


ROWS = [
    # g1: in time all the way
    row("AAAAAA", "2026-11-16 10:00", status="resolved", ack=600, ack_by="m10", resolve=7200, resolve_by="m10"),
    # g1: climbed once before the grid member took it, then resolved after a red card
    row("BBBBBB", "2026-11-17 09:00", status="resolved", level=2, category="water_pipe", ack=3600, ack_by="m06",
        resolve=172800, resolve_by="m06", escalations={"1": 1}, red={"2": 1}, yellow={"2": 1}, breaches=2),
    # g1: still inside its first limit: neither met nor breached
    row("CCCCCC", "2026-11-18 11:00"),
    # g2: the committee holds it, acknowledged in time
    row("DDDDDD", "2026-11-19 15:00", grid="g2", status="acknowledged", level=4, category="medical_insurance",
        ack=1200, ack_by="m03"),
    # g1: from October, still open at the area chief's level after two red cards
    row("EEEEEE", "2026-10-20 10:00", status="acknowledged", level=5, ack=900, ack_by="m01",
        red={"5": 2}, breaches=2),
    # g1: after the week: in nothing
    row("FFFFFF", "2026-11-23 07:00"),
]
PLACES = {"CCCCCC": "changmu-01-1", "DDDDDD": "changmu-06-1", "EEEEEE": "changmu-02-2"}


@pytest.fixture
def changmu(communities):
    return next(c for c in communities if c.id == "changmu")


@pytest.fixture
def report(changmu):
    return build_report(changmu, WEEK, ROWS, PLACES, CATEGORIES, BUILT)


# -- the week -----------------------------------------------------------------------------------------
def test_an_iso_week_runs_from_monday_to_monday_local_time():
    assert (WEEK.name, WEEK.monday.isoformat(), WEEK.sunday.isoformat()) == ("2026-W47", "2026-11-16", "2026-11-22")
    assert (WEEK.since, WEEK.until) == (at("2026-11-16 00:00"), at("2026-11-23 00:00"))
    assert WEEK.label() == "2026年第47周（11月16日至11月22日）"
    assert Week.parse("2020-W53").monday.isoformat() == "2020-12-28"


@pytest.mark.parametrize("bad", ["2026-47", "2026-W7", "2026-W54", "W47", ""])
def test_a_week_that_is_not_an_iso_week_is_refused(bad):
    with pytest.raises(InvalidWeek):
        Week.parse(bad)


def test_last_week_is_due_from_monday_s_hour_until_sunday_night():
    # GIVEN the default hour, 08:00 Asia/Shanghai
    # WHEN the hourly schedule runs on Monday before, at, and later in the week
    # THEN last week's report is due from Monday 08:00 on, and nothing before
    assert due_week(at("2026-11-23 07:59"), 8) is None
    assert due_week(at("2026-11-23 08:00"), 8).name == "2026-W47"
    assert due_week(at("2026-11-29 23:59"), 8).name == "2026-W47"
    assert due_week(at("2026-11-30 08:00"), 8).name == "2026-W48"


# -- the figures ----------------------------------------------------------------------------------------
def test_a_grid_s_compliance_counts_what_met_and_what_breached_its_limits(report):
    # GIVEN g1's three cases of the week: one in time, one late twice, one still in its first limit
    g1 = report["grids"][0]
    # THEN each rate counts only the cases that could be rated
    assert (g1["id"], g1["name"], g1["cases"], g1["open"], g1["resolved"]) == ("g1", "第一网格", 3, 1, 2)
    assert (g1["acknowledged_in_time"], g1["acknowledged_late"], g1["acknowledge_rate"]) == (1, 1, 50.0)
    assert (g1["resolved_in_time"], g1["resolved_late"], g1["resolve_rate"]) == (1, 1, 50.0)
    assert (g1["met"], g1["breached"], g1["compliance"]) == (1, 1, 50.0)
    assert (g1["escalations"], g1["supervisions_yellow"], g1["supervisions_red"]) == ({"1": 1}, {"2": 1}, {"2": 1})
    assert g1["median_seconds_to_acknowledge"] == 2100.0 and g1["p90_seconds_to_acknowledge"] == 3300.0
    assert [(c["code"], c["cases"]) for c in g1["categories"]] == [("sanitation", 2), ("water_pipe", 1)]
    # AND a grid without cases has no rate rather than 0% or 100%
    g3 = report["grids"][2]
    assert (g3["cases"], g3["compliance"], g3["acknowledge_rate"], g3["resolve_rate"]) == (0, None, None, None)


def test_the_community_s_total_counts_every_grid_s_cases_of_the_week_only(report):
    total = report["total"]
    assert (total["cases"], total["met"], total["breached"], total["compliance"]) == (4, 2, 1, 66.7)
    assert report["week"] == "2026-W47" and report["since"] == "2026-11-16T00:00:00+08:00"
    assert report["built_at"] == "2026-11-23T08:00:00+08:00"
    # FFFFFF (next week) and EEEEEE (October) are not in the week's figures
    assert sum(g["cases"] for g in report["grids"]) == 4


def test_members_are_named_with_their_own_times(report, changmu):
    members = {m["id"]: m for m in report["grids"][0]["members"]}
    assert sorted(members) == ["m06", "m10"]
    assert members["m10"]["name"] == changmu.members["m10"].name
    assert "楼道长" in members["m10"]["roles"] and "楼长" in members["m10"]["roles"]
    assert (members["m10"]["acknowledged"], members["m10"]["median_seconds_to_acknowledge"],
            members["m10"]["median_seconds_to_resolve"]) == (1, 600.0, 7200.0)
    assert (members["m06"]["resolved"], members["m06"]["p90_seconds_to_resolve"], members["m06"]["breaches"]) \
        == (1, 172800.0, 2)


def test_open_cases_at_the_top_levels_and_the_longest_open_are_listed_with_place_and_age(report):
    # EEEEEE is October's, open at the area chief's level; DDDDDD at the committee's
    assert [(c["code"], c["level"], c["level_name"]) for c in report["open_top_levels"]] == [
        ("EEEEEE", 5, "片长"), ("DDDDDD", 4, "社区两委")]
    eeeeee = report["open_top_levels"][0]
    assert (eeeeee["place"], eeeeee["grid_name"], eeeeee["days_open"], eeeeee["supervisions_red"]) == \
        ("2号楼2单元", "第一网格", 33.9, 2)
    assert [c["code"] for c in report["grids"][0]["longest_open"]] == ["EEEEEE", "CCCCCC"]
    assert [c["code"] for c in report["grids"][1]["open_top_levels"]] == ["DDDDDD"]
    assert (report["total"]["open_total"], report["total"]["open_top_levels"]) == (3, 2)
    # the places the service must look up are exactly the listed cases'
    assert listed(ROWS, WEEK) == {"CCCCCC", "DDDDDD", "EEEEEE"}


def test_the_report_is_plain_json_without_resident_data(report):
    text = json.dumps(report, ensure_ascii=False)
    assert json.loads(text) == report
    for key in ("phone", "reporter", "description", "holder"):
        assert f'"{key}"' not in text


# -- the HTML page ----------------------------------------------------------------------------------------
def test_the_page_has_its_four_charts_and_tables(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert page.count("<svg ") == 4
    for title in ("各网格达标率", "主要类别", "接单用时", "办结用时"):
        assert f'aria-label="{title}' in page
    # one bar per grid and series in the compliance chart: 4 grids and the total, 3 series
    compliance_chart = page.split("<svg ")[1]
    assert compliance_chart.count('height="13" fill=') == 15
    assert "第一网格 · SLA达标率: 50%" in compliance_chart
    assert "EEEEEE" in page and "2号楼2单元" in page and "33.9天" in page


def test_the_page_is_self_contained(report):
    page = render_html(report)
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    assert not re.search(r"(src|href)=", page)
    assert set(re.findall(r"https?://[^\"' )]+", page)) == {"http://www.w3.org/2000/svg"}


def test_everything_on_the_page_is_escaped(report):
    # GIVEN names that are markup (a directory or category typed by hand)
    report["grids"][0]["name"] = "<script>alert('g')</script>"
    report["grids"][0]["members"][0]["name"] = 'Tom & "Jerry" <u>'
    report["categories"][0]["name"]["zh"] = "<img src=x onerror=1>"
    report["community"]["name"]["zh"] = "常牧</title><script>"
    page = render_html(report)
    assert "<script" not in page and "<img" not in page and "<u>" not in page
    assert "&lt;script&gt;alert(&#x27;g&#x27;)&lt;/script&gt;" in page
    assert "Tom &amp; &quot;Jerry&quot; &lt;u&gt;" in page
    assert "&lt;img src=x onerror=1&gt;" in page


# -- the group robot's summary -------------------------------------------------------------------------------
def test_the_summary_names_cases_and_grids_but_no_member(report, changmu):
    text = summary_markdown(report)
    assert text.startswith("### 【常牧家园】多方联席会议周报\n> 2026年第47周（11月16日至11月22日）")
    assert "SLA达标率 **66.7%**" in text and "第一网格：受理 3 · 达标率 50%" in text
    assert "`EEEEEE` 环境卫生 · 2号楼2单元 · 片长 · 已33.9天" in text
    for member in ("m01", "m03", "m06", "m10"):
        assert changmu.members[member].name not in text
    assert len(text.encode("utf-8")) <= 4096


def test_a_long_summary_stays_within_the_robot_s_limit(changmu):
    many = [row(f"T{n:05d}", "2026-11-17 09:00", status="acknowledged", level=4, ack=60, ack_by="m03")
            for n in range(200)]
    report = build_report(changmu, WEEK, many, {}, CATEGORIES, BUILT)
    text = summary_markdown(report)
    assert len(text.encode("utf-8")) <= 4096 and "……另有" in text
    assert len(report["open_top_levels"]) == 20          # capped: the stored item stays small


# -- configuration and words -------------------------------------------------------------------------------
def test_the_configuration_takes_a_url_or_settings_and_names_what_is_wrong():
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=committee-key"
    assert parse_config(None) == {} and parse_config(" ") == {}
    assert parse_config(json.dumps({"changmu": url}))["changmu"].hour == 8
    config = parse_config(json.dumps({"changmu": {"url": url, "hour": 9, "open_days": 60}}))["changmu"]
    assert (config.url, config.hour, config.open_days, config.timezone) == (url, 9, 60, "Asia/Shanghai")
    for bad, message in (({"changmu": {"url": "http://robot.example/x"}}, "changmu.url"),
                         ({"changmu": {"url": url, "hour": 24}}, "changmu.hour"),
                         ({"changmu": {"url": url, "colour": "red"}}, "unknown setting 'colour'"),
                         ({"changmu": {"url": url, "timezone": "Mars/Base"}}, "changmu.timezone")):
        with pytest.raises(WeeklyConfigError, match=re.escape(message)) as error:
            parse_config(json.dumps(bad))
        assert "committee-key" not in str(error.value)


@pytest.mark.parametrize("seconds, said", [(None, "—"), (600, "10分钟"), (5400, "1.5小时"), (190000, "2.2天")])
def test_durations_read_as_people_say_them(seconds, said):
    assert duration(seconds) == said


# -- the service orders and the points honour roll -------------------------------------------------

HOUR = 3600.0
RESIDENT_PHONE = "+8613709741001"          # a household of changmu: never in an order's row


def order(code, kind, created, *, status="ordered", dispatched=False, claim=None, done=None, closed=None,
          satisfied=None, claimant=None, item="medical_insurance_payment"):
    """A row as the orders table's by-community index projects it: `claim`, `done` and `closed`
    are seconds after `created`."""
    start = at(created)
    return {"code": code, "community_id": "changmu", "created_at": start, "status": status, "item": item,
            "kind": kind, "dispatched": dispatched, "claimant": claimant, "satisfied": satisfied,
            "claimed_at": None if claim is None else start + claim, "done_at": None if done is None else start + done,
            "closed_at": None if closed is None else start + closed}


ORDERS = [
    # proxy services: one verified (rated 1), one rated 2 and back in progress, one waiting for dispatch
    order("P00001", "proxy_service", "2026-11-16 09:00", status="verified", dispatched=True, claim=HOUR,
          done=5 * HOUR, closed=6 * HOUR, satisfied=True, claimant="m03"),
    order("P00002", "proxy_service", "2026-11-17 09:00", status="in_progress", dispatched=True, claim=3 * HOUR,
          satisfied=False, claimant="m06"),
    order("P00003", "proxy_service", "2026-11-20 09:00"),
    # a care visit assigned and verified; a micro-wish refused
    order("C00001", "care_visit", "2026-11-18 10:00", status="verified", dispatched=True, claim=0, done=2 * HOUR,
          closed=3 * HOUR, satisfied=True, claimant="m20", item="care_visit"),
    order("W00001", "micro_wish", "2026-11-19 10:00", status="refused", item="micro_wish"),
    # before and after the week: in nothing
    order("P00000", "proxy_service", "2026-11-15 23:00", status="verified", dispatched=True, claim=60, done=120,
          closed=180, satisfied=True, claimant="m03"),
    order("P00009", "proxy_service", "2026-11-23 00:00"),
]
POINTS = {"m03": 12, "m06": 10, "m20": 5, "m10": 0, "household:changmu:changmu-03-2": 30, "nobody": 40}


@pytest.fixture
def with_orders(changmu):
    return build_report(changmu, WEEK, ROWS, PLACES, CATEGORIES, BUILT, orders=ORDERS, points=POINTS)


def test_given_the_week_s_orders_when_reported_then_each_kind_counts_ordered_dispatched_claimed_completed(
        with_orders):
    # GIVEN five orders placed in the week (and one just before, one just after)
    # WHEN the report is built
    orders = with_orders["orders"]
    kinds = {k["kind"]: k for k in orders["kinds"]}
    # THEN every kind of the catalogue has its line, in the catalogue's order, with nothing too
    assert [k["kind"] for k in orders["kinds"]] == ["proxy_service", "care_visit", "help_at_home", "micro_wish"]
    assert kinds["proxy_service"]["name"] == {"zh": "代办服务", "en": "Proxy services"}
    proxy = kinds["proxy_service"]
    assert (proxy["ordered"], proxy["dispatched"], proxy["claimed"], proxy["completed"], proxy["open"]) == \
        (3, 2, 2, 1, 2)
    assert (kinds["care_visit"]["ordered"], kinds["care_visit"]["completed"]) == (1, 1)
    assert (kinds["micro_wish"]["ordered"], kinds["micro_wish"]["refused"], kinds["micro_wish"]["claimed"]) == \
        (1, 1, 0)
    assert kinds["help_at_home"]["ordered"] == 0 and kinds["help_at_home"]["satisfaction"] is None
    # AND the total is the week's five
    total = orders["total"]
    assert (total["ordered"], total["dispatched"], total["claimed"], total["completed"]) == (5, 3, 3, 2)


def test_the_medians_run_from_the_order_and_satisfaction_is_the_share_of_answers_rated_1(with_orders):
    kinds = {k["kind"]: k for k in with_orders["orders"]["kinds"]}
    proxy, total = kinds["proxy_service"], with_orders["orders"]["total"]
    # claims after 1 h and 3 h; the one completed was done 5 h after it was ordered
    assert (proxy["median_seconds_to_claim"], proxy["median_seconds_to_complete"]) == (2 * HOUR, 5 * HOUR)
    assert (total["median_seconds_to_claim"], total["median_seconds_to_complete"]) == (HOUR, 3.5 * HOUR)
    # one rated 1, one rated 2: 50%; the care visit's 1 makes the total 2 of 3
    assert (proxy["confirmations"], proxy["satisfied"], proxy["satisfaction"]) == (2, 1, 50.0)
    assert (total["confirmations"], total["satisfied"], total["satisfaction"]) == (3, 2, 66.7)
    assert order_figures([])["median_seconds_to_claim"] is None


def test_the_honour_roll_names_members_with_the_most_points_in_all_and_per_grid(with_orders, changmu):
    roll = with_orders["orders"]["honour_roll"]
    # GIVEN points for three members, a member with none, a household and an unknown id
    # THEN only the members who earned are on it, most first, by name with their grids
    assert [(m["id"], m["points"]) for m in roll] == [("m03", 12), ("m06", 10), ("m20", 5)]
    assert roll[0]["name"] == changmu.members["m03"].name and roll[1]["grid_names"] == ["第一网格", "第二网格"]
    # AND each grid lists the members named on it
    grids = {g["id"]: g for g in with_orders["grids"]}
    assert [m["id"] for m in grids["g1"]["honour_roll"]] == ["m03", "m06"]
    assert [m["id"] for m in grids["g2"]["honour_roll"]] == ["m06"]
    assert [m["id"] for m in grids["g3"]["honour_roll"]] == ["m20"]
    assert grids["g4"]["honour_roll"] == []
    assert honour_roll(changmu, {f"m{n:02d}": n for n in range(1, 40)})[0]["id"] == "m39"


def test_the_orders_section_carries_no_resident_data(with_orders, changmu):
    text = json.dumps(with_orders, ensure_ascii=False)
    assert json.loads(text) == with_orders
    for secret in (RESIDENT_PHONE, RESIDENT_PHONE[3:], "household", "changmu-03-2"):
        assert secret not in text
    for key in ("phone", "orderer", "location", "wish"):
        assert f'"{key}"' not in text


def test_the_points_earned_are_credits_less_the_reversals_of_earnings():
    account = "member:changmu:m03"
    entries = [Entry("order:A:verified", 1.0, "branch:changmu", account, 12, "order_verified", "A"),
               Entry("case:B:m03", 2.0, "branch:changmu", account, 5, "case_resolved", "B"),
               Entry("event:changmu:e:" + account, 3.0, "branch:changmu", account, 3, "event_attended", "e"),
               Entry("reversal:case:B:m03", 4.0, account, "branch:changmu", 5, "reversal", "case:B:m03"),
               Entry("redeem:changmu:R1", 5.0, account, "shop:changmu", 20, "redeemed", "rice"),
               Entry("reversal:redeem:changmu:R1", 6.0, "shop:changmu", account, 20, "reversal", "redeem:changmu:R1")]
    assert points_earned(entries, account) == 15
    assert points_earned(entries, "member:changmu:m06") == 0


def test_the_page_has_the_orders_section_and_the_honour_rolls(with_orders, changmu):
    page = render_html(with_orders)
    assert page.count("<svg ") == 4
    assert "为民服务（三单）Service orders" in page and "代办服务 Proxy services" in page
    assert "50%（1/2）" in page and "66.7%（2/3）" in page
    assert page.count("积分榜 Points honour roll") == 1 + len(with_orders["grids"])
    assert changmu.members["m03"].name in page and RESIDENT_PHONE[3:] not in page


def test_the_summary_counts_the_orders_but_names_no_member(with_orders, changmu):
    text = summary_markdown(with_orders)
    assert "**为民服务（三单）** 点单 5 · 派单 3 · 接单 3 · 办结 2 · 满意率 66.7%" in text
    for member in ("m03", "m06", "m20"):
        assert changmu.members[member].name not in text


def test_a_report_without_orders_says_so_rather_than_failing(report):
    orders = report["orders"]
    assert orders["total"]["ordered"] == 0 and orders["honour_roll"] == []
    assert "本周没有成员获得积分" in render_html(report)


# -- the service over fakes: what it reads -------------------------------------------------------------
def test_the_service_reads_the_week_s_orders_in_one_query_and_each_member_s_week_once(services, changmu):
    from chalicelib.domain.points import member_account
    from chalicelib.services.weekly import WeeklyReports
    from tests.fakes import InMemoryOrderFacts, InMemoryPointsLedger

    # GIVEN the week's orders on the index and m03's credits in the ledger, one of them last week
    orders, ledger = InMemoryOrderFacts(ORDERS), InMemoryPointsLedger()
    account = member_account("changmu", "m03")
    ledger.record(Entry("order:P00001:verified", at("2026-11-16 15:00"), "branch:changmu", account, 12,
                        "order_verified", "P00001"), debit_floor=None)
    ledger.record(Entry("order:P00000:verified", at("2026-11-15 23:03"), "branch:changmu", account, 10,
                        "order_verified", "P00000"), debit_floor=None)
    services.clock.now = BUILT
    weekly = WeeklyReports(services.cases, type("NoPlaces", (), {"places": lambda self, codes: {}})(), None, None,
                           services.directory, CATEGORIES, dict, services.clock, orders=orders, ledger=ledger)

    # WHEN the report of the week is built
    report = weekly.build("changmu", "2026-W47")

    # THEN the orders were one Query, the ledger one Query per member of the community
    assert orders.calls == 1 and ledger.calls["entries"] == len(changmu.members)
    assert report["orders"]["total"]["ordered"] == 5
    assert [(m["id"], m["points"]) for m in report["orders"]["honour_roll"]] == [("m03", 12)]
