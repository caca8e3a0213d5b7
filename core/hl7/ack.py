"""HL7 ACK messages: MSA-1 is AA, AE or AR; MSA-2 echoes the control id (MSH-10) of the message answered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def escape(text: str) -> str:
    for plain, escaped in _ESCAPES:
        text = text.replace(plain, escaped)
    return "".join(ch if ch.isprintable() else " " for ch in text)


def build(code: str, control_id: str, text: str, sender: str = "") -> str:
    app, _, facility = sender.partition("^")
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    msh = "|".join(
        ["MSH", "^~\\&", "LABPULSE", "LABPULSE", escape(app), escape(facility), now, "", "ACK^R01^ACK",
         uuid.uuid4().hex[:20], "P", "2.5.1"]
    )  # fmt: skip
    msa = "|".join(["MSA", code, escape(control_id), escape(text[:200])])
    return f"{msh}\r{msa}\r"
