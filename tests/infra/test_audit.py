"""`make audit` (tools/audit.py): what fails, what is only reported, and what it tells the
person who has to act. The scans themselves run in `make audit`, not here (pip-audit asks
PyPI, whose answer changes when an advisory is published)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools import audit

ROOT = Path(__file__).resolve().parents[2]


def finding(severity: str, test_id: str = "B101", line: int = 3) -> dict:
    return {"filename": "chalicelib/x.py", "line_number": line, "test_id": test_id,
            "issue_severity": severity, "issue_confidence": "HIGH", "issue_text": "something"}


def test_a_low_bandit_finding_is_listed_and_passes():
    status, lines = audit.bandit_verdict({"results": [finding("LOW")], "errors": [],
                                          "metrics": {"_totals": {"skipped_tests": 2}}})
    assert status == audit.CLEAN
    assert lines[0].startswith("  note chalicelib/x.py:3: B101 [low")
    assert "nothing above low (1 low, 2 marked # nosec)" in lines[-1]


@pytest.mark.parametrize("severity", ["MEDIUM", "HIGH"])
def test_a_bandit_finding_above_low_fails_and_says_what_to_do(severity):
    status, lines = audit.bandit_verdict({"results": [finding("LOW"), finding(severity, "B324", 9)], "errors": []})
    assert status == audit.FOUND
    assert any(line.startswith("  FAIL chalicelib/x.py:9: B324") for line in lines)
    assert "# nosec BXXX" in lines[-1] and "say why" in lines[-1]


def test_a_file_bandit_could_not_scan_is_not_a_pass():
    status, _ = audit.bandit_verdict({"results": [], "errors": [{"filename": "x.py", "reason": "syntax error"}]})
    assert status == audit.UNCHECKED


def test_a_known_vulnerability_fails_naming_the_advisory_and_the_fix():
    report = {"dependencies": [
        {"name": "requests", "version": "2.0.0", "vulns": [
            {"id": "PYSEC-2023-74", "fix_versions": ["2.31.0"], "aliases": ["CVE-2023-32681"]}]},
        {"name": "pynamodb", "version": "6.1.0", "vulns": []}]}
    status, lines = audit.deps_verdict(report)
    assert status == audit.FOUND
    assert lines[0] == "  FAIL requests 2.0.0: PYSEC-2023-74 (CVE-2023-32681); fixed in: 2.31.0"
    assert "Upgrade the pin" in lines[-1] and "IGNORED in tools/audit.py" in lines[-1]
    assert "without any change here" in lines[-1]


def test_a_package_pypi_did_not_answer_for_is_not_a_pass():
    report = {"dependencies": [{"name": "tzdata", "skip_reason": "Dependency not found on PyPI"},
                               {"name": "pynamodb", "version": "6.1.0", "vulns": []}]}
    status, lines = audit.deps_verdict(report)
    assert status == audit.UNCHECKED
    assert lines[0] == "  NOT CHECKED tzdata: Dependency not found on PyPI" and "not a pass" in lines[-1]


def test_where_pypi_answers_only_project_pages_a_package_at_its_latest_release_is_still_checked():
    # GIVEN pip-audit could not ask about three releases (the per-release JSON did not answer)
    report = {"dependencies": [
        {"name": "pynamodb", "skip_reason": "Dependency not found on PyPI and could not be audited: pynamodb (6.1.0)"},
        {"name": "urllib3", "skip_reason": "Dependency not found on PyPI and could not be audited: urllib3 (2.0.0)"},
        {"name": "jinja2", "skip_reason": "Dependency not found on PyPI and could not be audited: jinja2 (3.1.6)"}]}
    pages = {
        "pynamodb": {"info": {"version": "6.1.0"}, "vulnerabilities": []},
        "urllib3": {"info": {"version": "2.8.0"}, "vulnerabilities": []},
        "jinja2": {"info": {"version": "3.1.6"}, "vulnerabilities": [
            {"id": "GHSA-test-0001", "fixed_in": ["3.1.7"], "aliases": ["CVE-2099-1"], "withdrawn": None},
            {"id": "GHSA-test-0002", "fixed_in": ["3.1.7"], "aliases": [], "withdrawn": "2026-01-01"}]},
    }
    # WHEN the audit reads PyPI's project pages for them
    filled = audit.fill_from_project_pages(report, pages.get)
    status, lines = audit.deps_verdict(filled)
    # THEN the ones at their latest release are checked: a live advisory fails, a withdrawn one
    # does not count; the one behind its latest release stays unchecked, saying why
    assert status == audit.FOUND
    assert "  FAIL jinja2 3.1.6: GHSA-test-0001 (CVE-2099-1); fixed in: 3.1.7" in lines
    assert not any("GHSA-test-0002" in line for line in lines)
    assert any(line.startswith("  NOT CHECKED urllib3:") and "only the latest release, 2.8.0" in line
               for line in lines)
    assert not any("pynamodb" in line for line in lines)


def test_a_package_at_its_latest_release_with_no_advisory_passes_from_its_project_page():
    report = {"dependencies": [
        {"name": "pynamodb", "skip_reason": "Dependency not found on PyPI and could not be audited: pynamodb (6.1.0)"}]}
    filled = audit.fill_from_project_pages(report, {"pynamodb": {"info": {"version": "6.1.0"}}}.get)
    status, lines = audit.deps_verdict(filled)
    assert status == audit.CLEAN and "1 of them from PyPI's project page" in lines[-1]


def test_no_vulnerability_passes():
    status, lines = audit.deps_verdict({"dependencies": [{"name": "pynamodb", "version": "6.1.0", "vulns": []}]})
    assert status == audit.CLEAN and "no known vulnerability in 1 packages" in lines[-1]


def test_every_ignored_advisory_says_why():
    assert all(len(why.strip()) > 20 for why in audit.IGNORED.values())


@pytest.mark.parametrize("statuses, warn, expected", [
    ((audit.CLEAN, audit.CLEAN), False, 0), ((audit.CLEAN, audit.UNCHECKED), False, 2),
    ((audit.FOUND, audit.UNCHECKED), False, 1), ((audit.CLEAN, audit.UNCHECKED), True, 0),
    ((audit.FOUND, audit.UNCHECKED), True, 1)])
def test_the_exit_status(monkeypatch, statuses, warn, expected):
    results = iter(statuses)
    monkeypatch.setattr(audit, "bandit", lambda: next(results))
    monkeypatch.setattr(audit, "deps", lambda: next(results))
    if warn:
        monkeypatch.setenv("GRIDLOOP_AUDIT_UNCHECKED", "warn")
    else:
        monkeypatch.delenv("GRIDLOOP_AUDIT_UNCHECKED", raising=False)
    assert audit.main([]) == expected


def test_ci_runs_the_audit_after_the_tests_and_the_tools_are_pinned():
    run = (ROOT / ".ci" / "run").read_text().splitlines()
    audit = next(i for i, line in enumerate(run) if line.split()[-1:] == ["audit"] and "make" in line.split())
    assert run.index("make test") < audit
    assert "\naudit: $(STAMP)\n\t$(PY) -m tools.audit\n" in (ROOT / "Makefile").read_text()
    pins = (ROOT / "requirements-dev.txt").read_text()
    assert "\nbandit==" in pins and "\npip-audit==" in pins
