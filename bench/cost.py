"""python -m bench.cost: the AWS cost of a million reports, from the bench's request counts.

    python -m bench.cost              # from the figures recorded below (README "Cost")
    python -m bench.cost --measure    # measure them again first (figures 1 and 4, ~25 s)

The request counts are the bench's (figure 1's total per report, by operation; figure 4's
segments per case). What the bench cannot see is an assumption, named in ASSUMED with its
reason; prices are AWS list prices in PRICES. README "Cost" prints the table this computes,
and tests/unit/test_cost.py checks that the two agree.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

REPORTS = 1_000_000

# AWS list prices, us-east-1 (N. Virginia), in USD, as the AWS pricing pages gave them in 2025
# (DynamoDB on-demand after its November 2024 cut); not re-read for this table, which was
# written offline on 2026-11-24: check them before budgeting. Free tiers left out. An SNS
# Publish to a phone costs only its SMS.
PRICES = {
    "dynamodb_wru": 0.625 / 1e6,       # on-demand, per write request unit
    "dynamodb_rru": 0.125 / 1e6,       # on-demand, per read request unit
    "sqs_request": 0.40 / 1e6,         # standard queue, per request (64 KB chunk)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86
    "apigw_rest_request": 3.50 / 1e6,  # REST API, first 333 million a month
    "logs_ingested_gb": 0.50,          # CloudWatch Logs, standard class
    "sms_segment_cn": 0.035,           # ASSUMED rate per segment to +86: see docs/cost.md
}

# What the bench does not measure, each with why this value.
ASSUMED = {
    # Item sizes decide write units: a case item with its history is under 2 KB in the bench's
    # standard case (2 WRU a PutItem); the transactions write the case and one or two small
    # items (quota counters, send windows) and check one: 4 items, all 2x as transactional.
    "wru_per_put": 2,
    "wru_per_transaction": 2 * (2 + 1 + 1 + 1),
    # Lambda's SQS poller: one ReceiveMessage and one DeleteMessageBatch per batch, and at low
    # traffic a batch holds one report (the bench's batches of 10 are the best case).
    "sqs_poller_requests": 2,
    # Invocations per report: the API handler, and the case worker at one report a batch.
    "lambda_invocations": 2,
    "lambda_seconds": 0.2,             # per invocation, billed duration at 256 MB (not measured)
    "lambda_gb": 0.25,                 # .chalice/config.json lambda_memory_size 256
    "log_bytes": 2048,                 # per report: START/END/REPORT of 2 invocations and our lines
}

# Figure 1 (200 reports, `python -m bench --only requests --reports 200`) and figure 4.
MEASURED = {
    "requests": {"dynamodb.PutItem": 0.225 + 1.88, "dynamodb.TransactWriteItems": 1.775,
                 "sns.Publish": 1 + 0.88, "sqs.SendMessage": 1},
    "segments": 3,
}


@dataclass(frozen=True)
class Line:
    what: str
    arithmetic: str
    usd: float


def cost(measured: dict = MEASURED, prices: dict = PRICES, assumed: dict = ASSUMED,
         reports: int = REPORTS) -> list[Line]:
    """The cost lines of `reports` reports; the last two are the totals without and with SMS."""
    r, p, a = measured["requests"], prices, assumed
    m = reports
    puts, transactions = r.get("dynamodb.PutItem", 0), r.get("dynamodb.TransactWriteItems", 0)
    wru = puts * a["wru_per_put"] + transactions * a["wru_per_transaction"]
    sqs = r.get("sqs.SendMessage", 0) + a["sqs_poller_requests"]
    gb_s = a["lambda_invocations"] * a["lambda_seconds"] * a["lambda_gb"]
    log_gb = a["log_bytes"] * m / 1e9
    lines = [
        Line("DynamoDB writes", f"({puts:g} PutItem x {a['wru_per_put']} + {transactions:g} TransactWriteItems x "
             f"{a['wru_per_transaction']}) = {wru:g} WRU x {m:,} x ${p['dynamodb_wru'] * 1e6:g}/M",
             wru * m * p["dynamodb_wru"]),
        Line("SQS", f"({r.get('sqs.SendMessage', 0):g} SendMessage + {a['sqs_poller_requests']} poller) x {m:,} x "
             f"${p['sqs_request'] * 1e6:g}/M", sqs * m * p["sqs_request"]),
        Line("Lambda requests", f"{a['lambda_invocations']} x {m:,} x ${p['lambda_request'] * 1e6:g}/M",
             a["lambda_invocations"] * m * p["lambda_request"]),
        Line("Lambda duration", f"{a['lambda_invocations']} x {a['lambda_seconds']} s x {a['lambda_gb']} GB x {m:,} "
             f"x ${p['lambda_gb_second']}/GB-s", gb_s * m * p["lambda_gb_second"]),
        Line("API Gateway (REST)", f"1 POST /reports x {m:,} x ${p['apigw_rest_request'] * 1e6:g}/M",
             m * p["apigw_rest_request"]),
        Line("CloudWatch Logs", f"{a['log_bytes']} B x {m:,} = {log_gb:g} GB x ${p['logs_ingested_gb']}/GB",
             log_gb * p["logs_ingested_gb"]),
    ]
    without = sum(line.usd for line in lines)
    sms = measured["segments"] * m * p["sms_segment_cn"]
    lines.append(Line("SMS (+86)", f"{measured['segments']} segments x {m:,} x ${p['sms_segment_cn']}", sms))
    lines.append(Line("total without SMS", "the AWS lines above", without))
    lines.append(Line("total with SMS", "AWS + SMS", without + sms))
    return lines


def measure(reports: int = 200) -> dict:
    from bench import requests_per_report, sms_segments

    figure = requests_per_report.run(reports)
    requests = figure.breakdown_first + figure.breakdown_after
    return {"requests": {op: n / figure.reports for op, n in requests.items()}, "segments": sms_segments.run().total}


def table(lines: list[Line]) -> str:
    rows = ["| item | arithmetic | USD per million reports |", "|---|---|---:|"]
    rows += [f"| {line.what} | {line.arithmetic} | {line.usd:,.2f} |" for line in lines]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", action="store_true", help="run figures 1 and 4 first")
    parser.add_argument("--reports", type=int, default=200)
    args = parser.parse_args()
    print(table(cost(measure(args.reports) if args.measure else MEASURED)))


if __name__ == "__main__":
    main()
