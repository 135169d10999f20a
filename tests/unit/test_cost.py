"""bench.cost: the arithmetic of README "Cost" gives the README's numbers."""
from __future__ import annotations

import re
from pathlib import Path

from bench.cost import MEASURED, cost, table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_totals_are_the_sum_of_their_lines():
    lines = {line.what: line.usd for line in cost()}
    aws = sum(v for k, v in lines.items() if not k.startswith(("total", "SMS")))
    assert abs(lines["total without SMS"] - aws) < 1e-9
    assert abs(lines["total with SMS"] - aws - lines["SMS (+86)"]) < 1e-9
    assert abs(lines["SMS (+86)"] - MEASURED["segments"] * 1_000_000 * 0.035) < 1e-6


def test_dynamodb_writes_follow_the_measured_requests():
    doubled = {**MEASURED, "requests": {op: 2 * n for op, n in MEASURED["requests"].items()}}
    before, after = ({line.what: line.usd for line in cost(m)} for m in (MEASURED, doubled))
    assert abs(after["DynamoDB writes"] - 2 * before["DynamoDB writes"]) < 1e-9


def test_the_readme_prints_this_table():
    text = README.read_text(encoding="utf-8")
    assert table(cost()) in text, "README \"Cost\" differs from `python -m bench.cost`: paste its output there"
    assert re.search(r"21\.52", text) and "105,021.52" in text
