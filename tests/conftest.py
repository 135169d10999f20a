"""Shared fixtures.

`services` wires the real services to in-memory fakes (no AWS, milliseconds).
`aws_stack` wires them to the real adapters on an in-process moto, with the
tables, queues and topics created from infra/resources.json.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import replace

import pytest

from chalicelib.config import Config
from tests.fakes import (
    FakeClock,
    FakeQueue,
    FakeSms,
    FixedDirectoryStore,
    InMemoryCases,
    InMemoryContacts,
    InMemoryFollows,
)

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def communities():
    from devstack.resources import demo_communities
    return demo_communities()


@pytest.fixture
def directory(communities):
    from chalicelib.domain.directory import Directory
    return Directory(communities)


@pytest.fixture
def clock():
    return FakeClock()


class FakeServices:
    """The service layer over fakes: what a unit-level service test needs."""

    def __init__(self, communities, clock, books: bool = False):
        from chalicelib.bootstrap import Container, load_json
        from chalicelib.domain.admission import ReportLimits
        from chalicelib.services.directory import DirectoryCache
        from chalicelib.services.inbound import InboundSms
        from chalicelib.services.intake import IntakeService
        from chalicelib.services.notices import NoticeDelivery
        from chalicelib.services.workflow import CaseWorkflow

        self.clock = clock
        self.cases, self.sms, self.contacts = InMemoryCases(), FakeSms(), InMemoryContacts()
        self.intake_queue, self.escalation_queue, self.inbound_queue = FakeQueue(), FakeQueue(), FakeQueue()
        self.store = FixedDirectoryStore(communities)
        cache = DirectoryCache(self.store, ttl=300, clock=clock)
        self.directory = cache.get
        container = Container(_config(), clock)
        self.categories, self.policy = container.categories, container.policy
        if books:       # the communities' policy books (data/policies), with their duplicate rules
            self.policy = container.policies
        self.follows = InMemoryFollows()
        self.intake = IntakeService(self.cases, self.intake_queue, self.directory, self.categories,
                                    self.policy, clock, limits=ReportLimits())
        self.notices = NoticeDelivery(self.cases, self.sms, self.directory, self.categories, clock)
        self.workflow = CaseWorkflow(self.cases, self.notices, self.sms, self.escalation_queue,
                                     self.directory, self.policy, clock,
                                     intake=self.intake, contacts=self.contacts,
                                     blocklist=self.cases.blocklist, follows=self.follows)
        self.inbound = InboundSms(self.inbound_queue, clock)
        self.load_json = load_json

    def member(self, community_id: str, member_id: str):
        return self.directory().member(community_id, member_id)

    def run_intake(self) -> None:
        """What the case worker does with everything on the intake queue."""
        for index, body in enumerate(self.intake_queue.take()):
            self.workflow.route(self.intake.parse_queue_message(body, f"m-{index}"))

    def run_escalations(self) -> None:
        for body in self.escalation_queue.take():
            self.workflow.escalate(body)

    def run_replies(self) -> None:
        for body in self.inbound_queue.take():
            self.workflow.reply(body)


def _config(**overrides) -> Config:
    base = Config(stage="local", region="us-east-1", endpoint_url=None, time_scale=1.0,
                  directory_ttl=300.0, due_shards=4, max_receive_count=5)
    return replace(base, **overrides)


@pytest.fixture
def services(communities, clock):
    return FakeServices(communities, clock)


@pytest.fixture
def book_services(communities, clock):
    """FakeServices on the communities' policy books (their chains and duplicate rules)."""
    return FakeServices(communities, clock, books=True)


TEST_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                    "GRIDLOOP_STAGE": "local"}


def use_test_environment(patch: pytest.MonkeyPatch) -> None:
    for key, value in TEST_ENVIRONMENT.items():
        patch.setenv(key, value)
    patch.delenv("GRIDLOOP_AWS_ENDPOINT", raising=False)


@pytest.fixture
def aws_credentials(monkeypatch):
    use_test_environment(monkeypatch)


# Functional tests post many reports from one phone, all from chalice's 127.0.0.1: the
# limits are checked (in the same write) but not reached, except where a test asks for its
# own (tests/functional/test_report_floods.py).
ROOMY_LIMITS = {"reports_per_phone": 1000, "reports_per_ip": 1000, "orders_per_phone": 1000, "orders_per_ip": 1000}


@contextmanager
def moto_stack(clock, **config):
    """The real adapters on in-process moto, with every resource of infra/resources.json
    and the demo directory; installed as the handlers' container while it lasts.

    Bundling is off unless asked for (`bundle_seconds=120`): these tests follow one case
    at a time on a clock that stands still, where every text to a phone would otherwise
    fall in one send window. tests/functional/test_bundling.py and the local stack run
    with it on."""
    import boto3
    from moto import mock_aws

    from chalicelib import bootstrap
    from devstack.resources import create_all, load_demo_directory

    with mock_aws():
        create_all(boto3.session.Session(), "local")
        container = bootstrap.Container(_config(**{"bundle_seconds": 0.0, **ROOMY_LIMITS, **config}), clock)
        load_demo_directory(container.directory_store)
        bootstrap.use(container)
        try:
            yield container
        finally:
            bootstrap.use(None)


@pytest.fixture
def aws_stack(aws_credentials, clock):
    with moto_stack(clock) as container:
        yield container


def sent_sms() -> list[tuple[str, str]]:
    """(phone, text) of every SMS moto's SNS accepted, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())
