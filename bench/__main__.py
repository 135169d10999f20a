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
ORDER_SEGMENTS_BUDGET = 4       # a standard order's life: code, dispatch request, pool notice, confirmation
ORDER_REQUESTS_BUDGET = 5       # per order, its 点单 SMS to the first pool notice
LOAD_P95_BUDGET = 5.0        # seconds, POST → first SMS, at time scale 1, tables on DynamoDB Local
EPSILON = 1e-9

FIGURES = ("requests", "sweep", "coldstart", "segments", "load", "pages", "followers", "orders")


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


def orders_figure(args: argparse.Namespace) -> bool:
    from bench import orders
    from chalicelib.domain.segments import segments

    r = orders.run(args.orders)
    life = r.life
    # 1. SMS segments over the standard order's life, each pool member's copy counted once.
    seg_ok = life.segments <= ORDER_SEGMENTS_BUDGET and life.status == "verified"
    line("PASS" if seg_ok else "FAIL", "SMS segments per order, a standard order's whole life", str(life.segments),
         f"budget <= {ORDER_SEGMENTS_BUDGET}")
    for step, text, phones in life.messages():
        info(f"{step}: {segments(text)} × {text}" + (f"   (to {len(phones)} pool members: fan-out, counted once)"
                                                       if len(phones) > 1 else ""))
    info(f"order {life.code} ended {life.status}; the operator bills {life.billed} segments with the pool's "
         f"{len(life.pool)} copies; the other steps sent nothing")
    over = {t: by_lang for t, by_lang in r.templates.items() if max(n for n, *_ in by_lang.values()) > 1}
    line("PASS" if not over else "FAIL", "order templates longer than one segment, at their longest",
         str(len(over)), "budget: none")
    info(", ".join(f"{t} {'/'.join(f'{lang} {n}' for lang, (n, *_) in by_lang.items())}"
                   for t, by_lang in r.templates.items()))
    cut = [f"{t} {lang}" for t, by_lang in r.templates.items() for lang, (_, was_cut, *_) in by_lang.items()
           if was_cut]
    info(f"cut to fit by render_order (checklist, reason, item or place): {', '.join(cut) or 'none'}")
    for t, by_lang in r.templates.items():
        for lang, (n, _, text, to_ucs2) in by_lang.items():
            if n > 1:
                info(f"!! {t} {lang}: {n} segments: {text}")
            elif to_ucs2:
                info(f"note (not budgeted): {t} {lang} kept one character of a cut field: {text}")

    # 2. AWS requests from the 点单 SMS to the first pool notice.
    req_ok = (r.to_pool_notice <= ORDER_REQUESTS_BUDGET + EPSILON and r.first_pool_ok == r.orders
              and not r.problems)
    line("PASS" if req_ok else "FAIL", "AWS requests per order, its 点单 SMS to the first pool notice",
         f"{r.to_pool_notice:.3f}", f"budget <= {ORDER_REQUESTS_BUDGET}")
    info(f"点单 SMS, to and including the committee's dispatch request: {r.per_place:.3f} "
         f"({_ops(r.place, r.orders)})")
    info(f"派单 SMS, to and including the first pool notice's Publish: {r.per_dispatch:.3f} "
         f"({_ops(r.dispatch, r.orders)})"
         + (f"; outside any order: {_ops(r.unattributed, r.orders)}" if r.unattributed else ""))
    for step, labels in life.path[:2]:
        info(f"{step}, in order (order {life.code}): {' → '.join(labels) or 'none'}")
    info(f"after the dispatch request (not budgeted): the rest of the 点单 {_ops(r.place_after, r.orders)} "
         f"(the resident's code, each SMS recorded as sent)")
    info(f"after the first pool notice (not budgeted): the rest of the 派单 {_ops(r.dispatch_after, r.orders)}, "
         f"pool of {sum(r.pool_sizes) / len(r.pool_sizes):.2f} members on average "
         f"({min(r.pool_sizes)} to {max(r.pool_sizes)})")
    info(f"the 点单's and the 派单's whole handling, every SMS and record (not budgeted): "
         f"{r.whole_place_and_dispatch:.3f} per order")
    info("the rest of the life (not budgeted): " + "; ".join(
        f"{word} {sum(c.values()) / r.orders:g} ({_ops(c, r.orders)})" for word, c in r.later.items()))
    info(f"averaged over {r.orders:,} orders on moto ({', '.join(orders.ITEMS)} from the {len(orders.RESIDENTS)} "
         f"registered households in turn), each SMS through inbound_sms.accept and sms_reply_worker, one a batch; "
         f"HTTP attempts incl. retries {r.attempts:.3f}/order to the pool notice, {r.attempts_all:.3f} over the life")
    inbound_sms = r.orders * (2 + len(orders.LATER))
    info(f"not counted: the gateway's side, {_ops(r.inbound, inbound_sms)} per inbound SMS; warm container: "
         f"directory and queue URLs loaded first, a cold one adds {_ops(r.warmup, 1)} once")
    for problem in r.problems[:5]:
        info(f"!! {problem}")

    # 3. The points reads.
    reads = r.reads
    read_ok = (reads.balance == {"dynamodb.GetItem": 1} and reads.empty_balance == {"dynamodb.GetItem": 1}
               and reads.statement == {"dynamodb.Query": 1} and reads.entries > 0 and reads.points > 0)
    line("PASS" if read_ok else "FAIL", "points reads: a balance / a month's statement",
         f"{_ops(reads.balance, 1)} / {_ops(reads.statement, 1)}", "budget: 1 GetItem / 1 Query, no Scan")
    info(f"member {reads.member}: balance {reads.points}, {reads.entries} entries in {reads.month} "
         f"(container.points.balance / .statement on the real ledger); a member with nothing: "
         f"{_ops(reads.empty_balance, 1)}; the statement's request {reads.statement_request}")
    if not (reads.entries and reads.points):
        info("!! the member's statement or balance was empty: the reads were not measured on earned points")
    info(f"积分 by SMS (sms_summary) reads {_ops(reads.summary, 1)} (not budgeted)")
    info(f"({r.seconds:.1f}s)")
    return seg_ok and not over and req_ok and read_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=FIGURES, action="append", help="run only this figure (repeatable)")
    parser.add_argument("--reports", type=int, default=1000, help="reports for the requests figure")
    parser.add_argument("--closed", type=int, default=10_000, help="closed cases for the sweep figure")
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per import statement")
    parser.add_argument("--load-reports", type=int, default=1000, help="reports for the load figure")
    parser.add_argument("--load-clients", type=int, default=16, help="concurrent clients for the load figure")
    parser.add_argument("--orders", type=int, default=60, help="orders for the service loop's figure")
    parser.add_argument("--sweep-on-moto", action="store_true",
                        help="skip DynamoDB Local (its read units are then meaningless)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)   # the services' own logs are not the bench's output

    figures: dict[str, Callable[[argparse.Namespace], bool]] = {
        "requests": requests_figure, "sweep": sweep_figure, "coldstart": coldstart_figure,
        "segments": segments_figure, "load": load_figure, "pages": pages_figure,
        "followers": followers_figure, "orders": orders_figure}
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
