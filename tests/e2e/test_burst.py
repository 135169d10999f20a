"""End to end: a burst of reports on the local stack as `make run` starts it, with its tables
in DynamoDB Local. None is lost, none doubled, and every one reaches its holder within a
minute (bench/load.py; `make bench` runs the 1,000-report figure with its budget)."""
from __future__ import annotations

import subprocess

import pytest

from bench import load

pytestmark = pytest.mark.e2e

REPORTS, CLIENTS, WITHIN = 200, 16, 60.0


def java_processes_on(port: int) -> list[str]:
    listed = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in listed if "LoopbackDynamoDBLocal" in line and f"-port {port}" in line]


def test_a_burst_of_reports_each_reaches_its_holder_once_within_a_minute():
    # GIVEN the local stack, its tables in DynamoDB Local (the banner says so)
    with load.Stack("local") as stack:
        assert "DynamoDB Local" in stack.banner_line("tables"), stack.output()[-3000:]
        assert java_processes_on(stack.dynamodb_port)
        # WHEN 16 clients post 200 reports at once
        posted = load.post_burst(stack, REPORTS, CLIENTS)
        messages, timed_out = load.follow(stack, posted, timeout=WITHIN)
        # THEN every one is accepted, and its holder is told once, within the minute
        assert sorted(p.status for p in posted) == [202] * REPORTS
        assert not timed_out, f"{REPORTS - len(messages)} reports reached nobody in {WITHIN:g}s"
        for p in posted:
            sms = [m for m in messages[p.report["id"]] if p.report["code"] in m["text"]]
            phones = [m["to"] for m in sms]
            assert sms, f"report {p.report['code']} reached nobody"
            assert len(phones) == len(set(phones)), f"report {p.report['code']} told {phones}"
            assert min(m["at"] for m in sms) - p.sent_at <= WITHIN
        port = stack.dynamodb_port
    # AND Ctrl-C leaves no Java process behind
    assert java_processes_on(port) == []
