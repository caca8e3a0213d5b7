"""The message catalogue: every message a person is shown, in gettext's standard form, read with Babel.

``core/locale/labpulse.pot`` holds each message once, keyed by its context (``msgctxt``, the key code asks for)
with the English text as its ``msgid``; ``core/locale/<lang>/LC_MESSAGES/labpulse.po`` holds a language's
translations, which translators edit with their usual tools (Poedit, Weblate, a text editor). A new message is
added to the template and merged into every language with ``pybabel update`` (the command is in
docs/languages.md); the suite fails until each language translates it (tests/portal/test_catalogue.py).

Owned here: loading the catalogues and looking a message up; the pages' helpers are in portal/i18n.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALE = Path(__file__).with_name("locale")
DOMAIN = "labpulse"
LANGS = ("en", "hi")


@cache
def template() -> Catalog:
    with (LOCALE / f"{DOMAIN}.pot").open("rb") as fh:
        return read_po(fh)


@cache
def catalogue(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=lang)


@cache
def _messages(lang: str) -> dict[str, str]:
    """key → text in ``lang``: the translation where there is one, else the English."""
    english = {str(m.context): str(m.id) for m in template() if m.id and m.context}
    if lang == "en":
        return english
    translated = {str(m.context): str(m.string) for m in catalogue(lang) if m.id and m.context and m.string}
    return {key: translated.get(key, text) for key, text in english.items()}


def text(lang: str, key: str, **kw: object) -> str:
    """The message ``key`` in ``lang`` (English for a language we do not have), its ``{fields}`` filled in."""
    message = _messages(lang if lang in LANGS else "en")[key]
    return message.format(**kw) if kw else message
