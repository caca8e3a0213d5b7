"""The message catalogue: every message a person is shown, in gettext's standard form, read with Babel.

``core/locale/labpulse.pot`` holds each message once, keyed by its context (``msgctxt``, the key code asks for)
with the English text as its ``msgid``; ``core/locale/<lang>/LC_MESSAGES/labpulse.po`` holds a language's
translations, which translators edit with their usual tools (Poedit, Weblate, a text editor). A new message is
added to the template and merged into every language with ``pybabel update`` (the command is in
docs/languages.md); the suite fails until each language translates it (tests/portal/test_catalogue.py).

Owned here: loading the catalogues and looking a message up; the pages' helpers are in portal/i18n.py.
"""

from __future__ import annotations

import contextlib
import gettext
import io
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TypeVar

from babel import Locale
from babel.dates import format_timedelta
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from core.errors import DomainError, TooManyAttempts

LOCALE = Path(__file__).with_name("locale")
DOMAIN = "labpulse"
LANGS = ("en", "hi", "mr")  # English, Hindi, Marathi (Maharashtra's language, where the lab's centres are)


@cache
def template() -> Catalog:
    with (LOCALE / f"{DOMAIN}.pot").open("rb") as fh:
        return read_po(fh)


@cache
def catalogue(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=lang)


Forms = tuple[str, ...]  # a message's forms: one, or one per plural form of its language (msgid_plural)


def _forms(value: object) -> Forms:
    return tuple(str(v) for v in value) if isinstance(value, (tuple, list)) else (str(value),)


@cache
def _messages(lang: str) -> dict[str, Forms]:
    """key → the message's forms in ``lang``: the translation where there is one, else the English."""
    english = {str(m.context): _forms(m.id) for m in template() if m.id and m.context}
    if lang == "en":
        return english
    translated = {str(m.context): _forms(m.string) for m in catalogue(lang) if m.id and m.context and m.string}
    translated = {key: forms for key, forms in translated.items() if all(forms)}
    return {key: translated.get(key, forms) for key, forms in english.items()}


@cache
def _plural(lang: str) -> Callable[[int], int]:
    """Which of a message's forms a count takes in ``lang``: the catalogue's own Plural-Forms expression."""
    expression = catalogue(lang).plural_expr if lang != "en" else "(n != 1)"
    return gettext.c2py(expression)  # the stdlib's parser of a Plural-Forms expression


# Where code names a message, as Babel's extractors find it (tests/portal/test_catalogue.py checks each is in
# the catalogue): per source tree, the extraction method, the calls that name a message and which argument is
# the name, the prefix that turns the name into a key, and the shape a name has (core's other calls named "text"
# or "Message" name no message). Keys built at run time (f"status_{state}") are not literals and are left to
# the tests of the code that builds them.
_NAME, _KEY, _KIND = (
    re.compile(r"^[a-z0-9_]+$"),
    re.compile(r"^[a-z]+:[a-z0-9_.]+$"),
    re.compile(r"^[a-z]+(\.[a-z_]+)?$"),
)
SOURCES = (
    ("portal/templates", "**.html", "jinja2.ext:babel_extract", {"t": None}, "", _NAME),
    ("portal", "**.py", "python", {"t": (2,)}, "", _NAME),
    ("bots", "**.py", "python", {"t": (2,), "say": None}, "bot:", _NAME),
    ("core", "**.py", "python", {"text": (2,), "worded": (2,)}, "", _KEY),
    ("core", "**.py", "python", {"Message": None}, "notice:", _KIND),
)


def used_keys(root: Path) -> dict[str, list[str]]:
    """Every message key the code under ``root`` names, with where (file:line), by Babel's own extractors."""
    from babel.messages.extract import extract_from_dir

    used: dict[str, list[str]] = {}
    quiet = contextlib.redirect_stderr(io.StringIO())  # Babel notes each f-string: keys built at run time
    for tree, pattern, method, keywords, prefix, shape in SOURCES:
        with quiet:
            found = list(extract_from_dir(root / tree, [(pattern, method)], keywords=keywords,
                                          directory_filter=lambda d: "__pycache__" not in d))  # fmt: skip
        for filename, lineno, message, _, _ in found:
            if isinstance(message, str) and shape.match(message):
                used.setdefault(prefix + message, []).append(f"{tree}/{filename}:{lineno}")
    return used


def has(key: str) -> bool:
    """Whether the catalogue has a message ``key``."""
    return key in _messages("en")


def text(lang: str, key: str, **kw: object) -> str:
    """The message ``key`` in ``lang`` (English for a language we do not have), its ``{fields}`` filled in; a
    message with plural forms takes the one its count ``n`` needs in that language."""
    lang = lang if lang in LANGS else "en"
    forms = _messages(lang)[key]
    message = forms[min(_plural(lang)(int(str(kw.get("n", 1)))), len(forms) - 1)] if len(forms) > 1 else forms[0]
    return message.format(**kw) if kw else message


E = TypeVar("E", bound=DomainError)


def worded(kind: Callable[..., E], key: str, /, *args: object, **fields: object) -> E:
    """The error ``kind(*args, message)`` whose message is the catalogue's ``key`` (English for logs and the API),
    said in the person's language where a page or a chat shows it (``error_text``)."""
    error = kind(*args, text("en", key, **fields))
    error.key, error.fields = key, dict(fields)
    return error


def error_text(lang: str, error: DomainError) -> str:
    """What a person reads of ``error``: its catalogue message in ``lang`` (a wait in that language's words), else
    its English message."""
    if error.key is None:
        return error.message
    fields = dict(error.fields)
    if isinstance(error, TooManyAttempts):
        fields["wait"] = wait_words(lang if lang in LANGS else "en", error.retry_after)
    return text(lang, error.key, **fields)


def rupees(lang: str, paise: int) -> str:
    """An amount as India writes money, from CLDR through Babel: "₹1,999", "₹1,49,999", "₹499.50" (lakh grouping,
    Latin digits, paise only when there are some)."""
    pattern = "¤#,##,##0" if paise % 100 == 0 else "¤#,##,##0.00"
    locale = f"{lang if lang in LANGS else 'en'}_IN"
    return str(format_currency(Decimal(paise) / 100, "INR", format=pattern, locale=locale, currency_digits=False,
                               numbering_system="latn"))  # fmt: skip


def wait_words(lang: str, seconds: int) -> str:
    """A wait in whole minutes as ``lang`` says it, from CLDR: "5 minutes", "5 मिनट", "5 मिनिटे"."""
    return str(format_timedelta(timedelta(minutes=max(1, round(seconds / 60))), locale=lang))


def autonym(lang: str) -> str:
    """A language's name in itself, from CLDR: "English", "हिन्दी", "मराठी" (what a language switcher shows)."""
    return str(Locale.parse(lang).get_display_name(lang))


def is_language(value: object) -> bool:
    return isinstance(value, str) and value in LANGS


_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[\u0900-\u097f]+")
# Words that tell Marathi from Hindi when both are written in Devanagari (the letter ळ is Marathi's alone).
_MARATHI_WORDS = frozenset(
    "आहे आहेत आहेस नाही मला माझा माझी माझे माझ्या आणि खूप होत होते झाला झाली झाले दुखत दुखतंय "
    "दुखते आज काल पासून त्याला तिला आम्ही तुम्ही आपण कसे काय येत येते करू".split()
)
_HINDI_WORDS = frozenset("है हैं नहीं मुझे मेरा मेरी मेरे और बहुत हो रहा रही से में को था थी भी".split())


def guess(text: str) -> str:
    """The language a person wrote in: English unless Devanagari, then Marathi or Hindi by their own words."""
    if not _DEVANAGARI.search(text):
        return "en"
    words = _WORD.findall(text)
    marathi = sum(w in _MARATHI_WORDS or "ळ" in w for w in words)
    hindi = sum(w in _HINDI_WORDS for w in words)
    return "mr" if marathi > hindi else "hi"
