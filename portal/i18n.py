"""The pages' words: messages come from the catalogue (core/i18n.py: gettext files under core/locale/, written for
someone anxious about their results); here are the helpers that put times, days and the triage rules' reasons into
a page's language."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel.dates import format_date

from core import i18n
from core.labtime import LAB_TZ

LANGS = i18n.LANGS
LANGUAGES = [(lang, i18n.autonym(lang)) for lang in LANGS]  # the language switcher: each in its own name


def t(lang: str, key: str, **kw: object) -> str:
    """The page message ``key`` in ``lang``, from the catalogue (core/i18n.py, core/locale/)."""
    return i18n.text(lang, key, **kw)


def when(lang: str, at: datetime, now: datetime) -> str:
    """'6:00 pm today', '9:30 am tomorrow', or '22 Nov, 6:00 pm', in the lab's time zone."""
    local, today = at.astimezone(LAB_TZ), now.astimezone(LAB_TZ).date()
    clock = local.strftime("%I:%M %p").lstrip("0").lower()
    if local.date() == today:
        return f"{clock} {t(lang, 'today')}"
    if local.date() == today + timedelta(days=1):
        return f"{clock} {t(lang, 'tomorrow')}"
    return f"{local.day} {local.strftime('%b')}, {clock}"


# A day as each language writes it, from CLDR through Babel (not weekday and month names typed in here).
_DAY_FORMAT = {"en": "EEE d MMM", "hi": "EEEE, d MMMM", "mr": "EEEE, d MMMM"}
_CLOCK_24H = {"hi", "mr"}  # as Hindi and Marathi messages write a time


def reason(lang: str, rule: str) -> str:
    """A triage rule's reason in ``lang``, from the catalogue (``reason:<rule>``; the English is the rule's own)."""
    return i18n.text(lang, f"reason:{rule}")


def specialty(lang: str, name: str) -> str:
    """A specialty as a patient reads it in ``lang`` (``specialty:<name>``)."""
    return i18n.text(lang, f"specialty:{name}")


def day_name(lang: str, d: date) -> str:
    """'Tue 24 Nov' or 'मंगलवार, 24 नवंबर'."""
    return format_date(d, _DAY_FORMAT.get(lang, _DAY_FORMAT["en"]), locale=lang if lang in _DAY_FORMAT else "en")


def clock(lang: str, at: datetime) -> str:
    """'7:00 am' or '07:00', in the lab's time zone."""
    local = at.astimezone(LAB_TZ)
    return local.strftime("%H:%M") if lang in _CLOCK_24H else local.strftime("%I:%M %p").lstrip("0").lower()
