"""The message catalogue (gettext files under core/locale/, read by core/i18n.py): every message of the template
has a translation in every language, with the same placeholders, none fuzzy and none left over; the files parse as
gettext tools read them; and every message a template asks for by name exists (a key built at run time, such as
``'staff_state_' + state``, is checked by the pages' own tests)."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from core import i18n
from portal.i18n import day_name

ROOT = Path(__file__).resolve().parents[2]


def _fields(message: object) -> set[str]:
    """The placeholders of a message, or of all its plural forms together."""
    texts = message if isinstance(message, (tuple, list)) else (message,)
    return {name for text in texts for _, name, _, _ in string.Formatter().parse(str(text)) if name}


def _translated(m: Message, po: Catalog) -> bool:
    """Every form there: one, or each of the language's plural forms."""
    forms = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
    return all(forms) and (not isinstance(m.id, (tuple, list)) or len(forms) == po.num_plurals)


def _gaps(po: Catalog) -> list[str]:
    """What a language's catalogue lacks against the template: each as "problem: key"."""
    english = {m.context: m.id for m in i18n.template() if m.id}
    translated = {m.context: m for m in po if m.id}
    gaps = [f"missing: {k}" for k in sorted(set(english) - set(translated))]
    gaps += [f"nobody shows: {k}" for k in sorted(set(translated) - set(english))]
    for key, m in translated.items():
        if not _translated(m, po) or m.fuzzy:
            gaps.append(f"untranslated: {key}")
        elif _fields(m.id) != _fields(m.string):
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


def test_every_message_the_code_names_exists_as_babel_extracts_them() -> None:
    """Babel's own extractors (Jinja2's for the templates, Python's for the code; core/i18n.SOURCES) find every
    message the pages, the bots and the notices name; each is in the catalogue."""
    used = i18n.used_keys(ROOT)
    assert len(used) > 400 and {k.split(":")[0] for k in used if ":" in k} >= {"bot", "notice"}
    missing = {key: where for key, where in used.items() if key not in {m.context for m in i18n.template() if m.id}}
    assert missing == {}


def test_the_extraction_finds_a_key_the_catalogue_lacks(tmp_path: Path) -> None:
    """The check can fail: a template and a bot naming messages nobody wrote."""
    (tmp_path / "portal" / "templates").mkdir(parents=True)
    (tmp_path / "portal" / "templates" / "page.html").write_text("<p>{{ t('no_such_message', n=1) }}</p>")
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "flow.py").write_text('def reply(turn):\n    return turn.say("no_such_reply")\n')
    (tmp_path / "core").mkdir()
    assert set(i18n.used_keys(tmp_path)) == {"no_such_message", "bot:no_such_reply"}


def test_days_are_written_from_cldr_in_each_language() -> None:
    """Weekday and month names come from Babel's CLDR data, not from names typed into the catalogue: a language
    needs only its pattern (Marathi's names were never typed anywhere)."""
    assert day_name("en", date(2026, 11, 24)) == "Tue 24 Nov"
    assert day_name("hi", date(2026, 11, 24)) == "मंगलवार, 24 नवंबर"
    assert day_name("hi", date(2026, 2, 3)) == "मंगलवार, 3 फ़रवरी"
    assert day_name("mr", date(2026, 11, 24)) == "मंगळवार, 24 नोव्हेंबर"
    assert day_name("xx", date(2026, 11, 24)) == "Tue 24 Nov"  # a language without its own format falls back


def test_the_bots_keys_built_at_run_time_exist() -> None:
    """A tube's state names its status line (``say(f"status_{state}")``): each state has one."""
    from core.samples.model import SampleState

    keys = {m.context for m in i18n.template() if m.id}
    assert [s.value for s in SampleState if f"bot:status_{s.value}" not in keys] == []


def test_every_notice_kind_and_triage_rule_has_its_message_in_english_as_the_rule_says_it() -> None:
    from core.notify import KINDS
    from core.triage.syndromes import ALL_RULES

    english = {m.context: m.id for m in i18n.template() if m.id}
    assert [k for k in KINDS if f"notice:{k}" not in english] == []
    assert [r.id for r in ALL_RULES if english.get(f"reason:{r.id}") != r.why] == []
    assert [r.specialty for r in ALL_RULES if f"specialty:{r.specialty}" not in english] == []


def test_a_count_takes_its_languages_plural_form() -> None:
    """Plural forms from each catalogue's own Plural-Forms: Hindi counts 0 as one, English and Marathi do not."""
    assert i18n.text("en", "staff_audit_rows", n=1) == "1 row, newest first"
    assert i18n.text("en", "staff_audit_rows", n=0) == "0 rows, newest first"
    assert i18n.text("hi", "staff_audit_rows", n=0) == "0 पंक्ति, सबसे नई पहले"
    assert i18n.text("hi", "staff_audit_rows", n=5) == "5 पंक्तियाँ, सबसे नई पहले"
    assert i18n.text("mr", "staff_audit_rows", n=1) == "1 ओळ, सर्वात नवीन आधी"
    assert i18n.text("mr", "staff_placed_intro", n=2).startswith("2 ट्यूब") and "प्रत्येक" in i18n.text(
        "mr", "staff_placed_intro", n=2
    )


def test_money_is_written_as_india_writes_it_from_cldr() -> None:
    assert i18n.rupees("en", 49900) == "₹499" and i18n.rupees("en", 14999900) == "₹1,49,999"  # lakh grouping
    assert i18n.rupees("mr", 14999900) == "₹1,49,999" and i18n.rupees("hi", 49950) == "₹499.50"  # Latin digits


def test_no_template_shows_words_of_its_own() -> None:
    """Every word a page shows comes from the catalogue: a template's own text (outside ``{{ … }}``) and its
    labels for screen readers hold no words but the brand and the MRN abbreviation."""
    allowed = {"labpulse", "MRN"}
    found = {}
    for page in sorted((ROOT / "portal" / "templates").glob("*.html")):
        html = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<script.*?</script>|<style.*?</style>", " ", page.read_text(),
                      flags=re.S)  # fmt: skip
        texts = re.findall(r">([^<>]+)<", html) + re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', html)
        words = {w for text in texts for w in re.findall(r"[A-Za-z]{2,}", text)} - allowed
        if words:
            found[page.name] = sorted(words)
    assert found == {}
