"""The residents' pages in a real Chromium at a phone's width, on the local stack, in zh and
in en: a report made with JavaScript off reaches the unit's stairwell leader, a neighbour is
shown "already reported?" and says "me too", and when the holder says it is done both hear it,
once each; a form with errors shows the summary and keeps what was typed; the status page shows
the timeline and no name or phone; axe-core finds nothing serious. Screenshots go to
build/browser/.

The stack lives for the module, and the changmu book folds leaks building-wide: each test
reports in a building of its own (in each language), except the first, whose leak in 5号楼2单元
is done at its end."""
from __future__ import annotations

import re
import time

import pytest
import yaml

from tests.browser.conftest import axe_violations
from tests.e2e.test_local_stack import ROOT, chain_phones

SHOTS = ROOT / "build" / "browser"
LANGS = ("zh", "en")
PROPERTY = ("m45", "m46")          # 物业: level 1 of a leak (the property chain)
# Each test's own building, by language (a leak folds building-wide: see the docstring).
STATUS_AT = {"zh": ("b06", 2), "en": ("b07", 2)}
AUDIT_AT = {"zh": ("b08", 2), "en": ("b09", 2)}
RESIDENTS = {"zh": ("+8613800000101", "+8613800000102"), "en": ("+8613800000201", "+8613800000202")}
RESOLVED = re.compile(r"满意回复1|Reply 1 if satisfied")


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


def fill_leak(page, stack, lang: str, text: str, place: tuple[str, int] = ("b05", 2), phone: str = "") -> None:
    """The form, filled in for a leak at `place` (building id, unit), and sent."""
    open_form(page, stack, lang)
    page.select_option("#building", f"changmu-{place[0][1:]}")
    page.select_option("#unit", str(place[1]))
    page.check("#category-water_pipe", force=True)
    page.fill("#description", text)
    if phone:
        page.fill("#phone", phone)
    page.click("button[type=submit]")


def report_leak(page, stack, lang: str, text: str, place: tuple[str, int] = ("b05", 2), phone: str = "") -> str:
    fill_leak(page, stack, lang, text, place, phone)
    return page.locator(".code").first.inner_text().strip()


def holder_phone(stack, code: str) -> str:
    """The property member the leak went to (the one whose phone got its SMS)."""
    members, _ = people()
    phones = [members[m]["phone"] for m in PROPERTY]
    return stack.wait_until(lambda: next((p for p in phones if [m for m in stack.outbox(p) if code in m["text"]]),
                                         None), what=f"the property member's SMS about {code}")


def status_of(stack, code: str) -> str | None:
    return stack.get(f"/reports/{code}")[1].get("status")


@pytest.mark.parametrize("lang", LANGS)
def test_a_leak_reported_with_no_javascript_reaches_the_leader_a_neighbour_says_me_too_and_both_hear_it_is_done(
        stack, no_js_page, neighbour_page, lang):
    # GIVEN a phone browser with JavaScript off, on the report page
    leader, _, _ = chain_phones(people(), ("b05", 2))
    first, second = RESIDENTS[lang]
    # WHEN the resident reports a leak in 5号楼2单元, with their phone
    code = report_leak(no_js_page, stack, lang, "楼道水管漏水，地上全是水" if lang == "zh" else "The pipe leaks",
                       phone=first)
    shoot(no_js_page, f"done-{lang}")
    # THEN the page shows the code, says how to follow it by SMS, and the leader is told
    assert re.fullmatch(r"[A-Z0-9]{6}", code), code
    assert f"{'查询' if lang == 'zh' else 'CHECK'} {code}" in no_js_page.content()
    stack.wait_until(lambda: [m for m in stack.outbox(leader) if code in m["text"]],
                     what=f"the stairwell leader's SMS about {code}")

    # WHEN a neighbour (another phone, JavaScript off too) sends the same problem
    fill_leak(neighbour_page, stack, lang, "水管漏水，天花板在滴水" if lang == "zh" else "Water is dripping",
              phone=second)
    # THEN they are asked whether it is already reported, with that report to join, and nothing is made
    neighbour_page.wait_for_selector("form#already")
    shoot(neighbour_page, f"already-reported-{lang}")
    assert neighbour_page.locator("h1").inner_text() == ("已经有人报过了？" if lang == "zh" else "Already reported?")
    buttons = neighbour_page.locator("button[name=me_too]")
    assert buttons.count() == 1 and buttons.first.get_attribute("value") == code
    assert ("5号楼2单元" if lang == "zh" else "Building 5, unit 2") in neighbour_page.inner_text("main")
    box = buttons.first.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 200, box
    # WHEN they press "me too"
    buttons.first.click()
    # THEN they follow the case: no new report, two residents, its status link and SMS words
    neighbour_page.wait_for_selector(".code")
    shoot(neighbour_page, f"followed-{lang}")
    assert neighbour_page.locator(".code").first.inner_text().strip() == code
    assert ("已有2位居民报了这个问题" if lang == "zh" else "2 residents reported this problem") in \
        neighbour_page.inner_text("main")
    assert neighbour_page.locator(f"a[href$='/r/{code}']").count() == 1
    view = stack.get(f"/reports/{code}")[1]
    assert view["affected"] == 2 and first not in str(view) and second not in str(view)

    # WHEN the holder says it is done, by SMS through the stack's inbound path
    holder = holder_phone(stack, code)
    assert stack.post("/dev/sms", {"from": holder, "text": f"完成 {code}"})[0] == 202
    stack.wait_until(lambda: status_of(stack, code) == "resolved", what="the resolution")
    # THEN each resident gets its resolved notice with the call-back, exactly once
    for phone in (first, second):
        stack.wait_until(lambda phone=phone: [m for m in stack.outbox(phone) if code in m["text"]
                                              and RESOLVED.search(m["text"])], what=f"the notice to {phone}")
    time.sleep(1.5)
    for phone in (first, second):
        notices = [m["text"] for m in stack.outbox(phone) if code in m["text"] and RESOLVED.search(m["text"])]
        assert len(notices) == 1, stack.outbox(phone)


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
    leader, _, _ = chain_phones((members, data), STATUS_AT[lang])
    code = report_leak(no_js_page, stack, lang, "水管又漏了", STATUS_AT[lang])
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
    # GIVEN each page a resident sees: the form, the form with errors, the code, the status,
    # "already reported?", the "me too" answer, and a report folded into another
    seen: dict[str, list[dict]] = {}
    open_form(audited_page, stack, lang)
    seen["form"] = axe_violations(audited_page)
    shoot(audited_page, f"form-{lang}")
    audited_page.click("button[type=submit]")
    seen["errors"] = axe_violations(audited_page)
    code = report_leak(audited_page, stack, lang, "楼道水管漏水", AUDIT_AT[lang])
    seen["done"] = axe_violations(audited_page)
    stack.wait_until(lambda: status_of(stack, code) == "assigned", what="the leak to be routed")
    fill_leak(audited_page, stack, lang, "水管漏水", AUDIT_AT[lang])
    audited_page.wait_for_selector("form#already")
    seen["already reported"] = axe_violations(audited_page)
    audited_page.click(f"button[name=me_too][value='{code}']")
    audited_page.wait_for_selector(".code")
    seen["me too"] = axe_violations(audited_page)
    fill_leak(audited_page, stack, lang, "水管还在漏", AUDIT_AT[lang])
    audited_page.click("button[name=new]")
    folded = audited_page.locator(".code").first.inner_text().strip()
    stack.wait_until(lambda: status_of(stack, folded) == "duplicate", what="the case worker to fold it")
    audited_page.goto(f"{stack.base}/r/{folded}?lang={lang}")
    assert audited_page.locator(f"a[href$='/r/{code}']").count() == 1, "the duplicate points to the original"
    seen["duplicate status"] = axe_violations(audited_page)
    audited_page.goto(f"{stack.base}/r/{code}?lang={lang}")
    assert ("3位居民" if lang == "zh" else "3 residents") in audited_page.inner_text("main")
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
