"""Render docs/reliability.md from the fault suite's last run.

    .venv/bin/python -m pytest tests/faults      # writes build/reliability/*.json
    .venv/bin/python -m tools.reliability_report # writes docs/reliability.md

(`make reliability` does both.) Every figure in the document comes from those JSON files:
nothing here is typed by hand but the explanations.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "build" / "reliability"
TARGET = ROOT / "docs" / "reliability.md"
PARTS = ("test_crash_at_every_step", "test_duplicates", "test_dead_letters", "test_outages")
COMMAND = "make reliability"

VERDICTS = {
    "same": "same as the clean run",
    "duplicate_sms": "that SMS sent twice",
    "lost_sms": "an SMS lost",
    "state_differs": "end state differs",
    "stuck": "never finished",
    "not_reached": "fault never reached",
}


def load(folder: Path) -> dict[str, Any]:
    found = {}
    for part in PARTS:
        path = folder / f"{part}.json"
        if path.exists():
            found[part] = json.loads(path.read_text(encoding="utf-8"))
    return found


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def difference(text: str) -> str:
    """A differing path of the end state, with its two values when they are short (a case's
    or an order's whole history is not: its path says enough)."""
    path, _, values = text.partition(": ")
    return text if len(values) <= 80 else path


def crash_section(data: dict[str, Any]) -> list[str]:
    lines = ["## 1. A crash at every step", "",
             "Each scenario runs once clean; then, for every AWS request our code makes in it, once "
             "with the process killed just **before** the request (it is never made) and once just "
             "**after** it (it took effect, its answer was never used), and every delivery that "
             "crashed is delivered again as AWS would (same SQS records after the visibility "
             "timeout, the sweep a minute later, the client's POST with the same Idempotency-Key, "
             "the gateway's webhook with the same message id). The run's end state (cases, orders, "
             "the points ledger and each member's balance, the contacts table, the dead-letter "
             "queues) and the SMS sent are compared with the clean run's, less what follows from "
             "when a delivery came: times, versions, SNS message ids, and whether a notice waited "
             "for its phone's send window (the texts sent are compared all the same).", ""]
    rows = data["rows"]
    total = Counter(o["verdict"] for r in rows for o in r["outcomes"])
    at_send = sum(1 for r in rows for o in r["outcomes"] if o["sent_unrecorded"])
    lines += ["| scenario | AWS requests | runs with a crash | same as clean "
              "| SMS twice (after the send, before its record) | anything else | redeliveries | seconds |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        verdicts = Counter(o["verdict"] for o in r["outcomes"])
        boundary = sum(1 for o in r["outcomes"] if o["sent_unrecorded"] and o["verdict"] == "duplicate_sms")
        other = len(r["outcomes"]) - verdicts["same"] - boundary
        redeliveries = sum(o["crashes"] + o["retries"] for o in r["outcomes"])
        lines.append(f"| {cell(r['scenario'])} | {len(r['calls'])} | {len(r['outcomes'])} | {verdicts['same']} | "
                     f"{boundary} | {other} | {redeliveries} | {r['seconds']} |")
    runs = sum(len(r["outcomes"]) for r in rows)
    lines += ["", f"In all: {runs} runs with a crash, {total['same']} ended exactly as the clean run, "
              f"{at_send} were at the one boundary left (below), and "
              f"{runs - total['same'] - at_send} ended otherwise.", ""]
    known = [r for r in rows if r.get("known_bug")]
    if known:
        lines += ["**Known faults** (kept as `xfail` tests until fixed; the runs that end otherwise "
                  "above):", ""]
        for r in known:
            wrong = [o["fault"] for o in r["outcomes"] if o["verdict"] not in ("same", "duplicate_sms")]
            lines.append(f"- *{cell(r['scenario'])}*, {len(wrong)} runs ({', '.join(f'`{w}`' for w in wrong)}): "
                         f"{cell(r['known_bug'])}.")
        lines.append("")
    lines += ["### Every boundary", "",
              "`before #k` / `after #k`: the crash, at the k-th request of the clean run. "
              "Outcome: what the run ended with after redelivery; crashes: deliveries that died "
              "(the injected one, and none more).", ""]
    for r in rows:
        lines += [f"#### {cell(r['scenario'])}", "",
                  "| # | handler | request | crash before it | crash after it |", "|---:|---|---|---|---|"]
        by_fault = {(o["fault"].split(" ", 2)[0], int(o["fault"].split(" ", 2)[1][1:])): o for o in r["outcomes"]}
        for call in r["calls"]:
            def outcome(when: str, by_fault=by_fault, call=call) -> str:
                o = by_fault.get((when, call["index"]))
                if o is None:
                    return "not run"
                text = VERDICTS[o["verdict"]]
                if o["verdict"] == "duplicate_sms":
                    text += ": " + "; ".join(o["duplicates"])
                elif o["verdict"] != "same":
                    text += ": " + "; ".join(o["missing"] + [difference(d) for d in o["differences"]])[:300]
                return cell(text)
            lines.append(f"| {call['index']} | {cell(call['handler'])} | {cell(call['operation'])} "
                         f"{cell(call['target'])} | {outcome('before')} | {outcome('after')} |")
        lines.append("")
    return lines


def duplicates_section(data: dict[str, Any]) -> list[str]:
    lines = ["## 2. Every message delivered twice, in and out of order", "",
             "For each queue, the messages a real run puts on it are delivered once in an order (the "
             "reference), then with every message delivered twice: the copies in the same batch; "
             "again in a later batch, reversed; or shuffled across batches of three. Compared with "
             "the reference: the cases, the orders, the points ledger, the contacts table, the "
             "dead-letter queues (distinct "
             "messages: a poison message delivered twice may be dead-lettered twice) and the SMS "
             "sent.", "",
             "| queue | order | delivery | messages | deliveries | batches | SMS (reference) | outcome |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for r in data["rows"]:
        outcome = "same as single delivery" if r["verdict"] == "same" else \
            "differs: " + "; ".join(r["duplicates"] + r["missing"] + r["differences"])[:200]
        lines.append(f"| {r['queue']} | {r['order']} | {r['plan']} | {r['messages']} | {r['deliveries']} | "
                     f"{r['batches']} | {r['sms']} | {cell(outcome)} |")
    return lines + [""]


def dead_letters_section(data: dict[str, Any]) -> list[str]:
    lines = ["## 3. Poison messages, dead letters and redrive", "",
             "On moto's queues with their redrive policy (maxReceiveCount 5); the test plays the "
             "event source mapping (receive, invoke, delete what was handled).", "",
             "| consumer | fault | figures | outcome |", "|---|---|---|---|"]
    for r in data["rows"]:
        figures = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("consumer", "fault", "outcome"))
        lines.append(f"| {cell(r['consumer'])} | {cell(r['fault'])} | {cell(figures)} | {cell(r['outcome'])} |")
    return lines + [""]


def outages_section(data: dict[str, Any]) -> list[str]:
    clients = data.get("clients", {})
    lines = ["## 4. Outages: throttling and 5xx from DynamoDB, SQS and SNS", ""]
    if clients:
        lines += [f"Every client ({', '.join(clients['clients'])}) retries in botocore's "
                  f"**{clients['mode']}** mode, **{clients['attempts']} attempts** in all, connect timeout "
                  f"{clients['connect_timeout']} s, read timeout {clients['read_timeout']} s: one call's worst case "
                  f"is {clients['worst_case_s']} s, within Lambda's 30 s (set in `chalicelib/bootstrap.py`).", ""]
    lines += ["Errors are injected where AWS would answer (moto's answer is replaced on every client), so "
              "botocore's own retries see them; botocore's sleeps are recorded, not slept.", "",
              "| fault | injected | attempts | backoff (s) | outcome |", "|---|---|---:|---|---|"]
    for r in data["rows"]:
        lines.append(f"| {cell(r['fault'])} | {cell(r['injected'])} | {r['attempts']} | "
                     f"{cell(r.get('backoff', ''))} | {cell(r['outcome'])} |")
    return lines + [""] + retries_section(data)


def retries_section(data: dict[str, Any]) -> list[str]:
    """When a record that failed after botocore's retries comes back (the delay the consumer
    set with ChangeMessageVisibility, chalicelib/sqs_batch.py), by what failed."""
    rows, real = data.get("retries", []), data.get("real_queue")
    if not rows:
        return []
    lines = ["### When a failed record comes back", "",
             "A record that still fails after botocore's retries is failed alone (partial batch "
             "response) and asked back with ChangeMessageVisibility: in 1-2 s when its failure may "
             "pass by itself (throttling, a 5xx, a timeout, a write that lost a race), then about 10 s, "
             "50 s, 250 s (×5), so that one that keeps failing is dead-lettered after about five minutes; "
             "after about 30 s, then doubling, when not (likely a bug, or a refusal); with jitter, at "
             "most 15 minutes. On the redrive limit it goes to the dead-letter queue with its reason. "
             "Delays below are those the case worker asked for, receive by receive.", "",
             "| failure | error | may pass | first retry (s) | later retries (s) | outcome |",
             "|---|---|---|---:|---|---|"]
    for r in rows:
        first, later = (r["delays"][0], ", ".join(map(str, r["delays"][1:]))) if r["delays"] else ("", "")
        lines.append(f"| {cell(r['fault'])} | {cell(r['error'])} | {'yes' if r['transient'] else 'no'} | "
                     f"{first} | {cell(later)} | {cell(r['outcome'])} |")
    if real:
        lines += ["", f"On moto's real queue, in one batch: a record whose text SNS throttled asked to come back "
                      f"in {real['throttled_asked']} s and was receivable again after {real['throttled_back_after']} s "
                      f"(not the queue's 180 s visibility timeout); the one whose number SNS refused asked for "
                      f"{real['refused_asked']} s and was still hidden then."]
    return lines + [""]


BOUNDARY = """## The one boundary that stays at-least-once

SNS `Publish` to a phone number takes no idempotency key. If the process dies (or the
answer is lost) after SNS took a text and before that text is recorded, the redelivery
cannot tell whether it went out, and sends it again. Everything around it is exactly once:

- a case's notices are saved in the same write as the transition (the outbox); each text is
  recorded on the case **right after its own send** (not after the last one), and a bundled
  text on every case it carried in **one** write, with the send window's waiting list; an
  order's notices go through the same outbox (`services.orders.OrderNotices`);
- the reply worker's direct answers (查询, 帮助, error replies, 退订/订阅 confirmations) have a
  record per inbound SMS and answer, written "sending" just before the send and "sent" just
  after; a redelivery never sends what is "sent", and sends what is "sending" only after 60 s
  (its worker died). Records expire with the contacts table's TTL after 20 days;
- what an inbound SMS counts (rate limits) and changes (opt-outs) is keyed by that SMS, so a
  redelivery neither counts it again nor loses the confirmation it owes.

The window is one request wide: the send, then its record. Section 1 shows every crash at
that boundary (after a `sns.Publish`, or before the request right after it in the same
invocation, the same moment) sending exactly that one text twice, and every other crash
ending as the clean run, but for the known faults it names.
`tests/faults/test_crash_at_every_step.py::
test_the_one_boundary_left_is_a_text_sent_and_not_yet_recorded` keeps it so.

**Why no record before a case's notice.** A "sending" record written before each send
would cost a request before every report's first SMS: `make bench` figure 1 (AWS requests
per report up to its first SMS, budget 4) is at exactly 4.000. A case's notices need none:
the transition's own write is where they are claimed, and another worker that finds them
saved seconds ago waits for them instead of sending them too (`CaseWorkflow._settled`).
Recording each text right after its send costs one write per text *after* the first SMS
(not budgeted). Powertools' idempotency utility is not used for the same reason, and
because its records are keyed per Lambda function (a notice may be sent by any of the three
consumers, an answer must hold across a gateway's retried webhook) and its expiry reads the
wall clock; our records follow its shape (a conditional "in progress" write with its own
expiry, "completed" after, a TTL) on the contacts table.
"""


def render(found: dict[str, Any], when: str) -> str:
    seconds = sum(d.get("seconds", 0) for d in found.values())
    lines = ["# Reliability: what the fault tests try, and what happens", "",
             f"Generated by `python -m tools.reliability_report` from the fault suite's last run "
             f"({when}, {seconds:.0f} s of tests); reproduce it with `{COMMAND}`. The tests are in "
             "`tests/faults/`; the machinery is `tests/faults/harness.py`.", ""]
    missing = [p for p in PARTS if p not in found]
    if missing:
        lines += [f"**Not in this run:** {', '.join(missing)} (run the whole suite).", ""]
    if "test_crash_at_every_step" in found:
        lines += crash_section(found["test_crash_at_every_step"])
    if "test_duplicates" in found:
        lines += duplicates_section(found["test_duplicates"])
    if "test_dead_letters" in found:
        lines += dead_letters_section(found["test_dead_letters"])
    if "test_outages" in found:
        lines += outages_section(found["test_outages"])
    lines += [BOUNDARY]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    found = load(args.source)
    if not found:
        print(f"no results in {args.source}: run `.venv/bin/python -m pytest tests/faults` first", file=sys.stderr)
        return 2
    newest = max((args.source / f"{p}.json").stat().st_mtime for p in found)
    when = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M UTC")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(found, when), encoding="utf-8")
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
