"""The message catalogue: every English message has a Hindi one with the same placeholders, and every message a
template asks for by name exists (a key built at run time, such as ``'staff_state_' + state``, is checked by the
pages' own tests)."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

from portal.i18n import TEXT, day_name

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_english_message_has_a_hindi_one_with_the_same_placeholders() -> None:
    missing = sorted(set(TEXT["en"]) - set(TEXT["hi"]))
    assert missing == []
    differ = [key for key, text in TEXT["en"].items() if _fields(text) != _fields(TEXT["hi"][key])]
    assert differ == []
    assert sorted(set(TEXT["hi"]) - set(TEXT["en"])) == []  # a Hindi message nobody shows


def test_every_message_a_template_names_exists() -> None:
    named = {
        key for page in TEMPLATES.glob("*.html") for key in re.findall(r"\bt\('([a-z0-9_]+)'\s*[,)]", page.read_text())
    }
    assert named and sorted(named - set(TEXT["en"])) == []


def test_days_are_written_from_cldr_in_each_language() -> None:
    """Weekday and month names come from Babel's CLDR data, not from names typed into the catalogue: a language
    needs only its pattern (Marathi's names were never typed anywhere)."""
    assert day_name("en", date(2026, 11, 24)) == "Tue 24 Nov"
    assert day_name("hi", date(2026, 11, 24)) == "मंगलवार, 24 नवंबर"
    assert day_name("hi", date(2026, 2, 3)) == "मंगलवार, 3 फ़रवरी"
    assert day_name("mr", date(2026, 11, 24)) == "मंगळवार, 24 नोव्हेंबर"
    assert day_name("xx", date(2026, 11, 24)) == "Tue 24 Nov"  # a language without its own format falls back
