"""The away members' daily digest, pure: configuration, who follows which grid, which day
is due, and what a grid's digest says (and never says)."""
from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.digest import (
    CONTENT_BYTES,
    DigestConfig,
    DigestConfigError,
    Window,
    away_followers,
    due_window,
    grid_digest,
    grids_to_send,
    mentioned,
    month_orders,
    parse_config,
    phone_tails,
    points_lines,
    redact,
    window_until,
)
from chalicelib.domain.sla import fact_row
from tests.unit.builders import tiny, tiny_dict

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-robot-key"


def at(text: str) -> float:
    """Epoch seconds of a local (Asia/Shanghai) time, "2026-09-21 08:00"."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp()


WINDOW = Window(date(2026, 9, 21), at("2026-09-20 08:00"), at("2026-09-21 08:00"))


def row(code, status="assigned", level=1, created="2026-09-21 07:00", *, category="sanitation", grid="g1",
        resolved=None, escalations=None, yellow=None, red=None, **extra):
    facts = {"escalations": escalations or {}, "supervisions_yellow": yellow or {},
             "supervisions_red": red or {}, "breaches": 0, **extra}
    if resolved is not None:
        facts.update(resolved_at=at(resolved), resolved_by="sl", resolved_level=level)
    return fact_row(code=code, community_id="tiny", grid_id=grid, category=category, status=status,
                    level=level, holder="sl", created_at=at(created), facts=facts)


CATEGORIES = {"sanitation": "环境卫生", "water_pipe": "水管漏水", "heating": "供暖问题"}
PLACES = {"NEW111": "tiny-01-1", "OLD222": "tiny-02", "DONE33": "tiny-01-2", "LATE44": "tiny-02-1",
          "GONE55": "tiny-01-1"}


# -- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    (None, {}),
    ("", {}),
    ("  ", {}),
    (json.dumps({"changmu": URL}), {"changmu": DigestConfig("changmu", URL)}),
    (json.dumps({"changmu": {"url": URL, "hour": 7, "timezone": "Asia/Urumqi", "msgtype": "text",
                             "open_days": 14}}),
     {"changmu": DigestConfig("changmu", URL, {}, 7, "Asia/Urumqi", "text", 14)}),
    (json.dumps({"changmu": {"grids": {"g1": URL, "g2": None}}}),
     {"changmu": DigestConfig("changmu", None, {"g1": URL, "g2": None})}),
    (json.dumps({"changmu": {"url": "http://127.0.0.1:8000/dev/webhook", "hour": 0}}),
     {"changmu": DigestConfig("changmu", "http://127.0.0.1:8000/dev/webhook", hour=0)}),
    (json.dumps({"a": {"url": "http://localhost:9/x"}, "b": {"url": "http://[::1]:9/x", "hour": 23}}),
     {"a": DigestConfig("a", "http://localhost:9/x"), "b": DigestConfig("b", "http://[::1]:9/x", hour=23)}),
])
def test_given_a_setting_when_parsed_then_each_community_has_its_digest(raw, expected):
    assert parse_config(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("{not json", "not valid JSON"),
    ('["changmu"]', "must be a JSON object"),
    (json.dumps({"changmu": 8}), "changmu: give a webhook URL"),
    (json.dumps({"changmu": {"url": URL, "hours": 8}}), "unknown setting 'hours'"),
    (json.dumps({"changmu": {"hour": 8}}), "changmu: no webhook"),
    (json.dumps({"changmu": {"grids": {"g1": None}}}), "changmu: no webhook"),
    (json.dumps({"changmu": {"url": URL, "hour": 24}}), "changmu.hour must be a whole hour"),
    (json.dumps({"changmu": {"url": URL, "hour": "8"}}), "changmu.hour must be a whole hour"),
    (json.dumps({"changmu": {"url": URL, "hour": True}}), "changmu.hour must be a whole hour"),
    (json.dumps({"changmu": {"url": URL, "timezone": "Mars/Olympus"}}), "unknown time zone"),
    (json.dumps({"changmu": {"url": URL, "msgtype": "news"}}), "changmu.msgtype"),
    (json.dumps({"changmu": {"url": URL, "open_days": 0}}), "changmu.open_days"),
    (json.dumps({"changmu": {"url": URL, "grids": ["g1"]}}), "changmu.grids must be an object"),
    (json.dumps({"changmu": {"url": "ftp://example.com/x?key=secret-robot-key"}}), "changmu.url must be an https"),
    (json.dumps({"changmu": {"url": "file:///etc/passwd"}}), "changmu.url must be an https"),
    (json.dumps({"changmu": {"url": "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-robot-key"}}),
     "plain http is only for 127.0.0.1"),
    (json.dumps({"changmu": {"url": URL, "grids": {"g2": "https:///nohost?key=secret-robot-key"}}}),
     "changmu.grids.g2 must be an https"),
])
def test_given_a_bad_setting_when_parsed_then_the_error_names_it_but_never_the_key(raw, message):
    with pytest.raises(DigestConfigError) as error:
        parse_config(raw)
    assert message in str(error.value)
    assert "secret-robot-key" not in str(error.value)


@pytest.mark.parametrize("url, shown", [
    (URL, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"),
    ("http://127.0.0.1:8000/dev/webhook", "http://127.0.0.1:8000/dev/webhook"),
    ("https://oapi.dingtalk.com/robot/send?access_token=abc", "https://oapi.dingtalk.com/robot/send?…"),
])
def test_given_a_webhook_url_when_redacted_then_its_key_is_gone(url, shown):
    assert redact(url) == shown


# -- who follows which grid ---------------------------------------------------------------------
def two_grids(**categories: str):
    """The tiny community with a second grid g2 (building 2) and members' categories set."""
    data = tiny_dict()
    data["grids"].append({"id": "g2", "name": "第二网格", "chief": "chief", "members": ["gm2"]})
    data["buildings"][1]["grid"] = "g2"
    data["grids"][0]["members"] = ["gm"]
    data["members"].append({"id": "free", "name": "流动党员", "phone": "+8613900000099", "roles": []})
    for member in data["members"]:
        member["category"] = categories.get(member["id"], "at_home")
    from chalicelib.domain.directory import Community
    return Community.from_dict(data)


@pytest.mark.parametrize("away, expected", [
    ({}, {"g1": (), "g2": ()}),
    ({"sl": "away"}, {"g1": ("sl",), "g2": ()}),                 # stairwell leader of 1-1: g1
    ({"sl2": "away"}, {"g1": (), "g2": ("sl2",)}),               # stairwell leader of 2-1: g2
    ({"bl": "away"}, {"g1": ("bl",), "g2": ("bl",)}),            # leads building 1 (g1) and 2 (g2)
    ({"gm2": "away"}, {"g1": (), "g2": ("gm2",)}),               # grid member of g2 and building 2
    ({"chief": "away"}, {"g1": ("chief",), "g2": ("chief",)}),   # chief of both
    ({"free": "away"}, {"g1": ("free",), "g2": ("free",)}),      # named nowhere: the whole community
    ({"sl": "elderly", "sl2": "at_home"}, {"g1": (), "g2": ()}),  # only away members follow
    ({"sl": "away", "free": "away"}, {"g1": ("free", "sl"), "g2": ("free",)}),
])
def test_given_away_members_when_grids_are_followed_then_each_follows_the_grids_they_are_named_on(away, expected):
    assert away_followers(two_grids(**away)) == expected


def test_the_demo_community_s_away_members_follow_their_grids(communities):
    changmu = next(c for c in communities if c.id == "changmu")
    followers = away_followers(changmu)
    # m34 and m35 are away stairwell leaders (grids 1 and 3); m36 and m37 are away
    # volunteers named on no grid, so they follow all four.
    assert followers == {"g1": ("m34", "m36", "m37"), "g2": ("m36", "m37"),
                         "g3": ("m35", "m36", "m37"), "g4": ("m36", "m37")}
    assert changmu.member_grids()["m34"] == {"g1"}


@pytest.mark.parametrize("config, expected", [
    (DigestConfig("tiny", URL), [("g1", URL, 1)]),                       # only g1 has an away follower
    (DigestConfig("tiny", URL, {"g2": "https://b.example/x"}), [("g1", URL, 1), ("g2", "https://b.example/x", 0)]),
    (DigestConfig("tiny", URL, {"g1": None}), []),                       # muted
    (DigestConfig("tiny", None, {"g2": "https://b.example/x"}), [("g2", "https://b.example/x", 0)]),
])
def test_given_a_config_when_grids_are_chosen_then_away_followed_or_named_grids_go_out(config, expected):
    assert grids_to_send(two_grids(sl="away"), config) == expected


# -- when ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hour, now, expected", [
    (8, "2026-09-21 07:59", None),
    (8, "2026-09-21 08:00", (date(2026, 9, 21), "2026-09-20 08:00", "2026-09-21 08:00")),
    (8, "2026-09-21 23:59", (date(2026, 9, 21), "2026-09-20 08:00", "2026-09-21 08:00")),   # caught up
    (8, "2026-09-22 00:10", None),                                       # a new day, not yet due
    (0, "2026-09-22 00:10", (date(2026, 9, 22), "2026-09-21 00:00", "2026-09-22 00:00")),
    (20, "2026-10-01 20:00", (date(2026, 10, 1), "2026-09-30 20:00", "2026-10-01 20:00")),
])
def test_given_the_hour_when_asked_then_today_s_digest_is_due_from_that_local_hour(hour, now, expected):
    window = due_window(DigestConfig("c", URL, hour=hour), at(now))
    if expected is None:
        assert window is None
    else:
        assert (window.day, window.since, window.until) == (expected[0], at(expected[1]), at(expected[2]))


def test_a_digest_on_demand_covers_the_24_hours_up_to_now():
    window = window_until(DigestConfig("c", URL), at("2026-09-21 15:30"))
    assert (window.day, window.since, window.until) == (date(2026, 9, 21), at("2026-09-20 15:30"),
                                                       at("2026-09-21 15:30"))


# -- the digest -------------------------------------------------------------------------------------
def digest(rows, msgtype="markdown", away=2, places=PLACES):
    return grid_digest(tiny(), "g1", rows, WINDOW, places, CATEGORIES, away, 30, msgtype)


@pytest.mark.parametrize("rows, counts, present, absent", [
    # nothing at all
    ([], {"new": 0, "resolved": 0, "open": 0, "overdue": 0},
     ["【小小家园】第一网格 每日简报", "本网格外出党员 2 人", "没有新受理的事项"], ["**新受理**"]),
    # reported in the window, still waiting: new and open, with place, status and level
    ([row("NEW111")], {"new": 1, "resolved": 0, "open": 1, "overdue": 0},
     ["**新受理**", "`NEW111` 环境卫生 · 1号楼1单元 · 待接单 · 第1级", "**未办结（近30天受理）**"], ["没有新受理"]),
    # reported after the window closed: open, not new
    ([row("NEW111", created="2026-09-21 09:00")], {"new": 0, "resolved": 0, "open": 1, "overdue": 0},
     ["**未办结（近30天受理）**"], ["**新受理**"]),
    # an older case acknowledged at level 2: open, with its level
    ([row("OLD222", "acknowledged", 2, "2026-09-10 10:00", category="water_pipe")],
     {"new": 0, "resolved": 0, "open": 1, "overdue": 0}, ["`OLD222` 水管漏水 · 2号楼 · 办理中 · 第2级"], []),
    # resolved in the window: resolved, not open
    ([row("DONE33", "resolved", 1, "2026-09-19 10:00", resolved="2026-09-20 18:00")],
     {"new": 0, "resolved": 1, "open": 0, "overdue": 0}, ["**已办结**", "`DONE33` 环境卫生 · 1号楼2单元 · 已办结"],
     ["**未办结"]),
    # resolved before the window: not news
    ([row("DONE33", "closed", 1, "2026-09-10 10:00", resolved="2026-09-12 18:00")],
     {"new": 0, "resolved": 0, "open": 0, "overdue": 0}, [], ["DONE33"]),
    # resolved in the window and then reopened: open again, not resolved
    ([row("DONE33", "assigned", 2, "2026-09-19 10:00", resolved="2026-09-20 18:00")],
     {"new": 0, "resolved": 0, "open": 1, "overdue": 0}, ["`DONE33` 环境卫生 · 1号楼2单元 · 待接单 · 第2级"],
     ["**已办结**"]),
    # escalated for lateness, then yellow and red cards: overdue and supervised
    ([row("LATE44", "acknowledged", 2, "2026-09-15 10:00", escalations={"1": 1}, yellow={"3": 1},
          red={"3": 2})],
     {"new": 0, "resolved": 0, "open": 1, "overdue": 1},
     ["**超时督办**",
      '`LATE44` 环境卫生 · 2号楼1单元 · <font color="warning">超时升级1次 · 黄牌督办1次 · 红牌督办2次</font>'],
     []),
    # a cancelled case: neither open nor resolved
    ([row("GONE55", "cancelled", 1, "2026-09-20 10:00")], {"new": 1, "resolved": 0, "open": 0, "overdue": 0},
     ["`GONE55` 环境卫生 · 1号楼1单元 · 已撤销 · 第1级"], ["**未办结"]),
    # another grid's row is not this grid's news
    ([row("NEW111", grid="g2")], {"new": 0, "resolved": 0, "open": 0, "overdue": 0}, [], ["NEW111"]),
    # a case whose place is unknown
    ([row("NOWHER")], {"new": 1, "resolved": 0, "open": 1, "overdue": 0}, ["`NOWHER` 环境卫生 · 位置待定"], []),
])
def test_given_a_grid_s_cases_when_digested_then_it_tells_new_resolved_open_and_overdue(rows, counts, present,
                                                                                         absent):
    result = digest(rows)
    assert result.counts == counts
    assert result.msgtype == "markdown" and result.payload() == {"msgtype": "markdown",
                                                                "markdown": {"content": result.content}}
    for text in present:
        assert text in result.content
    for text in absent:
        assert text not in result.content
    assert "9月20日 08:00 至 9月21日 08:00" in result.content


def test_open_cases_are_listed_highest_level_first_then_oldest():
    rows = [row("AAA111", level=1, created="2026-09-01 10:00"), row("BBB222", level=3, created="2026-09-20 10:00"),
            row("CCC333", level=1, created="2026-08-30 10:00")]
    content = digest(rows).content
    assert content.index("BBB222") < content.index("CCC333") < content.index("AAA111")


def test_a_digest_never_carries_personal_data():
    # Whatever else a row might hold (a description, the reporter, the members who acted),
    # the digest shows only code, category, place, status and level.
    rows = [row("NEW111", description="王大妈家水管漏水 13912345678", reporter_phone="+8613912345678",
                reporter_name="王大妈", acknowledged_by="sl", resolved_by="bl")]
    for msgtype in ("markdown", "text"):
        content = digest(rows, msgtype).content
        for secret in ("13912345678", "王大妈", "水管漏水", "成员", "sl", "bl"):
            assert secret not in content, (msgtype, secret)


def test_the_text_form_has_no_markdown():
    content = digest([row("LATE44", "acknowledged", 2, escalations={"1": 1})], "text").content
    assert content.startswith("【小小家园】第一网格 每日简报\n")
    assert "【超时督办】" in content and "LATE44 环境卫生 · 2号楼1单元 · 超时升级1次" in content
    for mark in ("**", "`", "<font", "> ", "### "):
        assert mark not in content


@pytest.mark.parametrize("msgtype", ["markdown", "text"])
def test_a_busy_grid_s_digest_fits_one_robot_message(msgtype):
    rows = [row(f"C{i:05d}", created="2026-09-21 07:00", escalations={"1": 1}) for i in range(200)]
    result = digest(rows, msgtype, places={r["code"]: "tiny-01-1" for r in rows})
    assert len(result.content.encode("utf-8")) <= CONTENT_BYTES[msgtype]
    assert result.counts == {"new": 200, "resolved": 0, "open": 200, "overdue": 200}
    assert "……另有" in result.content
    assert result.content.count("……另有") == 3       # new, open, overdue: each cut short


def test_only_the_cases_a_digest_may_name_need_their_place():
    rows = [row("NEW111"), row("OLD222", "acknowledged", created="2026-09-01 10:00"),
            row("DONE33", "resolved", created="2026-09-19 10:00", resolved="2026-09-20 18:00"),
            row("GONE55", "closed", created="2026-09-01 10:00", resolved="2026-09-02 10:00")]
    assert mentioned(rows, WINDOW) == {"NEW111", "OLD222", "DONE33"}


# -- the month's orders and the away members' points ---------------------------------------------------
def test_the_points_section_is_on_unless_a_community_turns_it_off():
    assert parse_config(json.dumps({"changmu": URL}))["changmu"].points is True
    assert parse_config(json.dumps({"changmu": {"url": URL, "points": False}}))["changmu"].points is False
    with pytest.raises(DigestConfigError, match="changmu.points must be true or false"):
        parse_config(json.dumps({"changmu": {"url": URL, "points": "yes"}}))


def order_row(code, status="ordered", claimant=None, created="2026-09-10 10:00"):
    return {"code": code, "community_id": "tiny", "created_at": at(created), "status": status,
            "item": "medical_insurance_payment", "kind": "proxy_service", "dispatched": status != "ordered",
            "claimant": claimant, "claimed_at": at(created) + 600 if claimant else None,
            "done_at": None, "closed_at": None, "satisfied": True if status == "verified" else None}


MONTH_ORDERS = [order_row("O00001", "verified", "gm"), order_row("O00002", "claimed", "gm"),
                order_row("O00003", "verified", "gm2"), order_row("O00004"), order_row("O00005", "refused")]


def test_given_the_month_s_orders_when_counted_for_a_grid_then_the_community_s_and_the_grid_members_show():
    # GIVEN two grids: gm is g1's grid member, gm2 g2's
    community = two_grids()
    # WHEN the month's orders are counted for each grid
    g1, g2 = month_orders(community, "g1", MONTH_ORDERS), month_orders(community, "g2", MONTH_ORDERS)
    # THEN both see the community's five (two completed, three open or waiting), and each its members' claims
    assert g1 == {"ordered": 5, "completed": 2, "open": 2, "grid_claimed": 2, "grid_completed": 1}
    assert (g2["ordered"], g2["grid_claimed"], g2["grid_completed"]) == (5, 1, 1)
    assert month_orders(community, "g1", []) == {"ordered": 0, "completed": 0, "open": 0, "grid_claimed": 0,
                                                  "grid_completed": 0}


def test_away_members_are_labelled_by_their_phone_s_last_digits_and_never_by_name():
    # GIVEN two away members whose phones end alike, and one who is not known
    community = tiny(away=("sl", "sl2"))
    assert phone_tails({"a": "+8613900001234", "b": "+8613900011234", "c": "+8613900000007"}) == \
        {"a": "尾号01234", "b": "尾号11234", "c": "尾号0007"}
    lines = points_lines(community, ["sl", "sl2", "ghost"], {"sl": (12, 40), "sl2": (0, 5), "ghost": (1, 1)})
    # THEN each known one has a line, by the tail of their own phone
    assert lines == [("尾号0007", 12, 40), ("尾号0008", 0, 5)]


@pytest.mark.parametrize("msgtype", ["markdown", "text"])
def test_a_digest_with_orders_and_points_tells_them_and_still_names_no_one(msgtype):
    # GIVEN the month's orders and two away members' points
    community = two_grids(sl="away", free="away")
    orders = month_orders(community, "g1", MONTH_ORDERS)
    points = points_lines(community, ["free", "sl"], {"sl": (12, 40), "free": (0, 0)})
    # WHEN g1's digest is made
    result = grid_digest(community, "g1", [row("NEW111")], WINDOW, PLACES, CATEGORIES, 2, 30, msgtype,
                         orders=orders, points=points)
    content = result.content
    # THEN it says the month's orders and each away member's own points
    section = "**9月为民服务（三单）**" if msgtype == "markdown" else "【9月为民服务（三单）】"
    assert section in content
    assert ("本社区点单 **5**" if msgtype == "markdown" else "本社区点单 5") + " · 已办结 2 · 办理中 2" in content
    assert "本网格党员接单 2 · 已办结 1" in content
    assert "尾号0007：本月 +12 · 余额 40" in content and "尾号0099：本月 +0 · 余额 0" in content
    assert (result.counts["orders"], result.counts["orders_completed"]) == (2 + 3, 2)
    # AND no member's name or whole phone
    for member in community.members.values():
        assert member.name not in content and member.phone[3:] not in content


def test_a_busy_digest_with_orders_and_points_still_fits_one_robot_message():
    community = two_grids(sl="away", free="away")
    rows = [row(f"C{i:05d}", created="2026-09-21 07:00", escalations={"1": 1}) for i in range(200)]
    result = grid_digest(community, "g1", rows, WINDOW, {r["code"]: "tiny-01-1" for r in rows}, CATEGORIES, 2,
                         30, "text", orders=month_orders(community, "g1", MONTH_ORDERS),
                         points=points_lines(community, ["free", "sl"], {"sl": (1, 2), "free": (3, 4)}))
    assert len(result.content.encode("utf-8")) <= CONTENT_BYTES["text"]
    assert "尾号0007：本月 +1 · 余额 2" in result.content and "……另有" in result.content
