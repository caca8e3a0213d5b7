"""A Notifier that keeps what it would have sent, so a test can read the code a patient would get by SMS.

It stands in for the SMS/WhatsApp provider (our own interface's edge), not for any code under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.notify import Message


@dataclass
class Inbox:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        self.sent.append((phone, message.text, message.kind))

    def last_code(self, phone: str) -> str:
        for to, text, _ in reversed(self.sent):
            if to == phone:
                match = re.search(r"\b(\d{6})\b", text)
                if match:
                    return match.group(1)
        raise AssertionError(f"no code was sent to {phone}")
