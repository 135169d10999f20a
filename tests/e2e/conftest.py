"""The e2e tests' shared fixtures: the demo directory's members, and one local stack per
module for the tests through the gateways (with the local stage's demo secrets)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.e2e.test_local_stack import ROOT, LocalStack


@pytest.fixture(scope="module")
def members():
    import yaml

    data = yaml.safe_load((ROOT / "data/directory/changmu.yaml").read_text(encoding="utf-8"))
    return {m["id"]: m for m in data["members"]}, data


@contextlib.contextmanager
def real_time_stack(log_dir) -> Iterator[LocalStack]:
    """The local stack on real time with the local stage's demo secrets, for tests that each
    follow their own report to the same member."""
    with pytest.MonkeyPatch.context() as patch:
        # The local stage's demo secrets from .chalice/config.json, not a shell's own.
        for variable in ("GRIDLOOP_TWILIO_AUTH_TOKEN", "GRIDLOOP_TWILIO_WEBHOOK_URL",
                         "GRIDLOOP_TENCENT_CALLBACK_TOKEN", "GRIDLOOP_OPEN311_DEMO_KEY"):
            patch.delenv(variable, raising=False)
        # With bundling on, the next report's notice would wait out the last one's two minutes.
        patch.setenv("GRIDLOOP_BUNDLE_SECONDS", "0")
        local = LocalStack(time_scale=1, log_dir=log_dir)
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with real_time_stack(tmp_path_factory.mktemp("gateways")) as local:
        yield local
