"""Schemathesis against the local stack (`make run`): requests generated from the served
/openapi.json, valid and invalid, to every documented operation. No response may be a 5xx
(503 is documented, but nothing here should cause one either), and each must match the
document: a documented status, the documented content type, body schema and headers.

Schemathesis runs as its CLI (its pytest plugin does not work with pytest 9.2), with real
credentials and values for half of the requests added by tests/e2e/schemathesis_hooks.py.
The seed is fixed so that CI is repeatable; `GRIDLOOP_FUZZ_SEED=123 make test-e2e` explores
other inputs. One worker: CPython 3.11's parser is not safe for Hypothesis in two threads."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.e2e.test_gateways import LOCAL_STAGE, TENCENT_TOKEN, TWILIO_TOKEN
from tests.e2e.test_local_stack import ROOT

pytestmark = pytest.mark.e2e

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance")
MAX_EXAMPLES = 40    # per operation and phase: about 1300 requests, about two minutes on two cores
SEED = os.environ.get("GRIDLOOP_FUZZ_SEED", "20260601")
TIMEOUT = 480        # seconds; the run normally takes far less


def test_no_server_errors_and_every_response_matches_the_document(stack, tmp_path):  # noqa: F811
    status, created = stack.post("/reports", {"category": "sanitation", "location": "changmu-03-2",
                                              "description": "楼道灯坏了"})
    assert status == 202
    env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.e2e.schemathesis_hooks", GRIDLOOP_FUZZ_BASE=stack.base,
               GRIDLOOP_FUZZ_CODE=created["code"], GRIDLOOP_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
               GRIDLOOP_TENCENT_CALLBACK_TOKEN=TENCENT_TOKEN,
               GRIDLOOP_OPEN311_DEMO_KEY=LOCAL_STAGE["GRIDLOOP_OPEN311_DEMO_KEY"], PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{stack.base}/openapi.json",
               "--url", stack.base, "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
               "--max-examples", str(MAX_EXAMPLES), "--seed", SEED, "--workers", "1",
               "--request-timeout", "10", "--generation-database", "none", "--no-color",
               "--report", "junit", "--report-dir", str(tmp_path)]
    started = time.monotonic()
    # In tmp_path: Schemathesis keeps its replay data in .schemathesis/ of its working directory.
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    output = run.stdout + run.stderr

    assert run.returncode == 0, f"schemathesis found problems (seed {SEED}):\n{output[-12000:]}"
    # It did test every operation (a run that tested nothing would also exit 0); Schemathesis
    # leaves out GET /openapi.json, the document it was loaded from.
    summary = output[output.rfind("API Operations"):]
    assert "Selected: 22/22" in summary and "Tested: 22" in summary, output[-3000:]
    print(f"schemathesis: {time.monotonic() - started:.0f}s\n{output[-1500:]}")
