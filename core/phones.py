"""Phone numbers normalized to E.164, the only form ever hashed, stored or compared."""

from __future__ import annotations

import phonenumbers

from core.errors import InvalidInput


def normalize_phone(raw: str, region: str = "IN") -> str:
    """Return the E.164 form of ``raw`` ("+919812345678"); national forms are read in ``region``."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", "That does not look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", "That phone number is not valid. Please check the digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
