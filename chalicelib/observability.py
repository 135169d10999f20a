"""Telemetry (services.telemetry) for Lambda, with Powertools for AWS Lambda.

- Metrics in CloudWatch's Embedded Metric Format: log lines on stdout that CloudWatch
  turns into metrics, so they cost no request. They are kept in memory while a handler
  runs and printed when it ends (`flush`, from chalicelib.handlers), one line per
  dimension set and at most MAX_VALUES values of a metric per line (EMF's limit).
- JSON logs: Powertools' Logger on our loggers ("gridloop", "gridloop.*" and
  "chalicelib.*"), each line with the service, the function and, while a case is handled,
  its `case` code and `community`. Nothing else of a case is a key: the codes and ids of
  our own log lines stay the only things logged (docs/security.md "Personal data").

Built by the composition root when it runs in Lambda (AWS_LAMBDA_FUNCTION_NAME is set) or
GRIDLOOP_TELEMETRY=1 asks for it (tests); the local stack keeps its plain text.
"""
from __future__ import annotations

import logging
import os
import sys

from chalicelib.services.telemetry import NAMESPACE, check

MAX_VALUES = 100     # EMF: at most 100 values of one metric in one line
# Our loggers: Chalice's app logger and its children, and the modules' own.
OUR_LOGGERS = ("gridloop", "chalicelib")
CASE_KEYS = ("case", "community")


def enabled() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) or os.environ.get("GRIDLOOP_TELEMETRY") == "1"


class _Stdout(logging.StreamHandler):
    """A handler writing to whatever sys.stdout is when a line is written (Lambda's, or a
    test's capture), not the one there was when it was made."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):   # noqa: D401 - logging.StreamHandler's attribute
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


class PowertoolsTelemetry:
    def __init__(self, service: str, level: int = logging.WARNING):
        from aws_lambda_powertools import Logger

        self.service = service
        self._points: dict[tuple[str, tuple[tuple[str, str], ...], str | None], list[float]] = {}
        self._case_community: str | None = None
        # Powertools names its logger after the service: Chalice's app logger, "gridloop"
        # (and a Logger made again later takes the one made first, with its handler).
        # A Logger made again (a new container: tests) must format with the first one's handler.
        handler = getattr(logging.getLogger(service), "powertools_handler", None) or _Stdout()
        self.logger = Logger(service=service, level=level, logger_handler=handler, utc=True)
        for name in OUR_LOGGERS:
            target = logging.getLogger(name)
            for other in list(target.handlers):   # Chalice's plain-text handler: each line once, as JSON
                if other is not handler:
                    target.removeHandler(other)
            if handler not in target.handlers:
                target.addHandler(handler)
            target.propagate = False              # else Lambda's own handler prints it again, as text
        self.logger.append_keys(function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))

    # -- logs -----------------------------------------------------------------------
    def invoked(self, function: str) -> None:
        """A handler starts: its function on every line, and no case yet."""
        self.logger.append_keys(function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or function)
        self.about_case(None, None)

    def about_case(self, code: str | None, community: str | None) -> None:
        self._case_community = community
        if code is None and community is None:
            self.logger.remove_keys(list(CASE_KEYS))
        else:
            self.logger.append_keys(case=code, community=community)

    # -- metrics --------------------------------------------------------------------
    def count(self, name: str, value: float = 1, community: str | None = None, **dimensions: str) -> None:
        self._add(name, "Count", value, community, dimensions)

    def seconds(self, name: str, value: float, community: str | None = None, **dimensions: str) -> None:
        self._add(name, "Seconds", value, community, dimensions)

    def _add(self, name: str, unit: str, value: float, community: str | None, dimensions: dict[str, str]) -> None:
        check(name, unit, dimensions)
        key = (name, tuple(sorted((k, str(v)) for k, v in dimensions.items())),
               community if community is not None else self._case_community)
        values = self._points.setdefault(key, [])
        if unit == "Count" and values:
            values[0] += value          # counts add up: one value per line
        else:
            values.append(float(value))

    def flush(self) -> None:
        """Print every metric recorded since the last flush as EMF lines, and forget them."""
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        points, self._points = self._points, {}
        groups: dict[tuple[tuple[tuple[str, str], ...], str | None], list[tuple[str, list[float]]]] = {}
        for (name, dimensions, community), values in points.items():
            groups.setdefault((dimensions, community), []).append((name, values))
        for (dimensions, community), metrics in groups.items():
            for start in range(0, max(len(v) for _, v in metrics), MAX_VALUES):
                emf = EphemeralMetrics(namespace=NAMESPACE, service=self.service)
                for key, value in dimensions:
                    emf.add_dimension(name=key, value=value)
                if community:
                    emf.add_dimensions(service=self.service, **dict(dimensions), community=community)
                for name, values in metrics:
                    unit = MetricUnit.Seconds if check_unit(name) == "Seconds" else MetricUnit.Count
                    for value in values[start:start + MAX_VALUES]:
                        emf.add_metric(name=name, unit=unit, value=value)
                if emf.metric_set:
                    emf.flush_metrics()


def check_unit(name: str) -> str:
    from chalicelib.services.telemetry import METRICS
    return METRICS[name].unit
