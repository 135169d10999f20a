"""The weekly joint-meeting report (多方联席会议周报) of one community, on demand.

    python -m tools.weekly_report --community changmu [--week 2026-W47] [--html FILE] [--json FILE] [--stored]
    python -m tools.weekly_report --demo [--week 2026-W47] [--html FILE] [--json FILE]

Against a stage: GRIDLOOP_STAGE (required), and on the local stack GRIDLOOP_AWS_ENDPOINT and
GRIDLOOP_DYNAMODB_ENDPOINT
(`make run` prints both). It reads the grids' cases from the by-grid index (one Query per
grid) and the listed cases' places (BatchGetItem): the caller needs dynamodb:Query on
gridloop-STAGE-cases/index/by-grid, BatchGetItem on gridloop-STAGE-cases and Scan on
gridloop-STAGE-directory (with --stored: GetItem on gridloop-STAGE-digests). --week is an
ISO week; without it, last week (Asia/Shanghai). --stored prints the report as it was sent
to the committee that week, instead of building it again.

--demo needs no stage: it runs four weeks of synthetic reports and members' answers through
the real services on an in-process AWS emulator with a fake clock (tools/weekly_demo.py),
then builds the report of the demo week, 2026-W47, as the schedule would on the Monday after.

Writes the HTML page (--html) and the JSON (--json); "-" is stdout. With neither, prints a
one-line summary per grid. Exit status: 0 done, 1 usage, unknown community or week, or no
stored report.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.weekly_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--community", help="the community's id, e.g. changmu")
    parser.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: last week)")
    parser.add_argument("--html", help="write the HTML page here ('-': stdout)")
    parser.add_argument("--json", help="write the report's JSON here ('-': stdout)")
    parser.add_argument("--stored", action="store_true", help="the report as sent that week, not built again")
    parser.add_argument("--demo", action="store_true", help="a demo week on an in-process emulator (no stage)")
    parser.add_argument("--demo-per-day", type=int, default=9, help=argparse.SUPPRESS)
    parser.add_argument("--demo-weeks-before", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from chalicelib.domain.weekly import InvalidWeek, render_html

    try:
        if args.demo:
            from tools.weekly_demo import COMMUNITY, DEMO_WEEK, demo_report
            if args.community not in (None, COMMUNITY):
                print(f"--demo runs the demo community {COMMUNITY} only", file=sys.stderr)
                return 1
            report = demo_report(args.week or DEMO_WEEK, reports_per_day=args.demo_per_day,
                                 weeks_before=args.demo_weeks_before)
        else:
            if not args.community:
                parser.print_usage(sys.stderr)
                print("--community is required (or --demo)", file=sys.stderr)
                return 1
            if not os.environ.get("GRIDLOOP_STAGE"):
                print("set GRIDLOOP_STAGE (local, dev, prod): there is no default stage", file=sys.stderr)
                return 1
            report = _from_stage(args.community, args.week, args.stored)
    except InvalidWeek as error:
        print(str(error), file=sys.stderr)
        return 1
    except LookupError as error:
        print(str(error).strip("'\""), file=sys.stderr)
        return 1

    if args.json:
        _write(args.json, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    if args.html:
        _write(args.html, render_html(report))
    if not args.json and not args.html:
        print(_summary(report))
    return 0


def _from_stage(community: str, week: str | None, stored: bool) -> dict[str, Any]:
    from chalicelib.bootstrap import Container
    from chalicelib.domain.weekly import Week

    reports = Container().weekly_reports
    if stored:
        name = Week.parse(week).name if week else None
        if name is None:
            raise LookupError("--stored needs --week")
        report = reports.stored(community, name)
        if report is None:
            raise LookupError(f"no report of {community} for {name} was sent")
        return report
    return reports.build(community, week)


def _write(where: str, text: str) -> None:
    if where == "-":
        sys.stdout.write(text)
    else:
        Path(where).write_text(text, encoding="utf-8")
        print(f"wrote {where}", file=sys.stderr)


def _summary(report: dict[str, Any]) -> str:
    def rate(value: float | None) -> str:
        return "—" if value is None else f"{value:g}%"

    lines = [f"{report['community']['name'].get('zh', report['community']['id'])} {report['week']} "
             f"{report['label']}: {report['total']['cases']} cases, compliance {rate(report['total']['compliance'])}"]
    lines += [f"  {g['id']} {g['name']}: {g['cases']} cases, compliance {rate(g['compliance'])}, "
              f"open {g['open_total']} ({len(g['open_top_levels'])} at the top levels)" for g in report["grids"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
