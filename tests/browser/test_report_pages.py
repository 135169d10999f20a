"""The residents' pages in a real Chromium at a phone's width, on the local stack, in zh and
in en: a report made with JavaScript off reaches the unit's stairwell leader; a form with
errors shows the summary and keeps what was typed; the status page shows the timeline and
no name or phone; axe-core finds nothing serious. Screenshots go to build/browser/."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.browser.conftest import axe_violations
from tests.e2e.test_local_stack import ROOT, chain_phones

SHOTS = ROOT / "build" / "browser"
LANGS = ("zh", "en")


def people():
    data = yaml.safe_load((ROOT / "data/directory/changmu.yaml").read_text(encoding="utf-8"))
    return {m["id"]: m for m in data["members"]}, data


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_form(page, stack, lang: str) -> None:
    """The report page of Changmu Homeland, choosing the community as a resident would."""
    page.goto(f"{stack.base}/?lang={lang}")
    if page.locator("#communities").count():
        page.locator("#communities a").filter(has_text=re.compile("常牧|Changmu")).first.click()
    page.wait_for_selector("form#report")


def report_leak(page, stack, lang: str, text: str) -> str:
    open_form(page, stack, lang)
    page.select_option("#building", "changmu-05")
    page.select_option("#unit", "2")
    page.check("#category-water_pipe", force=True)
    page.fill("#description", text)
    page.click("button[type=submit]")
    return page.locator(".code").first.inner_text().strip()


@pytest.mark.parametrize("lang", LANGS)
def test_a_resident_reports_a_leak_with_no_javascript_and_the_stairwell_leader_gets_the_sms(
        stack, no_js_page, lang):
    # GIVEN a phone browser with JavaScript off, on the report page
    leader, _, _ = chain_phones(people(), ("b05", 2))
    # WHEN the resident reports a leak in 5号楼2单元
    code = report_leak(no_js_page, stack, lang, "楼道水管漏水，地上全是水" if lang == "zh" else "The pipe leaks")
    shoot(no_js_page, f"done-{lang}")
    # THEN the page shows the code, says how to follow it by SMS, and the leader is told
    assert re.fullmatch(r"[A-Z0-9]{6}", code), code
    assert f"{'查询' if lang == 'zh' else 'CHECK'} {code}" in no_js_page.content()
    stack.wait_until(lambda: [m for m in stack.outbox(leader) if code in m["text"]],
                     what=f"the stairwell leader's SMS about {code}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_form_with_errors_shows_the_summary_linked_to_the_fields_and_keeps_the_text(stack, no_js_page, lang):
    # GIVEN the report page WHEN the resident writes what is wrong but picks no place or category
    open_form(no_js_page, stack, lang)
    no_js_page.fill("#description", "门口的路灯坏了")
    no_js_page.click("button[type=submit]")
    shoot(no_js_page, f"errors-{lang}")
    # THEN the error summary comes first, each error links to its field, and the text is kept
    summary = no_js_page.locator(".error-summary")
    assert summary.count() == 1
    links = summary.locator("a")
    assert links.count() >= 2
    for n in range(links.count()):
        target = links.nth(n).get_attribute("href")
        assert target.startswith("#") and no_js_page.locator(target).count() == 1, target
    assert no_js_page.input_value("#description") == "门口的路灯坏了"


@pytest.mark.parametrize("lang", LANGS)
def test_the_status_page_shows_the_timeline_without_a_name_or_a_phone(stack, no_js_page, lang):
    # GIVEN a report that reached its stairwell leader
    members, data = people()
    leader, _, _ = chain_phones((members, data), ("b05", 2))
    code = report_leak(no_js_page, stack, lang, "水管又漏了")
    stack.wait_until(lambda: [m for m in stack.outbox(leader) if code in m["text"]], what="the assignment")
    # WHEN the resident opens its status page
    no_js_page.goto(f"{stack.base}/r/{code}?lang={lang}")
    shoot(no_js_page, f"status-{lang}")
    # THEN it shows the timeline, and no member's name or phone
    html = no_js_page.content()
    assert code in html and no_js_page.locator("ol, ul").count() >= 1
    for member in members.values():
        assert member["name"] not in html and member["phone"] not in html and member["phone"][3:] not in html


@pytest.mark.parametrize("lang", LANGS)
def test_axe_core_finds_no_serious_or_critical_violation_on_any_page(stack, audited_page, lang):
    # GIVEN each page a resident sees: the form, the form with errors, the code, the status
    seen: dict[str, list[dict]] = {}
    open_form(audited_page, stack, lang)
    seen["form"] = axe_violations(audited_page)
    shoot(audited_page, f"form-{lang}")
    audited_page.click("button[type=submit]")
    seen["errors"] = axe_violations(audited_page)
    code = report_leak(audited_page, stack, lang, "楼道灯不亮")
    seen["done"] = axe_violations(audited_page)
    audited_page.goto(f"{stack.base}/r/{code}?lang={lang}")
    seen["status"] = axe_violations(audited_page)
    audited_page.goto(f"{stack.base}/r/NOSUCH?lang={lang}")
    seen["not found"] = axe_violations(audited_page)
    # THEN axe-core finds nothing serious or critical on any of them
    found = {page: [(v["id"], v["impact"], len(v["nodes"])) for v in violations]
             for page, violations in seen.items() if violations}
    assert found == {}


def test_with_javascript_the_description_counter_counts_down(stack, phone_page):
    open_form(phone_page, stack, "en")
    phone_page.fill("#description", "abc")
    counter = phone_page.locator("#description-count").inner_text()
    assert re.search(r"\d+", counter), counter
