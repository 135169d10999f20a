"""python -m bench: gridloop's cost budgets, each figure beside its budget.

Exit status: 0 when every figure is within its budget, 1 when one is over, 2 when a
figure could not be measured. See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable

# 4 to a report's first SMS, and the case worker's duplicate check may add one Query (by-place).
REQUESTS_BUDGET = 5
SEGMENTS_BUDGET = 3
IMPORT_BUDGET = 1.15
REPORT_PAGE_BUDGET = 30 * 1024   # bytes, gzip, the report page with its stylesheet
STATUS_PAGE_BUDGET = 15 * 1024   # bytes, gzip, the status page with its stylesheet
PAGE_REQUESTS = 200              # timed requests per page
LOAD_P95_BUDGET = 5.0        # seconds, POST → first SMS, at time scale 1, tables on DynamoDB Local
EPSILON = 1e-9

FIGURES = ("requests", "sweep", "coldstart", "segments", "load", "pages", "followers")


def _ops(counter: Counter, per: int) -> str:
    return ", ".join(f"{op} {n / per:g}" for op, n in sorted(counter.items())) or "none"


def line(verdict: str, what: str, figure: str, budget: str = "") -> None:
    print(f"{verdict:<5} {what:<62} {figure:>24}   {budget}".rstrip(), flush=True)


def info(text: str) -> None:
    print(f"{'':<5}   {text}", flush=True)


def requests_figure(args: argparse.Namespace) -> bool:
    from bench import requests_per_report

    r = requests_per_report.run(args.reports)
    ok = r.to_first_sms <= REQUESTS_BUDGET + EPSILON and r.missing_sms == 0
    line("PASS" if ok else "FAIL", "AWS requests per report, POST /reports to its first SMS",
         f"{r.to_first_sms:.3f}", f"budget <= {REQUESTS_BUDGET}")
    line("info", "  ... and with recording that SMS as sent (not budgeted)", f"{r.total:.3f}",
         "the budget applies to the line above")
    info(f"to the first SMS: {_ops(r.breakdown_first, r.reports)}"
         + (f"; outside any report: {_ops(r.unattributed, r.reports)}" if r.unattributed else ""))
    info(f"after it: {_ops(r.breakdown_after, r.reports)}")
    info(f"averaged over {r.reports:,} reports on moto: POST /reports via the HTTP handler, then the case "
         f"worker over {r.batches} SQS batches (up to 10); HTTP attempts incl. retries {r.attempts:.3f}/report")
    info(f"warm container: directory and intake queue URL loaded before counting; a cold one adds "
         f"{_ops(r.warmup, 1)} once")
    info(f"duplicate check: {r.breakdown_first.get('dynamodb.Query', 0) / r.reports:.3f} Query/report; "
         f"{r.folded} of {r.reports:,} reports folded into an open case of the same problem")
    if r.missing_sms:
        info(f"!! {r.missing_sms} reports got no SMS from the case worker")
    info(f"({r.seconds:.1f}s)")

    p = requests_per_report.run(args.reports, via="page")
    page_ok = p.to_first_sms <= REQUESTS_BUDGET + EPSILON and p.missing_sms == 0
    line("PASS" if page_ok else "FAIL", "AWS requests per report through the report page, to its first SMS",
         f"{p.to_first_sms:.3f}", f"budget <= {REQUESTS_BUDGET}")
    info(f"to the first SMS: {_ops(p.breakdown_first, p.reports)}"
         + (f"; outside any report: {_ops(p.unattributed, p.reports)}" if p.unattributed else ""))
    info(f"same measurement, {p.reports:,} reports: the page's form (urlencoded, its own key) posted to "
         f"POST /, then the case worker; with recording the SMS as sent {p.total:.3f}; "
         f"HTTP attempts {p.attempts:.3f}/report")
    if p.missing_sms:
        info(f"!! {p.missing_sms} reports got no SMS from the case worker")
    info(f"({p.seconds:.1f}s)")
    return ok and page_ok


def pages_figure(args: argparse.Namespace) -> bool:
    from bench import pages

    r = pages.run(PAGE_REQUESTS)
    ok = True
    for name, page, budget in (("report page, GET /", r.report_page, REPORT_PAGE_BUDGET),
                               ("status page, GET /r/CODE", r.status_page, STATUS_PAGE_BUDGET)):
        within = page.total_bytes < budget
        ok = ok and within
        line("PASS" if within else "FAIL", f"The {name}: gzip with its stylesheet",
             f"{page.total_bytes / 1024:.1f} KB", f"budget < {budget // 1024} KB")
        info(f"{page.path}: page {page.gzip_bytes:,} B + stylesheet {page.stylesheet_bytes:,} B (gzip -9); server time "
             f"p50 {page.median_ms:.2f} ms, p95 {page.p95_ms:.2f} ms (not budgeted)")
    info(f"server time: {PAGE_REQUESTS} requests per page in process through chalice.test.Client (the HTTP "
         f"handler included) on moto, after an untimed warm-up request; status page of a routed report")
    info(f"({r.seconds:.1f}s)")
    return ok


def sweep_figure(args: argparse.Namespace) -> bool:
    from bench import sweep_reads

    r = sweep_reads.run(args.closed, use_moto=args.sweep_on_moto)
    empty, full = r.runs
    if not r.real_capacity:
        banner = "!" * 100
        print(banner)
        print(f"!!! DynamoDB Local NOT USED ({r.fallback_reason}).")
        print("!!! The sweep ran on moto, whose ConsumedCapacity is a made-up constant: the read units")
        print("!!! below mean nothing. Judged on ScannedCount (items the sweep's queries read) instead.")
        print(banner, flush=True)
        ok = full.scanned == empty.scanned and full.queued == empty.queued
        line("PASS" if ok else "FAIL", f"sweep items read (moto fallback), {full.closed:,} closed cases vs none",
             f"{full.scanned} vs {empty.scanned}", "budget: the same")
        info(f"read units as moto makes them up: {full.read_units:g} vs {empty.read_units:g} (meaningless)")
    else:
        ok = abs(full.read_units - empty.read_units) < EPSILON and full.queued == empty.queued
        line("PASS" if ok else "FAIL", f"sweep read units, {full.closed:,} closed cases vs none",
             f"{full.read_units:g} vs {empty.read_units:g}", "budget: the same")
    info(f"engine: {r.engine}; {full.queries} vs {empty.queries} Query calls, {full.scanned} vs "
         f"{empty.scanned} items read, {full.queued} vs {empty.queued} overdue cases queued")
    if r.real_capacity and r.control_scan_units is not None:
        info(f"control: a filtered Scan finding the same due cases reads {r.control_scan_units:g} units "
             f"with the {full.closed:,} closed cases in the table")
    info(f"({r.seconds:.1f}s)")
    return ok


def coldstart_figure(args: argparse.Namespace) -> bool:
    from bench import coldstart

    r = coldstart.run(args.runs)
    ok = r.ratio <= IMPORT_BUDGET + EPSILON
    line("PASS" if ok else "FAIL", "cold start: import app / import boto3, chalice, pynamodb.models",
         f"{r.app_us / 1000:.1f} / {r.sdks_us / 1000:.1f} ms = {r.ratio:.2f}", f"budget <= {IMPORT_BUDGET}")
    info(f"-X importtime cumulative, median of {r.runs} fresh interpreters each, "
         "interpreter start-up imports excluded")
    return ok


def segments_figure(args: argparse.Namespace) -> bool:
    from bench import sms_segments
    from chalicelib.domain.segments import segments

    r = sms_segments.run()
    ok = r.total <= SEGMENTS_BUDGET
    line("PASS" if ok else "FAIL", "SMS segments per case, a standard case's whole life", str(r.total),
         f"budget <= {SEGMENTS_BUDGET}")
    for phase, texts in r.phases:
        info(f"{phase}: {sum(segments(t) for t in texts)} segment(s)"
             + "".join(f"\n{'':<8}  {segments(t)} × {t}" for t in texts))
    over = {t: by_lang for t, by_lang in r.templates.items() if max(by_lang.values()) > 1}
    line("PASS" if not over else "FAIL", "templates longer than one segment, at their longest",
         str(len(over)), "budget: none")
    info(", ".join(f"{t} {'/'.join(f'{lang} {n}' for lang, n in by_lang.items())}"
                   for t, by_lang in r.templates.items()))
    separate, bundled, text = r.bundle
    line("info", "3 assignments that waited for one phone's window, in one text", str(bundled),
         f"{separate} as separate texts")
    info(text)
    info(f"({r.seconds:.1f}s)")
    return ok and not over


def load_figure(args: argparse.Namespace) -> bool:
    from bench import load

    results = [load.run(args.load_reports, args.load_clients, engine) for engine in ("local", "moto")]
    ok = True
    for r in results:
        whole = r.lost == 0 and r.doubled == 0 and r.accepted == r.reports and not r.timed_out
        fast = r.percentile(95) <= LOAD_P95_BUDGET
        budgeted = r.engine == "local"       # moto's figure is the comparison, not the budget
        ok = ok and (not budgeted or (whole and fast))
        verdict = ("PASS" if whole and fast else "FAIL") if budgeted else "info"
        line(verdict, f"burst on {r.engine}: lost / doubled of {r.reports:,} reports",
             f"{r.lost} / {r.doubled}", "budget: 0 / 0" if budgeted else "")
        line(verdict, f"burst on {r.engine}: POST → first SMS p95", f"{r.percentile(95):.2f} s",
             f"budget <= {LOAD_P95_BUDGET:g} s" if budgeted else "")
        info(f"tables: {r.tables}; {r.clients} clients; {r.accepted} answered 202"
             + (f", refused {r.refused}" if r.refused else "")
             + (" — TIMED OUT waiting for SMS" if r.timed_out else ""))
        info(f"p50 {r.percentile(50):.2f} s, p95 {r.percentile(95):.2f} s, max {r.worst:.2f} s; "
             f"{r.http_rate:.1f} reports/s over HTTP, {r.end_to_end_rate:.1f} reports/s end to end")
    local, moto = results
    if local.end_to_end_rate and moto.end_to_end_rate:
        info(f"DynamoDB Local / moto: {local.end_to_end_rate / moto.end_to_end_rate:.2f}× the end-to-end rate, "
             f"{moto.percentile(95) / local.percentile(95):.2f}× shorter p95")
    return ok


def followers_figure(args: argparse.Namespace) -> bool:
    from bench import followers

    r = followers.run()
    ok = r.extra_per_follower_ok()
    line("PASS" if ok else "FAIL", "SMS a follower costs: resolved notices beyond the reporter's, per follower",
         "1" if ok else "not 1", "budget: exactly 1, nothing else")
    for n, residents, members, joining in r.rows:
        info(f"{n:>3} followers: on resolving, residents {sum(residents.values())} "
             f"({', '.join(f'{t} {c}' for t, c in residents.items())}), members {sum(members.values())}; "
             f"on joining {joining}")
    info(f"({r.seconds:.3f}s)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=FIGURES, action="append", help="run only this figure (repeatable)")
    parser.add_argument("--reports", type=int, default=1000, help="reports for the requests figure")
    parser.add_argument("--closed", type=int, default=10_000, help="closed cases for the sweep figure")
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per import statement")
    parser.add_argument("--load-reports", type=int, default=1000, help="reports for the load figure")
    parser.add_argument("--load-clients", type=int, default=16, help="concurrent clients for the load figure")
    parser.add_argument("--sweep-on-moto", action="store_true",
                        help="skip DynamoDB Local (its read units are then meaningless)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)   # the services' own logs are not the bench's output

    figures: dict[str, Callable[[argparse.Namespace], bool]] = {
        "requests": requests_figure, "sweep": sweep_figure, "coldstart": coldstart_figure,
        "segments": segments_figure, "load": load_figure, "pages": pages_figure,
        "followers": followers_figure}
    started = time.perf_counter()
    over, broken = [], []
    for name in args.only or FIGURES:
        try:
            if not figures[name](args):
                over.append(name)
        except Exception:
            broken.append(name)
            line("ERROR", f"{name}: could not be measured", "")
            traceback.print_exc()
    print(f"{len(over)} over budget, {len(broken)} not measured ({time.perf_counter() - started:.0f}s)",
          flush=True)
    return 2 if broken else 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
