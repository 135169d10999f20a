"""Figure 6: the residents' web pages (docs/web.md), their size and their server time.

In process, on moto, with the container warm (the directory loaded, the templates compiled
by a first, untimed request of each page): `GET /?community=changmu` (the report page) and
`GET /r/CODE` (the status page of a report posted with `POST /reports` and routed by the case
worker) through `chalice.test.Client(app)`, the HTTP handler included.

Size: each page gzip-compressed (level 9) plus its stylesheet, compressed the same way, as
tests/functional/test_web_pages.py computes it. Time: the wall time of each request through
the test client (handler, templates, moto's answers), as median and 95th percentile.
"""
from __future__ import annotations

import gzip
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.requests_per_report import _env, _lambda_event, queue_endpoint

REPORT_PAGE = "/?community=changmu"
STYLESHEET = re.compile(rb'<link rel="stylesheet" href="([^"]+)"')


@dataclass
class PageFigure:
    path: str
    gzip_bytes: int             # the page alone
    stylesheet_bytes: int       # its stylesheet, compressed
    median_ms: float
    p95_ms: float
    requests: int

    @property
    def total_bytes(self) -> int:
        return self.gzip_bytes + self.stylesheet_bytes


@dataclass
class Result:
    report_page: PageFigure
    status_page: PageFigure
    seconds: float


def gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, 9))


def _timed(client: Any, path: str, requests: int, stylesheet_bytes: int) -> PageFigure:
    first = client.http.get(path)          # warm-up, untimed
    if first.status_code != 200:
        raise RuntimeError(f"GET {path} answered {first.status_code}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    return PageFigure(path, gzip_size(first.body), stylesheet_bytes, statistics.median(times), p95, requests)


def run(requests: int = 200) -> Result:
    _env()
    started = time.perf_counter()
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import bootstrap
    from chalicelib.config import Config
    from devstack.resources import create_all, load_demo_directory

    # Every request comes from 127.0.0.1: the status page's look-up limit is raised above them.
    config = Config(stage="local", region="us-east-1", endpoint_url=None, time_scale=1.0,
                    directory_ttl=300.0, due_shards=4, max_receive_count=5,
                    lookups_per_ip=10 * (requests + 1))
    with mock_aws():
        create_all(boto3.session.Session(), "local")
        container = bootstrap.Container(config, time.time)
        load_demo_directory(container.directory_store)
        bootstrap.use(container)
        try:
            with Client(app, stage_name="local") as client:
                form = client.http.get(REPORT_PAGE)
                link = STYLESHEET.search(form.body)
                if form.status_code != 200 or not link:
                    raise RuntimeError(f"GET {REPORT_PAGE} answered {form.status_code} without a stylesheet")
                css = client.http.get(link.group(1).decode().replace("&amp;", "&"))
                if css.status_code != 200:
                    raise RuntimeError(f"GET {link.group(1)!r} answered {css.status_code}")
                css_bytes = gzip_size(css.body)

                code = _routed_report(client, container, config)
                report_page = _timed(client, REPORT_PAGE, requests, css_bytes)
                status_page = _timed(client, f"/r/{code}", requests, css_bytes)
        finally:
            bootstrap.use(None)
    return Result(report_page, status_page, time.perf_counter() - started)


def _routed_report(client: Any, container: Any, config: Any) -> str:
    """A report posted with POST /reports and routed by the case worker: its code."""
    import json

    import boto3

    body = {"category": "sanitation", "location": "changmu-01-1", "description": "楼道灯坏了",
            "phone": "13800138000", "name": "住户"}
    response = client.http.post("/reports", body=json.dumps(body, ensure_ascii=False),
                                headers={"Content-Type": "application/json"})
    if response.status_code != 202:
        raise RuntimeError(f"POST /reports answered {response.status_code}: {response.body!r}")
    sqs = boto3.session.Session().client("sqs", region_name="us-east-1")
    url, arn = queue_endpoint(sqs, config.name("intake"))
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    answer = client.lambda_.invoke("case_worker", _lambda_event(messages, arn)).payload
    if (answer or {}).get("batchItemFailures"):
        raise RuntimeError(f"the case worker failed the report: {answer}")
    return json.loads(response.body)["code"]
