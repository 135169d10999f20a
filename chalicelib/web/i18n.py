"""The residents' pages in the resident's language: gettext catalogues, read with Babel.

Each language is one file, `chalicelib/data/locale/<lang>/LC_MESSAGES/web.po`: Chinese (zh,
the default) and English (en) ship. A committee adds a language by adding its file (copy
zh's, keep every msgid, write the msgstr): the pages offer every language that has one, from
the first page a warm container serves (docs/web.md). The msgids are English; a message a
catalogue leaves out (or marks fuzzy) is shown in Chinese, the community's common language,
and English falls back to its msgids, which are English already.

Read at the first page request, never at import: `import app` imports neither Babel nor
Jinja2 (tests/unit/test_web_i18n.py).
"""
from __future__ import annotations

import functools
import io
from datetime import datetime
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).resolve().parents[1] / "data" / "locale"
DOMAIN = "web"
DEFAULT = "zh"
SOURCE = "en"              # the language of the msgids
COOKIE = "lang"
HTML_LANG = {"zh": "zh-CN"}
MAX_ACCEPT_ENTRIES = 20    # of an Accept-Language header: more is no browser's


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, the default first."""
    found = sorted(path.parents[1].name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return tuple(sorted(found, key=lambda lang: lang != DEFAULT))


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> Any:
    """The language's catalogue (babel.messages.Catalog) as its .po file says."""
    from babel.messages.pofile import read_po

    with catalogue_path(lang).open("rb") as handle:
        return read_po(handle, domain=DOMAIN)


@functools.cache
def translations(lang: str) -> Any:
    """babel.support.Translations for `lang` (which must have a catalogue), falling back to
    the default language's, except for the msgids' own language."""
    from babel.messages.mofile import write_mo
    from babel.support import Translations

    compiled = io.BytesIO()
    write_mo(compiled, catalogue(lang))          # untranslated and fuzzy entries left out
    compiled.seek(0)
    found = Translations(compiled, domain=DOMAIN)
    if lang not in (DEFAULT, SOURCE) and DEFAULT in languages():
        found.add_fallback(translations(DEFAULT))
    return found


def reset() -> None:
    """Forget what was read (tests that add a catalogue)."""
    for cached in (languages, catalogue, translations):
        cached.cache_clear()


def match(tag: str | None) -> str | None:
    """The available language a tag names: "zh-CN", "zh_Hans" and "ZH" are zh; None if none."""
    if not tag or len(tag) > 35:
        return None
    tag = tag.strip().replace("_", "-").lower()
    available = languages()
    for candidate in (tag, tag.split("-", 1)[0]):
        if candidate in available:
            return candidate
    return None


def accepted(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first; q=0 and junk left out."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:MAX_ACCEPT_ENTRIES]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and tag != "*" and 0 < weight <= 1:
            ranked.append((-weight, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's language: `?lang=`, else the cookie a `?lang=` set, else the browser's
    Accept-Language, else the default (Chinese)."""
    for tag in (asked, cookie, *accepted(accept_language)):
        found = match(tag)
        if found:
            return found
    return DEFAULT if DEFAULT in languages() else languages()[0]


def html_lang(lang: str) -> str:
    return HTML_LANG.get(lang, lang)


@functools.cache
def language_name(lang: str) -> str:
    """A language's name in itself, as the language switch shows it: 中文, English, ..."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang).get_display_name(lang) or lang
    except (UnknownLocaleError, ValueError):
        return lang


def local_time(at: float, lang: str, timezone: str) -> str:
    """`at` as the community's clock shows it, in the page's language: 2026年6月1日 14:30."""
    from zoneinfo import ZoneInfo

    from babel import UnknownLocaleError
    from babel.dates import format_skeleton, format_time

    moment = datetime.fromtimestamp(at, ZoneInfo(timezone))
    try:
        return f"{format_skeleton('yMMMd', moment, locale=lang)} {format_time(moment, 'short', locale=lang)}"
    except (UnknownLocaleError, ValueError):
        return moment.strftime("%Y-%m-%d %H:%M")
