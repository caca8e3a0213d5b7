"""Which pre-approved template each kind of notice goes out as, per language: a WhatsApp content template (required
by Meta for any message outside the 24-hour window) and, for SMS to Indian numbers, the DLT principal entity id
with a DLT content template id (required by TRAI; carriers drop SMS without them).

Set in configuration as JSON objects keyed by kind, then language::

    LABPULSE_WHATSAPP_TEMPLATES='{"report.ready": {"en": "HX…", "hi": "HX…", "mr": "HX…"}, …}'
    LABPULSE_DLT_ENTITY_ID=1201159543060917386
    LABPULSE_DLT_TEMPLATES='{"report.ready": {"en": "1207…", "hi": "1207…", "mr": "1207…"}, …}'

Each template's variables {{1}}, {{2}} … are the kind's fields in the order its English wording names them
(``core.notify.fields_of``). In production a configured channel must have a template for every kind in every
language it can be sent in (``missing``): core/config.py refuses to start otherwise.

Owned here: reading, checking and looking up the templates. Sending with them is bots/twilio_sender.py's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from core import i18n
from core.notify import KINDS, STAFF_KINDS

_CONTENT_SID = re.compile(r"^HX[0-9a-f]{32}$")
_DLT_ID = re.compile(r"^[0-9]{12,25}$")

Table = Mapping[str, Mapping[str, str]]  # kind → language → template id


@dataclass(frozen=True, slots=True)
class Templates:
    whatsapp: Table = field(default_factory=dict)
    dlt_entity_id: str | None = None
    dlt: Table = field(default_factory=dict)

    def whatsapp_for(self, kind: str, lang: str) -> str | None:
        return self.whatsapp.get(kind, {}).get(lang)

    def dlt_for(self, kind: str, lang: str) -> str | None:
        return self.dlt.get(kind, {}).get(lang)


def languages_of(kind: str) -> tuple[str, ...]:
    """The languages a kind of notice can go out in: staff are written to in English, patients in theirs."""
    return ("en",) if kind in STAFF_KINDS else i18n.LANGS


def missing(table: Table) -> list[str]:
    """Each "kind/lang" a table lacks."""
    return [f"{kind}/{lang}" for kind in KINDS for lang in languages_of(kind) if not table.get(kind, {}).get(lang)]


def _table(env: Mapping[str, str], name: str, shape: re.Pattern[str], problems: list[str]) -> Table:
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        table = json.loads(raw)
    except ValueError:
        problems.append(f'{name}: a JSON object such as {{"report.ready": {{"en": "…"}}}}, got unreadable JSON')
        return {}
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        problems.append(
            f'{name}: a JSON object of kinds, each an object of languages, such as {{"otp": {{"en": "…"}}}}'
        )
        return {}
    for kind, by_lang in table.items():
        if kind not in KINDS:
            problems.append(f"{name}: {kind!r} is not a kind of message (one of: {', '.join(KINDS)})")
        for lang, template in by_lang.items():
            if lang not in i18n.LANGS:
                problems.append(f"{name}: {kind}/{lang}: not a language we speak ({', '.join(i18n.LANGS)})")
            if not isinstance(template, str) or not shape.match(template):
                problems.append(f"{name}: {kind}/{lang}: {template!r} is not a template id")
    return {kind: {lang: str(t) for lang, t in by_lang.items()} for kind, by_lang in table.items()}


def from_env(env: Mapping[str, str], problems: list[str], *, production: bool, sms: bool, whatsapp: bool) -> Templates:
    """The templates, with a problem for each bad entry and, in production, each one a configured channel lacks."""
    if env.get("LABPULSE_WHATSAPP_TEMPLATE_SID", "").strip():
        problems.append("LABPULSE_WHATSAPP_TEMPLATE_SID: replaced by LABPULSE_WHATSAPP_TEMPLATES (a template per kind)")
    templates = Templates(
        whatsapp=_table(env, "LABPULSE_WHATSAPP_TEMPLATES", _CONTENT_SID, problems),
        dlt_entity_id=env.get("LABPULSE_DLT_ENTITY_ID", "").strip() or None,
        dlt=_table(env, "LABPULSE_DLT_TEMPLATES", _DLT_ID, problems),
    )
    if templates.dlt_entity_id is not None and not _DLT_ID.match(templates.dlt_entity_id):
        problems.append(
            f"LABPULSE_DLT_ENTITY_ID: the DLT principal entity id (digits), got {templates.dlt_entity_id!r}"
        )
    if production and whatsapp and (gaps := missing(templates.whatsapp)):
        problems.append(f"LABPULSE_WHATSAPP_TEMPLATES: required in production for {', '.join(gaps)}")
    if production and sms:
        if templates.dlt_entity_id is None:
            problems.append("LABPULSE_DLT_ENTITY_ID: required in production with TWILIO_SMS_FROM (India's DLT rules)")
        if gaps := missing(templates.dlt):
            problems.append(f"LABPULSE_DLT_TEMPLATES: required in production for {', '.join(gaps)}")
    return templates
