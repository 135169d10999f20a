"""`make audit`: static analysis of our code (bandit) and known vulnerabilities in the
packages we pin (pip-audit). `.ci/run` runs it after `make test`.

    python -m tools.audit [bandit | deps]      (both when not told)

bandit scans chalicelib/, app.py, devstack/, tools/ and infra/. Every finding is listed;
a low one is only reported, a medium or high one fails. Fix it, or, when it does not
apply, mark that one line `# nosec BXXX` with a comment saying why (bandit still counts it
as skipped, so it shows in its summary).

pip-audit resolves requirements.txt and requirements-dev.txt (with their dependencies) and
asks PyPI's vulnerability data (https://pypi.org/pypi/NAME/VERSION/json) about each.
Its answer can change on any day without a change here, when an advisory is published:
a new finding fails the audit and says which package, which advisory and which versions
fix it. Upgrade the pin (then `make test`), or, if the advisory cannot affect gridloop,
add it to IGNORED below with why. Where the per-release JSON does not answer, a package
pinned at its latest release is checked from PyPI's project page (fill_from_project_pages).
A package that could not be looked up either way also fails the audit: an audit that could
not ask is not a pass.

Exit status: 0 clean; 1 a bandit finding above low or a known vulnerability; 2 something
could not be checked (bandit or pip-audit did not run, or PyPI did not answer for a package).
GRIDLOOP_AUDIT_UNCHECKED=warn turns that 2 into a warning and 0, for a machine whose proxy
does not pass PyPI's per-release JSON; a known vulnerability or a bandit finding still fails.
"""
from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404 - runs bandit and pip-audit from this venv, with fixed arguments
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCANNED = ("chalicelib", "app.py", "devstack", "tools", "infra")
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
FAILING_SEVERITIES = ("MEDIUM", "HIGH")

# Advisories that do not apply to gridloop, each with why (checked by whom, when). pip-audit
# gets each as --ignore-vuln. Take an entry out when the pin moves past the advisory.
IGNORED: dict[str, str] = {
    # "GHSA-xxxx-xxxx-xxxx": "only affects X, which gridloop never calls (checked 2026-11-24, A. Name)",
}

CLEAN, FOUND, UNCHECKED = 0, 1, 2


def _run(arguments: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True)  # nosec B603 - fixed argv


# -- bandit ----------------------------------------------------------------------------------
def bandit_verdict(report: dict[str, Any]) -> tuple[int, list[str]]:
    """(status, lines) of a bandit JSON report: every finding listed, medium and high fail."""
    lines, failing = [], 0
    for result in sorted(report.get("results", []), key=lambda r: (r["filename"], r["line_number"])):
        severity = result["issue_severity"].upper()
        failing += severity in FAILING_SEVERITIES
        mark = "FAIL" if severity in FAILING_SEVERITIES else "note"
        lines.append(f"  {mark} {result['filename']}:{result['line_number']}: {result['test_id']} "
                     f"[{severity.lower()}, {result['issue_confidence'].lower()} confidence] {result['issue_text']}")
    if report.get("errors"):
        lines += [f"  could not scan {e.get('filename')}: {e.get('reason')}" for e in report["errors"]]
        return UNCHECKED, lines
    if failing:
        lines.append(f"bandit: {failing} finding(s) above low. Fix each, or if one does not apply, end "
                     f"its line with `# nosec BXXX` and say why in a comment (docs/security.md: Security checks).")
        return FOUND, lines
    skipped = report.get("metrics", {}).get("_totals", {}).get("skipped_tests", 0)
    lines.append(f"bandit: nothing above low ({len(lines)} low, {skipped} marked # nosec).")
    return CLEAN, lines


def bandit() -> int:
    result = _run([str(BIN / "bandit"), "-r", *SCANNED, "-f", "json", "-q", "--exit-zero"])
    try:
        report = json.loads(result.stdout)
    except ValueError:
        print(f"bandit did not run: {result.stderr.strip() or result.stdout.strip()}")
        return UNCHECKED
    status, lines = bandit_verdict(report)
    print("\n".join(lines))
    return status


# -- pip-audit -------------------------------------------------------------------------------
def deps_verdict(report: dict[str, Any]) -> tuple[int, list[str]]:
    """(status, lines) of a pip-audit JSON report."""
    vulnerable = [(d, v) for d in report.get("dependencies", []) for v in d.get("vulns", [])]
    unchecked = [d for d in report.get("dependencies", []) if d.get("skip_reason")]
    lines = []
    for dependency, vuln in vulnerable:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
        aliases = f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else ""
        lines.append(f"  FAIL {dependency['name']} {dependency['version']}: {vuln['id']}{aliases}; fixed in: {fixed}")
    for dependency in unchecked:
        lines.append(f"  NOT CHECKED {dependency['name']}: {dependency['skip_reason']}")
    if vulnerable:
        lines.append(
            f"pip-audit: {len(vulnerable)} known vulnerability(ies) in what we pin. An advisory published "
            f"since the last run fails this without any change here. Upgrade the pin in requirements.txt or "
            f"requirements-dev.txt to a fixed version and run `make test`; if the advisory cannot affect "
            f"gridloop, add its id to IGNORED in tools/audit.py with why (docs/security.md: Security checks).")
        return FOUND, lines
    if unchecked:
        lines.append(f"pip-audit: {len(unchecked)} package(s) could not be looked up in PyPI's vulnerability "
                     f"data, so they were not audited (network, proxy or PyPI trouble?). This is not a pass: "
                     f"run `make audit` again where https://pypi.org/pypi/NAME/VERSION/json answers.")
        return UNCHECKED, lines
    checked = len(report.get("dependencies", []))
    ignored = f", {len(IGNORED)} advisory(ies) ignored in tools/audit.py" if IGNORED else ""
    paged = sum(d.get("source") == "project page" for d in report.get("dependencies", []))
    paged = f" ({paged} of them from PyPI's project page: pinned at the latest release)" if paged else ""
    lines.append(f"pip-audit: no known vulnerability in {checked} packages{paged}{ignored}.")
    return CLEAN, lines


SKIPPED_VERSION = re.compile(r"\(([^()\s]+)\)\s*$")


def fill_from_project_pages(report: dict[str, Any], fetch: Callable[[str], dict | None]) -> dict[str, Any]:
    """pip-audit asks PyPI about each release (/pypi/NAME/VERSION/json); where that is not
    reachable, PyPI's project page (/pypi/NAME/json) still lists the known vulnerabilities
    of the latest release. A package pinned at its latest release is checked from there;
    any other stays unchecked, saying why. Returns the report with what could be filled."""
    dependencies = []
    for dependency in report.get("dependencies", []):
        reason = dependency.get("skip_reason")
        found = SKIPPED_VERSION.search(reason or "")
        page = fetch(dependency["name"]) if reason and found else None
        version = found.group(1) if found else dependency.get("version")
        if page is None:
            dependencies.append(dependency)
            continue
        latest = (page.get("info") or {}).get("version")
        if latest != version:
            dependencies.append({**dependency, "skip_reason": f"{reason}; PyPI's project page describes "
                                                             f"only the latest release, {latest}"})
            continue
        vulns = [{"id": v.get("id"), "fix_versions": v.get("fixed_in") or [], "aliases": v.get("aliases") or []}
                 for v in page.get("vulnerabilities") or []
                 if not v.get("withdrawn") and v.get("id") not in IGNORED]
        dependencies.append({"name": dependency["name"], "version": version, "vulns": vulns,
                             "source": "project page"})
    return {**report, "dependencies": dependencies}


def project_page(name: str) -> dict | None:
    """PyPI's JSON project page, or None when it does not answer."""
    url = f"https://pypi.org/pypi/{urllib.parse.quote(name)}/json"
    try:
        with urllib.request.urlopen(url, timeout=15) as answer:  # nosec B310 - a fixed https URL
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def deps() -> int:
    arguments = [str(BIN / "pip-audit"), "--vulnerability-service", "pypi", "--format", "json",
                 "--aliases", "on", "--progress-spinner", "off"]
    for requirements in REQUIREMENTS:
        arguments += ["--requirement", requirements]
    for vulnerability in sorted(IGNORED):
        arguments += ["--ignore-vuln", vulnerability]
    result = _run(arguments)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        print(f"pip-audit did not run: {result.stderr.strip()[-2000:]}")
        return UNCHECKED
    if any(d.get("skip_reason") for d in report.get("dependencies", [])):
        names = [d["name"] for d in report["dependencies"] if d.get("skip_reason")]
        with ThreadPoolExecutor(max_workers=8) as pool:
            pages = dict(zip(names, pool.map(project_page, names), strict=True))
        report = fill_from_project_pages(report, pages.get)
    status, lines = deps_verdict(report)
    print("\n".join(lines))
    return status


def main(argv: list[str]) -> int:
    checks = {"bandit": bandit, "deps": deps}
    chosen = argv or list(checks)
    if not set(chosen) <= set(checks):
        print(__doc__)
        return UNCHECKED
    statuses = []
    for name in chosen:
        print(f"== {name}")
        statuses.append(checks[name]())
    status = FOUND if FOUND in statuses else max(statuses)
    if status == UNCHECKED and os.environ.get("GRIDLOOP_AUDIT_UNCHECKED") == "warn":
        print("WARNING: the audit above is incomplete; passing only because GRIDLOOP_AUDIT_UNCHECKED=warn.")
        return CLEAN
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
