"""What every input boundary (HTTP, WebSocket, chat, HL7, CLI) may let in: no C0 control characters but tab, line
feed and carriage return (NUL above all: PostgreSQL cannot store it in text and a log line should never hold one),
and JSON no deeper than a real request needs (Python's parser would recurse until it fails).

Boundaries either refuse what fails these checks with a calm 400/422, or, where a person typed it into a chat and
refusing helps no one, clean it (``clean``)."""

from __future__ import annotations

import ipaddress
import re

MAX_JSON_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_JSON_CONTROL = re.compile(rb"\\u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F])|\\u007[fF]")  # escaped controls in JSON text


def has_control(text: str) -> bool:
    """A control character other than tab, line feed or carriage return."""
    return _CONTROL.search(text) is not None


def clean(text: str) -> str:
    """The text without its control characters (tab, line feed and carriage return are kept)."""
    return _CONTROL.sub("", text)


def json_problem(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why this JSON body cannot be taken (a control character, raw or escaped; nesting deeper than
    ``max_depth``), or None. Only scans the bytes; it does not parse."""
    if _CONTROL.search(raw.decode("utf-8", "replace")) or _JSON_CONTROL.search(raw):
        return "control"
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return "depth"
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None


def valid_ip(value: str | None) -> str | None:
    """``value`` if it is an IP address, else None: a forwarded header's text never reaches the audit log."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as a spreadsheet-safe CSV cell: text a spreadsheet would run as a formula (starting with = + - @,
    a tab or a carriage return) gets a leading apostrophe, as OWASP advises; every CSV the product writes uses it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text
