"""Fixtures of the fault suite: the AWS test environment, botocore's models read once (as
in tests/functional), and the summary each module leaves in build/reliability/ for
`python -m tools.reliability_report` (docs/reliability.md)."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.functional.conftest import _botocore_reads_each_model_once, client  # noqa: F401 - fixtures


@pytest.fixture(scope="package", autouse=True)
def _test_environment():
    from tests.conftest import use_test_environment

    with pytest.MonkeyPatch.context() as patch:
        use_test_environment(patch)
        yield


class Summary:
    """Rows of what a module tried (scenario × fault), written when the module ends."""

    def __init__(self, name: str):
        self.name, self.rows, self.started = name, [], time.perf_counter()
        self.extra: dict[str, Any] = {}

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def write(self) -> None:
        from tests.faults.harness import write_summary
        write_summary(self.name, {"module": self.name, "seconds": round(time.perf_counter() - self.started, 1),
                                  "rows": self.rows, **self.extra})


@pytest.fixture(scope="module")
def summary(request):
    kept = Summary(request.module.__name__.rsplit(".", 1)[-1])
    yield kept
    kept.write()
