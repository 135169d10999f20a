"""The local stack under a burst: N reports from concurrent clients through `make run`'s
HTTP API, each followed to its holder's first SMS (bench "load"; tests/e2e/test_burst.py
runs a smaller one).

The stack runs as `make run` does (`python -m devstack`), at time scale 1, on ports of its
own, with the tables on the engine asked for (DynamoDB Local or moto). Two settings differ
from the defaults, both so that the figure measures the pipeline and not a deliberate wait:
- GRIDLOOP_BUNDLE_SECONDS=0: a holder's second assignment within two minutes would
  otherwise wait for the end of the first one's send window (services.notices);
- GRIDLOOP_REPORTS_PER_IP=0: every client posts from 127.0.0.1, which the flood limit
  would stop after its tenth report.
The reports carry no phone (no code SMS to a resident), and spread over every unit of the
demo directory and three routine categories that the policy never folds into an open case
(domain.duplicates: a burst of leaks in one building would rightly be one case), so each is a
case of its own and makes one SMS to its holder: the assignment. Lost: a 202
whose SMS never came; doubled: a report of which one phone was told twice.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ("sanitation", "other", "elderly_care")     # routine (no urgent fan-out), never folded


def _request(url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError:
        return 0, {}


class Stack:
    """`python -m devstack` on free ports, stopped with Ctrl-C (SIGINT) as a user would."""

    def __init__(self, engine: str, env: dict[str, str] | None = None, start_timeout: float = 120):
        self.engine = engine
        self.http_port, aws_port, self.dynamodb_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.log = tempfile.TemporaryFile("w+")
        settings = dict(os.environ, GRIDLOOP_HTTP_PORT=str(self.http_port), GRIDLOOP_AWS_PORT=str(aws_port),
                        GRIDLOOP_DYNAMODB_PORT=str(self.dynamodb_port), GRIDLOOP_DYNAMODB=engine,
                        GRIDLOOP_TIME_SCALE="1", GRIDLOOP_BUNDLE_SECONDS="0", GRIDLOOP_REPORTS_PER_IP="0",
                        PYTHONUNBUFFERED="1", **(env or {}))
        self.process = subprocess.Popen([sys.executable, "-m", "devstack"], cwd=ROOT, env=settings,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while _request(self.base + "/health", timeout=2)[0] != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not come up:\n{self.output()[-3000:]}")
            time.sleep(0.2)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def banner_line(self, label: str) -> str:
        """What the banner says after `label` (e.g. "tables")."""
        return next((line.strip().removeprefix(label).strip() for line in self.output().splitlines()
                     if line.strip().startswith(label)), "")

    def outbox(self) -> list[dict]:
        return _request(self.base + "/dev/outbox")[1].get("messages", [])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.close()


@dataclass
class Posted:
    index: int
    sent_at: float
    status: int
    answered_at: float
    report: dict


@dataclass
class LoadResult:
    engine: str
    tables: str
    reports: int
    clients: int
    accepted: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    post_seconds: float = 0.0              # the first POST sent to the last one answered
    end_to_end_seconds: float = 0.0        # the first POST sent to the last first SMS
    latencies: list[float] = field(default_factory=list)    # POST sent → its first SMS, seconds
    lost: int = 0
    doubled: int = 0
    timed_out: bool = False

    @property
    def http_rate(self) -> float:
        return self.accepted / self.post_seconds if self.post_seconds else 0.0

    @property
    def end_to_end_rate(self) -> float:
        return len(self.latencies) / self.end_to_end_seconds if self.end_to_end_seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("nan"))


def units(stack: Stack) -> list[str]:
    codes = [loc["code"] for loc in _request(stack.base + "/grid")[1].get("locations", [])]
    return [code for code in codes if code.count("-") == 2]      # community-building-unit


def post_burst(stack: Stack, reports: int, clients: int) -> list[Posted]:
    places = units(stack)
    if not places:
        raise RuntimeError("the local stack's directory has no units")
    todo = iter(range(reports))
    lock = threading.Lock()
    posted: list[Posted] = []

    def client() -> None:
        while True:
            with lock:
                index = next(todo, None)
            if index is None:
                return
            body = {"category": CATEGORIES[index % len(CATEGORIES)], "location": places[index % len(places)],
                    "description": f"负载测试第{index}号：楼道灯不亮了"}
            sent_at = time.time()
            status, report = _request(stack.base + "/reports", body)
            with lock:
                posted.append(Posted(index, sent_at, status, time.time(), report))

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return posted


def follow(stack: Stack, posted: list[Posted], timeout: float) -> tuple[dict[str, list[dict]], bool]:
    """Each accepted report's SMS, once every one has arrived or `timeout` has passed; and
    whether it passed. A little longer is waited after the last one, so a double shows."""
    wanted = {p.report["id"] for p in posted if p.status == 202}
    deadline = time.monotonic() + timeout
    while True:
        by_case: dict[str, list[dict]] = {}
        for message in stack.outbox():
            if message.get("case_id") in wanted:
                by_case.setdefault(message["case_id"], []).append(message)
        if len(by_case) == len(wanted):
            time.sleep(2.0)
            return {case: [m for m in stack.outbox() if m.get("case_id") == case] for case in wanted}, False
        if time.monotonic() > deadline or stack.process.poll() is not None:
            return by_case, True
        time.sleep(1.0)         # the outbox is the stack's to serve too: asked once a second


def run(reports: int = 1000, clients: int = 16, engine: str = "local", timeout: float = 300) -> LoadResult:
    with Stack(engine) as stack:
        result = LoadResult(engine=engine, tables=stack.banner_line("tables"), reports=reports, clients=clients)
        posted = post_burst(stack, reports, clients)
        result.accepted = sum(p.status == 202 for p in posted)
        for p in posted:
            if p.status != 202:
                result.refused[p.status] = result.refused.get(p.status, 0) + 1
        first_sent = min(p.sent_at for p in posted)
        result.post_seconds = max(p.answered_at for p in posted) - first_sent
        messages, result.timed_out = follow(stack, posted, timeout)
        last_arrival = first_sent
        for p in posted:
            if p.status != 202:
                continue
            sms = [m for m in messages.get(p.report["id"], []) if p.report["code"] in m["text"]]
            if not sms:
                result.lost += 1
                continue
            # Some categories also tell a second member (跟办): a double is one phone told twice.
            phones = [m["to"] for m in sms]
            result.doubled += len(phones) != len(set(phones))
            arrived = min(m["at"] for m in sms)
            result.latencies.append(arrived - p.sent_at)
            last_arrival = max(last_arrival, arrived)
        result.end_to_end_seconds = last_arrival - first_sent
        return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--engine", choices=("local", "moto"), default="local")
    args = parser.parse_args(argv)
    r = run(args.reports, args.clients, args.engine)
    print(json.dumps({"engine": r.engine, "tables": r.tables, "accepted": r.accepted, "lost": r.lost,
                      "doubled": r.doubled, "http_rate": round(r.http_rate, 1),
                      "end_to_end_rate": round(r.end_to_end_rate, 1), "p50": r.percentile(50),
                      "p95": r.percentile(95), "max": r.worst}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
