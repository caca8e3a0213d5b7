"""Syndromes, not only symptoms: red-flag discriminators in the style of NHS Pathways, the Manchester Triage System
and NICE CKS, read from a note's findings, numbers, risk factors and time course. Each rule names the discriminator
in plain words and returns the words that fired it, as the symptom rules in ``rules.py`` do; ``ALL_RULES`` is both,
the syndromes first (the specific cause names the specialty), the generic emergency signs last.

Safety first: where a presentation sits between two levels the rule takes the higher one and says why; the highest
level that fires wins, so no later rule lowers an emergency."""

from __future__ import annotations

from core.triage import clinical
from core.triage.nlp import Findings
from core.triage.rules import GENERIC_LAST, RULES, Rule, aged, all_of, any_of, has_fever, non_cardiac_chest_pain

_INFECTION = ("cough", "burning_urination", "cellulitis", "skin_infection", "wound", "sore_throat", "ear_pain",
              "diarrhoea", "vomiting", "abdominal_pain", "flank_pain")  # fmt: skip


def _vital_red_flags(f: Findings) -> list[str]:
    """NICE NG51's high-risk signs of sepsis that a note gives as numbers or words."""
    words = []
    if f.hr is not None and f.hr > 130:
        words.append(f"heart rate {f.hr}")
    if f.rr is not None and f.rr >= 25:
        words.append(f"breathing rate {f.rr}")
    if f.bp is not None and f.bp[0] <= 90:
        words.append(f"BP {f.bp[0]}/{f.bp[1]}")
    if f.spo2 is not None and f.spo2 < 92:
        words.append(f"oxygen {f.spo2}%")
    if f.crt_s is not None and f.crt_s >= 3 and aged(f, 0, 12):
        words.append(f"capillary refill {f.crt_s:g} s")  # NG51 for children: 3 s or more
    return words + f.has("confusion", "cold_clammy", "nonblanching_rash")


def _news2_part(value: float | None, bands: tuple[tuple[float, int], ...]) -> int:
    """Points for one vital sign: ``bands`` are (upper bound, points) in rising order."""
    if value is None:
        return 0
    return next((points for upper, points in bands if value <= upper), bands[-1][1])


_NEWS2 = (  # Royal College of Physicians, NEWS2 (2017): each vital sign's bands of points (SpO2 scale 1)
    ("rr", ((8, 3), (11, 1), (20, 0), (24, 2), (999, 3))),
    ("spo2", ((91, 3), (93, 2), (95, 1), (100, 0))),
    ("systolic", ((90, 3), (100, 2), (110, 1), (219, 0), (999, 3))),
    ("hr", ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (999, 3))),
    ("temp_c", ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (99, 2))),
)


def news2(f: Findings) -> tuple[int, list[str]]:
    """The NEWS2 score of the vital signs a note gives (each missing one counts 0), with new drowsiness or
    confusion as 3; adults only (children's normal rates are higher). Returns the score and what gave it."""
    if f.age is not None and f.age < 16:
        return 0, []
    temp_c = round((f.temp_f - 32) * 5 / 9, 1) if f.temp_f is not None else None
    values = {"rr": f.rr, "spo2": f.spo2, "systolic": f.bp[0] if f.bp else None, "hr": f.hr, "temp_c": temp_c}
    said = {"rr": "breathing rate", "spo2": "oxygen", "systolic": "systolic BP", "hr": "heart rate", "temp_c": "T"}
    score, words = 0, []
    for name, bands in _NEWS2:
        points = _news2_part(values[name], bands)
        if points:
            score += points
            words.append(f"{said[name]} {values[name]:g}")
    if alert := f.has("drowsy", "confusion", "unconscious"):
        score, words = score + 3, words + alert[:1]
    return score, words


def _news2_high(f: Findings) -> list[str] | None:
    score, words = news2(f)
    return [f"NEWS2 {score}", *words] if score >= 7 else None


def _news2_medium(f: Findings) -> list[str] | None:
    score, words = news2(f)
    return [f"NEWS2 {score}", *words] if score >= 5 else None


_BLEEDS = (
    "mucosal_bleeding",
    "bleeding",
    "severe_bleeding",
    "black_stool",
    "vomiting_blood",
    "blood_in_urine",
    "nonblanching_rash",
    "coughing_blood",
    "rectal_bleeding",
    "vaginal_bleeding",
)


def _platelets_dangerous(f: Findings) -> list[str] | None:
    """A platelet count the person quotes: under 20,000, or under 50,000 with any bleeding (dengue's and ITP's
    warning signs)."""
    if f.platelets is None:
        return None
    if f.platelets < 20_000 or (f.platelets < 50_000 and f.has(*_BLEEDS)):
        return [f"platelets {f.platelets:,}", *f.has(*_BLEEDS)]
    return None


def _pregnancy_itch(f: Findings) -> list[str] | None:
    """Itching of the palms and soles in pregnancy, without a rash: obstetric cholestasis until a blood test says
    otherwise (RCOG)."""
    return f.has("palm_sole_itch") if f.pregnant and f.has("palm_sole_itch") else None


def _slowed_breathing(f: Findings) -> list[str] | None:
    """Breathing slowed or pausing with drowsiness, pinpoint pupils or a drug taken: opioid or sedative poisoning."""
    slow = f.has("slow_breathing") or ([f"breathing rate {f.rr}"] if f.rr is not None and f.rr <= 8 else [])
    if not slow:
        return None
    why = f.has("drowsy", "unconscious", "confusion", "pinpoint_pupils", "poisoning", "cyanosis")
    return [*slow, *why] if why else None


def _shunt_blocked(f: Findings) -> list[str] | None:
    """A brain shunt with headache, vomiting or drowsiness: a blocked shunt until shown otherwise (NICE CG117)."""
    shunt = f.risk("shunt")
    signs = f.has("headache", "vomiting", "persistent_vomiting", "drowsy", "confusion", "seizure")
    return [*shunt, *signs] if shunt and signs else None


def _qsofa(f: Findings) -> int:
    return sum((f.rr is not None and f.rr >= 22, f.bp is not None and f.bp[0] <= 100, bool(f.has("confusion"))))


def _sepsis(f: Findings) -> list[str] | None:
    fever = has_fever(f) or (["low temperature"] if f.temp_f is not None and f.temp_f < 96.8 else [])
    if not (fever or f.has(*_INFECTION)):
        return None
    flags = _vital_red_flags(f)
    if flags and (fever or _qsofa(f) >= 2 or f.has("cellulitis", "skin_infection", "burning_urination")):
        return [*fever, *flags]
    if fever and f.risk("immunosuppressed") and (f.days_of("fever") or 0) <= 7:
        return [*fever, *f.risk("immunosuppressed")]  # neutropenic sepsis until shown otherwise
    return None


def _chest_pain_at_risk(f: Findings) -> list[str] | None:
    """Chest pain at an age or with risks that make the heart its likeliest cause, unless the note shows it comes
    from the chest wall (tender to press, after exercise) or it has lasted weeks unchanged."""
    pain = f.has("chest_pain")
    if not pain or f.has("pleuritic_pain") or non_cardiac_chest_pain(f) or (f.days_of("chest_pain") or 0) >= 28:
        return None
    risks = f.risk("cardiac_risk", "diabetes")
    if aged(f, 40) or (risks and aged(f, 30)):
        return [*pain, *risks]
    return None


def _one_leg(f: Findings) -> list[str]:
    return f.has("calf_swelling")


def _dvt_at_risk(f: Findings) -> list[str] | None:
    """One leg swollen and painful, over 40 or with a reason for a clot; not a red, hot skin infection, and not
    a swelling that has been there a month."""
    leg = _one_leg(f)
    if not leg or (f.has("cellulitis") and not f.risk("dvt_risk")) or (f.days_of("calf_swelling") or 0) >= 28:
        return None
    return leg + f.risk("dvt_risk") if aged(f, 40) or f.risk("dvt_risk") else None


def _pe(f: Findings) -> list[str] | None:
    """Breathlessness with pleuritic pain, coughed blood or a fast pulse, and a reason for a clot."""
    breath = f.has("breathless", "severe_breathless")
    if not breath:
        return None
    signs = f.has("pleuritic_pain", "coughing_blood", "chest_pain") + (
        [f"heart rate {f.hr}"] if f.hr is not None and f.hr >= 100 else [])  # fmt: skip
    reason = _one_leg(f) + f.risk("dvt_risk") + (["sudden"] if f.sudden else [])
    return [*breath, *signs, *reason] if signs and reason else (breath + _one_leg(f) if _one_leg(f) else None)


def _renal_colic_or_aaa(f: Findings) -> list[str] | None:
    flank = f.has("flank_pain")
    groin = f.has("groin_radiation")
    eased = clinical.affirmed(clinical.EASED, " ".join(f.sentences)) and not has_fever(f) and not f.has("vomiting")
    if eased and not aged(f, 60):
        return None  # a kidney stone a painkiller has eased: seen today (kidney_stone_eased)
    if flank and (groin or f.severe or f.sudden):
        return [*flank, *groin]
    if groin and f.has("abdominal_pain", "back_pain", "flank_pain"):
        return groin + f.has("abdominal_pain", "back_pain")
    pain = f.has("abdominal_pain", "back_pain", "flank_pain")
    if pain and aged(f, 60) and (f.sudden and f.severe):
        return [*pain, "sudden and severe", "over 60"]  # an aortic aneurysm until shown otherwise
    return None


def _tetanus(f: Findings) -> list[str] | None:
    jaw = f.has("trismus")
    if jaw and (f.has("wound", "spasms", "minor_cut", "deep_wound", "animal_bite") or f.risk("unvaccinated")):
        return jaw + f.has("wound", "spasms", "minor_cut", "deep_wound") + f.risk("unvaccinated")
    if f.has("spasms") and f.has("wound", "minor_cut", "deep_wound") and f.risk("unvaccinated"):
        return f.has("spasms", "wound", "minor_cut", "deep_wound") + f.risk("unvaccinated")
    return None


def _hus(f: Findings) -> list[str] | None:
    """Bloody diarrhoea in a child, or diarrhoea followed by little urine with pallor, swelling or red urine."""
    bloody = f.has("bloody_diarrhoea")
    after = f.has("dehydration", "pallor", "swelling_limbs", "blood_in_urine", "blood_in_urine_colour", "drowsy")
    if bloody and (aged(f, 0, 16) or after):
        return bloody + after
    if f.has("diarrhoea", "bloody_diarrhoea") and f.has("dehydration") and f.has(
            "pallor", "swelling_limbs", "blood_in_urine", "blood_in_urine_colour"):  # fmt: skip
        return f.has("diarrhoea") + after
    return None


def _malaria_like(f: Findings) -> list[str] | None:
    """High fever with rigors that has gone on for five days or is not improving, or fever after travel to a
    malaria area: malaria and other serious fevers must be ruled out today."""
    fever = has_fever(f)
    if not fever:
        return None
    days = f.days_of("fever", "chills")
    lasting = days is not None and days >= 5
    rigors = f.has("chills")
    if rigors and (lasting or f.despite_treatment):
        return [*fever, *rigors, f"{days:g} days" if lasting and days else "not improving"]
    severe = f.has("jaundice", "confusion", "drowsy", "breathless", "persistent_vomiting", "blood_in_urine_colour")
    if f.risk("malaria_travel") and severe:
        return [*fever, *f.risk("malaria_travel"), *severe]  # severe malaria's signs
    return None


def _tick_borne(f: Findings) -> list[str] | None:
    """Fever with a rash or headache after a tick bite; after woods or long grass without a tick seen, fever with
    both a rash and a headache. An expanding ring-shaped rash alone is Lyme disease (a doctor, not an ambulance)."""
    fever, tick, outdoors = has_fever(f), f.risk("tick_exposure"), f.risk("outdoor_exposure")
    if not fever or (f.has("bullseye_rash") and not f.has("nonblanching_rash", "confusion", "neck_stiffness")):
        return None
    if tick and f.has("rash", "nonblanching_rash", "headache", "body_ache"):
        return [*fever, *tick, *f.has("rash", "nonblanching_rash", "headache")]
    if outdoors and f.has("rash", "nonblanching_rash") and f.has("headache"):
        return [*fever, *outdoors, *f.has("rash", "nonblanching_rash", "headache")]
    return None


def _silent_heart_attack(f: Findings) -> list[str] | None:
    """A heart attack without chest pain (diabetes, women, older people): jaw, arm or between-the-shoulder-blade pain
    with clamminess, sweating, nausea, breathlessness or dizziness, at 40 or over."""
    pain = f.has("radiating_pain")
    company = f.has("cold_clammy", "sweating", "pregnancy_nausea", "breathless", "dizziness")
    if pain and company and aged(f, 40):
        return pain + company
    return None


def _asthma_copd_worse(f: Findings) -> list[str] | None:
    """Known asthma or COPD — or a smoker's long-standing cough, COPD in all but name — with breathlessness getting
    worse or not helped by inhalers, or fast breathing, low oxygen or a racing pulse."""
    smokers_cough = f.risk("smoker") if f.has("cough") and (f.days_of("cough") or 0) >= 60 else []
    lungs = f.risk("asthma_copd") + f.has("wheeze") + smokers_cough
    breath = f.has("breathless", "wheeze", "cough")
    if not (lungs and breath):
        return None
    if f.despite_treatment or (f.worsening and f.has("breathless")):
        return [*lungs, *breath, "despite treatment" if f.despite_treatment else "getting worse"]
    if (f.rr is not None and f.rr >= 25) or (f.spo2 is not None and f.spo2 < 94) or (f.hr is not None and f.hr >= 110):
        return [*lungs, *breath, *_vital_red_flags(f)]
    return None


def _pneumonia_severe(f: Findings) -> list[str] | None:
    """CURB-65-style: a chest infection with confusion, fast breathing, low pressure or age 65 and over."""
    chest = all_of(f.has("cough"), f.has("breathless", "chest_pain", "pleuritic_pain"))
    if not (chest and has_fever(f)):
        return None
    if f.has("confusion") or (f.rr is not None and f.rr >= 30) or (f.bp is not None and f.bp[0] < 90):
        return chest + f.has("confusion")
    if aged(f, 65) and f.has("breathless"):
        return [*chest, "over 65"]
    return None


def _ectopic(f: Findings) -> list[str] | None:
    early = f.has("missed_period") or (["pregnant"] if f.pregnant else [])
    if f.sex == "male" or not early:
        return None
    pain = f.has("abdominal_pain", "rlq_pain", "severe_abdominal_pain", "flank_pain")
    if pain and (f.has("vaginal_bleeding", "bleeding", "dizziness", "unconscious", "shoulder_tip")
                 or f.has("missed_period")):  # fmt: skip
        return early + pain + f.has("vaginal_bleeding", "bleeding", "dizziness", "unconscious", "shoulder_tip")
    return None


def _torsion(f: Findings) -> list[str] | None:
    pain = f.has("testicular_pain")
    if pain and (f.sudden or f.severe or aged(f, 0, 26) or f.has("vomiting", "abdominal_pain")):
        return pain
    return None


def _upper_abdomen_surgical(f: Findings) -> list[str] | None:
    """Pancreatitis, cholecystitis, a perforation: constant upper abdominal pain through to the back with vomiting,
    or with fever and jaundice, or with a fast pulse or low pressure."""
    pain = f.has("abdominal_pain", "severe_abdominal_pain", "rlq_pain")
    if not pain:
        return None
    if f.has("radiating_back"):
        return pain + f.has("radiating_back")
    if has_fever(f) and f.has("jaundice"):
        return pain + f.has("jaundice")
    shocked = (f.hr is not None and f.hr >= 120) or (f.bp is not None and f.bp[0] < 90)
    return [*pain, *_vital_red_flags(f)] if shocked and _vital_red_flags(f) else None


def _breathless_worsening(f: Findings) -> list[str] | None:
    """Breathlessness that has come on or got worse over hours or days."""
    breath = f.has("breathless")
    days = f.days_of("breathless")
    if breath and f.worsening and (days is None or days <= 7):
        return [*breath, "getting worse"]
    return None


def _angle_closure(f: Findings) -> list[str] | None:
    eye = f.has("eye_problem")
    if eye and (f.sudden or f.severe) and f.has("blurred_vision", "vision_loss"):
        return eye + f.has("blurred_vision", "vision_loss", "vomiting", "headache")
    return None


def _epiglottitis(f: Findings) -> list[str] | None:
    """Fever with drooling or not swallowing even saliva, and a muffled voice, sitting forward, or stridor."""
    throat = f.has("drooling", "cannot_swallow")
    posture = f.has("muffled_voice", "swelling_throat")
    if has_fever(f) and throat and (posture or (f.has("drooling") and f.has("cannot_swallow"))):
        return [*has_fever(f), *throat, *posture]
    return None


def _necrotising_infection(f: Findings) -> list[str] | None:
    """A skin infection or wound with pain out of proportion to how it looks, dusky skin or crepitus."""
    skin = f.has("cellulitis", "skin_infection", "wound", "minor_cut", "deep_wound")
    worse = f.has("out_of_proportion")
    return skin + worse if skin and worse else None


def _sepsis_amber(f: Findings) -> list[str] | None:
    """NICE NG51: two moderate-to-high-risk signs with an infection are treated as high risk."""
    fever = has_fever(f)
    if not (fever or f.has(*_INFECTION)):
        return None
    amber = [word for word, sign in (
        (f"heart rate {f.hr}", f.hr is not None and f.hr >= 91),
        (f"breathing rate {f.rr}", f.rr is not None and f.rr >= 21),
        (f"BP {f.bp[0]}/{f.bp[1]}" if f.bp else "", f.bp is not None and f.bp[0] <= 100),
        ("low temperature", f.temp_f is not None and f.temp_f < 96.8),
    ) if sign]  # fmt: skip
    return [*fever, *amber] if len(amber) >= 2 and fever else None


def _liver_failure(f: Findings) -> list[str] | None:
    yellow = f.has("jaundice")
    worse = f.has("confusion", "drowsy", "vomiting_blood", "mucosal_bleeding", "black_stool")
    return yellow + worse if yellow and worse else None


def _heavy_rectal_bleeding(f: Findings) -> list[str] | None:
    blood = f.has("rectal_bleeding", "bloody_diarrhoea")
    faint = f.has("dizziness", "unconscious", "pallor") + (
        [f"heart rate {f.hr}"] if f.hr is not None and f.hr >= 110 else [])  # fmt: skip
    return blood + faint if blood and faint and not aged(f, 0, 16) else None


def _dka(f: Findings) -> list[str] | None:
    sugar = f.risk("diabetes") + (["high sugar"] if f.sugar is not None and f.sugar >= 250 else [])
    sick = f.has("vomiting", "persistent_vomiting", "abdominal_pain", "fruity_breath")
    if sugar and sick and (f.has("thirst_urination", "fruity_breath", "breathless", "drowsy", "confusion")
                           or (f.sugar is not None and f.sugar >= 250)):  # fmt: skip
        return sugar + sick
    return None


def _anaphylaxis_after_sting(f: Findings) -> list[str] | None:
    allergy = f.has("hives", "insect_bite", "rash")
    system = f.has("dizziness", "unconscious", "swelling_throat", "severe_breathless", "wheeze")
    return allergy + system if allergy and system and f.has("hives", "swelling_throat") else None


SYNDROMES: tuple[Rule, ...] = (
    # --- emergency ---------------------------------------------------------------------------------------------
    Rule("sepsis_signs", "emergency", "emergency medicine", ("CBC", "CRP", "Blood culture", "Serum lactate"),
         "signs of infection with a very fast pulse or breathing, low blood pressure, low oxygen, confusion or "
         "mottled skin, or fever during chemotherapy or other weakened immunity (sepsis)", _sepsis),
    Rule("sepsis_two_amber_signs", "emergency", "emergency medicine", ("CBC", "CRP", "Blood culture", "Serum lactate"),
         "fever with two of: a pulse over 90, breathing over 20 a minute, top blood pressure 100 or under, a low "
         "temperature (NICE's sepsis guidance treats this as high risk)", _sepsis_amber),
    Rule("slowed_breathing", "emergency", "emergency medicine", (),
         "breathing slowed or pausing with drowsiness, tiny pupils or a drug taken (opioid or sedative poisoning): "
         "call an ambulance, remove any skin patch and keep them on their side", _slowed_breathing),
    Rule("platelets_very_low", "emergency", "haematology", ("CBC with platelet count", "Peripheral smear"),
         "a platelet count under 20,000, or under 50,000 with bleeding: the hospital today, now", _platelets_dangerous),
    Rule("blocked_shunt_signs", "emergency", "neurosurgery", (),
         "a brain shunt with headache, vomiting or drowsiness: a blocked shunt needs the hospital now", _shunt_blocked),
    Rule("epiglottitis_signs", "emergency", "ENT", (),
         "fever with drooling or unable to swallow, a muffled voice or sitting forward to breathe: keep the child "
         "calm and upright, do not look in the throat", _epiglottitis),
    Rule("necrotising_infection_signs", "emergency", "general surgery", ("CBC", "CRP", "Serum lactate", "CPK"),
         "a wound or skin infection with pain far worse than it looks, dusky skin or crackling under the skin",
         _necrotising_infection),
    Rule("heart_cause_chest_pain", "emergency", "cardiology", ("ECG", "Troponin I", "CK-MB"),
         "chest pain at an age or with risks (diabetes, blood pressure, smoking, heart disease) that make the heart "
         "its likeliest cause, until an ECG shows otherwise", _chest_pain_at_risk),
    Rule("heart_attack_without_chest_pain", "emergency", "cardiology", ("ECG", "Troponin I", "CK-MB"),
         "jaw, arm or upper back pain with clamminess, sweating, nausea, breathlessness or dizziness at 40 or over: a "
         "heart attack can come without chest pain", _silent_heart_attack),
    Rule("pulmonary_embolism_signs", "emergency", "pulmonology", ("D-dimer", "CT pulmonary angiogram", "ECG"),
         "breathlessness with chest pain on breathing, coughed blood or a fast pulse, and a reason for a clot "
         "(a swollen leg, recent surgery or travel, the pill, cancer)", _pe),
    Rule("dvt_at_risk", "emergency", "general medicine", ("D-dimer", "Doppler ultrasound of leg veins"),
         "one leg swollen and painful, over 40 or with a reason for a clot: a clot in the leg (DVT) can travel to "
         "the lungs and must be checked today",
         _dvt_at_risk),
    Rule("aortic_dissection_signs", "emergency", "cardiology", ("CT aortogram", "ECG"),
         "a tearing or ripping pain in the chest, back or belly",
         lambda f: all_of(f.has("tearing_pain"), f.has("chest_pain", "back_pain", "abdominal_pain", "tearing_pain"))),
    Rule("renal_colic_or_aneurysm", "emergency", "urology",
         ("Urine routine", "Ultrasound KUB", "Kidney function tests"),
         "severe or sudden pain in the side or back spreading to the groin (a kidney stone, or over 60 an aortic "
         "aneurysm until shown otherwise)", _renal_colic_or_aaa),
    Rule("tetanus_signs", "emergency", "emergency medicine", (),
         "a stiff jaw or muscle spasms after a wound, or without tetanus vaccination", _tetanus),
    Rule("hus_signs", "emergency", "paediatrics", ("CBC", "Kidney function tests", "Peripheral smear"),
         "bloody diarrhoea in a child, or after diarrhoea: little urine, paleness, puffiness or red urine "
         "(haemolytic uraemic syndrome)", _hus),
    Rule("malaria_or_serious_fever", "emergency", "general medicine",
         ("Malaria antigen", "Peripheral smear for malaria", "CBC", "Dengue NS1"),
         "high fever with rigors for five days or not improving, or fever after travel to a malaria area",
         _malaria_like),
    Rule("tick_borne_fever", "emergency", "general medicine", ("CBC with platelet count", "Liver function tests"),
         "fever with a rash or headache after a tick bite or time in woods or long grass (spotted fever)",
         _tick_borne),
    Rule("severe_asthma_or_copd", "emergency", "pulmonology", ("SpO2", "Peak flow", "Chest X-ray", "ABG"),
         "asthma or COPD with breathlessness getting worse or not helped by inhalers, or fast breathing or low "
         "oxygen", _asthma_copd_worse),
    Rule("severe_pneumonia_signs", "emergency", "pulmonology", ("Chest X-ray", "CBC", "CRP", "Blood culture"),
         "a chest infection with confusion, very fast breathing, low blood pressure, or breathlessness over 65",
         _pneumonia_severe),
    Rule("ectopic_pregnancy_signs", "emergency", "obstetrics", ("Urine pregnancy test", "Serum beta-hCG",
                                                                "Ultrasound pelvis"),
         "tummy pain with a missed period or early pregnancy, with bleeding or dizziness (an ectopic pregnancy "
         "until shown otherwise)", _ectopic),
    Rule("testicular_torsion_young", "emergency", "urology", ("Ultrasound scrotum with Doppler",),
         "testicle pain that is sudden, severe, with vomiting or in a young man (torsion must be ruled out within "
         "hours)", _torsion),
    Rule("upper_abdomen_surgical", "emergency", "general surgery", ("CBC", "Serum lipase", "Liver function tests",
                                                                    "Ultrasound abdomen"),
         "stomach pain through to the back with vomiting, with fever and jaundice, or with a racing pulse or low "
         "blood pressure", _upper_abdomen_surgical),
    Rule("sudden_breathlessness", "emergency", "pulmonology", ("SpO2", "ECG", "Chest X-ray", "D-dimer"),
         "breathlessness that came on suddenly (NHS: call an ambulance)",
         lambda f: f.has("breathless") if f.said_with("breathless", (clinical.SUDDEN_WORD,)) else None),
    Rule("breathlessness_getting_worse", "emergency", "pulmonology", ("SpO2", "Chest X-ray", "ECG"),
         "breathlessness that has come on or got worse over hours or days", _breathless_worsening),
    Rule("acute_glaucoma_signs", "emergency", "ophthalmology", (),
         "a sudden or severe painful red eye with blurred vision, headache or vomiting", _angle_closure),
    Rule("red_urine_with_jaundice_or_muscle_pain", "emergency", "general medicine",
         ("Urine routine", "CPK", "Kidney function tests", "CBC", "Peripheral smear"),
         "red or dark urine with jaundice or with aching, weak muscles (red cells or muscle breaking down)",
         lambda f: all_of(f.has("blood_in_urine", "blood_in_urine_colour"), f.has("jaundice", "muscle_pain"))),
    Rule("acute_liver_failure_signs", "emergency", "gastroenterology", ("Liver function tests", "PT/INR"),
         "jaundice with confusion, drowsiness or bleeding", _liver_failure),
    Rule("heavy_rectal_bleeding", "emergency", "general surgery", ("CBC", "Blood grouping", "PT/INR"),
         "bleeding from the back passage with dizziness, fainting, paleness or a racing pulse",
         _heavy_rectal_bleeding),
    Rule("diabetic_ketoacidosis_risk", "emergency", "endocrinology",
         ("Random blood sugar", "Urine ketones", "Serum electrolytes", "ABG"),
         "diabetes or a very high sugar with vomiting, stomach pain, fast breathing or drowsiness", _dka),
    Rule("anaphylaxis_after_sting", "emergency", "emergency medicine", (),
         "hives or swelling with dizziness, fainting or breathing trouble", _anaphylaxis_after_sting),
    Rule("hip_fracture_signs", "emergency", "orthopaedics", ("X-ray pelvis and hip",),
         "after a fall, cannot get up, or a leg that looks short or turned out (a broken hip): do not move them",
         lambda f: f.has("hip_fracture_signs") + f.has("cannot_get_up")
         if f.has("hip_fracture_signs") or (f.has("cannot_get_up") and aged(f, 60)) else None),
    Rule("drowning", "emergency", "emergency medicine", ("Chest X-ray", "SpO2"),
         "after being under water, even if well now (breathing can worsen hours later)",
         lambda f: any_of(f.has("drowning"))),
    Rule("electric_shock", "emergency", "emergency medicine", ("ECG", "CPK"),
         "an electric shock with a fall, fainting, palpitations, chest pain, a burn or confusion, or a high-voltage "
         "one",
         lambda f: f.has("electric_shock") if f.has("electric_shock") and not f.mild else None),
    Rule("imci_danger_signs", "emergency", "paediatrics", ("SpO2", "Chest X-ray", "CBC"),
         "a child under five breathing fast with not feeding, drowsiness or chest indrawing (WHO IMCI danger signs)",
         lambda f: all_of(f.has("breathless", "severe_breathless"),
                          f.has("poor_feeding", "drowsy", "severe_breathless")) if aged(f, 0, 5) else None),
    Rule("danger_vital_signs", "emergency", "emergency medicine", ("ECG", "SpO2", "Serum electrolytes"),
         "a breathing rate of 30 or more, or a pulse over 140 or under 40",
         lambda f: ([f"breathing rate {f.rr}"] if f.rr is not None and f.rr >= 30 else [])
         + ([f"heart rate {f.hr}"] if f.hr is not None and (f.hr > 140 or f.hr < 40) else []) or None),
    Rule("recent_red_flag_episode", "urgent", "general medicine", ("ECG", "Random blood sugar"),
         "a warning sign that came and went a day or more ago (a TIA or a chest pain at rest): a doctor today, and "
         "an ambulance at once if it comes back", lambda f: any_of(f.settled_episode)),
    Rule("dental_infection_signs", "urgent", "dentistry", (),
         "tooth pain with a swollen face or gum, or fever (a dental abscess)",
         lambda f: all_of(f.has("dental"), has_fever(f) + (f.has("dental") if len(set(f.has("dental"))) > 1 else []))),
    # --- urgent: a doctor within 24 hours ------------------------------------------------------------------------
    Rule("platelets_low", "urgent", "haematology", ("CBC with platelet count", "Peripheral smear"),
         "a platelet count under 100,000: a doctor within 24 hours (sooner with any bleeding)",
         lambda f: [f"platelets {f.platelets:,}"] if f.platelets is not None and f.platelets < 100_000 else None),
    Rule("itching_in_pregnancy", "urgent", "obstetrics", ("Liver function tests", "Serum bile acids"),
         "itching of the palms and soles in pregnancy: a blood test within 24 hours", _pregnancy_itch),
    Rule("croup_signs", "urgent", "paediatrics", (),
         "a barking cough (croup): a doctor today; call an ambulance if the noisy breathing is there at rest, the "
         "skin between the ribs pulls in, or the child is drowsy or blue", lambda f: any_of(f.has("croup"))),
    Rule("strep_throat_signs", "urgent", "ENT", ("Throat swab", "CBC"),
         "a sore throat with fever and pus on the tonsils, swollen glands or in a child (it may need antibiotics)",
         lambda f: all_of(f.has("sore_throat"), has_fever(f), f.has("tonsil_signs", "swollen_glands")
                        or (["child"] if aged(f, 0, 16) else []))),
    Rule("ear_infection_signs", "urgent", "ENT", (),
         "ear pain with fever, or in a child",
         lambda f: all_of(f.has("ear_pain"), has_fever(f) or (["child"] if aged(f, 0, 16) else []))),
    Rule("cellulitis_signs", "urgent", "general surgery", ("CBC", "CRP", "Random blood sugar"),
         "red, hot, tender or spreading skin (an infection, cellulitis, that needs antibiotics)",
         lambda f: f.has("cellulitis") if f.has("cellulitis") and not f.has("sunburn", "eye_problem", "burn_injury")
         else None),
    Rule("bloody_diarrhoea", "urgent", "gastroenterology", ("Stool routine", "Stool culture", "CBC"),
         "bloody diarrhoea", lambda f: any_of(f.has("bloody_diarrhoea"))),
    Rule("stiff_jaw", "urgent", "general medicine", (),
         "a jaw that will not open fully", lambda f: any_of(f.has("trismus"))),
    Rule("kidney_infection_signs", "urgent", "urology", ("Urine routine", "Urine culture", "CBC"),
         "pain in the side with fever or burning urination (a kidney infection)",
         lambda f: all_of(f.has("flank_pain"), has_fever(f) + f.has("burning_urination"))),
    Rule("lyme_rash", "urgent", "general medicine", (),
         "a spreading ring-shaped rash after a tick bite (Lyme disease needs antibiotics)",
         lambda f: f.has("bullseye_rash") if f.has("bullseye_rash") and not f.has("fungal_pattern") else None),
    Rule("kidney_stone_eased", "urgent", "urology", ("Urine routine", "Ultrasound KUB", "Kidney function tests"),
         "pain in the side spreading to the groin that a painkiller has eased (a kidney stone to be seen today)",
         lambda f: all_of(f.has("flank_pain"), f.has("groin_radiation"))),
    Rule("fever_after_travel", "urgent", "general medicine", ("Malaria antigen", "CBC", "Dengue NS1"),
         "fever after travel to a malaria area", lambda f: all_of(has_fever(f), f.risk("malaria_travel"))),
    Rule("abdominal_pain_getting_worse", "urgent", "general surgery", ("CBC", "CRP", "Ultrasound abdomen"),
         "stomach pain that is getting worse, or with vomiting and no appetite",
         lambda f: f.has("abdominal_pain", "rlq_pain")
         if f.has("abdominal_pain", "rlq_pain") and (f.worsening or all_of(f.has("vomiting"), f.has("anorexia")))
         else None),
    Rule("breast_infection_signs", "urgent", "general surgery", ("CBC", "Ultrasound breast"),
         "a painful, red or swollen breast with fever (mastitis or an abscess)",
         lambda f: all_of(f.has("breast_problem"), has_fever(f))),
    Rule("genital_discharge", "urgent", "general medicine", ("Urine routine", "NAAT for chlamydia and gonorrhoea"),
         "a discharge from the penis or a foul-smelling discharge (an infection to treat and test for)",
         lambda f: any_of(f.has("genital_discharge"))),
    # --- routine --------------------------------------------------------------------------------------------
    Rule("new_abdominal_pain_over_50", "routine", "gastroenterology", ("CBC", "Ultrasound abdomen"),
         "stomach pain that is new after 50", lambda f: f.has("abdominal_pain") if aged(f, 50) else None),
    Rule("breast_problem", "routine", "general surgery", ("Ultrasound breast",),
         "a breast lump, pain, swelling or discharge", lambda f: any_of(f.has("breast_problem"))),
    Rule("sleep_apnoea_signs", "routine", "ENT", (),
         "loud snoring with pauses in breathing", lambda f: any_of(f.has("sleep_apnoea"))),
    Rule("vertigo_spells", "routine", "ENT", (),
         "spells of dizziness or the room spinning for three days or more",
         lambda f: f.has("dizziness") if (f.days_of("dizziness") or 0) >= 3 else None),
    Rule("acne_scarring_or_not_helped", "routine", "dermatology", (),
         "acne that scars or has not got better with what you tried",
         lambda f: f.has("acne") if f.has("acne") and (f.despite_treatment or f.has("scarring")) else None),
    Rule("chronic_skin_condition", "routine", "dermatology", (),
         "plaques with silvery scales or pitted nails (psoriasis) or a long-standing eczema",
         lambda f: any_of(f.has("psoriasis"))),
    Rule("hormonal_signs", "routine", "gynaecology", ("LH/FSH", "Testosterone", "Ultrasound pelvis", "TSH"),
         "infrequent periods or new facial hair (a hormone problem such as PCOS)",
         lambda f: any_of(f.has("hirsutism"))),
    Rule("tooth_pain", "routine", "dentistry", (), "tooth pain", lambda f: any_of(f.has("dental"))),
    Rule("throat_and_glands_lasting", "routine", "general medicine", ("CBC", "Monospot / EBV serology"),
         "a sore throat with swollen glands and tiredness (glandular fever)",
         lambda f: all_of(f.has("sore_throat"), f.has("swollen_glands"), f.has("fatigue"))),
)  # fmt: skip

# Vital signs alone, as an early-warning score reads them: after every specific cause, before the generic signs.
VITAL_SIGNS: tuple[Rule, ...] = (
    Rule("early_warning_score_high", "emergency", "emergency medicine", ("CBC", "Serum lactate", "ECG"),
         "vital signs that together score 7 or more on NEWS2 (the early-warning score hospitals use)", _news2_high),
    Rule("early_warning_score_raised", "urgent", "general medicine", ("CBC",),
         "vital signs that score 5 or more on NEWS2: a doctor today", _news2_medium),
)  # fmt: skip

ALL_RULES: tuple[Rule, ...] = tuple(
    sorted((*SYNDROMES, *RULES, *VITAL_SIGNS), key=lambda r: r.level == "emergency" and r.id in GENERIC_LAST)
)
