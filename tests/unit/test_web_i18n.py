"""The residents' pages' languages (chalicelib.web.i18n) and their catalogues
(chalicelib/data/locale/*/LC_MESSAGES/web.po): complete for Chinese and English, in step with
what the templates say, agreeing with the data's own names; and loaded only by the pages, never
by `import app`."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.directory import ROLE_NAMES
from chalicelib.web import i18n, texts

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = json.loads((ROOT / "chalicelib/data/categories.json").read_text(encoding="utf-8"))["categories"]
SHIPPED = ("zh", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def test_given_a_cold_start_when_app_is_imported_then_neither_jinja2_nor_babel_is_loaded():
    # GIVEN a fresh interpreter WHEN it imports the app, as Lambda's cold start does
    code = ("import sys, app; loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('jinja2', 'babel', "
            "'markupsafe') or m.startswith('chalicelib.web')); print(loaded)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    # THEN the template engine, Babel and the pages wait for the first page request
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_given_the_shipped_languages_when_listed_then_chinese_comes_first_and_no_tibetan_is_shipped():
    assert i18n.languages()[0] == "zh"
    assert set(i18n.languages()) == set(SHIPPED), "a new catalogue: check it is a person's translation"


def test_given_the_templates_when_their_messages_are_extracted_then_every_catalogue_is_in_step():
    from tools.web_catalogues import behind

    assert behind() == [], "run python -m tools.web_catalogues"


def _messages(lang: str):
    return [m for m in i18n.catalogue(lang) if m.id]


@pytest.mark.parametrize("lang", SHIPPED)
def test_given_a_shipped_catalogue_when_read_then_every_message_is_translated_with_the_same_placeholders(lang):
    messages = _messages(lang)
    assert len(messages) > 80
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"{lang}: {ids[0]!r} is not translated"
        wanted = {a or b for a, b in PLACEHOLDER.findall(ids[0])}
        for string in strings:
            assert {a or b for a, b in PLACEHOLDER.findall(string)} == wanted, f"{lang}: {string!r}"


@pytest.mark.parametrize("lang", SHIPPED)
def test_given_the_roles_and_categories_when_translated_then_they_say_what_the_data_says(lang):
    translations = i18n.translations(lang)
    for role, msgid in texts.ROLES.items():
        assert msgid == ROLE_NAMES[role]["en"]
        assert translations.gettext(msgid) == ROLE_NAMES[role][lang], role
    for category in CATEGORIES:
        assert translations.gettext(category["name"]["en"]) == category["name"][lang], category["code"]


@pytest.mark.parametrize("asked, cookie, accept, lang", [
    (None, None, None, "zh"),                                   # the default
    ("en", None, None, "en"),
    ("EN-gb", "zh", "zh-CN", "en"),                             # ?lang= first, any case and region
    (None, "en", "zh-CN,zh;q=0.9", "en"),                       # then the cookie
    (None, None, "en-US,en;q=0.9,zh;q=0.8", "en"),              # then Accept-Language, by weight
    (None, None, "bo;q=1, en;q=0.3, zh;q=0.5", "zh"),           # no Tibetan shipped: the next one
    (None, None, "en;q=0, zh-Hans-CN", "zh"),                   # q=0 is "not this"
    ("xx", "yy", "*;q=1, ;q=x, fr", "zh"),                      # unknowns and junk: the default
    ("<script>", "a" * 100, "en;q=abc, ,,,", "zh"),
])
def test_given_what_a_request_says_when_negotiated_then_the_page_language(asked, cookie, accept, lang):
    assert i18n.negotiate(asked, cookie, accept) == lang


def test_given_a_time_when_shown_then_it_is_the_communitys_local_clock_in_the_pages_language():
    at = 1_790_000_000.0          # 2026-09-21 14:13:20 UTC
    assert i18n.local_time(at, "zh", "Asia/Shanghai") == "2026年9月21日 22:13"
    assert i18n.local_time(at, "en", "Asia/Shanghai") == "Sep 21, 2026 10:13\u202fPM"
    assert i18n.language_name("zh") == "中文" and i18n.language_name("en") == "English"
