"""Lab tests named in the Plan, as structured items, so the portal can turn a doctor's "let's do a CBC and a dengue
NS1" into a booking in one click. A test gets its catalogue code (core/db/migrations: CBC, LIPID, FBS, HBA1C, LFT,
KFT, TSH, URINE) when the lab sells it under one; the others carry the name only, for the desk to match."""

from __future__ import annotations

import re

# (name, catalogue code or None, the words people say for it). Longer phrases first where they overlap.
TESTS: tuple[tuple[str, str | None, str], ...] = (
    ("Complete blood count", "CBC", r"cbc|complete blood count|full blood count|blood counts?|hemogram|haemogram"),
    ("Lipid profile", "LIPID", r"lipid (?:panel|profile)|lipids|cholesterol (?:test|panel|levels?|check)"),
    ("Fasting blood glucose", "FBS", r"fasting (?:blood )?(?:sugar|glucose)|fbs"),
    ("Glycated haemoglobin (HbA1c)", "HBA1C", r"hba1c|hemoglobin a1c|haemoglobin a1c|a1c|glycated"),
    ("Liver function tests", "LFT", r"liver function(?: tests?)?|lfts?|liver enzymes|liver panel|hepatic panel"),
    ("Kidney function tests", "KFT", r"kidney function(?: tests?)?|renal function(?: tests?)?|kfts?|rft"),
    ("Thyroid stimulating hormone", "TSH", r"tsh|thyroid (?:function|panel|profile|levels?|tests?|studies)"),
    ("Urine culture", None, r"urine culture"),
    ("Urine routine and microscopy", "URINE", r"urine (?:routine|test|analysis|exam)|urinalysis|urine sample"),
    ("Dengue NS1", None, r"(?:dengue )?ns ?1(?: antigen)?(?: test)?"),
    ("Dengue IgM", None, r"dengue (?:igm|antibod\w+|serology)"),
    ("Malaria antigen", None, r"malaria(?: antigen| test| smear| parasite)?|malarial parasite|\bmp\b"),
    ("Widal / Typhidot", None, r"widal|typhidot|typhoid test"),
    ("CRP", None, r"crp|c-reactive protein|c reactive protein"),
    ("ESR", None, r"esr|sed rate|sedimentation rate"),
    ("Blood culture", None, r"blood cultures?"),
    ("Metabolic panel", None, r"(?:basic|comprehensive) metabolic panel|bmp|cmp|metabolic panel|electrolytes"),
    ("Vitamin D", None, r"vitamin d(?: levels?| test)?"),
    ("Vitamin B12", None, r"(?:vitamin )?b12"),
    ("Iron studies", None, r"iron (?:studies|panel|levels?)|ferritin"),
    ("PSA", None, r"psa"),
    ("Troponin I", None, r"troponins?"),
    ("PT/INR", None, r"pt/?inr|\binr\b|coagulation"),
    ("Uric acid", None, r"uric acid"),
)
_PATTERNS = [(name, code, re.compile(rf"\b(?:{words})\b")) for name, code, words in TESTS]
# A test named in the Plan is ordered unless the sentence says it was done already or is not needed.
_NOT_ORDERED = re.compile(r"\b(?:was|were|came back|showed|results?|no need|do not need|not going to)\b")


def tests_named(sentence: str) -> list[tuple[str, str | None]]:
    """The lab tests a Plan sentence orders, in the order said, each once."""
    low = sentence.lower()
    if _NOT_ORDERED.search(low):
        return []
    found: list[tuple[int, str, str | None]] = []
    taken: list[tuple[int, int]] = []
    for name, code, pattern in _PATTERNS:
        for m in pattern.finditer(low):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), name, code))
            break
    return [(name, code) for _, name, code in sorted(found)]
