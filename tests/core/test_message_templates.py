"""Templates per kind of message (core/message_templates.py): production refuses to start when a configured channel
lacks a WhatsApp or DLT template for any kind in any language it can be sent in, and a bad entry is named."""

from __future__ import annotations

import json

import pytest

from core.config import ConfigError, load_settings
from core.i18n import LANGS
from core.message_templates import missing
from core.notify import KINDS, Message, fields_of
from portal.drill.standins import template_env
from tests.core.test_config import PRODUCTION

TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}
SMS = {**TWILIO, "TWILIO_SMS_FROM": "+14155550100"}
WHATSAPP = {**TWILIO, "TWILIO_WHATSAPP_FROM": "+14155238886"}


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_settings({**PRODUCTION, **env})
    return err.value.problems


def test_production_sms_needs_the_dlt_entity_and_a_template_for_every_kind_and_language() -> None:
    problems = _problems(SMS)
    assert any(p.startswith("LABPULSE_DLT_ENTITY_ID: required in production") for p in problems)
    [gaps] = [p for p in problems if p.startswith("LABPULSE_DLT_TEMPLATES")]
    assert "report.ready/en" in gaps and "otp/hi" in gaps and "critical/en" in gaps
    assert "critical/hi" not in gaps  # staff are written to in English only


def test_one_missing_whatsapp_template_is_named() -> None:
    env = template_env()
    table = json.loads(env["LABPULSE_WHATSAPP_TEMPLATES"])
    del table["reminder.hour"][LANGS[-1]]
    problems = _problems({**WHATSAPP, **env, "LABPULSE_WHATSAPP_TEMPLATES": json.dumps(table)})
    assert problems == [f"LABPULSE_WHATSAPP_TEMPLATES: required in production for reminder.hour/{LANGS[-1]}"]


def test_complete_templates_load_and_demo_mode_needs_none() -> None:
    settings = load_settings({**PRODUCTION, **SMS, **WHATSAPP, **template_env()})
    assert missing(settings.templates.whatsapp) == [] and missing(settings.templates.dlt) == []
    assert settings.templates.dlt_for("otp", "hi") and settings.templates.whatsapp_for("report.ready", "en")
    assert load_settings({**SMS, **WHATSAPP}).templates.whatsapp == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LABPULSE_WHATSAPP_TEMPLATES", "{not json", "unreadable JSON"),
        ("LABPULSE_WHATSAPP_TEMPLATES", '{"otp": "HX1"}', "each an object of languages"),
        ("LABPULSE_WHATSAPP_TEMPLATES", '{"receipt": {"en": "HX' + "0" * 32 + '"}}', "'receipt' is not a kind"),
        ("LABPULSE_WHATSAPP_TEMPLATES", '{"otp": {"en": "hello"}}', "otp/en: 'hello' is not a template id"),
        ("LABPULSE_WHATSAPP_TEMPLATES", '{"otp": {"fr": "HX' + "0" * 32 + '"}}', "otp/fr: not a language"),
        ("LABPULSE_DLT_TEMPLATES", '{"otp": {"en": "12-07"}}', "is not a template id"),
        ("LABPULSE_DLT_ENTITY_ID", "PE-1", "the DLT principal entity id"),
        ("LABPULSE_WHATSAPP_TEMPLATE_SID", "HX" + "0" * 32, "replaced by LABPULSE_WHATSAPP_TEMPLATES"),
    ],
)
def test_a_bad_entry_is_named_with_its_variable(name: str, value: str, message: str) -> None:
    problems = _problems({name: value})
    assert any(p.startswith(name) and message in p for p in problems), problems


def test_the_variables_are_the_fields_in_the_order_the_english_names_them() -> None:
    """A template's {{1}}, {{2}} … are the kind's fields in the order its English wording names them, whatever the
    order a translation puts them in."""
    assert fields_of("report.ready") == ("barcode", "url")
    assert fields_of("otp") == ("code",)
    assert fields_of("consult.tests") == ("doctor", "tests", "link")
    message = Message("report.ready", "hi", {"url": "U", "barcode": "B1"})
    assert message.variables() == ["B1", "U"] and "B1" in message.text and "U" in message.text
    assert all(Message(k, "en", dict.fromkeys(fields_of(k), "x")).text for k in KINDS)
