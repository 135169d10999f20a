"""checkov on the packaged template (as `make lint` runs it): no finding, and every rule
that does not apply is skipped on named resources of the template with its reason
(infra/checkov.py). checkov lives in its own venv (.cache/checkov, `make checkov`, which
`make test` runs first): it pins boto3 to another version than ours."""
from __future__ import annotations

import os
import subprocess

from infra import checkov


def test_checkov_finds_nothing_in_the_packaged_template(packaged_dev_path):
    assert checkov.CHECKOV.exists(), f"{checkov.CHECKOV} is missing: run `make checkov`"
    result = subprocess.run(checkov.command(packaged_dev_path), env={**os.environ, **checkov.OFFLINE},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_every_skip_is_on_a_resource_of_the_packaged_template_with_its_reason(packaged_dev):
    from app import app

    skipped = checkov.skipped({"Resources": packaged_dev})
    expected: dict[str, set[str]] = {}
    for skip in checkov.SKIPS:
        assert len(skip.why) > 40, skip.check
        for logical_id in skip.resources(app):
            expected.setdefault(logical_id, set()).add(skip.check)
    assert skipped == expected
    for logical_id in skipped:
        assert "Type" in packaged_dev[logical_id], f"a skip names {logical_id}, which the template does not have"
    # Never skipped: what the template can do, it does (PITR on every table, a DLQ for every queue).
    assert not any({"CKV_AWS_28", "CKV_AWS_116"} & checks for logical_id, checks in skipped.items()
                   if packaged_dev[logical_id]["Type"] != "AWS::Serverless::Function")
