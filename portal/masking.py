"""The last line of defence for logs: a structlog processor that masks what must never be written down.

Code never logs PHI on purpose; this catches what slips through anyway, in any field, exception text included:
values under sensitive keys, phone numbers, one-time codes, bearer tokens and cookie values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

SENSITIVE_KEYS = frozenset(
    {
        "name", "first_name", "last_name", "patient_name", "phone", "mobile", "address", "dob", "date_of_birth",
        "email", "password", "code", "otp", "token", "authorization", "cookie", "secret", "session",
    }
)  # fmt: skip
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d \-]{7,}\d(?![\w.])")
_OTP = re.compile(r"(?<![\w.:-])\d{6}(?![\w.:-])")
# A credential-like run: 24+ URL-safe characters mixing cases or digits with letters, unlike our hex/uuid ids.
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{24,}")
_HEXISH = re.compile(r"[0-9a-f\-]+")
_BEARER = re.compile(r"(?i)\b(bearer|lp_session=|lp_staff=|lp_csrf=)\s*\S+")
_UNTOUCHED = frozenset({"timestamp", "level", "logger"})


def _token(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _HEXISH.fullmatch(text) else "[token]"


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)  # a date (8 digits) is not a phone number; a national or E.164 number has 10 or more
    return "[phone]" if sum(c.isdigit() for c in text) >= 10 else text


def mask_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)}[token]", text)
    text = _TOKEN.sub(_token, text)
    text = _PHONE.sub(_phone, text)
    return _OTP.sub("[code]", text)


def _mask(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in SENSITIVE_KEYS and value not in (None, ""):
        return "[redacted]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_phi(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if key not in _UNTOUCHED:
            event_dict[key] = _mask(value, key)
    return event_dict
