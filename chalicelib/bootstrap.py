"""The composition root: builds every service and adapter, lazily.

Nothing here runs at import: the first handler that needs DynamoDB pays for
PynamoDB, the first that needs SQS pays for boto3, and a warm container keeps
what it built. Tests and the local stack replace pieces through `Container`'s
constructor arguments or by setting attributes before first use.
"""
from __future__ import annotations

import json
import time
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from chalicelib.config import Config

DATA = Path(__file__).parent / "data"


def load_json(name: str) -> Any:
    with open(DATA / name, encoding="utf-8") as handle:
        return json.load(handle)


class Container:
    def __init__(self, config: Config | None = None, clock: Callable[[], float] = time.time):
        self.config = config or Config.from_env()
        self.clock = clock

    # -- data files ------------------------------------------------------------
    @cached_property
    def categories(self) -> dict[str, Any]:
        return {c["code"]: c for c in load_json("categories.json")["categories"]}

    @cached_property
    def policy(self):
        from chalicelib.domain.directory import LEVEL_ROLES
        from chalicelib.domain.policy import EscalationPolicy
        return EscalationPolicy.from_dict(load_json("policy.json"), time_scale=self.config.time_scale
                                          ).require_levels(len(LEVEL_ROLES))

    @cached_property
    def policies(self):
        """Every community's policy book (data/policies/<community>.json) with its working
        calendar, and the single-chain policy.json for a community without one."""
        from chalicelib.domain.directory import ROLE_NAMES
        from chalicelib.domain.policy import Policies, PolicyBook
        from chalicelib.domain.working_calendar import WorkingCalendar
        books = {}
        for path in sorted(self.policy_files()):
            data = json.loads(path.read_text(encoding="utf-8"))
            calendar = WorkingCalendar.from_dict(load_json(f"calendars/{data['calendar']}.json"))
            book = PolicyBook.from_dict(data, calendar, time_scale=self.config.time_scale,
                                        known_roles=frozenset(ROLE_NAMES),
                                        known_categories=frozenset(self.categories))
            books[book.community] = book
        return Policies(books, self.policy)

    @property
    def policy_dir(self) -> Path:
        return Path(self.config.policy_dir or DATA / "policies")

    def policy_files(self) -> list[Path]:
        return list(self.policy_dir.glob("*.json"))

    def reload_policies(self) -> None:
        """Read the policy files again (the local stack does when one is edited): new
        cases take the new limits, running cases keep the ones they started under."""
        for name in ("policies", "intake", "workflow"):
            self.__dict__.pop(name, None)
        self.policies  # noqa: B018 - load now, so a broken file fails here, not in a handler

    # -- AWS clients -------------------------------------------------------------
    def _client(self, service: str) -> Any:
        import boto3
        return boto3.session.Session().client(service, region_name=self.config.region,
                                              endpoint_url=self.config.endpoint_url)

    @cached_property
    def sqs_client(self) -> Any:
        return self._client("sqs")

    @cached_property
    def sns_client(self) -> Any:
        return self._client("sns")

    # -- adapters ----------------------------------------------------------------
    @cached_property
    def case_model(self):
        from chalicelib.adapters.dynamo import build_case_model
        return build_case_model(self.config.name("cases"), self.config.region, self.config.endpoint_url)

    @cached_property
    def directory_model(self):
        # The directory table's model, with each community's version (for imports);
        # load() reads it exactly as dynamo.build_directory_model's.
        from chalicelib.adapters.directory_versions import build_versioned_directory_model
        return build_versioned_directory_model(self.config.name("directory"), self.config.region,
                                               self.config.endpoint_url)

    @cached_property
    def directory_history_model(self):
        from chalicelib.adapters.directory_versions import build_directory_history_model
        return build_directory_history_model(self.config.name("directory-history"), self.config.region,
                                             self.config.endpoint_url)

    @cached_property
    def contacts_model(self):
        from chalicelib.adapters.dynamo import build_contacts_model
        return build_contacts_model(self.config.name("contacts"), self.config.region, self.config.endpoint_url)

    @cached_property
    def contacts(self):
        """ContactPreferences: opt-outs (退订 / 订阅) and per-phone rate limits, on the contacts table.
        NoticeDelivery asks it `opted_out(phone)` before a notice to a reporter."""
        from chalicelib.adapters.dynamo import DynamoContactPreferences
        return DynamoContactPreferences(self.contacts_model)

    @cached_property
    def cases(self):
        from chalicelib.adapters.dynamo import DynamoCaseRepository
        return DynamoCaseRepository(self.case_model, self.config.due_shards)

    @cached_property
    def directory_store(self):
        # DynamoDirectoryStore with the history: handlers only call load(), unchanged.
        from chalicelib.adapters.directory_versions import DynamoVersionedDirectoryStore
        return DynamoVersionedDirectoryStore(self.directory_model, self.directory_history_model)

    @cached_property
    def directory_cache(self):
        from chalicelib.services.directory import DirectoryCache
        return DirectoryCache(self.directory_store, ttl=self.config.directory_ttl)

    def directory(self):
        return self.directory_cache.get()

    def queue(self, purpose: str):
        from chalicelib.adapters.sqs import SqsQueue
        queues = self.__dict__.setdefault("_queues", {})
        if purpose not in queues:
            queues[purpose] = SqsQueue(lambda: self.sqs_client, self.config.name(purpose))
        return queues[purpose]

    def dead_letters(self, purpose: str):
        from chalicelib.adapters.sqs import SqsDeadLetters
        return SqsDeadLetters(self.queue(f"{purpose}-dlq"))

    @cached_property
    def sms(self):
        from chalicelib.adapters.sns import SnsSmsSender
        return SnsSmsSender(lambda: self.sns_client)

    # -- services ----------------------------------------------------------------
    @cached_property
    def intake(self):
        from chalicelib.services.intake import IntakeService
        return IntakeService(self.cases, self.queue("intake"), self.directory, self.categories, self.policies,
                             self.clock)

    @cached_property
    def notices(self):
        from chalicelib.services.notices import NoticeDelivery
        return NoticeDelivery(self.cases, self.sms, self.directory, self.categories, self.clock,
                              contacts=self.contacts, policy_for=lambda case: self.policies.for_case(
                                  case.community_id, case.category, case.priority))

    @cached_property
    def workflow(self):
        from chalicelib.services.workflow import CaseWorkflow
        return CaseWorkflow(self.cases, self.notices, self.sms, self.queue("escalation"),
                            self.directory, self.policies, self.clock,
                            intake=self.intake, contacts=self.contacts)

    @cached_property
    def directory_admin(self):
        """Directory import, export and history (tools/directory.py; not used by handlers)."""
        from chalicelib.services.directory_admin import DirectoryAdmin
        return DirectoryAdmin(self.directory_store, self.clock, on_change=self.directory_cache.invalidate)

    @cached_property
    def inbound_sms(self):
        from chalicelib.services.inbound import InboundSms
        return InboundSms(self.queue("sms-inbound"), self.clock)

    @cached_property
    def sla(self):
        """The SLA report, per grid and per member, from the by-grid index (no Scan)."""
        from chalicelib.services.sla import SlaFacts
        return SlaFacts(self.cases, self.directory)

    @cached_property
    def digest(self):
        """The away members' daily digest through each community's group-robot webhook.
        GRIDLOOP_DIGEST_WEBHOOKS is read on every run, like the gateways' secrets."""
        import os

        from chalicelib.adapters.digests import DynamoCasePlaces, DynamoDigestLog, build_digest_model
        from chalicelib.adapters.webhook import WebhookSender
        from chalicelib.domain.digest import parse_config
        from chalicelib.services.digest import DigestService
        model = build_digest_model(self.config.name("digests"), self.config.region, self.config.endpoint_url)
        return DigestService(self.cases, DynamoCasePlaces(self.case_model), WebhookSender(),
                             DynamoDigestLog(model), self.directory, self.categories,
                             lambda: parse_config(os.environ.get("GRIDLOOP_DIGEST_WEBHOOKS")), self.clock)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container()
    return _container


def use(replacement: Container | None) -> None:
    """Install a container (tests, the local stack); None goes back to the default."""
    global _container
    _container = replacement
