"""Explicit, reviewable triage rules. Each names its level, the specialty, the first tests a doctor would usually
order, and the words that made it fire, so a clinician can audit every result. The red flags follow common
published triage guidance (heart attack and stroke signs, severe bleeding, anaphylaxis, suicidal thoughts,
meningitis signs, fever in a young infant, dengue warning signs, diabetic emergencies, pregnancy warning signs).
The highest level that fires wins; when in doubt, the more urgent one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.triage.lexicon import CONCEPTS
from core.triage.nlp import Findings

LEVELS = ("self_care", "routine", "urgent", "emergency")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: str
    specialty: str
    tests: tuple[str, ...]
    why: str  # in plain words, for the reasons list
    fires: Callable[[Findings], list[str] | None]  # the words it fired on, or None


def _all(*groups: list[str]) -> list[str] | None:
    return [w for g in groups for w in g] if all(groups) else None


def _any(*groups: list[str]) -> list[str] | None:
    words = [w for g in groups for w in g]
    return words or None


def _age(f: Findings, lo: float = 0, hi: float = 200) -> bool:
    return f.age is not None and lo <= f.age < hi


def _temp(f: Findings, at_least: float) -> list[str]:
    return [f"temperature {f.temp_f:g} F"] if f.temp_f is not None and f.temp_f >= at_least else []


def _fever(f: Findings) -> list[str]:
    if f.temp_f is not None and f.temp_f < 99.5:
        return []
    return f.has("fever", "chills") or _temp(f, 100.4)


RULES: tuple[Rule, ...] = (
    # --- emergency ---------------------------------------------------------------------------------------------
    Rule("heart_attack_signs", "emergency", "cardiology", ("ECG", "Troponin I", "CK-MB"),
         "chest pain with breathlessness, sweating, fainting or pain spreading to the arm or jaw",
         lambda f: _all(f.has("chest_pain"), f.has("breathless", "sweating", "radiating_pain", "unconscious",
                                                   "dizziness"))),
    Rule("stroke_signs", "emergency", "neurology", ("CT brain", "Random blood sugar"),
         "signs of a stroke: face drooping, weakness on one side or slurred speech",
         lambda f: _any(f.has("face_droop", "one_sided_weakness", "speech_difficulty"))),
    Rule("severe_bleeding", "emergency", "emergency medicine", ("CBC", "Blood grouping", "PT/INR"),
         "heavy bleeding, or vomiting or coughing blood, or black stools",
         lambda f: _any(f.has("severe_bleeding", "vomiting_blood", "coughing_blood", "black_stool"))),
    Rule("anaphylaxis", "emergency", "emergency medicine", (),
         "swelling of the throat, lips or tongue, or an allergic rash with breathing trouble",
         lambda f: _any(f.has("swelling_throat")) or _all(f.has("hives", "rash"), f.has("breathless"))),
    Rule("suicidal_thoughts", "emergency", "psychiatry", (),
         "thoughts of suicide or of ending one's life", lambda f: _any(f.has("suicidal"))),
    Rule("meningitis_signs", "emergency", "general medicine", ("CBC", "CRP", "Blood culture"),
         "fever with a stiff neck, confusion, or a rash that does not fade when pressed",
         lambda f: _all(_fever(f), f.has("neck_stiffness", "confusion", "nonblanching_rash"))),
    Rule("collapse_or_seizure", "emergency", "emergency medicine", ("Random blood sugar", "Serum electrolytes"),
         "fainting, unconsciousness, a seizure or confusion",
         lambda f: _any(f.has("unconscious", "seizure", "confusion"))),
    Rule("young_infant_fever", "emergency", "paediatrics", ("CBC", "CRP", "Urine routine", "Blood culture"),
         "fever in a baby under 3 months", lambda f: _fever(f) if _age(f, 0, 0.25) else None),
    Rule("sudden_worst_headache", "emergency", "neurology", ("CT brain",),
         "a sudden, very severe headache", lambda f: _any(f.has("thunderclap_headache"))),
    Rule("low_oxygen", "emergency", "pulmonology", ("Chest X-ray", "ABG"),
         "oxygen saturation below 92%",
         lambda f: [f"oxygen {f.spo2}%"] if f.spo2 is not None and f.spo2 < 92 else None),
    Rule("severe_breathlessness", "emergency", "pulmonology", ("Chest X-ray", "SpO2"),
         "severe difficulty breathing", lambda f: f.has("breathless") if f.severe else None),
    Rule("diabetic_emergency", "emergency", "endocrinology",
         ("Random blood sugar", "Urine ketones", "Serum electrolytes"),
         "very high (400 or more) or very low (below 70) blood sugar",
         lambda f: [f"sugar {f.sugar}"] if f.sugar is not None and (f.sugar >= 400 or f.sugar < 70) else None),
    Rule("pregnancy_warning", "emergency", "obstetrics", ("CBC", "Urine protein", "Ultrasound"),
         "in pregnancy: bleeding, leaking fluid, the baby moving less, severe headache, blurred vision or fits",
         lambda f: f.has("vaginal_bleeding", "leaking_fluid", "reduced_fetal_movement", "blurred_vision",
                         "seizure", "thunderclap_headache", "severe_abdominal_pain")
         + (f.has("headache") if f.severe else []) if f.pregnant else None),
    Rule("dengue_warning", "emergency", "general medicine", ("CBC with platelet count", "Dengue NS1", "Dengue IgM"),
         "fever with bleeding gums or nose, severe stomach pain or vomiting again and again",
         lambda f: _all(_fever(f), f.has("mucosal_bleeding", "severe_abdominal_pain", "persistent_vomiting"))),
    Rule("shock_blood_pressure", "emergency", "emergency medicine", ("ECG", "Serum electrolytes"),
         "very low (top number below 90) or very high (180/120 or more) blood pressure with symptoms",
         lambda f: ([f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] < 90 or (f.bp[0] >= 180 or f.bp[1] >= 120))
                    and f.has("chest_pain", "headache", "dizziness", "unconscious", "breathless", "blurred_vision")
                    else None)),
    Rule("very_high_fever", "emergency", "general medicine", ("CBC", "Malaria antigen", "Dengue NS1"),
         "a temperature of 105 F or more", lambda f: _temp(f, 105) or None),
    # --- urgent: a doctor within 24 hours ------------------------------------------------------------------------
    Rule("chest_pain", "urgent", "cardiology", ("ECG", "Troponin I", "Lipid profile"),
         "chest pain", lambda f: _any(f.has("chest_pain"))),
    Rule("breathlessness", "urgent", "pulmonology", ("Chest X-ray", "CBC"),
         "breathlessness", lambda f: _any(f.has("breathless"))),
    Rule("fever_3_days", "urgent", "general medicine",
         ("CBC", "Dengue NS1", "Malaria antigen", "Widal / Typhidot", "Urine routine"),
         "fever for three days or more",
         lambda f: [*_fever(f), f"{f.days:g} days"] if _fever(f) and f.days is not None and f.days >= 3 else None),
    Rule("high_fever", "urgent", "general medicine", ("CBC", "Dengue NS1", "Malaria antigen"),
         "a temperature of 103 F or more", lambda f: _temp(f, 103) or None),
    Rule("fever_child_or_elder", "urgent", "general medicine", ("CBC", "Urine routine"),
         "fever in a child under 5 or an adult over 65",
         lambda f: _fever(f) if (_age(f, 0, 5) or _age(f, 65)) else None),
    Rule("fever_with_rash_or_pain", "urgent", "general medicine", ("CBC with platelet count", "Dengue NS1"),
         "fever with a rash, body or joint pain (dengue and chikungunya season)",
         lambda f: _all(_fever(f), f.has("rash", "nonblanching_rash", "joint_pain"))),
    Rule("dehydration", "urgent", "general medicine", ("Serum electrolytes", "Kidney function tests"),
         "signs of dehydration with vomiting or loose motions",
         lambda f: _all(f.has("dehydration", "poor_feeding", "persistent_vomiting"),
                        f.has("vomiting", "diarrhoea", "persistent_vomiting", "poor_feeding"))),
    Rule("jaundice", "urgent", "gastroenterology", ("Liver function tests", "Hepatitis A/E IgM", "HBsAg"),
         "yellow eyes or skin", lambda f: _any(f.has("jaundice"))),
    Rule("severe_abdominal_pain", "urgent", "general surgery", ("CBC", "Ultrasound abdomen", "Serum amylase"),
         "severe stomach pain",
         lambda f: _any(f.has("severe_abdominal_pain")) or (f.has("abdominal_pain") if f.severe else None)),
    Rule("pregnancy_symptoms", "urgent", "obstetrics", ("CBC", "Urine routine"),
         "symptoms during pregnancy",
         lambda f: [m.text for m in f.mentions if not m.negated] if f.pregnant and f.mentions else None),
    Rule("high_blood_pressure", "urgent", "cardiology", ("Kidney function tests", "Urine routine", "ECG"),
         "blood pressure of 180/110 or more",
         lambda f: [f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] >= 180 or f.bp[1] >= 110) else None),
    Rule("high_sugar", "urgent", "endocrinology", ("Fasting blood sugar", "HbA1c", "Urine ketones"),
         "blood sugar of 250 or more", lambda f: [f"sugar {f.sugar}"] if f.sugar and f.sugar >= 250 else None),
    Rule("urine_infection_fever", "urgent", "general medicine", ("Urine routine", "Urine culture", "CBC"),
         "burning urination with fever", lambda f: _all(f.has("burning_urination"), _fever(f))),
    Rule("palpitations_dizzy", "urgent", "cardiology", ("ECG", "Thyroid profile", "Serum electrolytes"),
         "palpitations with dizziness", lambda f: _all(f.has("palpitations"), f.has("dizziness"))),
    Rule("infant_unwell", "urgent", "paediatrics", ("CBC",),
         "a baby under one year who is unwell", lambda f: _any(f.has(*_ALL)) if _age(f, 0, 1) else None),
    # --- routine: a consultation in the coming days -------------------------------------------------------------
    Rule("long_cough", "routine", "pulmonology", ("Chest X-ray", "Sputum AFB / CBNAAT", "CBC"),
         "a cough for three weeks or more",
         lambda f: [*f.has("cough"), f"{f.days:g} days"] if f.has("cough") and f.days and f.days >= 21 else None),
    Rule("diabetes_symptoms", "routine", "endocrinology", ("Fasting blood sugar", "HbA1c", "Urine routine"),
         "thirst and frequent urination", lambda f: _any(f.has("thirst_urination"))),
    Rule("thyroid_symptoms", "routine", "endocrinology", ("Thyroid profile (TSH, T3, T4)", "CBC"),
         "tiredness, weight change or hair loss", lambda f: _any(f.has("fatigue", "weight_change", "hair_loss"))),
    Rule("urine_symptoms", "routine", "general medicine", ("Urine routine", "Urine culture"),
         "burning urination", lambda f: _any(f.has("burning_urination"))),
    Rule("joint_pain", "routine", "orthopaedics", ("Uric acid", "RA factor", "CRP", "Vitamin D"),
         "joint pain", lambda f: _any(f.has("joint_pain"))),
    Rule("lasting_symptoms", "routine", "general medicine", ("CBC",),
         "symptoms for a week or more", lambda f: [f"{f.days:g} days"] if f.days and f.days >= 7 and f.mentions
         and any(not m.negated for m in f.mentions) else None),
    Rule("palpitations", "routine", "cardiology", ("ECG", "Thyroid profile"),
         "palpitations", lambda f: _any(f.has("palpitations"))),
    Rule("loose_motions_lasting", "routine", "gastroenterology", ("Stool routine", "Serum electrolytes"),
         "loose motions for three days or more",
         lambda f: f.has("diarrhoea") if f.has("diarrhoea") and f.days and f.days >= 3 else None),
    Rule("blood_pressure_raised", "routine", "cardiology", ("Lipid profile", "Kidney function tests"),
         "raised blood pressure (140/90 or more)",
         lambda f: [f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] >= 140 or f.bp[1] >= 90) else None),
)  # fmt: skip

# Concepts that on their own, briefly, usually settle at home (with advice on when to seek help).
MILD = ("fever", "chills", "headache", "cough", "sore_throat", "cold", "body_ache", "vomiting", "diarrhoea",
        "abdominal_pain", "dizziness", "rash", "hives")  # fmt: skip
_ALL: tuple[str, ...] = tuple(CONCEPTS)
