"""What a free-text message asks for, in English, Hindi, Marathi and their romanized forms. Keywords, not
guesses: an unknown message gets the menu."""

from __future__ import annotations

import re
import unicodedata

# Carrier-standard opt-out and opt-in words (exact message), plus Hindi ones. A bare "cancel" is an opt-out, as
# carriers treat it; cancelling a booking is "cancel booking".
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "रोको", "बंद", "band karo", "rok do", "थांबवा",
              "बंद करा"}  # fmt: skip
START_WORDS = {"start", "unstop", "resume", "शुरू", "chalu", "chalu karo", "shuru", "सुरू करा", "चालू करा"}
REPORTS_OFF = {"reports off", "report off", "no report messages", "रिपोर्ट संदेश बंद", "report band"}
REPORTS_ON = {"reports on", "report on", "रिपोर्ट संदेश चालू", "report chalu"}
HELP_WORDS = {"help", "info", "मदद", "madad", "sahayata", "सहायता", "मदत", "madat"}
MENU_WORDS = {"menu", "hi", "hello", "hey", "namaste", "नमस्ते", "0", "main menu", "start over", "नमस्कार", "namaskar"}
YES_WORDS = {"yes", "y", "ok", "okay", "haan", "han", "ha", "हाँ", "हां", "ji", "confirm", "1", "हो", "होय", "ho", "hoy"}
NO_WORDS = {"no", "n", "nahi", "nahin", "नहीं", "na", "2", "नाही", "naahi"}

_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bookings", ("my bookings", "मेरी बुकिंग", "माझी बुकिंग")),
    ("cancel_booking", ("cancel booking", "cancel my booking", "booking cancel", "बुकिंग रद्द", "booking radd")),
    (
        "reschedule",
        (
            "reschedule",
            "change time",
            "change my booking",
            "change booking",
            "samay badlo",
            "time badlo",
            "समय बदल",
            "बुकिंग बदल",
        ),
    ),
    (
        "report",
        (
            "where is my report",
            "my report",
            "report",
            "result",
            "रिपोर्ट",
            "नतीजा",
            "meri report",
            "riport",
            "निकाल",
            "रिपोर्ट कुठे",
        ),
    ),
    ("book", ("book", "booking", "home collection", "test karwana", "बुक", "टेस्ट", "ghar se sample")),
    ("hindi", ("hindi", "हिंदी", "हिन्दी")),
    ("marathi", ("marathi", "मराठी")),
    ("english", ("english", "अंग्रेज़ी", "अंग्रेजी", "angrezi", "इंग्रजी")),
    (
        "symptoms",
        (
            "fever",
            "headache",
            "cough",
            "pain",
            "vomit",
            "bukhar",
            "bukhaar",
            "dard",
            "khansi",
            "बुखार",
            "दर्द",
            "खांसी",
            "खाँसी",
            "i have",
            "feeling unwell",
            "not feeling well",
            "ulti",
            "ताप",
            "दुखतंय",
            "दुखत आहे",
            "खोकला",
            "उलटी",
            "जुलाब",
            "taap",
            "dukhtay",
        ),
    ),
)


_KEEP = set(",/-")


def normalize(text: str) -> str:
    """Lower case, NFC, punctuation and symbols dropped, spaces collapsed. Letters, digits and combining marks
    stay (Devanagari vowel signs are marks, not letters: "रोको" must survive)."""
    text = unicodedata.normalize("NFC", text).casefold()
    kept = (ch if ch in _KEEP or ch.isspace() or unicodedata.category(ch)[0] in "LMN" else " " for ch in text)
    return re.sub(r"\s+", " ", "".join(kept)).strip()


def keyword(text: str) -> str | None:
    """A whole-message command that works in every state: stop, start, help, menu."""
    t = normalize(text)
    for name, words in (("stop", STOP_WORDS), ("start", START_WORDS), ("help", HELP_WORDS), ("menu", MENU_WORDS),
                        ("reports_off", REPORTS_OFF), ("reports_on", REPORTS_ON)):  # fmt: skip
        if t in words:
            return name
    return None


def intent(text: str) -> str | None:
    t = normalize(text)
    for name, phrases in _PHRASES:
        if any(p in t for p in phrases):
            return name
    return None


def numbers(text: str) -> list[int]:
    """'2, 5' or '2 and 5' → [2, 5]; nothing else in the message."""
    t = normalize(text).replace("and", " ").replace("और", " ")
    parts = [p for p in re.split(r"[\s,/]+", t) if p]
    if not parts or not all(p.isascii() and p.isdecimal() and len(p) <= 3 for p in parts):
        return []
    return [int(p) for p in parts]


def is_yes(text: str) -> bool:
    return normalize(text) in YES_WORDS


def is_no(text: str) -> bool:
    return normalize(text) in NO_WORDS
