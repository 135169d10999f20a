"""The residents' web pages (docs/web.md) through the Chalice app on moto: the report form at
`/`, its answer, the status page `/r/{code}` and the stylesheet. Each page is parsed as a
browser would read it (html.parser), without JavaScript."""
from __future__ import annotations

import gzip
import re
import shutil
import uuid
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from chalice.local import LambdaEventConverter

from chalicelib.domain.privacy import sender_key
from tests.functional.conftest import (
    PROJECT_DIR,
    count_cases,
    member_phone,
    post_report,
    report,
    run_queue,
    text_in,
)

FORM = "application/x-www-form-urlencoded"
RESIDENT = "+8613912345678"


class Page(HTMLParser):
    """What a browser without JavaScript gets from a page: its elements and its words."""

    def __init__(self, body: bytes):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.words: list[str] = []
        self._in: list[str] = []
        self.feed(body.decode("utf-8"))

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in.append(tag)

    def handle_endtag(self, tag):
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data):
        if not (self._in and self._in[-1] in ("script", "style")):
            self.words.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.words).split())

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.elements if "id" in a]

    def fields(self) -> list[tuple[str, dict[str, str]]]:
        return [(t, a) for t, a in self.elements
                if t in ("select", "textarea") or (t == "input" and a.get("type") != "hidden")]

    def value(self, name: str) -> str | None:
        found = self.all("input", name=name)
        return found[0].get("value") if found else None

    def hrefs(self) -> list[str]:
        return [a["href"] for t, a in self.elements if t == "a" and "href" in a]


def page_form(**overrides: str) -> str:
    """What the report form posts, filled in (building 3, unit 2 of Changmu, a leaking pipe)."""
    fields = {"key": f"web-{uuid.uuid4().hex}", "community": "changmu", "lang": "zh", "building": "changmu-03",
              "unit": "2", "category": "water_pipe", "description": "水管漏水 the pipe leaks", "phone": ""}
    return urlencode({**fields, **overrides})


def post_page(client, body: str | bytes, content_type: str = FORM, headers: dict[str, str] | None = None):
    return client.http.post("/", headers={"Content-Type": content_type, **(headers or {})}, body=body)


def code_on(response) -> str:
    found = re.search(rb'<p class="code" translate="no">([A-Z0-9]+)</p>', response.body)
    assert found, response.body[:2000]
    return found.group(1).decode()


def html(response, status: int) -> Page:
    assert response.status_code == status, response.body[:1500]
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return Page(response.body)


def every_member(stack):
    return [m for c in stack.directory().communities.values() for m in c.members.values()]


@pytest.fixture
def from_address(monkeypatch):
    def use(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
    return use


# -- the form ------------------------------------------------------------------------
def test_given_two_communities_when_a_resident_opens_the_page_then_it_asks_which_one_in_chinese(client):
    page = html(client.http.get("/"), 200)

    assert page.all("html")[0]["lang"] == "zh-CN"
    assert "您住在哪个社区？" in page.text
    assert {"/?community=changmu", "/?community=garang"} <= set(page.hrefs())
    assert "/?lang=en" in page.hrefs(), "a language switch on every page"


def test_given_a_community_when_its_form_is_opened_then_chinese_by_default_and_english_by_lang_cookie_or_browser(
        client):
    chinese = html(client.http.get("/?community=changmu"), 200)
    assert "我要报事" in chinese.text and "1号楼" in chinese.text and "不清楚单元" in chinese.text

    asked = client.http.get("/?community=changmu&lang=en")
    english = html(asked, 200)
    assert english.all("html")[0]["lang"] == "en" and asked.headers["Content-Language"] == "en"
    assert "Report a problem" in english.text and "Building 1" in english.text and "我要报事" not in english.text
    assert "Water pipe leak" in english.text and "I don't know the unit" in english.text
    assert asked.headers["Set-Cookie"].startswith("lang=en;")
    assert "/?community=changmu&lang=zh" in english.hrefs(), "the switch back keeps the community"

    remembered = Page(client.http.get("/?community=changmu", headers={"Cookie": "a=1; lang=en"}).body)
    assert "Report a problem" in remembered.text
    browser = Page(client.http.get("/?community=changmu", headers={"Accept-Language": "en-GB,en;q=0.9"}).body)
    assert "Report a problem" in browser.text
    assert "我要报事" in Page(client.http.get("/?community=changmu",
                                         headers={"Accept-Language": "zh-CN,en;q=0.5"}).body).text


@pytest.mark.parametrize("path, body", [
    ("/?community=changmu", None), ("/?community=garang&lang=en", None),
    ("/", page_form(unit="", category="", description="", phone="x")),   # the form with every error shown
])
def test_given_the_form_when_read_then_every_field_has_an_id_and_a_label_for_it(client, path, body):
    response = client.http.get(path) if body is None else post_page(client, body)
    page = Page(response.body)

    fields = page.fields()
    assert len(fields) == 4 + 13, "building, unit, description, phone and the 13 categories"
    labelled = {a["for"] for a in page.all("label")}
    for tag, attrs in fields:
        assert attrs.get("id") and attrs["id"] in labelled, (tag, attrs)
    ids = page.ids()
    assert len(ids) == len(set(ids)), "ids are unique"


def test_given_the_form_when_read_then_it_says_the_limits_and_what_the_phone_is_for_without_javascript(client):
    page = html(client.http.get("/?community=changmu"), 200)

    [description] = page.all("textarea")
    assert description["maxlength"] == "1000" and "最多1000个字" in page.text
    assert "只用来发短信告诉您这件事的进度" in page.text
    [key] = page.all("input", name="key")
    assert re.fullmatch(r"web-[0-9a-f]{32}", key["value"])
    assert key["value"] != Page(client.http.get("/?community=changmu").body).value("key"), "a new key each time"
    assert not [a for t, a in page.elements if t == "script" and "src" in a], "no scripts from elsewhere"
    assert not [a for t, a in page.elements if t == "link" and not a["href"].startswith("/static/")]


# -- sending it --------------------------------------------------------------------
def test_given_a_filled_form_when_sent_then_exactly_one_case_is_made_and_its_code_shown(client, aws_stack):
    response = post_page(client, page_form(phone="13912345678"))

    page = html(response, 200)
    code = code_on(response)
    assert count_cases(aws_stack) == 1
    case = aws_stack.cases.get(code)
    assert (case.category, case.location, case.source, case.reporter_phone, case.reporter_lang) == (
        "water_pipe", "changmu-03-2", "web", RESIDENT, "zh")
    assert f"/r/{code}" in page.hrefs()
    assert f"查询 {code}" in page.text, "how to follow it by SMS"
    assert response.headers["Cache-Control"] == "no-store"


def test_given_a_sent_form_when_it_is_sent_again_with_its_key_then_the_same_code_and_no_second_case(
        client, aws_stack):
    body = page_form()
    first, again = post_page(client, body), post_page(client, body)      # a refresh, a double tap

    assert first.status_code == again.status_code == 200
    assert code_on(first) == code_on(again)
    assert count_cases(aws_stack) == 1


def test_given_two_forms_when_each_is_sent_then_two_reports(client, aws_stack):
    # The second would first be asked whether it is the same problem (test_web_duplicates.py): "mine is new"
    assert code_on(post_page(client, page_form())) != code_on(post_page(client, page_form(new="1")))
    assert count_cases(aws_stack) == 2


def test_given_a_form_with_faults_when_sent_then_the_summary_links_each_to_its_field_and_what_was_typed_stays(
        client, aws_stack):
    typed = "楼道里" + "很" * 1000 + " <b>"
    response = post_page(client, page_form(unit="", category="", description=typed, phone="call me"))

    page = html(response, 400)
    summary = [a["href"] for t, a in page.elements if t == "a" and a.get("href", "").startswith("#")]
    assert summary == ["#unit", "#category-stairwell_light", "#description", "#phone"]
    for href in summary:
        assert href[1:] in page.ids(), f"{href} leads nowhere"
    for name in ("unit", "category", "description", "phone"):
        assert f"{name}-error" in page.ids(), f"the message at {name}"
    assert "请选择单元，或选“不清楚单元”" in page.text and "最多写1000个字" in page.text
    assert typed in page.text and "<b>" not in response.body.decode(), "kept, and escaped"
    assert page.value("phone") == "call me"
    assert page.all("option", value="changmu-03")[0].get("selected") is not None
    assert count_cases(aws_stack) == 0


def test_given_an_english_form_with_a_fault_when_sent_then_the_error_is_in_english_and_its_key_is_kept(client):
    body = page_form(lang="en", category="")
    page = html(post_page(client, body), 400)

    assert "Choose what the problem is about" in page.text and "There is a problem" in page.text
    assert page.value("key") == dict(p.split("=") for p in body.split("&"))["key"]


def test_given_a_building_and_a_unit_it_does_not_have_when_sent_then_the_unit_is_at_fault(client, aws_stack):
    page = html(post_page(client, page_form(unit="9")), 400)

    assert [a["href"] for a in page.all("a") if a["href"].startswith("#")] == ["#unit"]
    assert "这栋楼没有这个单元" in page.text
    assert count_cases(aws_stack) == 0


def test_given_i_dont_know_the_unit_when_sent_then_the_building_is_the_place_and_its_leader_gets_it(
        client, aws_stack):
    code = code_on(post_page(client, page_form(building="changmu-03", unit="unknown", category="sanitation")))

    assert aws_stack.cases.get(code).location == "changmu-03"
    run_queue(client, aws_stack, "intake")
    building = aws_stack.directory().communities["changmu"].buildings["b03"]
    assert aws_stack.cases.get(code).holder == building.leader_id, "楼长发现: the building leader"


def test_given_the_english_page_when_a_report_is_sent_then_its_sms_are_in_english(client, aws_stack):
    code = code_on(post_page(client, page_form(lang="en", phone="13912345678")))

    assert aws_stack.cases.get(code).reporter_lang == "en"


def test_given_a_sent_form_when_it_is_changed_and_sent_again_with_the_same_key_then_it_says_it_was_sent(
        client, aws_stack):
    key = f"web-{uuid.uuid4().hex}"
    code = code_on(post_page(client, page_form(key=key)))

    page = html(post_page(client, page_form(key=key, description="别的事")), 400)

    assert f"这张表格已经提交过了，编号{code}" in page.text
    assert page.value("key") != key, "a new form to report something else"
    assert count_cases(aws_stack) == 1


# -- floods, the block list and bad requests: a page each, never a 500 -------------------------
def test_given_a_phone_over_its_report_limit_when_the_form_is_sent_then_a_friendly_429_page(
        aws_credentials, clock):
    from chalice.test import Client

    from app import app
    from tests.conftest import moto_stack

    with moto_stack(clock, reports_per_phone=1) as stack, \
            Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        assert post_page(client, page_form(phone="13912345678")).status_code == 200
        response = post_page(client, page_form(phone="13912345678", new="1"))

        page = html(response, 429)
        assert int(response.headers["Retry-After"]) > 0
        assert "这个手机号短时间内报事太多" in page.text
        assert count_cases(stack) == 1


def test_given_a_blocked_phone_when_the_form_is_sent_then_a_403_page_and_nothing_stored(client, aws_stack):
    aws_stack.blocklist.add(sender_key(phone=RESIDENT), "+86139****5678", None, None, 0.0)

    page = html(post_page(client, page_form(phone=RESIDENT)), 403)

    assert "请联系社区办公室" in page.text
    assert count_cases(aws_stack) == 0


@pytest.mark.parametrize("body, content_type, status", [
    (page_form(), "application/json", 415),
    (b'{"category": "sanitation"}', "application/json", 415),
    (page_form(description="x" * 70_000), FORM, 413),
    (b"description=%FF%FE&community=changmu", FORM, 400),             # not UTF-8 once decoded
    (b"\xff\xfe\x00description", FORM, 400),                           # not UTF-8 at all
    (page_form() + "&category=fire", FORM, 400),                       # a field given twice
    (b"", FORM, 400),                                                  # nothing
    (page_form(community="", building="nowhere-01"), FORM, 400),       # no community, no building
    (page_form(building="changmu-99"), FORM, 400),
    (page_form(category="volcano"), FORM, 400),
    (page_form(description=""), FORM, 400),
    (page_form(description="灯" * 1001), FORM, 400),
    (page_form(phone="12345"), FORM, 400),
    (page_form(key="x" * 300, lang="xx", unit="-1"), FORM, 400),
    (urlencode({"description": "\ud800"}, encoding="utf-8", errors="surrogatepass"), FORM, 400),
])
def test_given_a_bad_body_when_posted_to_the_form_then_a_4xx_page(client, aws_stack, body, content_type, status):
    response = post_page(client, body, content_type=content_type)

    html(response, status)
    assert count_cases(aws_stack) == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
def test_given_another_method_when_asked_then_a_4xx(client, method):
    assert 400 <= client.http.request(method, "/", body=b"").status_code < 500


@pytest.mark.parametrize("path", ["/?community=nowhere", "/?community=%00", "/?lang=%FF%FE",
                                  "/?community=" + "x" * 5000])
def test_given_odd_queries_when_the_page_is_asked_then_no_5xx(client, path):
    assert client.http.get(path).status_code in (200, 404)


def test_given_the_templates_broken_when_a_page_is_asked_then_a_503_page_not_a_500(client, monkeypatch):
    from chalicelib.web import templates

    monkeypatch.setattr(templates, "render", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("broken")))

    for response in (client.http.get("/"), post_page(client, page_form()), client.http.get("/r/AP3ZUM")):
        page = html(response, 503)
        assert "请稍后再试" in page.text and "try again" in page.text


# -- the status page -----------------------------------------------------------------
def routed_report(client, stack, **overrides) -> str:
    response = post_report(client, report(**overrides))
    assert response.status_code == 202
    run_queue(client, stack, "intake")
    return response.json_body["code"]


def test_given_a_routed_and_accepted_report_when_its_status_page_is_opened_then_its_steps_by_role_and_its_due_time(
        client, aws_stack, clock):
    # GIVEN a report with a phone and a name, routed to its stairwell leader, who accepts it
    code = routed_report(client, aws_stack, phone=RESIDENT, name="卓玛", description="楼道灯坏了，卓玛家门口")
    holder = aws_stack.cases.get(code).holder
    text_in(aws_stack, member_phone(aws_stack, holder), f"收到 {code}", client)
    case = aws_stack.cases.get(code)
    # WHEN anyone opens its status page (any case, with stray spaces)
    response = client.http.get(f"/r/{code.lower()[:3]}%20{code.lower()[3:]}")
    # THEN the status in words, each step with its role, and when it is due, on Changmu's clock
    page = html(response, 200)
    assert "楼道长正在办理" in page.text
    assert "已受理" in page.text and "已派给楼道长" in page.text and "楼道长已接单" in page.text
    due = datetime.fromtimestamp(case.resolve_due_at, ZoneInfo("Asia/Shanghai"))
    assert f"应在{due.year}年{due.month}月{due.day}日 {due:%H:%M}前办结" in page.text
    assert "常牧家园" in page.text and "1号楼1单元" in page.text and "楼道照明" not in page.text
    assert response.headers["Cache-Control"] == "no-store"


def test_given_a_report_when_its_status_page_is_read_then_no_name_phone_or_residents_words_appear(
        client, aws_stack):
    code = routed_report(client, aws_stack, phone=RESIDENT, name="卓玛", description="卓玛家门口的灯坏了")
    holder = aws_stack.cases.get(code).holder
    text_in(aws_stack, member_phone(aws_stack, holder), f"收到 {code}", client)
    text_in(aws_stack, member_phone(aws_stack, holder), f"完成 {code}", client)

    for lang in ("zh", "en"):
        body = html(client.http.get(f"/r/{code}?lang={lang}"), 200)
        raw = client.http.get(f"/r/{code}?lang={lang}").body.decode()
        for member in every_member(aws_stack):
            assert member.name not in raw and member.phone not in raw and member.phone[3:] not in raw, member.id
            assert f">{member.id}<" not in raw and f" {member.id} " not in body.text
        for personal in ("卓玛", RESIDENT, RESIDENT[3:], "门口的灯"):
            assert personal not in raw, personal


def test_given_the_english_status_page_when_read_then_the_roles_and_steps_are_in_english(client, aws_stack):
    code = routed_report(client, aws_stack)

    page = html(client.http.get(f"/r/{code}?lang=en"), 200)

    assert "With the stairwell leader, waiting to be taken on." in page.text
    assert "Passed to the stairwell leader" in page.text and "Received" in page.text
    assert "Sanitation" in page.text and "Building 1, unit 1" in page.text
    assert f"CHECK {code}" in page.text


@pytest.mark.parametrize("code", ["NOSUCH", "nosuch", "AP3ZU", "<script>alert(1)", "%E7%81%AF" * 3, "0" * 500])
def test_given_an_unknown_or_wrong_code_when_looked_up_then_a_friendly_404_page(client, code):
    response = client.http.get(f"/r/{code}")

    page = html(response, 404)
    assert "没有找到这件报事" in page.text and "/" in page.hrefs()
    assert "<script>alert" not in response.body.decode(), "escaped"


def test_given_an_address_over_its_look_up_limit_when_it_looks_up_again_then_a_429_page_and_others_still_can(
        aws_credentials, clock, from_address):
    from chalice.test import Client

    from app import app
    from tests.conftest import moto_stack

    with moto_stack(clock, lookups_per_ip=3) as stack, \
            Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        code = routed_report(client, stack)
        from_address("203.0.113.7")
        answers = [client.http.get(path).status_code for path in (f"/r/{code}", "/r/NOSUCH", "/r/AAAAAA")]
        assert answers == [200, 404, 404], "found or not, each counts"

        refused = client.http.get(f"/r/{code}")
        page = html(refused, 429)
        assert int(refused.headers["Retry-After"]) > 0 and "这个网络查询太多" in page.text

        from_address("203.0.113.8")
        assert client.http.get(f"/r/{code}").status_code == 200, "another address has its own count"
        from_address("203.0.113.7")
        clock.advance(3600)
        assert client.http.get(f"/r/{code}").status_code == 200, "the next window counts from zero"


# -- size and caching --------------------------------------------------------------------
def test_given_the_pages_when_compressed_then_each_with_its_stylesheet_is_within_its_budget(client, aws_stack):
    # The budgets: the whole report page under 30 KB compressed, the status page under 15 KB
    form = client.http.get("/?community=changmu")
    code = routed_report(client, aws_stack)
    status = client.http.get(f"/r/{code}")
    css_url = Page(form.body).all("link", rel="stylesheet")[0]["href"]
    css = client.http.get(css_url)

    def gz(response) -> int:
        return len(gzip.compress(response.body, 9))

    print(f"gzip: form {gz(form)} B, status {gz(status)} B, stylesheet {gz(css)} B")
    assert gz(form) + gz(css) < 30 * 1024
    assert gz(status) + gz(css) < 15 * 1024


def test_given_the_stylesheet_when_fetched_at_its_versioned_url_then_it_may_be_kept_a_year(client):
    [link] = Page(client.http.get("/?community=changmu").body).all("link", rel="stylesheet")
    assert re.fullmatch(r"/static/site\.css\?v=[0-9a-f]{10}", link["href"])

    versioned = client.http.get(link["href"])
    assert versioned.status_code == 200 and versioned.headers["Content-Type"] == "text/css; charset=utf-8"
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"min-height:44px" in versioned.body
    for stale in ("/static/site.css", "/static/site.css?v=0000000000"):
        assert client.http.get(stale).headers["Cache-Control"] == "public, max-age=300"


def test_given_a_page_when_answered_then_it_allows_only_our_own_style_script_and_form(client):
    response = client.http.get("/?community=changmu")
    policy = response.headers["Content-Security-Policy"]

    assert "default-src 'none'" in policy and "style-src 'self'" in policy and "form-action 'self'" in policy
    script = re.search(rb"<script>(.*?)</script>", response.body, re.S).group(1)
    import base64
    import hashlib
    assert f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'" in policy
    assert response.headers["Referrer-Policy"] == "no-referrer", "a status page's code stays in its URL"


# -- a new language ------------------------------------------------------------------------
BO_CATALOGUE = '''msgid ""
msgstr ""
"Language: bo\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "Report a problem"
msgstr "[bo] Report a problem"

msgid "Building %(n)s"
msgstr "[bo] Building %(n)s"
'''


@pytest.fixture
def committee_adds_a_catalogue(tmp_path, monkeypatch):
    """A copy of the shipped catalogues plus a bo one (test words, not Tibetan: no machine-made
    Tibetan ships), as a committee would add the file."""
    from chalicelib.web import i18n, templates

    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    (locale / "bo" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "bo" / "LC_MESSAGES" / "web.po").write_text(BO_CATALOGUE, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    i18n.reset(), templates.reset()
    yield
    monkeypatch.undo()
    i18n.reset(), templates.reset()


def test_given_a_committee_adds_a_catalogue_when_the_pages_are_read_then_they_offer_it_with_chinese_for_the_rest(
        client, committee_adds_a_catalogue):
    page = html(client.http.get("/?community=changmu&lang=bo"), 200)

    assert page.all("html")[0]["lang"] == "bo"
    assert "[bo] Report a problem" in page.text and "[bo] Building 3" in page.text
    assert "不清楚单元" in page.text, "what it does not translate yet is in Chinese"
    chinese = Page(client.http.get("/?community=changmu").body)
    assert any(a.get("hreflang") == "bo" and a["href"].endswith("lang=bo") for a in chinese.all("a"))
    assert "བོད་སྐད་" in chinese.text, "the switch names it in its own script (Babel's name)"


# -- under API Gateway's stage path ---------------------------------------------------------
class _Request:
    def __init__(self, context_path: str, event_path: str | None):
        self.context = {"path": context_path}
        self._event = {"path": event_path} if event_path is not None else {}

    def to_original_event(self):
        return self._event


@pytest.mark.parametrize("context_path, event_path, base", [
    ("/api/r/AP3ZUM", "/r/AP3ZUM", "/api"),          # API Gateway: the stage, then the route
    ("/api/", "/", "/api"),
    ("/r/AP3ZUM", None, ""),                         # chalice local and the local stack
    ("/", None, ""),
    ("/prod/x/static/site.css", "/static/site.css", "/prod/x"),   # a custom domain's base path
    ("//evil.example/r/A", "/r/A", ""),              # never a link to another host
    ("/a b\n/r/A", "/r/A", ""),
])
def test_given_a_stage_path_when_the_pages_link_then_every_link_starts_with_it(context_path, event_path, base):
    from chalicelib import handlers

    assert handlers._base_path(_Request(context_path, event_path)) == base
