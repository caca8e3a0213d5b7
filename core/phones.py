"""Phone numbers normalized to E.164, the only form ever hashed, stored or compared."""

from __future__ import annotations

import phonenumbers

from core.errors import InvalidInput
from core.i18n import worded


def normalize_phone(raw: str, region: str = "IN") -> str:
    """Return the E.164 form of ``raw`` ("+919812345678"); national forms are read in ``region``."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise worded(InvalidInput, "error:phone_unreadable", "phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise worded(InvalidInput, "error:phone_invalid", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
