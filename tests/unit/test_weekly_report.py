"""The weekly joint-meeting report, pure: the week, the figures of a known set of fact rows,
the HTML page (charts, escaping, self-contained) and the group robot's summary."""
from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.sla import fact_row
from chalicelib.domain.weekly import (
    InvalidWeek,
    Week,
    WeeklyConfigError,
    build_report,
    due_week,
    duration,
    listed,
    parse_config,
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
