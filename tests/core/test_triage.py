"""Symptom triage: negation in English, Hindi and Hinglish; each red-flag rule fires on its words and not on a
near-miss; age and duration modifiers; numbers read from the text; bad input refused clearly; an emergency never
offers only a booking; the development vignettes (every emergency recognised)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.i18n import text
from core.triage.assess import assess
from core.triage.nlp import read

VIGNETTES = Path(__file__).parents[1] / "data" / "triage" / "vignettes.jsonl"


@pytest.mark.parametrize(
    ("text", "absent", "present"),
    [
        ("no chest pain, only a cold", "chest_pain", "cold"),
        ("denies fever. headache since morning", "fever", "headache"),
        ("bukhar nahi hai, sir dard hai", "fever", "headache"),
        ("बुखार नहीं है, सिर दर्द है", "fever", "headache"),
        ("without vomiting but stomach pain", "vomiting", "abdominal_pain"),
    ],
)
def test_negation(text: str, absent: str, present: str) -> None:
    found = read(text)
    assert not [m for m in found.mentions if m.concept == absent and not m.negated], text
    assert [m for m in found.mentions if m.concept == present and not m.negated], text


RED_FLAGS = [
    ("heart_attack_signs", "chest pain and cold sweat", "chest pain after lifting, no sweating, no breathlessness"),
    ("stroke_signs", "his face is drooping and speech is slurred", "my face feels puffy in the morning"),
    ("gi_bleeding", "I vomited blood twice", "I vomited twice after dinner"),
    ("severe_bleeding", "heavy bleeding from a cut that won't stop", "a small cut, bleeding stopped"),
    ("anaphylaxis", "my tongue swelling after a bee sting", "itchy skin after a bee sting"),
    ("suicidal_thoughts", "I want to kill myself", "I am tired of my job"),
    ("meningitis_signs", "fever and a stiff neck", "stiff shoulder after gym, no fever"),
    ("young_infant_fever", "my 5 week old has fever", "my 5 year old has fever"),
    ("sudden_worst_headache", "sudden severe headache, worst headache of my life", "mild headache since morning"),
    ("low_oxygen", "spo2 86 at home", "spo2 98 at home"),
    ("diabetic_emergency", "sugar 520", "sugar 140 after lunch"),
    ("pregnancy_warning", "I am pregnant and water broke", "I am pregnant and feeling happy"),
    ("dengue_warning", "fever with bleeding gums", "bleeding gums when brushing, no fever"),
    ("collapse_or_seizure", "he had fits", "I feel fit and well"),
    (
        "heart_attack_signs",
        "my chest feels heavy and the pain goes to my jaw",
        "my chest feels fine, jaw pain after a filling",
    ),
    ("severe_breathing_difficulty", "asthma attack, inhaler not helping", "asthma is well controlled with my inhaler"),
    ("severe_breathing_difficulty", "her lips are turning blue", "her lips are dry and cracked"),
    ("poisoning_or_overdose", "my son drank kerosene by mistake", "my son drank a lot of water"),
    ("poisoning_or_overdose", "she took 30 sleeping pills", "she took 1 sleeping pill last night"),
    ("snake_or_scorpion_bite", "a snake bit him on the foot", "saw a snake in the garden"),
    ("head_injury_red_flags", "hit my head and vomited twice", "hit my head on the cupboard, a small bump"),
    ("acute_abdomen", "severe stomach pain and vomiting", "mild stomach pain after lunch"),
    ("acute_abdomen", "pain in the lower right side of my belly and fever", "lower right back pain after gym"),
    ("testicular_torsion_signs", "sudden pain in my testicle", "itching near the groin"),
    ("sudden_vision_loss", "I suddenly cannot see from my left eye", "my eyes are a bit red"),
    ("cauda_equina_signs", "back pain and I can't control urine", "back pain after lifting, no other problem"),
    (
        "slowed_breathing",
        "he took his sleeping pills and now his breathing is slow and he is drowsy",
        "breathing slowly and deeply to relax before sleep",
    ),
    (
        "blocked_shunt_signs",
        "has a VP shunt and has been vomiting with a headache since morning",
        "headache after a long day at the screen",
    ),
    ("early_warning_score_high", "HR 135, RR 28, SpO2 90%", "HR 88, RR 16, SpO2 98%"),
    ("platelets_very_low", "my platelets came 12000 today", "platelets 2.1 lakh, normal"),
    ("acute_urinary_retention", "he cannot pass urine since morning despite the urge", "peeing often at night"),
    ("diabetic_ketoacidosis_signs", "very thirsty, peeing a lot and vomiting", "very thirsty after playing cricket"),
    ("drowsy_with_illness", "fever and he is very drowsy", "I slept badly and feel a bit tired"),
    ("stroke_signs", "he can't lift his right arm", "he can lift his arm but it aches"),
    ("anaphylaxis", "after the injection her lips are swelling", "pain in my hips after a fall"),
    ("pregnancy_warning", "I am 6 weeks pregnant, stomach pain and I feel faint", "I am pregnant and a bit tired"),
    ("very_high_fever", "temp 105.4", "temp 100.2"),
    (
        "atypical_heart_attack",
        "she says it is gas but she is sweating and can't catch her breath",
        "a bit of gas after lunch, no sweating",
    ),
    ("cardiac_syncope", "he passed out after his heart was racing", "he felt his heart racing after coffee"),
    ("child_swallowed_medicine", "my 3 year old ate some tablets from the drawer", "I ate my tablets after breakfast"),
    ("bowel_obstruction_signs", "belly is swollen and hard, not passing gas, green vomit", "a bit of gas after rajma"),
    ("chemical_in_eye", "chuna went into his eye", "my eyes are tired after the laptop"),
    (
        "major_burn",
        "the pressure cooker burst and her face is burnt",
        "a small burn on my finger from the pressure cooker",
    ),
    ("severe_breathlessness", "severe difficulty in breathing", "mild breathlessness when I climb stairs"),
    ("shock_blood_pressure", "BP 80/50 and dizzy", "BP 120/80 and dizzy"),
    ("dengue_warning", "fever for 5 days, vomiting again and again", "vomiting once after a heavy meal"),
]


def test_every_emergency_rule_has_a_red_flag_case() -> None:
    from core.triage.rules import RULES

    emergency = {r.id for r in RULES if r.level == "emergency"}
    assert emergency <= {case[0] for case in RED_FLAGS}


@pytest.mark.parametrize(("rule", "fires", "near_miss"), RED_FLAGS, ids=[r[0] for r in RED_FLAGS])
def test_each_red_flag_fires_on_its_words_and_not_on_a_near_miss(rule: str, fires: str, near_miss: str) -> None:
    hit = assess(fires)
    assert hit.level == "emergency" and rule in [r.rule for r in hit.reasons], hit
    assert rule not in [r.rule for r in assess(near_miss).reasons]
    words = next(r.words for r in hit.reasons if r.rule == rule)
    assert words  # the reason names the words it fired on


@pytest.mark.parametrize(
    ("text", "concept"),
    [("feaver and hedache", "fever"), ("feaver and hedache", "headache"), ("chest pian", "chest_pain"),
     ("vomitting since morning", "vomiting"), ("he vomited twice", "vomiting"), ("diarrea", "diarrhoea"),
     ("sweting a lot", "sweating"), ("breathing problm", "breathless")],
)  # fmt: skip
def test_misspellings_and_word_forms_are_understood(text: str, concept: str) -> None:
    assert read(text).has(concept), text


@pytest.mark.parametrize(
    ("text", "concept"),
    [("pain in my hips", "swelling_throat"), ("I ate sweets", "sweating"), ("thirty minutes ago", "thirst_urination"),
     ("I feel fit", "seizure"), ("I paint houses", "chest_pain")],
)  # fmt: skip
def test_ordinary_words_are_not_corrected_into_symptoms(text: str, concept: str) -> None:
    assert not read(text).has(concept), text


def test_a_negation_reaches_only_a_few_words() -> None:
    found = read("I can't breathe and have chest pain")
    assert found.has("breathless") and found.has("chest_pain")  # "can't" is part of the symptom, not a denial
    assert read("the bleeding hasn't stopped").has("bleeding")
    assert not read("the bleeding stopped").has("bleeding")
    assert read("no fever no cough just a blocked nose").has("cold")
    assert not read("denies chest pain").has("chest_pain")


def test_age_and_duration_change_the_level() -> None:
    assert assess("fever since yesterday", age=30).level == "self_care"
    assert assess("fever since yesterday", age=70).level == "urgent"
    assert assess("fever since yesterday", age=3).level == "urgent"
    assert assess("fever since yesterday", age=0).level != "self_care"
    assert assess("fever for 5 days", age=30).level == "urgent"
    assert "Dengue NS1" in assess("fever for 5 days").tests and "Malaria antigen" in assess("fever for 5 days").tests
    assert assess("cough for 2 days").level == "self_care" and assess("cough for 4 weeks").level == "routine"


def test_numbers_are_read_from_the_text() -> None:
    f = read("temp 104, BP 90/60, sugar 450, spo2 91, since 3 days, 45 years old, 7 months pregnant")
    assert (f.temp_f, f.bp, f.sugar, f.spo2, f.days, f.age, f.pregnant) == (104.0, (90, 60), 450, 91, 3, 45, True)
    assert read("bukhar 39.5 degree").temp_f == 103.1
    assert read("teen din se khansi").days == 3 and read("तीन दिन से बुखार").days == 3
    assert read("my 2 month old baby").days is None  # an age, not a duration


def test_hindi_and_hinglish() -> None:
    hi = assess("मुझे सीने में दर्द है और पसीना आ रहा है")
    assert hi.level == "emergency" and "108" in hi.advice and "एम्बुलेंस" in hi.advice
    assert assess("saans phool rahi hai aur seene me dard").level == "emergency"
    assert assess("zukam hai 1 din se", language="en").advice.startswith("This usually gets better")


def test_marathi() -> None:
    """Marathi words (core/triage/marathi.py), its denials after the word, words between a part and its ache, and
    the advice in Marathi when the words are Marathi."""
    mr = assess("बाबांच्या छातीत खूप दुखतंय आणि घाम येतोय")
    assert mr.level == "emergency" and mr.advice == text("mr", "triage:advice.emergency", ambulance="108")
    assert assess("श्वास घ्यायला खूप त्रास होतोय").level == "urgent"  # a word between breath and its trouble
    assert assess("shwas ghyayla tras hotoy, ओठ निळे पडले").level == "emergency"
    denied = read("ताप नाही, खोकला नाही, फक्त रूटीन टेस्ट करायची आहे")
    assert not denied.has("fever") and not denied.has("cough")
    assert read("रक्त थांबत नाही").has("bleeding", "severe_bleeding")  # a denial that is not one


def test_the_marathi_vignettes() -> None:
    """40 Marathi messages (30 in Devanagari, 10 romanized) with a clinician's level, written by a helper session
    before it wrote the Marathi words: most emergencies recognised (1 of 15 before the Marathi words, 11 after)."""
    path = VIGNETTES.with_name("marathi_vignettes.jsonl")
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    got = [(c, assess(c["text"], age=c.get("age"), sex=c.get("sex")).level) for c in cases]
    emergencies = [level for c, level in got if c["level"] == "emergency"]
    assert len(cases) == 40 and emergencies.count("emergency") >= 13


def test_the_marathi_blind_set() -> None:
    """60 Marathi messages written by a session that never saw the code (40 Devanagari, 20 romanized): 11 of 20
    emergencies recognised at first; its failure classes fixed as classes (pressure, drenched, bluish, not waking,
    pesticides, stroke and head injury words, fetal movement, pregnancy in Marathi, suicidal intent, emphatic च,
    "cannot" as a finding, the genitive): 17 of 20, none sent home."""
    path = VIGNETTES.with_name("marathi_blind.jsonl")
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    got = [(c, assess(c["text"], age=c.get("age"), sex=c.get("sex")).level) for c in cases]
    emergencies = [level for c, level in got if c["level"] == "emergency"]
    assert len(cases) == 60 and emergencies.count("emergency") >= 17 and "self_care" not in emergencies


def test_an_emergency_leads_with_the_ambulance_and_never_offers_only_a_booking() -> None:
    result = assess("chest pain with sweating", ambulance="112").to_json()
    assert result["actions"] == ["call_ambulance"] and str(result["advice"]).startswith(
        "Please call an ambulance on 112"
    )
    assert assess("mild cold").to_json()["actions"] == ["book_tests", "book_teleconsult"]


@pytest.mark.parametrize(
    ("text", "kwargs", "field"),
    [("", {}, "text"), ("   ", {}, "text"), (None, {}, "text"), (123, {}, "text"), (["fever"], {}, "text"),
     ("x" * 2001, {}, "text"), ("fever", {"age": -1}, "age"), ("fever", {"age": "ten"}, "age"),
     ("fever", {"age": True}, "age"), ("fever", {"sex": "x"}, "sex"), ("fever", {"language": "fr"}, "language")],
)  # fmt: skip
def test_bad_input_is_refused_clearly(text: object, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        assess(text, **kwargs)
    assert caught.value.field == field and caught.value.message


def test_unknown_words_go_to_a_doctor_not_home() -> None:
    result = assess("asdf qwerty")
    assert result.level == "routine" and "could not recognise" in result.advice


def test_the_clinical_vignettes() -> None:
    """630 clinical vignettes written blind in fourteen sets (tests/data/triage/clinical_vignettes.jsonl), read as text
    only: every emergency recognised, at least 85% exact on the three tiers symptom-checker studies use."""
    path = VIGNETTES.with_name("clinical_vignettes.jsonl")
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) >= 630
    tier = {"urgent": "doctor", "routine": "doctor"}
    got = [(c, assess(c["text"]).level) for c in cases]
    assert [c["text"] for c, level in got if c["tier"] == "emergency" and level != "emergency"] == []
    assert sum(tier.get(level, level) == c["tier"] for c, level in got) / len(cases) >= 0.85


def test_the_development_vignettes() -> None:
    cases = [json.loads(line) for line in VIGNETTES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) >= 80
    assert {c["level"] for c in cases} == {"emergency", "urgent", "routine", "self_care"}
    got = [(c, assess(c["text"], age=c.get("age"), sex=c.get("sex"))) for c in cases]
    missed_emergencies = [c["text"] for c, a in got if c["level"] == "emergency" and a.level != "emergency"]
    assert missed_emergencies == []
    exact = sum(a.level == c["level"] for c, a in got)
    assert exact / len(cases) >= 0.9
