"""What the services tell operators: metrics, and which case a log line is about.

The services speak to a `Telemetry` (this module's port); the composition root gives them
Powertools' Embedded Metric Format and JSON logs in Lambda (chalicelib.observability),
and `NoTelemetry` everywhere else. Tests use tests/fakes.RecordingTelemetry or the real
adapter over captured stdout.

Every metric is declared in METRICS, with its unit and its own dimensions: the adapter
refuses a name that is not declared there, and the dashboard and alarms in infra/ are
checked against this table (tests/infra/test_observability.py), so a metric cannot be
added without its widget. Every metric is emitted under two dimension sets: its own
dimensions (plus `service`), which the alarms and the dashboard read, and the same with
`community`, when the event belongs to one. Dimension values are bounded: statuses,
levels 1-5, sources, queue purposes, community ids; never a case code or a person.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

NAMESPACE = "gridloop"


@dataclass(frozen=True)
class MetricSpec:
    unit: str                       # a CloudWatch unit: "Count" or "Seconds"
    dimensions: tuple[str, ...]     # besides service (and community, in the second set)
    meaning: str


METRICS: dict[str, MetricSpec] = {
    "ReportsReceived": MetricSpec("Count", ("source",), "new reports, by source: web, sms or console"),
    "CaseTransitions": MetricSpec("Count", ("from_status", "to_status"), "cases changing status"),
    "Escalations": MetricSpec("Count", ("level",), "cases moved up, by the level that missed its acknowledge limit"),
    "Supervisions": MetricSpec("Count", ("colour", "level"),
                               "yellow warnings and red supervision (督办), by the supervising level"),
    "TopLevelReminders": MetricSpec("Count", (), "cases at the top level past their acknowledge limit, reminded"),
    "SlaBreaches": MetricSpec("Count", (), "limits missed: escalations, top-level reminders and red supervisions"),
    "TimeToAcknowledge": MetricSpec("Seconds", (), "from the report to its first acknowledgement"),
    "TimeToResolve": MetricSpec("Seconds", (), "from the report to each resolution"),
    "SmsSent": MetricSpec("Count", (), "texts SNS accepted"),
    "SmsFailed": MetricSpec("Count", (), "texts SNS refused or could not be asked to send"),
    "SmsSegments": MetricSpec("Count", (), "the segments of the texts sent: what the operator bills"),
    "EscalationsQueued": MetricSpec("Count", (), "overdue cases the sweep queued for the escalation worker"),
    "DeadLettered": MetricSpec("Count", ("queue",), "messages we put on a dead-letter queue, by source queue"),
    "Redriven": MetricSpec("Count", ("queue",), "messages that came back from a dead-letter queue (a redrive)"),
}

# The events of a case's history that are SLA breaches (as Case.sla_facts counts them).
BREACHES = frozenset({"escalated", "reminded", "supervised_red"})


class Telemetry(Protocol):
    def count(self, name: str, value: float = 1, community: str | None = None, **dimensions: str) -> None:
        """Add to a Count metric of METRICS. `community`: the second dimension set's;
        None: the community of the case being handled (`about_case`), if any."""

    def seconds(self, name: str, value: float, community: str | None = None, **dimensions: str) -> None:
        """Record one duration of a Seconds metric of METRICS."""

    def about_case(self, code: str | None, community: str | None) -> None:
        """The case (and community) the log lines from now on are about; None: none."""


class NoTelemetry:
    """Telemetry that goes nowhere: tools, benchmarks, tests that do not look at it."""

    def count(self, name: str, value: float = 1, community: str | None = None, **dimensions: str) -> None:
        pass

    def seconds(self, name: str, value: float, community: str | None = None, **dimensions: str) -> None:
        pass

    def about_case(self, code: str | None, community: str | None) -> None:
        pass

    # What the handlers call at each invocation's start and end (chalicelib.observability).
    def invoked(self, function: str) -> None:
        pass

    def flush(self) -> None:
        pass


def check(name: str, unit: str, dimensions: dict[str, Any]) -> MetricSpec:
    """The declared metric, or ValueError: an undeclared name, unit or dimension."""
    spec = METRICS.get(name)
    if spec is None:
        raise ValueError(f"metric {name} is not declared in services.telemetry.METRICS")
    if spec.unit != unit or set(dimensions) != set(spec.dimensions):
        raise ValueError(f"metric {name} is {spec.unit} by {spec.dimensions}, not {unit} by {tuple(dimensions)}")
    return spec


@dataclass(frozen=True)
class CaseMark:
    """A case as it was before a change: what the change's metrics are measured from."""
    status: str
    level: int
    events: int


def mark(case: Any) -> CaseMark:
    return CaseMark(case.status.value, case.level, len(case.history))


def count_change(telemetry: Telemetry, before: CaseMark, case: Any) -> None:
    """The metrics of one saved change of a case: its status transition and the events it
    added to the history (escalations, supervisions, reminders, acknowledgement, resolution)."""
    community = case.community_id
    if case.status.value != before.status:
        telemetry.count("CaseTransitions", community=community, from_status=before.status,
                        to_status=case.status.value)
    held = before.level
    acknowledged_before = any(e.event == "acknowledged" for e in case.history[:before.events])
    for event in case.history[before.events:]:
        if event.event == "escalated":
            telemetry.count("Escalations", community=community, level=str(held or (event.level or 1) - 1))
        elif event.event == "reminded":
            telemetry.count("TopLevelReminders", community=community)
        elif event.event in ("supervised_yellow", "supervised_red"):
            telemetry.count("Supervisions", community=community, colour=event.event.rsplit("_", 1)[1],
                            level=str(event.level))
        elif event.event == "acknowledged" and not acknowledged_before:
            acknowledged_before = True
            telemetry.seconds("TimeToAcknowledge", max(0.0, event.at - case.created_at), community=community)
        elif event.event == "resolved":
            telemetry.seconds("TimeToResolve", max(0.0, event.at - case.created_at), community=community)
        if event.event in BREACHES:
            telemetry.count("SlaBreaches", community=community)
        if event.event in ("assigned", "escalated", "taken_over", "ops_escalated") and event.level is not None:
            held = event.level


class CountedSms:
    """An SmsSender that counts what it sends: SmsSent and SmsSegments when the sender took
    the text, SmsFailed (and the error raised on) when it did not."""

    def __init__(self, sender: Any, telemetry: Telemetry, segments: Callable[[str], int] | None = None):
        from chalicelib.domain.segments import segments as count_segments
        self._sender, self._telemetry = sender, telemetry
        self._segments = segments or count_segments

    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        try:
            message_id = self._sender.send(phone, text, case_id)
        except Exception:
            self._telemetry.count("SmsFailed")
            raise
        self._telemetry.count("SmsSent")
        self._telemetry.count("SmsSegments", self._segments(text))
        return message_id

    def __getattr__(self, name: str) -> Any:     # what else the sender offers (tests, the local stack)
        return getattr(self._sender, name)
