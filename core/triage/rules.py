"""Explicit, reviewable triage rules. Each names its level, the specialty, the first tests a doctor would usually
order, and the words that made it fire, so a clinician can audit every result. The red flags follow common
published triage guidance (heart attack and stroke signs, severe bleeding, anaphylaxis, suicidal thoughts,
meningitis signs, fever in a young infant, dengue warning signs, diabetic emergencies, pregnancy warning signs).
The highest level that fires wins; when in doubt, the more urgent one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.triage import clinical
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


def all_of(*groups: list[str]) -> list[str] | None:
    return [w for g in groups for w in g] if all(groups) else None


def any_of(*groups: list[str]) -> list[str] | None:
    words = [w for g in groups for w in g]
    return words or None


def _lasting(f: Findings, *concepts: str, days: float = 7) -> list[str] | None:
    """The words for ``concepts`` when they have lasted ``days`` or more."""
    lasted = f.days_of(*concepts)
    return f.has(*concepts) or None if lasted and lasted >= days else None


def aged(f: Findings, lo: float = 0, hi: float = 200) -> bool:
    return f.age is not None and lo <= f.age < hi


def _temp(f: Findings, at_least: float) -> list[str]:
    return [f"temperature {f.temp_f:g} F"] if f.temp_f is not None and f.temp_f >= at_least else []


def _mild_child_fever(f: Findings) -> bool:
    """NICE's 'green' fever: measured under 39 °C, under two days, nothing else worrying (a cold is fine)."""
    others = {m.concept for m in f.mentions if not m.negated} - {"fever", "chills", "cold", "cough", "sore_throat"}
    days = f.days_of("fever", "chills")
    return f.temp_f is not None and f.temp_f < 102.2 and (days is None or days < 2) and not others


def non_cardiac_chest_pain(f: Findings) -> bool:
    """Chest pain a note shows is not the heart: a chest infection (fever with cough or pain on breathing in),
    shingles, pain reproduced by pressing; under 40 also a strain after exercise or reflux eased by an antacid.
    Never with sweating or clamminess; never with breathlessness or spreading pain unless it is an infection or
    tender to press. After 40, pain at the gym or after a meal may be angina, so only pressing or an infection
    counts."""
    if f.has("sweating", "cold_clammy"):
        return False
    if (f.has("pleuritic_pain", "cough") and has_fever(f)) and not f.has("radiating_pain"):
        return True
    if f.has("breathless", "severe_breathless") or (f.has("radiating_pain") and not f.has("chest_tender")):
        return False
    if aged(f, 40):
        return bool(f.has("chest_tender", "shingles"))
    return bool(f.has("chest_wall", "chest_tender", "antacid_relief", "shingles"))


_THYROID = ("fatigue", "weight_change", "hair_loss")
# Settle slowly and have their own limits: a cough three weeks, a cold three, hay fever never.
_SETTLE_IN_THREE_WEEKS = {
    "insomnia",
    "headache",
    "back_pain",
    "back_pain_strain",
    "sprain",
    "skin_problem",
    "eye_problem",
    "minor_injury",
    "acidity",
    "bloating",
    "insect_bite",
    "mouth_ulcer",
    "minor_cut",
    "wound",
}
_SLOW_SETTLING = {
    "constipation",
    "insomnia",
    "teething",
    "drooling",
    "acne",
    "fungal_pattern",
    "cough",
    "cold",
    "allergy_pattern",
    "sinus",
    "sore_throat",
    "ear_pain",
    "lice",
}


def _lasting_illness(f: Findings) -> list[str] | None:
    present = {m.concept for m in f.symptoms()} - _SLOW_SETTLING
    if f.risk("allergy_pattern"):
        present -= {"eye_problem", "skin_problem", "cold"}  # hay fever lasts the season
    if not present or f.improving:
        return None
    days = f.days_of(*present)
    if f.has("acne"):
        present.discard("rash")  # "whiteheads and small red spots" are the acne
    limit = 28 if present <= _SETTLE_IN_THREE_WEEKS else 7
    return [f"{days:g} days"] if days and days >= limit else None


def _minor_head_bump(f: Findings) -> bool:
    """NICE's minor head injury: a small bump, aged 1–64, not on blood thinners, no other sign."""
    return f.mild and aged(f, 1, 65) and not f.risk("anticoagulated")


def simple_faint(f: Findings) -> bool:
    """A faint with its usual trigger (a blood test, the sight of blood, standing in heat) and a quick, full recovery
    in someone under 40 with no warning sign (NICE CG109's uncomplicated faint)."""
    return bool(
        f.has("vasovagal")
        and f.has("quick_recovery")
        and aged(f, 0, 40)
        and not f.has("chest_pain", "palpitations", "breathless", "seizure", "confusion", "head_injury")
    )


def chest_wall_young(f: Findings) -> bool:
    """Chest pain under 40 from the chest wall (tender to press, a strain after the gym) or reflux eased by an
    antacid, with no sweating, spreading pain or breathlessness: it settles at home."""
    return aged(f, 0, 40) and non_cardiac_chest_pain(f) and not f.has("pleuritic_pain", "cough", "shingles")


_SUDDEN_SEVERE = (clinical.SUDDEN_WORD, clinical.SEVERE_WORD)


def has_fever(f: Findings) -> list[str]:
    if f.temp_f is not None and f.temp_f < 100.4:
        return []  # measured below 38 °C: no fever (NICE), whatever the word "temperature" says
    return f.has("fever", "chills") or _temp(f, 100.4)


_ENT = ("sinus", "cold", "sore_throat", "ear_pain")
# What most pregnancies bring and needs no same-day doctor on its own (morning sickness).
_PREGNANCY_USUAL = ("pregnancy_nausea", "vomiting", "fatigue", "acidity", "back_pain", "constipation")

RULES: tuple[Rule, ...] = (
    # --- emergency ---------------------------------------------------------------------------------------------
    Rule("heart_attack_signs", "emergency", "cardiology", ("ECG", "Troponin I", "CK-MB"),
         "chest pain with breathlessness, sweating, fainting or pain spreading to the arm or jaw",
         lambda f: all_of(f.has("chest_pain"), f.has("breathless", "sweating", "radiating_pain", "unconscious",
                                                   "dizziness")) if not non_cardiac_chest_pain(f) else None),
    Rule("atypical_heart_attack", "emergency", "cardiology", ("ECG", "Troponin I", "CK-MB"),
         "sweating with breathlessness, fainting, dizziness or 'gas' in the upper stomach: a heart attack can "
         "feel like this, especially with diabetes or in older people",
         lambda f: all_of(f.has("sweating", "cold_clammy"),
                        f.has("breathless", "acidity", "abdominal_pain", "dizziness", "unconscious", "radiating_pain",
                              "bloating", "pregnancy_nausea"))
         if not aged(f, 0, 30) else None),
    Rule("cardiac_syncope", "emergency", "cardiology", ("ECG", "Troponin I", "Serum electrolytes"),
         "fainting with palpitations, chest pain or breathlessness",
         lambda f: all_of(f.has("unconscious"), f.has("palpitations", "chest_pain", "breathless"))),
    Rule("child_swallowed_medicine", "emergency", "emergency medicine", ("Random blood sugar", "Serum electrolytes"),
         "a child who swallowed tablets or medicine, even if they seem well now",
         lambda f: f.has("ingested_medicine", "ingested_medicine_into", "poisoning") if aged(f, 0, 12) else None),
    Rule("stroke_signs", "emergency", "neurology", ("CT brain", "Random blood sugar"),
         "signs of a stroke: face drooping, weakness on one side or slurred speech",
         lambda f: any_of(f.has("face_droop", "one_sided_weakness", "speech_difficulty"))),
    Rule("pregnancy_warning", "emergency", "obstetrics", ("CBC", "Urine protein", "Ultrasound"),
         "in pregnancy: bleeding, leaking fluid, the baby moving less, severe headache or tummy pain, blurred vision, "
         "fainting or fits",
         lambda f: f.has("vaginal_bleeding", "bleeding", "leaking_fluid", "reduced_fetal_movement", "blurred_vision",
                         "vision_loss", "seizure", "thunderclap_headache", "severe_abdominal_pain", "unconscious")
         + (f.has("headache", "abdominal_pain", "rlq_pain") if f.severe else [])
         + (f.has("abdominal_pain", "rlq_pain") if f.has("dizziness") else [])
         + ([f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] >= 160 or f.bp[1] >= 110) else [])
         if f.pregnant else None),
    Rule("severe_breathing_difficulty", "emergency", "pulmonology", ("SpO2", "Chest X-ray", "ABG"),
         "breathing so hard that speaking is difficult, the inhaler does not help, or blue lips",
         lambda f: any_of(f.has("severe_breathless", "cyanosis"))),
    Rule("poisoning_or_overdose", "emergency", "emergency medicine", ("Serum electrolytes", "Liver function tests"),
         "a poison, chemical or too many tablets swallowed", lambda f: any_of(f.has("poisoning"))),
    Rule("snake_or_scorpion_bite", "emergency", "emergency medicine", ("PT/INR", "CBC", "20-minute clotting test"),
         "a snake bite or scorpion sting", lambda f: any_of(f.has("snake_bite"))),
    Rule("head_injury_red_flags", "emergency", "emergency medicine", ("CT brain",),
         "a head injury with vomiting, drowsiness, confusion, a fit or fainting",
         lambda f: all_of(f.has("head_injury"), f.has("vomiting", "persistent_vomiting", "drowsy", "confusion",
                                                    "seizure", "unconscious", "severe_bleeding"))),
    Rule("dengue_warning", "emergency", "general medicine", ("CBC with platelet count", "Dengue NS1", "Dengue IgM"),
         "fever with bleeding gums or nose, severe stomach pain or vomiting again and again",
         lambda f: all_of(has_fever(f) or f.has("dengue"),
                          f.has("mucosal_bleeding", "severe_abdominal_pain", "persistent_vomiting"))),
    Rule("acute_abdomen", "emergency", "general surgery",
         ("CBC", "Ultrasound abdomen", "Serum amylase", "Urine routine"),
         "severe or lower-right stomach pain with vomiting, fever or fainting",
         lambda f: (f.has("rlq_pain", "severe_abdominal_pain", "abdominal_pain")
                    if ((f.has("rlq_pain") and not f.has("back_pain", "flank_pain"))
                        or f.has("severe_abdominal_pain") or (f.severe and f.has("abdominal_pain")))
                    and (f.has("vomiting", "persistent_vomiting", "unconscious", "dizziness") or has_fever(f)
                         or (f.has("rlq_pain") and (f.severe or f.has("pregnancy_nausea", "anorexia"))))
                    else None)),
    Rule("bowel_obstruction_signs", "emergency", "general surgery", ("X-ray abdomen (erect)", "Serum electrolytes"),
         "a swollen belly with no stool or gas passed, or green vomit",
         lambda f: any_of(f.has("bowel_obstruction"))),
    Rule("chemical_in_eye", "emergency", "ophthalmology", (),
         "a chemical, lime or acid in the eye: rinse with clean water for 15 minutes on the way",
         lambda f: any_of(f.has("eye_chemical", "eye_chemical_combo"))),
    Rule("major_burn", "emergency", "emergency medicine", (),
         "a large burn, or a burn of the face, neck or hands, or from a blast or fire",
         lambda f: any_of(f.has("major_burn"))
         or (f.has("burn_blast") if f.has("burn_blast") and not f.mild else None)),
    Rule("testicular_torsion_signs", "emergency", "urology", ("Ultrasound scrotum with Doppler",),
         "sudden or severe pain in a testicle",
         lambda f: f.has("testicular_pain") if f.has("testicular_pain") and (f.sudden or f.severe) else None),
    Rule("sudden_vision_loss", "emergency", "ophthalmology", (),
         "sudden loss of vision", lambda f: any_of(f.has("vision_loss"))),
    Rule("cauda_equina_signs", "emergency", "orthopaedics", ("MRI lumbar spine",),
         "back pain with numbness between the legs, trouble passing urine or control of the bladder, or both legs weak",
         lambda f: all_of(f.has("back_pain", "back_pain_strain"),
                          f.has("incontinence", "cauda_flags", "urine_retention"))),
    Rule("acute_urinary_retention", "emergency", "urology", ("Urine routine", "Serum creatinine"),
         "unable to pass urine despite the urge: the bladder needs draining today",
         lambda f: any_of(f.has("urine_retention"))),
    Rule("diabetic_ketoacidosis_signs", "emergency", "endocrinology",
         ("Random blood sugar", "Urine ketones", "Serum electrolytes"),
         "great thirst and passing urine a lot with vomiting, stomach pain, fast or deep breathing or drowsiness",
         lambda f: all_of(f.has("thirst_urination"), f.has("vomiting", "persistent_vomiting", "abdominal_pain",
                                                          "breathless", "fruity_breath", "drowsy", "confusion"))),
    Rule("drowsy_with_illness", "emergency", "emergency medicine", ("Random blood sugar", "Serum electrolytes", "CBC"),
         "unusual drowsiness with fever, vomiting or high sugar, or in a young child or an older adult",
         lambda f: f.has("drowsy") if f.has("drowsy") and (has_fever(f) or f.has("vomiting", "persistent_vomiting",
                                                                                 "diarrhoea", "cold_clammy")
                                                           or f.sugar or aged(f, 0, 5) or aged(f, 65)) else None),
    Rule("gi_bleeding", "emergency", "gastroenterology", ("CBC", "Blood grouping", "PT/INR", "Upper GI endoscopy"),
         "vomiting blood or black, tarry stools",
         lambda f: any_of(f.has("vomiting_blood", "black_stool"))),
    Rule("severe_bleeding", "emergency", "emergency medicine", ("CBC", "Blood grouping", "PT/INR"),
         "heavy bleeding that does not stop, or coughing up a lot of blood",
         lambda f: any_of(f.has("severe_bleeding"))
         or (f.has("coughing_blood") if f.severe or f.has("breathless") else None)),
    Rule("anaphylaxis", "emergency", "emergency medicine", (),
         "swelling of the throat, lips or tongue, or an allergic rash with breathing trouble",
         lambda f: any_of(f.has("swelling_throat"))
         or all_of(f.has("hives", "insect_bite"), f.has("breathless", "wheeze", "severe_breathless"))),
    Rule("suicidal_thoughts", "emergency", "psychiatry", (),
         "thoughts of suicide or of ending one's life", lambda f: any_of(f.has("suicidal"))),
    Rule("meningitis_signs", "emergency", "general medicine", ("CBC", "CRP", "Blood culture"),
         "fever with a stiff neck, confusion, light hurting the eyes, or a rash that does not fade when pressed",
         lambda f: all_of(has_fever(f), f.has("neck_stiffness", "confusion", "nonblanching_rash", "photophobia"))),
    Rule("collapse_or_seizure", "emergency", "emergency medicine", ("Random blood sugar", "Serum electrolytes"),
         "fainting, unconsciousness, a seizure or confusion",
         lambda f: None if simple_faint(f) else any_of(f.has("unconscious", "seizure", "confusion"))),
    Rule("young_infant_fever", "emergency", "paediatrics", ("CBC", "CRP", "Urine routine", "Blood culture"),
         "fever in a baby under 3 months", lambda f: has_fever(f) if aged(f, 0, 0.25) else None),
    Rule("sudden_worst_headache", "emergency", "neurology", ("CT brain",),
         "a sudden, very severe headache",
         lambda f: any_of(f.has("thunderclap_headache"))
         or (f.has("headache") if f.said_with("headache", _SUDDEN_SEVERE) else None)),
    Rule("low_oxygen", "emergency", "pulmonology", ("Chest X-ray", "ABG"),
         "oxygen saturation below 92%",
         lambda f: [f"oxygen {f.spo2}%"] if f.spo2 is not None and f.spo2 < 92 else None),
    Rule("severe_breathlessness", "emergency", "pulmonology", ("Chest X-ray", "SpO2"),
         "severe difficulty breathing", lambda f: f.has("breathless") if f.severe else None),
    Rule("diabetic_emergency", "emergency", "endocrinology",
         ("Random blood sugar", "Urine ketones", "Serum electrolytes"),
         "very high (400 or more) or very low (below 70) blood sugar",
         lambda f: [f"sugar {f.sugar}"] if f.sugar is not None and (f.sugar >= 400 or f.sugar < 70) else None),
    Rule("shock_blood_pressure", "emergency", "emergency medicine", ("ECG", "Serum electrolytes"),
         "very low (top number below 90) or very high (180/120 or more) blood pressure with symptoms",
         lambda f: ([f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] < 90 or (f.bp[0] >= 180 or f.bp[1] >= 120))
                    and f.has("chest_pain", "headache", "dizziness", "unconscious", "breathless", "blurred_vision")
                    else None)),
    Rule("very_high_fever", "emergency", "general medicine", ("CBC", "Malaria antigen", "Dengue NS1"),
         "a temperature of 105 F or more", lambda f: _temp(f, 105) or None),
    # --- urgent: a doctor within 24 hours ------------------------------------------------------------------------
    Rule("head_injury", "urgent", "emergency medicine", ("CT brain",),
         "a head injury (a small bump in a child or adult who is well needs no doctor; a baby, someone over 65 or "
         "on blood thinners does)",
         lambda f: f.has("head_injury") if f.has("head_injury") and not _minor_head_bump(f) else None),
    Rule("unusual_drowsiness", "urgent", "general medicine", ("Random blood sugar", "CBC", "Serum electrolytes"),
         "unusual drowsiness", lambda f: any_of(f.has("drowsy"))),
    Rule("testicular_pain", "urgent", "urology", ("Urine routine", "Ultrasound scrotum with Doppler"),
         "pain or swelling in a testicle", lambda f: any_of(f.has("testicular_pain"))),
    Rule("deep_vein_thrombosis_signs", "urgent", "general medicine", ("D-dimer", "Doppler ultrasound of leg veins"),
         "a swollen or painful calf", lambda f: any_of(f.has("calf_swelling"))),
    Rule("animal_bite", "urgent", "emergency medicine", (),
         "an animal bite (rabies vaccine and wound care are needed soon)", lambda f: any_of(f.has("animal_bite"))),
    Rule("deep_wound", "urgent", "general surgery", (),
         "a deep or gaping cut that may need stitches", lambda f: any_of(f.has("deep_wound"))),
    Rule("hot_swollen_joint", "urgent", "orthopaedics", ("CBC", "CRP", "Uric acid", "X-ray of the joint"),
         "a red, hot or swollen joint (a swollen ankle after a twist is a sprain)",
         lambda f: None if f.has("sprain", "minor_injury") else any_of(f.has("swollen_joint"))),
    Rule("burn", "urgent", "general surgery", (),
         "a burn", lambda f: f.has("burn_injury") if f.has("burn_injury") and not f.mild else None),
    Rule("blood_in_urine", "urgent", "urology", ("Urine routine", "Urine culture", "Ultrasound KUB"),
         "blood in the urine", lambda f: any_of(f.has("blood_in_urine", "blood_in_urine_colour"))),
    Rule("wheezing", "urgent", "pulmonology", ("Chest X-ray", "CBC"),
         "wheezing or an asthma attack", lambda f: any_of(f.has("wheeze"))),
    Rule("possible_fracture", "urgent", "orthopaedics", ("X-ray of the injured part",),
         "an injury with pain on the bone, swelling, a bent look or no weight bearing",
         lambda f: any_of(f.has("fracture_signs"))),
    Rule("fever_after_flood_water", "urgent", "general medicine", ("CBC", "Leptospira IgM", "Kidney function tests",
                                                                   "Liver function tests"),
         "fever after walking through flood water (leptospirosis)",
         lambda f: all_of(has_fever(f), f.has("flood_water"))),
    Rule("fever_with_calf_pain", "urgent", "general medicine", ("CBC", "Leptospira IgM", "CPK"),
         "fever with calf pain", lambda f: all_of(has_fever(f), f.has("calf_swelling"))),
    Rule("chronic_illness_worse", "urgent", "general medicine", ("Kidney function tests", "Serum electrolytes", "CBC"),
         "swelling, breathlessness or fever with kidney, heart or lung failure, dialysis or sickle cell disease",
         lambda f: f.has("swelling_limbs", "breathless", "fever", "weight_change") if f.chronic else None),
    Rule("mania_or_psychosis", "urgent", "psychiatry", (),
         "no sleep for days, racing talk, unusual beliefs or hearing voices",
         lambda f: any_of(f.has("mania_psychosis"))),
    Rule("shingles", "urgent", "dermatology", (),
         "a painful blistering rash on one side (antiviral medicine works best early)",
         lambda f: any_of(f.has("shingles")) if not f.has("cold_sore") else None),
    Rule("pelvic_infection_signs", "urgent", "gynaecology", ("CBC", "CRP", "Urine routine", "Ultrasound pelvis"),
         "lower tummy pain with fever or a foul-smelling discharge",
         lambda f: all_of(f.has("abdominal_pain"), f.has("heavy_periods")) if has_fever(f) else None),
    Rule("fever_with_abdominal_pain", "urgent", "general medicine", ("CBC", "Widal / Typhidot", "Ultrasound abdomen"),
         "fever with stomach pain", lambda f: all_of(has_fever(f), f.has("abdominal_pain", "rlq_pain"))),
    Rule("chest_pain", "urgent", "cardiology", ("ECG", "Troponin I", "Lipid profile"),
         "chest pain", lambda f: None if chest_wall_young(f) else any_of(f.has("chest_pain"))),
    Rule("breathlessness", "urgent", "pulmonology", ("Chest X-ray", "CBC"),
         "breathlessness", lambda f: any_of(f.has("breathless"))),
    Rule("fever_3_days", "urgent", "general medicine",
         ("CBC", "Dengue NS1", "Malaria antigen", "Widal / Typhidot", "Urine routine"),
         "fever for three days or more",
         lambda f: [*has_fever(f), f"{days:g} days"]
         if has_fever(f) and (days := f.days_of("fever", "chills")) is not None and days >= 3 else None),
    Rule("high_fever", "urgent", "general medicine", ("CBC", "Dengue NS1", "Malaria antigen"),
         "a temperature of 103 F or more", lambda f: _temp(f, 103) or None),
    Rule("fever_child_or_elder", "urgent", "general medicine", ("CBC", "Urine routine"),
         "fever in a child under 5 (unless under 39 °C, for less than two days, with no other sign) or over 65",
         lambda f: has_fever(f) if aged(f, 65) or (aged(f, 0, 5) and not _mild_child_fever(f)) else None),
    Rule("fever_with_rash_or_pain", "urgent", "general medicine", ("CBC with platelet count", "Dengue NS1"),
         "fever with a rash, body or joint pain (dengue and chikungunya season)",
         lambda f: all_of(has_fever(f), f.has("rash", "nonblanching_rash", "joint_pain"))),
    Rule("dehydration", "urgent", "general medicine", ("Serum electrolytes", "Kidney function tests"),
         "signs of dehydration with vomiting or loose motions",
         lambda f: all_of(f.has("dehydration", "poor_feeding", "persistent_vomiting"),
                        f.has("vomiting", "diarrhoea", "persistent_vomiting", "poor_feeding"))),
    Rule("jaundice", "urgent", "gastroenterology", ("Liver function tests", "Hepatitis A/E IgM", "HBsAg"),
         "yellow eyes or skin", lambda f: any_of(f.has("jaundice"))),
    Rule("severe_abdominal_pain", "urgent", "general surgery", ("CBC", "Ultrasound abdomen", "Serum amylase"),
         "severe stomach pain",
         lambda f: any_of(f.has("severe_abdominal_pain")) or (f.has("abdominal_pain") if f.severe else None)),
    Rule("pregnancy_blood_pressure", "urgent", "obstetrics", ("Urine protein", "CBC", "Liver function tests"),
         "blood pressure of 140/90 or more in pregnancy",
         lambda f: [f"BP {f.bp[0]}/{f.bp[1]}"] if f.pregnant and f.bp and (f.bp[0] >= 140 or f.bp[1] >= 90) else None),
    Rule("pregnancy_symptoms", "urgent", "obstetrics", ("CBC", "Urine routine"),
         "symptoms during pregnancy",
         lambda f: [m.text for m in f.mentions if not m.negated and m.concept not in _PREGNANCY_USUAL]
         if f.pregnant else None),
    Rule("emergency_contraception", "urgent", "gynaecology", ("Urine pregnancy test",),
         "emergency contraception works best within 24 hours", lambda f: any_of(f.has("emergency_contraception"))),
    Rule("passive_suicidal_thoughts", "urgent", "psychiatry", (),
         "thoughts that others would be better off without you", lambda f: any_of(f.has("suicidal_passive"))),
    Rule("coughing_blood", "urgent", "pulmonology", ("Chest X-ray", "Sputum AFB / CBNAAT", "CBC"),
         "blood in the phlegm", lambda f: any_of(f.has("coughing_blood"))),
    Rule("skin_infection", "urgent", "general surgery", ("CBC", "Random blood sugar", "Pus culture"),
         "pus, an abscess or spreading redness", lambda f: any_of(f.has("skin_infection"))),
    Rule("painful_red_eye", "urgent", "ophthalmology", (),
         "a red or painful eye with blurred vision or light hurting the eye",
         lambda f: all_of(f.has("eye_problem"), f.has("photophobia", "blurred_vision"))),
    Rule("urine_infection_at_risk", "urgent", "urology", ("Urine routine", "Urine culture", "Random blood sugar"),
         "burning urination with diabetes, in pregnancy, in a man or after 65",
         lambda f: f.has("burning_urination") if f.has("burning_urination") and (f.diabetic or aged(f, 65))
         else None),
    Rule("high_blood_pressure", "urgent", "cardiology", ("Kidney function tests", "Urine routine", "ECG"),
         "blood pressure of 180/110 or more",
         lambda f: [f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] >= 180 or f.bp[1] >= 110) else None),
    Rule("high_sugar", "urgent", "endocrinology", ("Fasting blood sugar", "HbA1c", "Urine ketones"),
         "blood sugar of 250 or more", lambda f: [f"sugar {f.sugar}"] if f.sugar and f.sugar >= 250 else None),
    Rule("urine_infection_fever", "urgent", "general medicine", ("Urine routine", "Urine culture", "CBC"),
         "burning urination with fever", lambda f: all_of(f.has("burning_urination"), has_fever(f))),
    Rule("palpitations_dizzy", "urgent", "cardiology", ("ECG", "Thyroid profile", "Serum electrolytes"),
         "palpitations with dizziness", lambda f: all_of(f.has("palpitations"), f.has("dizziness"))),
    Rule("young_child_diarrhoea", "urgent", "paediatrics", ("Serum electrolytes", "Stool routine"),
         "loose motions or vomiting in a baby under one, or both in a child under five (dehydration comes fast)",
         lambda f: (f.has("diarrhoea", "vomiting", "persistent_vomiting") if aged(f, 0, 1)
                    else all_of(f.has("diarrhoea"), f.has("vomiting", "persistent_vomiting")) if aged(f, 0, 5)
                    else None)),
    Rule("young_infant_unwell", "urgent", "paediatrics", ("CBC",),
         "a baby under three months who is unwell", lambda f: any_of(f.has(*_ALL)) if aged(f, 0, 0.25) else None),
    # --- routine: a consultation in the coming days -------------------------------------------------------------
    Rule("long_cough", "routine", "pulmonology", ("Chest X-ray", "Sputum AFB / CBNAAT", "CBC"),
         "a cough for three weeks or more",
         lambda f: [*f.has("cough"), f"{days:g} days"] if f.has("cough") and (days := f.days_of("cough"))
         and days >= 21 else None),
    Rule("diabetes_symptoms", "routine", "endocrinology", ("Fasting blood sugar", "HbA1c", "Urine routine"),
         "thirst and frequent urination", lambda f: any_of(f.has("thirst_urination"))),
    Rule("ent_lasting", "routine", "ENT", ("CBC",),
         "sinus pain, a sore throat or ear trouble for a week or more, or a blocked nose for three weeks",
         lambda f: _lasting(f, "sinus", "sore_throat", "ear_pain")
         or (None if f.risk("allergy_pattern") else _lasting(f, "cold", days=21))),
    Rule("memory_decline", "routine", "neurology", ("Vitamin B12", "TSH", "CBC"),
         "memory or everyday skills slipping over months: worth a planned check (a sudden change is urgent)",
         lambda f: any_of(f.has("memory_decline"))),
    Rule("low_mood", "routine", "psychiatry", (),
         "low mood, loss of interest, anxiety or poor sleep", lambda f: any_of(f.has("low_mood"))),
    Rule("prostate_symptoms", "routine", "urology", ("PSA", "Urine routine", "Ultrasound KUB with prostate"),
         "a weak urine stream or dribbling", lambda f: any_of(f.has("prostate_symptoms"))),
    Rule("infertility", "routine", "gynaecology", ("AMH", "Thyroid profile (TSH, T3, T4)", "Prolactin"),
         "trying for a baby without success", lambda f: any_of(f.has("infertility"))),
    Rule("changing_mole", "routine", "dermatology", (),
         "a mole that changes", lambda f: any_of(f.has("mole_change"))),
    Rule("lump", "routine", "general surgery", ("Ultrasound of the lump",),
         "a lump or bulge", lambda f: None if f.has("stye", "insect_bite") else any_of(f.has("lump"))),
    Rule("rectal_bleeding", "routine", "general surgery", ("CBC", "Stool occult blood"),
         "blood with the stool", lambda f: any_of(f.has("rectal_bleeding"))),
    Rule("diabetic_nerve_symptoms", "routine", "endocrinology", ("HbA1c", "Vitamin B12", "Kidney function tests"),
         "tingling or burning feet with diabetes",
         lambda f: f.has("tingling_numbness", "burning_feet") if f.has("tingling_numbness", "burning_feet")
         and f.diabetic else None),
    Rule("tingling", "routine", "neurology", ("Vitamin B12", "HbA1c", "Thyroid profile (TSH, T3, T4)"),
         "tingling or numbness", lambda f: any_of(f.has("tingling_numbness"))),
    Rule("vision_problem", "routine", "ophthalmology", (),
         "blurred vision", lambda f: any_of(f.has("blurred_vision"))),
    Rule("antenatal_care", "routine", "obstetrics", ("CBC", "Blood grouping", "Urine routine", "Blood sugar", "TSH"),
         "pregnancy care and the first tests", lambda f: ["pregnant"] if f.pregnant else None),
    Rule("menstrual_problems", "routine", "gynaecology", ("CBC", "Thyroid profile (TSH, T3, T4)", "Ultrasound pelvis"),
         "heavy, irregular or painful periods, or discharge", lambda f: any_of(f.has("heavy_periods"))),
    Rule("acidity_lasting", "routine", "gastroenterology", ("H. pylori test", "CBC"),
         "acidity or heartburn for a week or more",
         lambda f: _lasting(f, "acidity")),
    Rule("constipation_lasting", "routine", "gastroenterology", ("Thyroid profile (TSH, T3, T4)", "CBC"),
         "constipation for a week or more",
         lambda f: _lasting(f, "constipation", days=21)),
    Rule("back_pain_lasting", "routine", "orthopaedics", ("Vitamin D", "Calcium", "X-ray lumbar spine"),
         "back pain for a week or more",
         lambda f: _lasting(f, "back_pain", "back_pain_strain")),
    Rule("skin_problem_lasting", "routine", "dermatology", (),
         "a skin problem for a week or more",
         lambda f: None if f.risk("allergy_pattern") or f.has("fungal_pattern") else _lasting(f, "skin_problem")),
    Rule("thyroid_symptoms", "routine", "endocrinology", ("Thyroid profile (TSH, T3, T4)", "CBC"),
         "tiredness, weight change or hair loss for two weeks or more, or together",
         lambda f: _lasting(f, "fatigue", "weight_change", "hair_loss", days=14)
         or (f.has(*_THYROID) if len({m.concept for m in f.symptoms() if m.concept in _THYROID}) >= 2 else None)),
    Rule("urine_symptoms", "routine", "general medicine", ("Urine routine", "Urine culture"),
         "burning urination", lambda f: any_of(f.has("burning_urination"))),
    Rule("joint_pain", "routine", "orthopaedics", ("Uric acid", "RA factor", "CRP", "Vitamin D"),
         "joint pain", lambda f: any_of(f.has("joint_pain"))),
    Rule("lasting_symptoms", "routine", "general medicine", ("CBC",),
         "symptoms for a week or more (two, for mild ones)", lambda f: _lasting_illness(f)),
    Rule("palpitations", "routine", "cardiology", ("ECG", "Thyroid profile"),
         "palpitations", lambda f: any_of(f.has("palpitations"))),
    Rule("loose_motions_lasting", "routine", "gastroenterology", ("Stool routine", "Serum electrolytes"),
         "loose motions for three days or more",
         lambda f: _lasting(f, "diarrhoea", days=3)),
    Rule("blood_pressure_raised", "routine", "cardiology", ("Lipid profile", "Kidney function tests"),
         "raised blood pressure (140/90 or more)",
         lambda f: [f"BP {f.bp[0]}/{f.bp[1]}"] if f.bp and (f.bp[0] >= 140 or f.bp[1] >= 90) else None),
)  # fmt: skip

# Among emergencies the specific cause names the specialty, so the generic signs (collapse, drowsiness, bleeding,
# a head injury) come after the specific rules.
GENERIC_LAST = ("head_injury_red_flags", "severe_bleeding", "collapse_or_seizure", "drowsy_with_illness",
                 "severe_breathlessness")  # fmt: skip
RULES = tuple(sorted(RULES, key=lambda r: r.level == "emergency" and r.id in GENERIC_LAST))

# Concepts that on their own, briefly, usually settle at home (with advice on when to seek help).
MILD = ("fever", "chills", "headache", "cough", "sore_throat", "cold", "body_ache", "vomiting", "diarrhoea",
        "abdominal_pain", "dizziness", "rash", "hives", "minor_cut", "insect_bite", "acidity", "constipation",
        "back_pain", "skin_problem", "eye_problem", "ear_pain", "burn_injury", "bleeding", "joint_pain", "sprain",
        "bloating", "bedwetting", "period_pain", "pregnancy_nausea", "snoring", "sunburn", "minor_injury",
        "mouth_ulcer", "back_pain_strain", "sinus", "wound", "stye", "thrush", "gastro", "allergy_pattern", "lice",
        "anorexia", "chest_wall", "chest_tender", "muscle_pain", "head_injury", "mucosal_bleeding", "antacid_relief",
        "cradle_cap", "insomnia", "teething", "drooling", "vasovagal", "acne", "fungal_pattern",
        "quick_recovery", "neck_strain", "cold_sore")  # fmt: skip

_ALL: tuple[str, ...] = tuple(CONCEPTS)
