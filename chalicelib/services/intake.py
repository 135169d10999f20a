"""Intake: a report from any door becomes a stored, queued case with a code."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.domain import duplicates, keywords
from chalicelib.domain.admission import ReportLimits, admission_for
from chalicelib.domain.case import Case, Status
from chalicelib.domain.codes import code_for, random_seed, report_id_for
from chalicelib.domain.directory import Directory
from chalicelib.domain.policy import Policies
from chalicelib.domain.report import MAX_DESCRIPTION, InvalidReport, ReportRequest, validate

from .ports import CaseRepository, CodeTaken, MessageQueue
from .telemetry import NoTelemetry, Telemetry

MAX_CODE_ATTEMPTS = 8
ROUTE = "route"   # the intake-queue message kind that our own API sends


class PermanentFailure(Exception):
    """A message that no retry can make work: it goes to the dead-letter queue with this reason."""


class IdempotencyConflict(Exception):
    """An Idempotency-Key was used again with a different report."""


class IntakeService:
    def __init__(self, cases: CaseRepository, queue: MessageQueue, directory: Callable[[], Directory],
                 categories: Mapping[str, Any], policy: Policies, clock: Callable[[], float],
                 limits: ReportLimits | None = None, telemetry: Telemetry | None = None):
        self._cases, self._queue, self._directory = cases, queue, directory
        self._categories, self._policy, self._clock = categories, policy, clock
        self._limits = limits      # per-sender limits and the block list; None: neither
        self._telemetry = telemetry or NoTelemetry()

    @property
    def categories(self) -> Mapping[str, Any]:
        return self._categories

    def submit(self, payload: Any, idempotency_key: str | None = None, source: str = "web",
               sender_ip: str | None = None) -> Case:
        """Validate, store as received, and queue for routing. The same key twice
        gives the same report (and queues it again only if it is still waiting). A new
        report must pass its phone's and `sender_ip`'s limits and the block list
        (domain.admission: RateLimited, Blocked)."""
        request = validate(payload, self._directory(), self._categories)
        seed = f"key:{request.community_id}:{idempotency_key}" if idempotency_key else random_seed()
        case, created = self.create(request, seed, source, limited=True, ip=sender_ip)
        if created or case.status is Status.RECEIVED:
            # Also for a retry of a request whose first attempt stopped before queueing.
            self._queue.send({"kind": ROUTE, "case": case.to_dict()})
        return case

    def create(self, request: ReportRequest, seed: str, source: str, limited: bool = False,
               ip: str | None = None) -> tuple[Case, bool]:
        """Store a new received case, or find the one this seed already made. `limited`: a
        resident's report, which counts against its phone's and `ip`'s limits and is refused
        if either is blocked, in the same write (a found one counts nothing)."""
        fingerprint = request.fingerprint()
        for attempt in range(MAX_CODE_ATTEMPTS):
            now = self._clock()
            case = Case.receive(
                id=report_id_for(seed), code=code_for(seed, attempt),
                community_id=request.community_id, category=request.category,
                location=request.location, description=request.description, now=now,
                source=source, reporter_phone=request.phone, reporter_name=request.name,
                dedupe_key=seed, request_hash=fingerprint, priority=request.priority,
                reporter_lang=request.lang)
            # Found by the next report of the same problem (services.duplicates) from now on.
            case.place_key = duplicates.place_key_at(
                self._directory().communities.get(request.community_id), request.location, request.category)
            # Nothing is lost if the routing message never reaches the queue: the sweep
            # finds the report on this deadline and routes it.
            case.due_at = self._policy.routing_deadline(now, request.community_id)
            admission = (admission_for(self._limits, now, phone=request.phone, ip=ip)
                         if limited and self._limits is not None else None)
            try:
                if admission:
                    self._cases.add(case, admission)
                else:
                    self._cases.add(case)
                self._telemetry.about_case(case.code, case.community_id)
                self._telemetry.count("ReportsReceived", community=case.community_id, source=source)
                return case, True
            except CodeTaken:
                existing = self._cases.get(case.code)
                if existing is not None and existing.dedupe_key == seed:
                    if existing.request_hash != fingerprint:
                        raise IdempotencyConflict(existing.code) from None
                    return existing, False
        raise RuntimeError(f"no free report code after {MAX_CODE_ATTEMPTS} attempts")

    def submit_sms(self, phone: str, text: str, community_id: str, location: str | None,
                   seed: str, lang: str = "zh") -> tuple[Case, bool]:
        """A resident's SMS as a report (source "sms"): stored as received, not queued (the
        reply worker routes it at once, or hands it to triage). `seed` comes from the inbound
        message (services.sms_replies.sms_seed), so a redelivered SMS finds the report it made.
        Without a location the report waits in its community for the triage member, with the
        community's id as its location. The category is a keyword match (domain.keywords).
        It counts against the phone's limit of new reports (RateLimited, Blocked: nothing made).
        `lang`: what the resident wrote in, which every SMS to them is in."""
        category = keywords.category_for(text, known=frozenset(self._categories))
        if category not in self._categories:
            category = next(iter(self._categories))
        request = ReportRequest(community_id, category, location or community_id,
                                (text or "").strip()[:MAX_DESCRIPTION], phone, lang=lang)
        return self.create(request, seed, "sms", limited=True)

    def parse_queue_message(self, body: str, message_id: str) -> Case:
        """An intake-queue message: our own routing request, or a report typed into
        the console. Returns the case to route; PermanentFailure if the message is bad."""
        try:
            payload = json.loads(body)
        except (ValueError, TypeError, RecursionError) as error:   # RecursionError: nested too deep
            raise PermanentFailure(f"not JSON: {error}") from None
        if not isinstance(payload, dict):
            raise PermanentFailure("not a JSON object")
        if payload.get("kind") == ROUTE:
            try:
                return Case.from_dict(payload["case"])
            except (KeyError, TypeError, ValueError, AttributeError) as error:   # a list for a mapping, ...
                raise PermanentFailure(f"malformed routing message: {error!r}") from None
        if payload.get("source") != "console":
            raise PermanentFailure('a report sent to the queue needs "source": "console"')
        try:
            request = validate(payload, self._directory(), self._categories, extra_allowed=("source",))
        except InvalidReport as error:
            raise PermanentFailure(f"{error.code}: {error.message}") from None
        # The SQS message id is the same on every redelivery: one message, one report.
        case, _ = self.create(request, f"sqs:{message_id}", "console")
        return case
