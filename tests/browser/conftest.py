"""A real browser for the residents' pages: Debian's Chromium driven by Playwright, at a
phone's width, against the local stack as `make run` starts it. `make browser` installs
Chromium (apt) and axe-core (npm); when either is missing these tests fail and say so,
they do not skip."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import real_time_stack
from tests.e2e.test_local_stack import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
# As root Chromium needs --no-sandbox; the rest keep it from calling out of this closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as error:       # the message says why (a missing library, ...)
            pytest.fail(f"Chromium did not start: {error}")
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with real_time_stack(tmp_path_factory.mktemp("browser")) as local:
        yield local


@pytest.fixture
def phone_page(chromium):
    """A new page at a phone's width, JavaScript on, with the page's own script only."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def audited_page(chromium):
    """A phone-width page into which axe-core may be injected: the pages' Content-Security-Policy
    allows no script but their own, so this context bypasses it (Playwright's bypass_csp)."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", bypass_csp=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def no_js_page(chromium):
    """A new page at a phone's width with JavaScript off: what every page must work with."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def neighbour_page(chromium):
    """Another resident's phone, JavaScript off as well: a context of its own (no shared cookies)."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    yield context.new_page()
    context.close()


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of `impacts` on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make browser` installs axe-core from npm")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    return [v for v in json.loads(result)["violations"] if v.get("impact") in impacts]
