"""The composition root: builds every service and adapter, lazily.

Nothing here runs at import: the first handler that needs DynamoDB pays for
PynamoDB, the first that needs SQS pays for boto3, and a warm container keeps
what it built. Tests and the local stack replace pieces through `Container`'s
constructor arguments or by setting attributes before first use.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from chalicelib.config import Config

DATA = Path(__file__).parent / "data"


def load_json(name: str) -> Any:
    with open(DATA / name, encoding="utf-8") as handle:
        return json.load(handle)


# The SDKs' DEBUG logs hold whole requests and answers: phones, names, residents' words.
# Whatever a function's log level, these stay at WARNING (docs/security.md "Personal data"), the
# level they have by default; their INFO lines are noise.
SDK_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "pynamodb")


class Container:
    def __init__(self, config: Config | None = None, clock: Callable[[], float] = time.time):
        self.config = config or Config.from_env()
        self.clock = clock
        for name in SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        # Chalice keeps its app logger ("gridloop") at ERROR outside debug mode, which would
        # lose our warnings: refused requests and reports, dead letters.
        logging.getLogger("gridloop").setLevel(logging.WARNING)

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

    @cached_property
    def service_catalogues(self):
        """Every community's service catalogue (data/services/<community>.json), its working
        limits counted on the community's working calendar (that of its policy book)."""
        from chalicelib.domain.service_catalogue import ServiceCatalogue
        from chalicelib.domain.working_calendar import WorkingCalendar
        catalogues = {}
        for path in sorted((DATA / "services").glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            book = self.policies.books.get(str(data.get("community")))
            calendar = (book.chains[book.default].calendar if book else None) or WorkingCalendar()
            catalogue = ServiceCatalogue.from_dict(data, calendar.working_day_seconds)
            catalogues[catalogue.community] = catalogue
        return catalogues

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
    # Every client, boto3's and PynamoDB's, retries the same way: botocore's standard mode
    # (throttling, 5xx and connection errors; full-jitter exponential backoff, 1 s base for
    # throttling and 50 ms otherwise, at most 20 s; a retry quota stops retries while a
    # service keeps failing), AWS_ATTEMPTS attempts in all. The timeouts keep one call's
    # worst case (every attempt hanging, plus the backoff) under Lambda's 30 s, so that a
    # hung service fails this record (retried later with backoff: sqs_batch), not the
    # whole invocation.
    AWS_ATTEMPTS = 4
    AWS_CONNECT_TIMEOUT = 1.0
    AWS_READ_TIMEOUT = 4.0
    # Connections kept open per client. A Lambda invocation uses one at a time; the local
    # stack's HTTP threads and pollers share one container, and with botocore's default of
    # 10 they would open (and discard) a connection for most requests of a burst.
    AWS_POOL_CONNECTIONS = 64

    def _client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig
        config = BotoConfig(retries={"mode": "standard", "total_max_attempts": self.AWS_ATTEMPTS},
                            connect_timeout=self.AWS_CONNECT_TIMEOUT, read_timeout=self.AWS_READ_TIMEOUT,
                            max_pool_connections=self.AWS_POOL_CONNECTIONS)
        return boto3.session.Session().client(service, region_name=self.config.region,
                                              endpoint_url=self.config.endpoint_url, config=config)

    def _model(self, build: Callable[[str, str, str | None], Any], purpose: str) -> Any:
        """The PynamoDB model of table gridloop-{stage}-{purpose}, with the retries and
        timeouts above (set before its first request, when PynamoDB reads them)."""
        model = build(self.config.name(purpose), self.config.region, self.config.tables_endpoint_url)
        model.Meta.max_retry_attempts = self.AWS_ATTEMPTS - 1
        model.Meta.connect_timeout_seconds = self.AWS_CONNECT_TIMEOUT
        model.Meta.read_timeout_seconds = self.AWS_READ_TIMEOUT
        model.Meta.max_pool_connections = self.AWS_POOL_CONNECTIONS
        return model

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
        return self._model(build_case_model, "cases")

    @cached_property
    def directory_model(self):
        # The directory table's model, with each community's version (for imports);
        # load() reads it exactly as dynamo.build_directory_model's.
        from chalicelib.adapters.directory_versions import build_versioned_directory_model
        return self._model(build_versioned_directory_model, "directory")

    @cached_property
    def directory_history_model(self):
        from chalicelib.adapters.directory_versions import build_directory_history_model
        return self._model(build_directory_history_model, "directory-history")

    @cached_property
    def contacts_model(self):
        from chalicelib.adapters.dynamo import build_contacts_model
        return self._model(build_contacts_model, "contacts")

    @cached_property
    def contacts(self):
        """ContactPreferences: opt-outs (退订 / 订阅) and per-phone rate limits, on the contacts table.
        NoticeDelivery asks it `opted_out(phone)` before a notice to a reporter. While an
        inbound SMS is handled, it counts and opts out once per SMS (services.answers)."""
        from chalicelib.adapters.answers import OnceContacts
        from chalicelib.services.answers import current_key
        return OnceContacts(self.contacts_model, current_key)

    @cached_property
    def answer_model(self):
        """The reply worker's direct answers, once per inbound SMS, on the contacts table."""
        from chalicelib.adapters.answers import build_answer_model
        return self._model(build_answer_model, "contacts")

    @cached_property
    def answers(self):
        """The SmsSender of the reply worker's direct answers: once per inbound SMS."""
        from chalicelib.adapters.answers import DynamoAnswerLedger
        from chalicelib.services.answers import OnceSms
        return OnceSms(self.sms, DynamoAnswerLedger(self.answer_model), self.clock)

    @cached_property
    def cases(self):
        from chalicelib.adapters.dynamo import DynamoCaseRepository
        return DynamoCaseRepository(self.case_model, self.config.due_shards, window_model=self.send_window_model,
                                    admission_models=(self.contacts_model, self.blocklist_model))

    @cached_property
    def follows_model(self):
        """The cases a phone follows ("me too"), on the contacts table."""
        from chalicelib.adapters.follows import build_follows_model
        return self._model(build_follows_model, "contacts")

    @cached_property
    def follows(self):
        from chalicelib.adapters.follows import DynamoFollowedCases
        return DynamoFollowedCases(self.follows_model)

    @cached_property
    def blocklist_model(self):
        from chalicelib.adapters.admission import build_blocklist_model
        return self._model(build_blocklist_model, "blocklist")

    @cached_property
    def blocklist(self):
        """The phones and addresses whose reports are refused (tools/blocklist.py)."""
        from chalicelib.adapters.admission import DynamoBlockList
        return DynamoBlockList(self.blocklist_model)

    @cached_property
    def send_window_model(self):
        """Per-phone send windows (bundling), on the contacts table."""
        from chalicelib.adapters.send_windows import build_send_window_model
        return self._model(build_send_window_model, "contacts")

    @cached_property
    def send_windows(self):
        from chalicelib.adapters.send_windows import DynamoSendWindows
        return DynamoSendWindows(self.send_window_model)

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
        from chalicelib.services.telemetry import CountedSms
        return CountedSms(SnsSmsSender(lambda: self.sns_client), self.telemetry)

    @cached_property
    def telemetry(self):
        """Metrics (EMF) and JSON logs with the case and community, through Powertools, in
        Lambda or with GRIDLOOP_TELEMETRY=1 (chalicelib.observability); else nothing, and the
        local stack's logs stay plain text. Built on first use: Powertools is not imported
        at cold start."""
        import os

        from chalicelib import observability
        from chalicelib.services.telemetry import NoTelemetry
        if not observability.enabled():
            return NoTelemetry()
        return observability.PowertoolsTelemetry(os.environ.get("POWERTOOLS_SERVICE_NAME") or "gridloop",
                                                 level=os.environ.get("POWERTOOLS_LOG_LEVEL") or logging.WARNING)

    # -- services ----------------------------------------------------------------
    @cached_property
    def intake(self):
        from chalicelib.services.intake import IntakeService
        return IntakeService(self.cases, self.queue("intake"), self.directory, self.categories, self.policies,
                             self.clock, limits=self.config.report_limits, telemetry=self.telemetry)

    @cached_property
    def lookups(self):
        """Look-ups by code on the residents' status page, limited per source address on the
        contacts table (services.lookups)."""
        from chalicelib.adapters.admission import DynamoQuotas
        from chalicelib.services.lookups import CaseLookups
        return CaseLookups(self.cases, DynamoQuotas(self.contacts_model), self.config.lookup_limits, self.clock)

    @cached_property
    def api_key_model(self):
        """The Open311 clients' API keys, on the contacts table (adapters.api_keys)."""
        from chalicelib.adapters.api_keys import build_api_key_model
        return self._model(build_api_key_model, "contacts")

    @cached_property
    def api_keys(self):
        """Open311's API keys: issued by ops, checked and counted per key on every call that needs
        one. GRIDLOOP_OPEN311_DEMO_KEY is read on every call, like the gateways' secrets."""
        import os

        from chalicelib.adapters.admission import DynamoQuotas
        from chalicelib.adapters.api_keys import DynamoApiKeyStore
        from chalicelib.services.api_keys import ApiKeys
        return ApiKeys(DynamoApiKeyStore(self.api_key_model), DynamoQuotas(self.contacts_model), self.clock,
                       self.config.open311_calls_per_key, self.config.report_window_seconds,
                       demo_key=lambda: os.environ.get("GRIDLOOP_OPEN311_DEMO_KEY") or None)

    @cached_property
    def case_listing(self):
        """A community's cases created in a window, from the by-grid index (Open311's GET requests)."""
        from chalicelib.services.case_listing import CaseListing
        return CaseListing(self.cases, self.directory)

    @cached_property
    def notices(self):
        from chalicelib.services.notices import NoticeDelivery
        return NoticeDelivery(self.cases, self.sms, self.directory, self.categories, self.clock,
                              contacts=self.contacts, policy_for=lambda case: self.policies.for_case(
                                  case.community_id, case.category, case.priority),
                              windows=self.send_windows,
                              bundle_seconds=self.config.bundle_seconds)

    @cached_property
    def workflow(self):
        from chalicelib.services.workflow import CaseWorkflow
        return CaseWorkflow(self.cases, self.notices, self.answers, self.queue("escalation"),
                            self.directory, self.policies, self.clock,
                            intake=self.intake, contacts=self.contacts, blocklist=self.blocklist,
                            telemetry=self.telemetry, follows=self.follows,
                            orders=self.orders, points=getattr(self, "points", None))

    # -- the party members' service loop (点单 → 下单 → 接单) ------------------------------
    @cached_property
    def orders_model(self):
        from chalicelib.adapters.orders import build_order_model
        return self._model(build_order_model, "orders")

    @cached_property
    def order_repository(self):
        from chalicelib.adapters.orders import DynamoOrderRepository
        return DynamoOrderRepository(self.orders_model, self.config.due_shards,
                                     admission_models=(self.contacts_model, self.blocklist_model))

    @cached_property
    def order_notices(self):
        from chalicelib.services.orders import OrderNotices
        return OrderNotices(self.order_repository, self.sms,
                            self.directory, self.service_catalogues, self.clock, contacts=self.contacts)

    @cached_property
    def orders(self):
        """The service orders: placed by SMS and ops, dispatched, claimed, done and confirmed;
        their timers fire through the escalation sweep and queue, as cases' do."""
        from chalicelib.services.orders import OrderService
        return OrderService(self.order_repository, self.order_notices,
                            self.queue("escalation"), self.directory, self.service_catalogues, self.policies,
                            self.clock, points=getattr(self, "points", None), limits=self.config.order_limits)

    @cached_property
    def directory_admin(self):
        """Directory import, export and history (tools/directory.py; not used by handlers)."""
        from chalicelib.services.directory_admin import DirectoryAdmin
        return DirectoryAdmin(self.directory_store, self.clock, on_change=self.directory_cache.invalidate)

    @cached_property
    def ops(self):
        """The operators' commands (the ops function, tools/ops.py); the directory admin and
        the redrive are built only when a command needs them."""
        from chalicelib.adapters.redrive import DeadLetterRedrive
        from chalicelib.services.ops import OpsService
        return OpsService(self.cases, self.workflow, self.notices, self.directory, self.policies, self.clock,
                          directory_admin=lambda: self.directory_admin,
                          redrive=DeadLetterRedrive(lambda: self.sqs_client, self.config.name),
                          directory_ttl=self.config.directory_ttl,
                          weekly_reports=lambda: self.weekly_reports, api_keys=lambda: self.api_keys,
                          points=lambda: self.points, orders=lambda: self.orders)

    # -- the civility points bank (文明实践积分银行) ------------------------------------------------
    @cached_property
    def points_model(self):
        """The points table: balances, entries, their markers, the daily caps' counters and the
        points shop's stock (adapters.points)."""
        from chalicelib.adapters.points import build_points_model
        return self._model(build_points_model, "points")

    @cached_property
    def points(self):
        """The points bank (services.points): credits for confirmed orders, resolved cases and
        events, reversals, the points shop, statements and the 积分 SMS answer."""
        from chalicelib.adapters.points import DynamoPointsLedger
        from chalicelib.services.points import PointsBank
        return PointsBank(DynamoPointsLedger(self.points_model), self.service_catalogues, self.clock,
                          directory=self.directory)

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
        model = self._model(build_digest_model, "digests")
        return DigestService(self.cases, DynamoCasePlaces(self.case_model), WebhookSender(),
                             DynamoDigestLog(model), self.directory, self.categories,
                             lambda: parse_config(os.environ.get("GRIDLOOP_DIGEST_WEBHOOKS")), self.clock,
                             orders=self.order_repository, points=self.points)

    @cached_property
    def weekly_reports(self):
        """The weekly joint-meeting report (多方联席会议周报): built on demand (ops, CLI) and
        sent each week to the committee's group robot. GRIDLOOP_WEEKLY_WEBHOOKS is read on
        every run, like the digest's."""
        import os

        from chalicelib.adapters.digests import DynamoCasePlaces
        from chalicelib.adapters.points import DynamoPointsLedger
        from chalicelib.adapters.webhook import WebhookSender
        from chalicelib.adapters.weekly_reports import DynamoWeeklyReportLog, build_weekly_report_model
        from chalicelib.domain.weekly import parse_config
        from chalicelib.services.weekly import WeeklyReports
        model = self._model(build_weekly_report_model, "digests")
        return WeeklyReports(self.cases, DynamoCasePlaces(self.case_model), WebhookSender(),
                             DynamoWeeklyReportLog(model), self.directory, self.categories,
                             lambda: parse_config(os.environ.get("GRIDLOOP_WEEKLY_WEBHOOKS")), self.clock,
                             orders=self.order_repository, ledger=DynamoPointsLedger(self.points_model))


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
