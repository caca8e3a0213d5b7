"""The message catalogue (gettext files under core/locale/, read by core/i18n.py): every message of the template
has a translation in every language, with the same placeholders, none fuzzy and none left over; the files parse as
gettext tools read them; and every message a template asks for by name exists (a key built at run time, such as
``'staff_state_' + state``, is checked by the pages' own tests)."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from core import i18n
from portal.i18n import day_name

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _gaps(po: Catalog) -> list[str]:
    """What a language's catalogue lacks against the template: each as "problem: key"."""
    english = {m.context: m.id for m in i18n.template() if m.id}
    translated = {m.context: m for m in po if m.id}
    gaps = [f"missing: {k}" for k in sorted(set(english) - set(translated))]
    gaps += [f"nobody shows: {k}" for k in sorted(set(translated) - set(english))]
    for key, m in translated.items():
        if not m.string or m.fuzzy:
            gaps.append(f"untranslated: {key}")
        elif _fields(str(m.id)) != _fields(str(m.string)):
            gaps.append(f"placeholders differ: {key}")
        elif key in english and m.id != english[key]:
            gaps.append(f"not merged from the template: {key}")
    return gaps


def test_every_message_is_translated_in_every_language_with_the_same_placeholders() -> None:
    assert len(list(i18n.template())) > 400  # the whole catalogue, not an empty file
    for lang in i18n.LANGS[1:]:
        assert _gaps(i18n.catalogue(lang)) == [], lang


def test_a_language_file_missing_a_message_fails_the_check(tmp_path: Path) -> None:
    """The check can fail: a copy of the Hindi file with one message left untranslated, one placeholder changed."""
    text = (i18n.LOCALE / "hi" / "LC_MESSAGES" / "labpulse.po").read_text(encoding="utf-8")
    broken = re.sub(r'(msgctxt "signin_heading"\nmsgid "[^"]*"\nmsgstr )"[^"]*"', r'\1""', text, count=1)
    broken = broken.replace("{hint}", "{number}", 1)
    (tmp_path / "hi.po").write_text(broken, encoding="utf-8")
    with (tmp_path / "hi.po").open("rb") as fh:
        po = read_po(fh, locale="hi")
    assert _gaps(po) == ["untranslated: signin_heading", "placeholders differ: code_intro"]


def test_every_message_a_template_names_exists() -> None:
    named = {
        key for page in TEMPLATES.glob("*.html") for key in re.findall(r"\bt\('([a-z0-9_]+)'\s*[,)]", page.read_text())
    }
    assert named and sorted(named - {m.context for m in i18n.template() if m.id}) == []


def test_days_are_written_from_cldr_in_each_language() -> None:
    """Weekday and month names come from Babel's CLDR data, not from names typed into the catalogue: a language
    needs only its pattern (Marathi's names were never typed anywhere)."""
    assert day_name("en", date(2026, 11, 24)) == "Tue 24 Nov"
    assert day_name("hi", date(2026, 11, 24)) == "मंगलवार, 24 नवंबर"
    assert day_name("hi", date(2026, 2, 3)) == "मंगलवार, 3 फ़रवरी"
    assert day_name("mr", date(2026, 11, 24)) == "मंगळवार, 24 नोव्हेंबर"
    assert day_name("xx", date(2026, 11, 24)) == "Tue 24 Nov"  # a language without its own format falls back


BOTS = Path(__file__).resolve().parents[2] / "bots"


def test_every_message_the_bots_name_exists() -> None:
    """Each ``say("key")`` and ``t(lang, "key")`` in the bots is a ``bot:`` message; the keys built at run time (a
    sample's state) are each in the catalogue too."""
    from core.samples.model import SampleState

    code = "\n".join(p.read_text() for p in BOTS.glob("*.py"))
    named = set(re.findall(r"""(?:\bsay\(|\bt\([\w.]+, )"([a-z_]+)\"""", code))
    named |= {f"status_{s.value}" for s in SampleState}
    keys = {m.context for m in i18n.template() if m.id}
    assert len(named) > 40 and sorted(k for k in named if f"bot:{k}" not in keys) == []


def test_every_notice_kind_and_triage_rule_has_its_message_in_english_as_the_rule_says_it() -> None:
    from core.notify import KINDS
    from core.triage.syndromes import ALL_RULES

    english = {m.context: m.id for m in i18n.template() if m.id}
    assert [k for k in KINDS if f"notice:{k}" not in english] == []
    assert [r.id for r in ALL_RULES if english.get(f"reason:{r.id}") != r.why] == []
    assert [r.specialty for r in ALL_RULES if f"specialty:{r.specialty}" not in english] == []
