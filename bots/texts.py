"""The bots' words: every chat message comes from the one catalogue (core/i18n.py, core/locale/), under keys
``bot:<name>``. Short lines for a phone screen; calm words; no results, ever."""

from __future__ import annotations

from core import i18n


def t(lang: str, key: str, **values: object) -> str:
    """The chat message ``key`` in ``lang`` (English for a language we do not have), its fields filled in."""
    return i18n.text(lang, f"bot:{key}", **values)
