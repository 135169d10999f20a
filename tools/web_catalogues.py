"""The residents' pages' message catalogues, kept in step with what the pages say.

    python -m tools.web_catalogues           # write web.pot, add new messages to every web.po
    python -m tools.web_catalogues --check   # exit 1 if a catalogue is behind (tests do this too)

The messages are extracted with Babel from the templates (chalicelib/web/templates/*.html,
Jinja2's extractor), the Python of the pages (chalicelib/web/*.py: `_` and `N_`), and the
categories' English names (chalicelib/data/categories.json), which are their msgids. They go
to `chalicelib/data/locale/web.pot`, the template a translator's tool starts from, and into each
`chalicelib/data/locale/<lang>/LC_MESSAGES/web.po`: a new message is added untranslated (the
page shows it in Chinese until someone writes it), one the pages no longer say is dropped.
English is the msgids' own language: its new messages are filled in with the msgid itself.

To add a language (Tibetan, bo): copy zh/LC_MESSAGES/web.po to bo/LC_MESSAGES/web.po, set its
"Language: bo" header, write each msgstr (the msgid says it in English, zh's msgstr in
Chinese), and deploy: the pages offer it from then on (docs/web.md).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "chalicelib" / "web"
LOCALE = ROOT / "chalicelib" / "data" / "locale"
CATEGORIES = ROOT / "chalicelib" / "data" / "categories.json"
TEMPLATE = LOCALE / "web.pot"
SOURCE = "en"
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
HEADER = ("# gridloop's residents' pages: the messages to translate, written by python -m tools.web_catalogues.\n"
          "# How to add a language: docs/web.md, \"Languages\".")
PEOPLE = {"msgid_bugs_address": "", "last_translator": "", "language_team": ""}


def messages():
    """A babel Catalog of every message the pages say."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract
    from jinja2.ext import babel_extract

    catalog = Catalog(domain="web", project="gridloop", version="1", charset="utf-8", fuzzy=False,
                      header_comment=HEADER, **PEOPLE)
    sources = [(path, babel_extract, JINJA_OPTIONS) for path in sorted((WEB / "templates").glob("*.html"))]
    sources += [(path, "python", {}) for path in sorted(WEB.glob("*.py"))]
    for path, method, options in sources:
        with path.open("rb") as handle:
            for line, message, comments, context in extract(method, handle, keywords=KEYWORDS,
                                                            options=options, strip_comment_tags=True):
                catalog.add(message, locations=[(str(path.relative_to(ROOT)), line)],
                            auto_comments=comments, context=context)
    for category in json.loads(CATEGORIES.read_text(encoding="utf-8"))["categories"]:
        catalog.add(category["name"]["en"], locations=[(str(CATEGORIES.relative_to(ROOT)), 0)],
                    auto_comments=[f"category {category['code']}"])
    return catalog


def catalogues() -> dict[str, Path]:
    return {path.parents[1].name: path for path in sorted(LOCALE.glob("*/LC_MESSAGES/web.po"))}


def _read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, domain="web")


def _written(catalog, **options) -> bytes:
    from babel.messages.pofile import write_po

    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, sort_output=False, include_lineno=False, **options)
    return out.getvalue()


def updated(lang: str, current, template):
    """The catalogue with the template's messages: new ones added, gone ones dropped."""
    current.update(template, no_fuzzy_matching=True)
    current.obsolete.clear()
    for name, value in PEOPLE.items():
        setattr(current, name, getattr(current, name) if getattr(current, name) not in (
            None, "EMAIL@ADDRESS", "FULL NAME <EMAIL@ADDRESS>", f"{lang} <LL@li.org>") else value)
    if lang == SOURCE:
        for message in current:
            if message.id and not any(message.string if isinstance(message.string, tuple) else [message.string]):
                message.string = message.id
    return current


def behind() -> list[str]:
    """What --check reports: each file that the command would change."""
    template = messages()
    stale = []
    if not TEMPLATE.exists() or _strip_date(TEMPLATE.read_bytes()) != _strip_date(_written(template)):
        stale.append(str(TEMPLATE.relative_to(ROOT)))
    for lang, path in catalogues().items():
        before = path.read_bytes()
        if _strip_date(_written(updated(lang, _read(path), messages()))) != _strip_date(before):
            stale.append(str(path.relative_to(ROOT)))
    return stale


def _strip_date(text: bytes) -> bytes:
    """Leave out the headers that change on every write (the dates)."""
    return b"\n".join(line for line in text.splitlines() if b"-Date:" not in line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.web_catalogues", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if web.pot or a web.po is behind")
    args = parser.parse_args(argv)
    if args.check:
        stale = behind()
        for name in stale:
            print(f"behind: {name} (run python -m tools.web_catalogues)")
        return 1 if stale else 0
    template = messages()
    TEMPLATE.write_bytes(_written(template))
    for lang, path in catalogues().items():
        catalog = updated(lang, _read(path), messages())
        path.write_bytes(_written(catalog))
        missing = sum(1 for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string]))
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages, {missing} to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
