"""One assessment: the level, the reasons (rule, plain words, and the patient's own words that fired it), a
specialty, the first tests, and calm advice in the patient's language. Emergencies lead with the ambulance number."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import asyncpg

from core import audit, i18n, metrics, tracking
from core.errors import InvalidInput
from core.identity import RequestMeta
from core.triage import nlp
from core.triage.rules import LEVELS, MILD, chest_wall_young, simple_faint
from core.triage.syndromes import ALL_RULES
from core.vault import Vault

# Specialties whose patients under 16 a paediatrician sees (surgical, eye, mental health and pregnancy care keep
# their own).
_CHILD_MEDICINE = ("general medicine", "emergency medicine", "cardiology", "pulmonology", "gastroenterology",
                   "endocrinology", "neurology")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    level: str
    why: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    level: str
    reasons: tuple[Reason, ...]
    specialty: str
    tests: tuple[str, ...]
    advice: str
    negated: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "level": self.level,
            "reasons": [{"rule": r.rule, "level": r.level, "why": r.why, "words": list(r.words)} for r in self.reasons],
            "specialty": self.specialty,
            "tests": list(self.tests),
            "advice": self.advice,
            "not_present": list(self.negated),
            # An emergency never offers a booking: the only action is to get help now.
            "actions": ["call_ambulance"] if self.level == "emergency" else ["book_tests", "book_teleconsult"],
        }


# Mild complaints that in someone over 65 may be the start of something more (an infection, dehydration).
_OLD_AGE_WATCH = {"fever", "chills", "vomiting", "diarrhoea", "dizziness", "headache", "abdominal_pain", "cough",
                  "body_ache", "fatigue", "muscle_pain"}  # fmt: skip


def _riskier_when_old(present: list[nlp.Mention]) -> bool:
    return any(m.concept in _OLD_AGE_WATCH for m in present)  # (not when it is already getting better)


def _mild(found: nlp.Findings) -> set[str]:
    """What settles at home on its own: the mild concepts, and a young person's chest-wall pain."""
    mild = set(MILD) | ({"chest_pain"} if chest_wall_young(found) else set())
    if found.has("neck_strain"):
        mild.add("neck_stiffness")  # a stiff neck after sleeping on the wrong pillow
    if found.has("stye", "insect_bite"):
        mild.add("lump")  # "a small lump on the eyelid", "a red lump where the bee stung"
    if found.has("sprain", "minor_injury"):
        mild |= {"swollen_joint", "swelling_limbs"}  # a swollen ankle after a twist
    if simple_faint(found):
        mild |= {"unconscious", "dizziness"}
    if found.has("sunburn") or (found.has("burn_injury") and found.mild):
        mild.add("cellulitis")  # "red, hot and sore" describes the sunburn or the small burn
    return mild


def assess(
    text: object,
    *,
    age: object = None,
    sex: object = None,
    language: object = None,
    ambulance: str = "108",
) -> Assessment:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            "text", "Please describe the symptoms in words, for example: fever and headache since 2 days."
        )
    if len(text) > nlp.MAX_CHARS:
        raise InvalidInput("text", f"Please keep it under {nlp.MAX_CHARS} characters; a few sentences are enough.")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120):
        raise InvalidInput("age", "Age is a whole number of years from 0 to 120.")
    if sex not in (None, "female", "male"):
        raise InvalidInput("sex", 'Sex is "female", "male" or left out.')
    if language is not None and language not in i18n.LANGS:
        raise InvalidInput("language", f"Language is one of {', '.join(i18n.LANGS)}, or left out.")
    lang = language or i18n.guess(text)
    found = nlp.read(text)
    if isinstance(age, int) and not (age == 0 and found.age is not None and found.age < 1):
        found.age = float(age)  # the form's age wins, unless it says 0 and the words give weeks or months
    if sex == "male":
        found.pregnant = False
    fired = [(rule, words) for rule in ALL_RULES if (words := rule.fires(found))]
    present = found.symptoms()
    if fired:
        level = max((rule.level for rule, _ in fired), key=LEVELS.index)
    elif present and all(m.concept in _mild(found) for m in present) and not found.severe:
        frail = found.age is not None and (
            found.age < 0.25 or (found.age >= 65 and _riskier_when_old(present) and not found.improving)
        )
        level = "routine" if frail else "self_care"
    else:
        level = "routine"  # something we do not know how to weigh: a doctor should
    top = [(rule, words) for rule, words in fired if rule.level == level]
    specialty = top[0][0].specialty if top else "general medicine"
    if specialty in _CHILD_MEDICINE and found.age is not None and found.age < 16:
        specialty = "paediatrics"  # children are seen by paediatricians, in an emergency too
    tests = tuple(dict.fromkeys(t for rule, _ in top for t in rule.tests)) if level != "self_care" else ()
    reasons = tuple(Reason(rule.id, rule.level, rule.why, tuple(dict.fromkeys(words))) for rule, words in fired)
    advice = i18n.text(lang, f"triage:advice.{level}", ambulance=ambulance)
    if not present and not fired:
        advice = f"{i18n.text(lang, 'triage:unrecognised')} {advice}"
    metrics.TRIAGE.labels(level).inc()
    return Assessment(level, reasons, specialty, tests, advice, tuple(found.negated()))


async def record(
    conn: asyncpg.Connection, vault: Vault, phone_lookup: str, text: str, result: Assessment,
    meta: RequestMeta | None = None,
) -> str:  # fmt: skip
    """Keep a signed-in person's check (their words encrypted) and audit it."""
    check_id = str(uuid.uuid4())
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO triage_assessments (id, phone_lookup, text_enc, level, result) VALUES ($1, $2, $3, $4, $5)",
            check_id,
            phone_lookup,
            vault.seal("triage_assessments", "text", check_id, text),
            result.level,
            result.to_json(),
        )
        await audit.append(
            conn,
            actor=tracking.patient_actor(phone_lookup),
            action="triage.assess",
            entity_type="triage",
            entity_id=check_id,
            summary={"level": result.level, "rules": [r.rule for r in result.reasons]},
            meta=meta,
        )
    return check_id
