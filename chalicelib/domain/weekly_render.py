"""The weekly joint-meeting report's pages, from domain.weekly's data (which says what is in
them and why): the HTML page with its SVG charts, and the markdown summary for the group robot.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SUMMARY_BYTES = 4096       # WeCom's limit on a robot's markdown


def duration(seconds: float | None) -> str:
    """"—", "25分钟", "3.5小时", "2.1天": how long, as a person says it."""
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 90:
        return f"{max(0, round(minutes))}分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f}小时"
    return f"{minutes / 1440:.1f}天"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def _by_level(counts: Mapping[str, int]) -> str:
    return " ".join(f"L{level}×{n}" for level, n in counts.items()) or "—"


# -- the markdown summary (the committee's group robot) -----------------------------------------
def summary_markdown(report: Mapping[str, Any], max_items: int = 8) -> str:
    """A short summary for the committee's group robot (WeCom markdown, within 4096
    bytes): the totals, one line per grid and the open cases at the top levels. It names
    no member: the full report (HTML or JSON) is for the meeting itself."""
    total = report["total"]
    name = report["community"]["name"].get("zh", report["community"]["id"])
    for limit in range(max_items, -1, -1):
        lines = [f"### 【{name}】多方联席会议周报",
                 f"> {report['label']}",
                 f"> 受理 **{total['cases']}** · 已办结 **{total['resolved']}** · 本周受理仍未办结 **{total['open']}**"
                 f" · SLA达标率 **{_percent(total['compliance'])}**"
                 f" · 超时 <font color=\"warning\">{total['breached']}</font>",
                 "**各网格**"]
        for grid in report["grids"]:
            lines.append(f"{grid['name']}：受理 {grid['cases']} · 达标率 {_percent(grid['compliance'])}"
                         f" · 接单及时 {_percent(grid['acknowledge_rate'])} · 办结及时 {_percent(grid['resolve_rate'])}"
                         f" · 两委/片长层级未办结 {len(grid['open_top_levels'])}")
        top = report["open_top_levels"]
        if top:
            lines.append("**提请联席会议（两委、片长层级未办结）**")
            lines.extend(f"`{c['code']}` {c['category_name']['zh']} · {c['place'] or '位置待定'} · "
                         f"{c['level_name']} · 已{c['days_open']:g}天" for c in top[:limit])
            if len(top) > limit:
                lines.append(f"……另有 {len(top) - limit} 件")
        orders = report.get("orders")
        if orders:
            o = orders["total"]
            lines.append(f"**为民服务（三单）** 点单 {o['ordered']} · 派单 {o['dispatched']} · 接单 {o['claimed']}"
                         f" · 办结 {o['completed']} · 满意率 {_percent(o['satisfaction'])}")
        lines.append("完整周报（图表、各成员响应用时、最久未办结事项、为民服务积分榜）供联席会议使用。")
        content = "\n".join(lines)
        if len(content.encode("utf-8")) <= SUMMARY_BYTES:
            return content
    return content.encode("utf-8")[:SUMMARY_BYTES].decode("utf-8", errors="ignore")   # pragma: no cover


# -- the HTML page ---------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# Colours that print well in grey too; the palette of the page and of its charts.
COLOURS = ("#1f6fb2", "#e08a1e", "#3a9d5d", "#b23b3b")


def bar_chart(title: str, series: Sequence[str], groups: Sequence[tuple[str, Sequence[float | None]]],
              value_label: Any = lambda v: f"{v:g}", maximum: float | None = None,
              width: int = 640) -> str:
    """A horizontal grouped bar chart as inline SVG: one group of bars per label, one bar
    per series (a legend names them). Empty values (None) draw no bar and say "—"."""
    bar, gap, label_width, right = 16, 10, 150, 90
    values = [v for _, vs in groups for v in vs if v is not None]
    top = maximum if maximum is not None else (max(values) if values else 1.0)
    top = top or 1.0
    plot = width - label_width - right
    legend_height = 26 if len(series) > 1 else 0
    y = 34 + legend_height
    height = y + len(groups) * (len(series) * bar + gap) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{_e(title)}">',
             f'<title>{_e(title)}</title>',
             f'<text x="0" y="18" class="chart-title">{_e(title)}</text>']
    if len(series) > 1:
        x = label_width
        for index, name in enumerate(series):
            colour = COLOURS[index % len(COLOURS)]
            parts.append(f'<rect x="{x}" y="30" width="12" height="12" fill="{colour}"/>'
                         f'<text x="{x + 16}" y="40" class="legend">{_e(name)}</text>')
            x += 24 + 14 * len(name)
    for label, group_values in groups:
        parts.append(f'<text x="{label_width - 8}" y="{y + len(series) * bar / 2 + 5:.0f}" '
                     f'text-anchor="end" class="label">{_e(label)}</text>')
        for index, value in enumerate(group_values):
            colour = COLOURS[index % len(COLOURS)]
            length = 0 if value is None else max(1.0, plot * min(float(value), top) / top) if value else 0
            parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar - 3}" fill="{colour}">'
                         f'<title>{_e(label)} · {_e(series[index])}: '
                         f'{_e("—" if value is None else value_label(value))}</title></rect>')
            parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + bar - 5}" class="value">'
                         f'{_e("—" if value is None else value_label(value))}</text>')
            y += bar
        y += gap
    parts.append(f'<line x1="{label_width}" y1="{34 + legend_height - 4}" x2="{label_width}" '
                 f'y2="{height - 6}" class="axis"/></svg>')
    return "".join(parts)


_CSS = """
body{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei","Source Han Sans SC",sans-serif;
 color:#222;margin:24px auto;max-width:1000px;padding:0 16px;line-height:1.5}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;border-bottom:2px solid #1f6fb2;padding-bottom:4px;margin-top:32px}
h3{font-size:16px;margin:20px 0 6px}.sub{color:#555;margin:0 0 12px}.note{color:#666;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}.card{border:1px solid #ccd;border-radius:6px;
 padding:8px 14px;min-width:110px}.card b{display:block;font-size:22px}.card span{font-size:13px;color:#555}
.warn b{color:#b23b3b}table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 12px}
th,td{border:1px solid #ccd;padding:4px 6px;text-align:left}th{background:#eef3f8}td.n{text-align:right}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{font-size:12px}.chart-title{font-size:14px;font-weight:bold}
.label,.legend,.value{font-size:12px;fill:#333}.axis{stroke:#888}code{font-family:monospace;font-size:13px}
@media print{body{margin:0}h2{page-break-after:avoid}}
"""


def render_html(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page (no script, no external file or
    font): Chinese with English where it helps, inline SVG charts, every value escaped."""
    total = report["total"]
    community = report["community"]["name"]
    title = f"【{community.get('zh', report['community']['id'])}】多方联席会议周报 {report['week']}"
    grids = report["grids"]
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f'<p class="sub">Weekly joint-meeting report · {_e(community.get("en", ""))} · {_e(report["label"])}'
           f" · 生成于 built {_e(report['built_at'])}</p>",
           '<p class="note">内部材料，供多方联席会议使用：列出成员姓名与响应用时，'
           "不含居民个人信息（无电话、姓名、描述）。"
           " Internal: names members; no resident's personal data.</p>"]

    def card(label: str, value: Any, warn: bool = False) -> str:
        return f'<div class="card{" warn" if warn else ""}"><b>{_e(value)}</b><span>{_e(label)}</span></div>'

    out.append('<div class="cards">' + "".join((
        card("本周受理 cases", total["cases"]), card("已办结 resolved", total["resolved"]),
        card("SLA达标率 compliance", _percent(total["compliance"])),
        card("接单及时率 acknowledged in time", _percent(total["acknowledge_rate"])),
        card("办结及时率 resolved in time", _percent(total["resolve_rate"])),
        card("超时 breached", total["breached"], warn=bool(total["breached"])),
        card("未办结（全部）open", total["open_total"]),
        card("两委/片长层级未办结 open at the top", total["open_top_levels"], warn=bool(total["open_top_levels"])),
    )) + "</div>")

    out.append("<h2>图表 Charts</h2><div class=\"charts\">")
    out.append(bar_chart("各网格达标率 SLA compliance per grid (%)",
                         ["SLA达标率", "接单及时率", "办结及时率"],
                         [(g["name"], [g["compliance"], g["acknowledge_rate"], g["resolve_rate"]]) for g in grids]
                         + [("全社区 all", [total["compliance"], total["acknowledge_rate"], total["resolve_rate"]])],
                         value_label=lambda v: f"{v:g}%", maximum=100))
    out.append(bar_chart("主要类别 main categories (cases)", ["受理"],
                         [(c["name"]["zh"], [c["cases"]]) for c in report["categories"][:10]] or [("—", [None])]))
    hours = lambda v: duration(v * 3600)   # noqa: E731 - a label of the chart's unit
    out.append(bar_chart("接单用时 time to acknowledge", ["中位数 median", "90%分位 p90"],
                         [(g["name"], [_hours(g["median_seconds_to_acknowledge"]),
                                       _hours(g["p90_seconds_to_acknowledge"])])
                          for g in grids], value_label=hours))
    out.append(bar_chart("办结用时 time to resolve", ["中位数 median", "90%分位 p90"],
                         [(g["name"], [_hours(g["median_seconds_to_resolve"]),
                                       _hours(g["p90_seconds_to_resolve"])])
                          for g in grids], value_label=hours))
    out.append("</div>")

    out.append("<h2>各网格 Per grid</h2>")
    out.append(_table(
        ["网格 grid", "受理", "已办结", "本周未结", "达标率", "接单及时", "办结及时", "超时", "超时升级（按级）",
         "黄牌", "红牌", "接单中位", "办结中位"],
        [[g["name"], g["cases"], g["resolved"], g["open"], _percent(g["compliance"]), _percent(g["acknowledge_rate"]),
          _percent(g["resolve_rate"]), g["breached"], _by_level(g["escalations"]), _by_level(g["supervisions_yellow"]),
          _by_level(g["supervisions_red"]), duration(g["median_seconds_to_acknowledge"]),
          duration(g["median_seconds_to_resolve"])] for g in grids], numeric=range(1, 8)))

    out.append("<h2>提请联席会议：两委、片长层级未办结 Open at the top levels</h2>")
    out.append(_cases_table(report["open_top_levels"], "没有在两委或片长层级未办结的事项。 None."))
    out.append("<h2>最久未办结 Longest open</h2>")
    out.append(_cases_table(report["longest_open"], "没有未办结的事项。 None."))

    orders = report.get("orders")
    if orders:
        out.extend(_orders_html(orders))

    for g in grids:
        out.append(f"<h2>{_e(g['name'])}</h2>")
        out.append(f"<p>受理 {g['cases']} 件 · 已办结 {g['resolved']} · 达标率 {_e(_percent(g['compliance']))}"
                   f" · 未办结（全部）{g['open_total']} 件</p>")
        out.append("<h3>主要类别 Main categories</h3>")
        out.append(_table(["类别 category", "受理 cases"],
                          [[f"{c['name']['zh']} {c['name']['en']}", c["cases"]] for c in g["categories"]],
                          numeric=[1], empty="本周没有受理。 No cases this week."))
        out.append("<h3>成员响应 Members' response times</h3>")
        out.append(_table(
            ["成员 member", "职责 role", "接单", "办结", "接单中位", "接单90%", "办结中位", "办结90%", "超时"],
            [[m["name"], "、".join(m["roles"]), m["acknowledged"], m["resolved"],
              duration(m["median_seconds_to_acknowledge"]), duration(m["p90_seconds_to_acknowledge"]),
              duration(m["median_seconds_to_resolve"]), duration(m["p90_seconds_to_resolve"]), m["breaches"]]
             for m in g["members"]], numeric=[2, 3, 8], empty="本周没有成员接单或办结。"))
        out.append("<h3>最久未办结 Longest open</h3>")
        out.append(_cases_table(g["longest_open"], "没有未办结的事项。"))
        if "honour_roll" in g:
            out.append("<h3>积分榜 Points honour roll</h3>")
            out.append(_honour_table(g["honour_roll"], "本周本网格成员没有获得积分。"))
    out.append('<p class="note">达标率 = 接单且无超时的事项 ÷（其与有超时事项之和）；'
               "超时 = 超时升级、顶级提醒或红牌督办。"
               "接单及时率、办结及时率同理（无升级/无红牌）。时间从居民报事起算。"
               " Compliance = met ÷ (met + breached); see docs/digest-and-weekly.md.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _orders_html(orders: Mapping[str, Any]) -> list[str]:
    """The section on the service orders: per kind and in all, then the honour roll."""
    total = orders["total"]
    rows = [[f"{k['name']['zh']} {k['name']['en']}", k["ordered"], k["dispatched"], k["claimed"], k["completed"],
             duration(k["median_seconds_to_claim"]), duration(k["median_seconds_to_complete"]),
             _satisfaction(k)] for k in orders["kinds"]]
    rows.append(["合计 all", total["ordered"], total["dispatched"], total["claimed"], total["completed"],
                 duration(total["median_seconds_to_claim"]), duration(total["median_seconds_to_complete"]),
                 _satisfaction(total)])
    return ["<h2>为民服务（三单）Service orders</h2>",
            f"<p>本周点单 {total['ordered']} 件 · 已办结（居民确认）{total['completed']} · 办理中 {total['open']}"
            f" · 未派单 {total['refused']} · 已撤销 {total['cancelled']}</p>",
            _table(["类别 kind", "点单 ordered", "派单 dispatched", "接单 claimed", "办结 completed",
                    "接单中位 to claim", "办结中位 to complete", "满意率 satisfied"], rows, numeric=range(1, 5)),
            "<h3>积分榜 Points honour roll</h3>",
            _honour_table(orders["honour_roll"], "本周没有成员获得积分。 Nobody earned points this week."),
            '<p class="note">统计本周点单的事项（状态截至生成时）；接单、办结用时从居民点单起算，'
            "办结为党员回复“完成”且居民确认；满意率 = 回复1的确认 ÷ 全部确认。"
            "积分为本周积分银行记入的积分（点单、报事、活动），扣除本周的冲回。"
            " Orders placed this week; points as the ledger credited them this week.</p>"]


def _satisfaction(figures: Mapping[str, Any]) -> str:
    if not figures["confirmations"]:
        return "—"
    return f"{_percent(figures['satisfaction'])}（{figures['satisfied']}/{figures['confirmations']}）"


def _honour_table(roll: Sequence[Mapping[str, Any]], empty: str) -> str:
    return _table(["成员 member", "职责 role", "网格 grid", "积分 points"],
                  [[m["name"], "、".join(m["roles"]), "、".join(m["grid_names"]) or "—", m["points"]] for m in roll],
                  numeric=[3], empty=empty)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Iterable[int] = (),
           empty: str = "—") -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    numbers = set(numeric)
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    number_cell = ' class="n"'
    body = "".join("<tr>" + "".join(f"<td{number_cell if i in numbers else ''}>{_e(v)}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cases_table(cases: Sequence[Mapping[str, Any]], empty: str) -> str:
    return _table(["编号 code", "网格 grid", "类别 category", "地点 place", "层级 level", "已开 days open",
                   "超时升级", "红牌"],
                  [[c["code"], c["grid_name"] or c["grid"], c["category_name"]["zh"], c["place"] or "位置待定",
                    f"第{c['level']}级 {c['level_name']}", f"{c['days_open']:g}天", c["escalations"],
                    c["supervisions_red"]] for c in cases], numeric=[5, 6, 7], empty=empty)
