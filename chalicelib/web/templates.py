"""The pages' templates (Jinja2, in templates/) and their static parts (static/).

One Jinja2 environment per language, each with its catalogue installed (jinja2.ext.i18n,
new-style gettext: `{% trans %}` and `_()` escape and fill in their own placeholders), built
at the first page of that language and kept by the warm container. Autoescaping is on for
every template: a resident's words are text, never markup.
"""
from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Any

from . import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


@functools.cache
def environment(lang: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)
    return env


def render(name: str, lang: str, **context: Any) -> str:
    return environment(lang).get_template(name).render(lang=lang, **context)


def reset() -> None:
    """Forget the environments (tests that add a catalogue)."""
    environment.cache_clear()


@functools.cache
def static(name: str) -> tuple[str, str]:
    """A static file's text and its version: the first 10 hex digits of its SHA-256."""
    text = (STATIC / name).read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def script_hash(name: str) -> str:
    """The CSP source that allows exactly this inline script: 'sha256-...'."""
    digest = hashlib.sha256(static(name)[0].encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
