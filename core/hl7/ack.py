"""HL7 ACK messages, by the book: MSA-1 is AA, AE or AR and MSA-2 echoes the control id (MSH-10) of the message
answered; MSH-9 is ``ACK^<trigger>^ACK`` (the trigger of that message); MSH-11 and MSH-12 echo its processing id
and version; MSH-5/6 address its sender. An AE or AR carries an ERR segment with the HL7 error code (table 0357)
and where the error is: ERR-2 and ERR-3 from version 2.5 on, ERR-1 before it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from core.hl7.parse import Header

_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))
DEFAULT_VERSION = "2.5.1"  # what an ACK says when the message it answers gave no version
ERROR_NAMES = {  # HL7 table 0357, message error condition codes
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}


@dataclass(frozen=True, slots=True)
class AckError:
    """Why a message was not applied: an HL7 table 0357 code and where (``OBR^1^3``: segment, its sequence, field)."""

    code: str
    location: str = ""


def escape(text: str) -> str:
    for plain, escaped in _ESCAPES:
        text = text.replace(plain, escaped)
    return "".join(ch if ch.isprintable() else " " for ch in text)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2.5.1"`` as (2, 5, 1); () when it is not a version number."""
    parts = version.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()


def build(code: str, header: Header, text: str, error: AckError | None = None) -> str:
    """The ACK for one message: its MSH, its MSA and, on AE or AR with a reason, its ERR."""
    version = header.version or DEFAULT_VERSION
    number = version_tuple(version) or version_tuple(DEFAULT_VERSION)
    trigger = escape(header.trigger)
    kind = "ACK" if not trigger else f"ACK^{trigger}^ACK" if number >= (2, 3, 1) else f"ACK^{trigger}"
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    msh = "|".join(
        ["MSH", "^~\\&", "LABPULSE", "LABPULSE", escape(header.application), escape(header.facility), now, "", kind,
         uuid.uuid4().hex[:20], escape(header.processing_id) or "P", escape(version)]
    )  # fmt: skip
    segments = [msh, "|".join(["MSA", code, escape(header.control_id), escape(text[:200])])]
    if code != "AA" and error is not None:
        segments.append(_err(error, text, number))
    return "\r".join(segments) + "\r"


def _err(error: AckError, text: str, version: tuple[int, ...]) -> str:
    name = ERROR_NAMES.get(error.code, "Application internal error")
    location = "^".join(escape(part) for part in error.location.split("^")) if error.location else ""
    if version >= (2, 5):  # ERR-2 error location, ERR-3 HL7 error code, ERR-4 severity, ERR-8 user message
        return f"ERR||{location}|{error.code}^{name}^HL70357|E||||{escape(text[:200])}"
    # 2.1-2.4: ERR-1, error code and location: segment^sequence^field^code&text&table
    place = [*location.split("^"), "", "", ""][:3]
    return f"ERR|{'^'.join(place)}^{error.code}&{name}&HL70357"
