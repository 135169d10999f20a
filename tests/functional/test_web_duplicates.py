""""Already reported?" and "me too" on the residents' pages (docs/web.md), through the Chalice
app on moto: a valid form for a problem already reported at that building shows the open cases
first, with no report made; "me too" follows one (no new case, counted once per form); "mine is
different" (new=1) sends the report, which the case worker then folds per the changmu book
(water_pipe building-wide within 2 days); the status page of a duplicate points to the case it
joined. Each page parsed as a browser without JavaScript reads it.

changmu-05-2 is 5号楼2单元.
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import pytest

from tests.functional.conftest import PROJECT_DIR, count_cases, member_phone, run_queue, sms_to, text_in
from tests.functional.test_web_pages import Page, code_on, html, post_page

FIRST = "+8613912345678"
SECOND = "+8613912345600"
LEAK_AT = {"building": "changmu-05", "unit": "2", "category": "water_pipe"}


def form(**overrides: str) -> dict[str, str]:
    """What the report form posts: a leak in 5号楼2单元."""
    return {"key": f"web-{uuid.uuid4().hex}", "community": "changmu", "lang": "zh", **LEAK_AT,
            "description": "水管漏水 the pipe leaks", "phone": "", **overrides}


def send(client, fields: dict[str, str], **pressed: str):
    return post_page(client, urlencode({**fields, **pressed}))


def hidden(page: Page) -> dict[str, str]:
    return {a["name"]: a.get("value", "") for a in page.all("input", type="hidden")}


def reported(client, stack, **overrides: str) -> str:
    """A first resident's leak, sent from the form and routed by the case worker."""
    response = send(client, form(phone="13912345678", **overrides))
    code = code_on(response)
    run_queue(client, stack, "intake")
    return code


def me_too_buttons(page: Page) -> list[str]:
    return [a["value"] for a in page.all("button", name="me_too")]


# -- already reported? ----------------------------------------------------------------
@pytest.mark.parametrize("lang, words", [
    ("zh", ("已经有人报过了？", "5号楼已经有居民报过“水管漏水”", "5号楼2单元", "我也遇到了", "不是，我的是另一个问题")),
    ("en", ("Already reported?", "“Water pipe leak” in building 5", "Building 5, unit 2", "Me too",
            "No, mine is a different problem")),
])
def test_given_an_open_leak_when_another_resident_sends_the_same_problem_then_it_is_listed_and_no_case_is_made(
        client, aws_stack, lang, words):
    # GIVEN an open water_pipe case at 5号楼2单元
    first = reported(client, aws_stack)
    # WHEN another resident sends the form for the same problem (in the next unit: building-wide)
    fields = form(lang=lang, unit="3", description="楼上漏水，卓玛家天花板湿了", phone="13912345600")
    response = send(client, fields)
    # THEN the "already reported?" page lists it, with a "me too" for it, and nothing is made
    page = html(response, 200)
    for word in words:
        assert word in page.text, word
    assert me_too_buttons(page) == [first]
    assert page.all("button", name="new", value="1"), "and one to send it as a new report"
    assert count_cases(aws_stack) == 1
    # AND the form comes back whole, hidden, with its own key
    assert hidden(page) == fields
    # AND it says when, how many, the status in words; never a name, a phone or what was written
    case = aws_stack.cases.get(first)
    assert ("已派出，等待接单" if lang == "zh" else "Passed on, waiting to be taken on") in page.text
    assert ("1位居民" if lang == "zh" else "1 resident") in page.text
    assert re.search(r"\d{4}年\d+月\d+日 \d\d:\d\d" if lang == "zh" else r"\w{3} \d+, \d{4}", page.text)
    text = page.text
    for personal in ("水管漏水 the pipe leaks", FIRST, FIRST[3:], "13912345600", "卓玛"):
        assert personal not in text, personal
    assert case.reporter_phone not in response.body.decode()
    assert response.headers["Cache-Control"] == "no-store"


def test_given_nothing_open_there_when_the_form_is_sent_then_the_report_is_made_at_once(client, aws_stack):
    reported(client, aws_stack, category="heating")        # another problem in the same unit
    assert code_on(send(client, form(building="changmu-06")))                    # another building
    assert code_on(send(client, form(category="stairwell_light")))              # another category
    assert count_cases(aws_stack) == 3


def test_given_the_answer_page_when_it_is_refreshed_after_routing_then_the_same_code_not_already_reported(
        client, aws_stack):
    fields = form()
    code = code_on(send(client, fields))
    run_queue(client, aws_stack, "intake")

    assert code_on(send(client, fields)) == code, "a refresh of the answer shows its code again"
    assert count_cases(aws_stack) == 1


# -- me too -------------------------------------------------------------------------------
def test_given_already_reported_when_the_resident_presses_me_too_then_no_new_case_and_two_affected_once(
        client, aws_stack):
    first = reported(client, aws_stack)
    fields = form(phone="139 1234 5600")
    assert me_too_buttons(html(send(client, fields), 200)) == [first]

    # WHEN they press "me too"
    response = send(client, fields, me_too=first)
    # THEN no new case, the case counts two residents, and the page says so with its status link
    page = html(response, 200)
    assert count_cases(aws_stack) == 1
    case = aws_stack.cases.get(first)
    assert case.affected == 2 and case.co_reporters[0]["phone"] == SECOND
    assert first in page.text and "已有2位居民报了这个问题" in page.text
    assert f"/r/{first}" in page.hrefs() and f"查询 {first}" in page.text
    assert "办完后我们会短信告诉您" in page.text, "a phone was given"
    # AND a refresh or a double tap (the same key) changes nothing
    again = html(send(client, fields, me_too=first), 200)
    assert "已有2位居民报了这个问题" in again.text
    assert aws_stack.cases.get(first).affected == 2 and count_cases(aws_stack) == 1
    # AND the status page counts them, and shows the step
    status = html(client.http.get(f"/r/{first}"), 200)
    assert "已有2位居民报了这个问题" in status.text and "又有一位居民报了这个问题" in status.text
    assert SECOND[3:] not in client.http.get(f"/r/{first}").body.decode()


def test_given_me_too_in_english_without_a_phone_then_counted_and_no_sms_promised(client, aws_stack):
    first = reported(client, aws_stack)
    page = html(send(client, form(lang="en"), me_too=first), 200)

    assert "You follow this report" in page.text and "2 residents reported this problem." in page.text
    assert "We will text you" not in page.text and f"CHECK {first}" in page.text
    assert aws_stack.cases.get(first).affected == 2


def test_given_followers_when_the_case_is_resolved_then_each_resident_with_a_phone_gets_one_notice(
        client, aws_stack):
    first = reported(client, aws_stack)
    send(client, form(phone="13912345600"), me_too=first)
    holder = aws_stack.cases.get(first).holder

    text_in(aws_stack, member_phone(aws_stack, holder), f"完成 {first}", client)

    for phone in (FIRST, SECOND):
        assert len([t for t in sms_to(phone) if first in t and "满意回复1" in t]) == 1, sms_to(phone)


@pytest.mark.parametrize("offered", ["other building", "other category", "unknown", "garbage"])
def test_given_a_me_too_code_that_was_not_offered_then_a_400_page_and_nothing_changes(client, aws_stack, offered):
    leak = reported(client, aws_stack)
    elsewhere = reported(client, aws_stack, building="changmu-06")
    heating = reported(client, aws_stack, category="heating")
    code = {"other building": elsewhere, "other category": heating, "unknown": "ZZZZZZ",
            "garbage": "<script>" + "x" * 100}[offered]

    response = send(client, form(), me_too=code)

    page = html(response, 400)
    assert "这件报事不是您所在地方的报事" in page.text and "<script>" not in response.body.decode()
    assert all(aws_stack.cases.get(c).affected == 1 for c in (leak, elsewhere, heating))
    assert count_cases(aws_stack) == 3


def test_given_me_too_with_a_phone_that_is_no_phone_then_the_form_with_its_phone_error(client, aws_stack):
    first = reported(client, aws_stack)

    page = html(send(client, form(phone="call me"), me_too=first), 400)

    assert "#phone" in page.hrefs() and page.value("phone") == "call me"
    assert aws_stack.cases.get(first).affected == 1 and count_cases(aws_stack) == 1


def test_given_me_too_with_no_form_key_then_a_400_page(client, aws_stack):
    first = reported(client, aws_stack)
    assert html(send(client, form(key="not-a-key"), me_too=first), 400)
    assert aws_stack.cases.get(first).affected == 1


def test_given_the_case_was_resolved_meanwhile_when_me_too_is_pressed_then_it_says_so_and_offers_to_send(
        client, aws_stack):
    first = reported(client, aws_stack)
    fields = form()
    assert me_too_buttons(html(send(client, fields), 200)) == [first]
    text_in(aws_stack, member_phone(aws_stack, aws_stack.cases.get(first).holder), f"完成 {first}", client)

    page = html(send(client, fields, me_too=first), 409)

    assert f"报事{first}刚刚已办结或关闭" in page.text
    assert me_too_buttons(page) == [] and page.all("button", name="new", value="1")
    assert hidden(page) == fields
    # AND sending it as new makes the report
    code = code_on(send(client, fields, new="1"))
    assert code != first and count_cases(aws_stack) == 2


def test_given_me_too_over_the_look_up_limit_then_a_429_page(aws_credentials, clock, from_address):
    from chalice.test import Client

    from app import app
    from tests.conftest import moto_stack

    with moto_stack(clock, lookups_per_ip=2) as stack, \
            Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        first = reported(client, stack)
        from_address("203.0.113.9")
        fields = form()
        assert me_too_buttons(html(send(client, fields), 200)) == [first], "showing the list counts one"
        assert html(send(client, fields, me_too=first), 200), "pressing me too counts one"
        refused = send(client, form(), me_too=first)
        page = html(refused, 429)
        assert int(refused.headers["Retry-After"]) > 0 and "这个网络查询太多" in page.text
        assert stack.cases.get(first).affected == 2
        # AND over the limit the form is not held up: the report is sent (the case worker folds it)
        assert code_on(send(client, form()))
        assert count_cases(stack) == 2


# -- mine is new ------------------------------------------------------------------------------
def test_given_already_reported_when_the_resident_says_mine_is_new_then_a_report_the_case_worker_folds(
        client, aws_stack):
    first = reported(client, aws_stack)
    fields = form(phone="13912345600")
    assert me_too_buttons(html(send(client, fields), 200)) == [first]

    # WHEN they press "no, mine is a different problem"
    code = code_on(send(client, fields, new="1"))
    assert code_on(send(client, fields, new="1")) == code, "a refresh: the same report"
    assert count_cases(aws_stack) == 2
    run_queue(client, aws_stack, "intake")

    # THEN the case worker folds it (the changmu book: water_pipe building-wide within 2 days)
    folded, original = aws_stack.cases.get(code), aws_stack.cases.get(first)
    assert (folded.status.value, folded.duplicate_of) == ("duplicate", first)
    assert original.affected == 2
    # AND its status page says it is the same problem as the first, handled there, with a link
    for lang, words in (("zh", (f"与报事{first}是同一个问题", "已合并到同一问题的另一件报事")),
                        ("en", (f"The same problem as report {first}", "Joined another report of the same problem"))):
        response = client.http.get(f"/r/{code}?lang={lang}")
        page = html(response, 200)
        for word in words:
            assert word in page.text, word
        assert f"/r/{first}" in page.hrefs()
        assert SECOND not in response.body.decode() and SECOND[3:] not in response.body.decode()
    # AND the original's counts both residents
    status = html(client.http.get(f"/r/{first}?lang=en"), 200)
    assert "2 residents reported this problem." in status.text and "Another resident reported it too" in status.text


def test_given_a_category_never_folded_when_sent_again_then_no_list_each_report_is_its_own(client, aws_stack):
    # Sanitation is never folded (the changmu book): a neighbour's report is not offered to join
    first = code_on(send(client, form(category="sanitation")))
    run_queue(client, aws_stack, "intake")
    assert code_on(send(client, form(category="sanitation"))) != first
    assert html(send(client, form(category="sanitation"), me_too=first), 400)
    assert aws_stack.cases.get(first).affected == 1


def test_given_several_open_leaks_when_listed_then_the_page_is_small(client, aws_stack, clock):
    import gzip

    # Three leaks in building 5, each reported after the last one's 2 days: none folded
    for unit in ("1", "2", "3"):
        code_on(send(client, form(unit=unit), new="1"))
        run_queue(client, aws_stack, "intake")
        clock.advance(3 * 86400)
    response = send(client, form(description="漏" * 1000))
    page = html(response, 200)
    assert len(me_too_buttons(page)) == 3
    first = me_too_buttons(page)[0]
    assert aws_stack.cases.get(first).location == "changmu-05-2", "the resident's own unit first"
    size = len(gzip.compress(response.body, 9))
    print(f"gzip: already reported {size} B")
    assert size < 12 * 1024


@pytest.fixture
def from_address(monkeypatch):
    from chalice.local import LambdaEventConverter

    def use(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
    return use
