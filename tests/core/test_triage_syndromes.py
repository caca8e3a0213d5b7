"""Each syndrome the clinical reading knows, written as a clinician would: a presentation that must be called an
emergency by that syndrome's rule, and a near miss (the same words without the discriminator, or with it denied)
that must not be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.triage.assess import assess

# (rule, positive, near miss)
SYNDROMES = [
    ("sepsis_signs",
     "A 71-year-old woman with 2 days of dysuria now has T 38.9, HR 134, BP 86/50 and is newly confused.",
     "A 34-year-old woman with 2 days of dysuria and frequency. T 37.9, HR 88, BP 122/78. Otherwise well."),
    ("sepsis_signs",
     "45F on chemotherapy for breast cancer, febrile 38.4 since this evening, feels shaky.",
     "45F who finished chemotherapy 5 years ago has a blocked nose and sneezing since yesterday. No fever."),
    ("meningitis_signs",
     "A 19-year-old student has fever, severe headache and neck stiffness since this morning; light hurts his eyes.",
     "A 19-year-old student has a stiff neck after sleeping awkwardly. No fever, no headache, no rash."),
    ("stroke_signs",
     "A 68-year-old man had sudden left-sided weakness and slurred speech 40 minutes ago.",
     "A 68-year-old man has had slowly progressive weakness in both legs on climbing stairs for a year."),
    ("stroke_signs",  # a TIA: the signs went away, and still count
     "A 72-year-old woman had facial droop and word-finding difficulty for 15 minutes this morning, which resolved.",
     "A 72-year-old woman denies facial droop, slurred speech, arm weakness or visual loss; she feels dizzy."),
    ("heart_attack_signs",
     "A 58-year-old man has central chest pressure radiating to his left arm with diaphoresis for 30 minutes.",
     "A 58-year-old man denies chest pain, sweating or radiation to the arm; he has a mild cough."),
    ("atypical_heart_attack",
     "A 66-year-old diabetic woman is sweaty, breathless and nauseated with epigastric discomfort for an hour.",
     "A 66-year-old woman has had epigastric burning after spicy meals for 2 months, eased by antacids."),
    ("pulmonary_embolism_signs",
     "Pt is a 38 yo F on the combined pill, 3 days after a long-haul flight, with sudden SOB, pleuritic CP and HR 112.",
     "Pt is a 38 yo F with a cough and sore throat for 3 days, no SOB, no chest pain, no recent travel."),
    ("dvt_at_risk",
     "A 64-year-old man has had a painful swollen left calf for 2 days since his knee replacement.",
     "A 64-year-old man has had mild swelling of both ankles at the end of the day for 3 months."),
    ("aortic_dissection_signs",
     "A 61-year-old man with HTN has sudden tearing chest pain radiating to his back.",
     "A 61-year-old man has a dull ache in his back after gardening, worse on bending."),
    ("renal_colic_or_aneurysm",
     "A 44-year-old man has sudden severe right flank pain radiating to the groin, with vomiting.",
     "A 44-year-old man has a dull ache in the lower back after lifting boxes yesterday."),
    ("ectopic_pregnancy_signs",
     "A 27-year-old woman whose period is late has lower abdominal pain, light vaginal bleeding and felt faint.",
     "A 27-year-old woman has crampy lower abdominal pain on the first day of her period, as every month."),
    ("testicular_torsion_young",
     "A 15-year-old boy woke with sudden severe pain in his left testicle and has vomited twice.",
     "A 15-year-old boy asks about a painless pea-sized lump he found on the side of his testicle last month."),
    ("acute_abdomen",
     "A 22-year-old man has periumbilical pain that moved to the right iliac fossa overnight, with nausea and "
     "anorexia.",
     "A 22-year-old man has mild crampy tummy pain with loose stools since a takeaway last night, improving."),
    ("diabetic_ketoacidosis_risk",
     "A 19-year-old with type 1 diabetes has vomiting, abdominal pain and deep fast breathing since last night.",
     "A 19-year-old with type 1 diabetes asks about a new glucose meter; he feels well and his readings are normal."),
    ("severe_asthma_or_copd",
     "A 34-year-old asthmatic has increasing shortness of breath and wheeze over 2 days despite using his "
     "salbutamol inhaler every hour.",
     "A 34-year-old asthmatic needs his inhaler twice a week in the hay fever season; no night waking, no SOB."),
    ("severe_asthma_or_copd",
     "A 70-year-old man with COPD has progressive breathlessness and more sputum for 3 days; RR 28, SpO2 89%.",
     "A 70-year-old man with COPD has a stable morning cough, walks a mile daily, and no change in his breathing."),
    ("anaphylaxis",
     "A 25-year-old developed lip swelling, hives and wheeze 10 minutes after eating peanuts.",
     "A 25-year-old has a few itchy mosquito bites on her legs; no swelling of the face, no breathing difficulty."),
    ("gi_bleeding",
     "A 63-year-old man on naproxen has had black tarry stools since yesterday and felt lightheaded on standing.",
     "A 63-year-old man on iron tablets has dark green stools; he denies melaena, haematemesis or dizziness."),
    ("hus_signs",
     "A 5-year-old boy whose diarrhoea turned bloody 3 days ago is now pale and has passed very little urine.",
     "A 5-year-old boy had watery diarrhoea for a day after a party; no blood, drinking well, passing urine."),
    ("tetanus_signs",
     "An unvaccinated 50-year-old man cut his hand while gardening 8 days ago and now has jaw stiffness and "
     "painful muscle spasms.",
     "A 50-year-old man cut his hand while gardening yesterday; the wound is clean and his tetanus is up to date."),
    ("malaria_or_serious_fever",
     "A 35-year-old man has had high fever with rigors for 5 days that is not improving with paracetamol.",
     "A 35-year-old man has had a mild fever for one day with a runny nose and sore throat."),
    ("malaria_or_serious_fever",  # after travel, with a sign of severe malaria
     "34M, fever and rigors for 3 days, returned from Nigeria 2 weeks ago, now confused. T 39.4.",
     "34M, returned from Nigeria 2 weeks ago, asks for a routine check-up; no fever, feels well."),
    ("tick_borne_fever",
     "A 30-year-old woman has fever, headache and a spreading rash 5 days after removing a tick from her leg.",
     "A 30-year-old woman removed a tick from her leg yesterday; no fever, no rash, feels well."),
    ("dengue_warning",
     "A 24-year-old with fever for 4 days now has bleeding gums and severe abdominal pain.",
     "A 24-year-old with fever for 2 days and body aches; no bleeding, no abdominal pain, drinking well."),
    ("cauda_equina_signs",
     "A 41-year-old man with back pain for 3 weeks now has trouble starting to pass urine and can't feel the toilet "
     "paper when he wipes.",
     "A 41-year-old man with back pain for 3 days after lifting; no numbness in the saddle area, passing urine "
     "normally."),
    ("epiglottitis_signs",
     "Her unvaccinated 3-year-old has a high fever, is drooling, refusing to swallow and sitting forward; his voice "
     "sounds muffled.",
     "Her 8-month-old is drooling and chewing on everything with a temperature of 37.4 °C; feeding well."),
    ("necrotising_infection_signs",
     "58M, diabetic, small cut on his leg 2 days ago; now pain far worse than the mild redness suggests, skin dusky.",
     "58M, small cut on his leg 2 days ago, clean and healing, mild soreness only."),
    ("sepsis_two_amber_signs",
     "A 49-year-old woman with a painful swollen leg wound has T 38.6, HR 112 and BP 98/62.",
     "A 49-year-old woman with a healing leg wound; T 37.0, HR 78, BP 124/80."),
    ("heart_attack_without_chest_pain",
     "A 67-year-old diabetic woman feels 'a bit off' with an ache in her jaw and between her shoulder blades; she is "
     "clammy and nauseated.",
     "A 67-year-old woman has jaw ache after a dental filling yesterday; no nausea, sweating or breathlessness."),
    ("acute_glaucoma_signs",
     "A 63-year-old woman has severe pain in her right eye this evening; the eye is red, her vision is blurred with "
     "haloes around lights, and she has vomited.",
     "A 63-year-old woman has a gritty, watery red eye since yesterday; vision is normal and there is no pain."),
    ("stroke_signs",  # as a relative types it
     "Mom is 68. Suddenly not able to speak properly and right hand is not lifting, her mouth is tilted to one side.",
     "Mom is 68. Her right hand is stiff in the mornings from arthritis; speech and face are normal."),
    ("sudden_breathlessness",
     "A 29-year-old woman suddenly became short of breath while sitting at her desk an hour ago.",
     "A 29-year-old woman gets a little short of breath running for the bus, as she always has; no other symptoms."),
    ("hip_fracture_signs",
     "My father, 78, slipped in the bathroom this morning and is lying on the floor, can't get up; his right leg "
     "looks short and turned outside.",
     "My father, 78, slipped in the bathroom, got up by himself and walks normally; a small bruise on his knee."),
    ("drowning",
     "mera beta 9 saal talab mein doob gaya tha, 2-3 minute baad nikala, ab hosh mein hai par khansi ruk nahi rahi",
     "mera beta 9 saal talab mein tair raha tha, thoda paani pee liya, theek hai aur khel raha hai"),
    ("electric_shock",
     "भाई को खेत में मोटर चालू करते समय बिजली का करंट लगा, नीचे गिर गया था, अब धड़कन बहुत तेज़ है",
     "भाई को मोटर के पास पानी में पैर रखने से डर लगा, कुछ नहीं हुआ, ठीक है"),
    ("imci_danger_signs",
     "my baby 8 months breathing very fast since morning, chest sinking in with each breath, not taking feed",
     "my baby 8 months has a runny nose since yesterday, feeding well, breathing comfortably"),
    ("suicidal_thoughts",
     "A 35-year-old man has saved up a large supply of sleeping tablets and intends to take them all tonight.",
     "A 35-year-old man has felt low since losing his job; he has no thoughts of harming himself."),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "positive", "near_miss"), SYNDROMES, ids=[s[0] for s in SYNDROMES])
def test_each_syndrome_fires_on_its_discriminator_and_not_on_a_near_miss(
    rule: str, positive: str, near_miss: str
) -> None:
    hit = assess(positive)
    assert hit.level == "emergency", (positive, hit.reasons)
    assert rule in [r.rule for r in hit.reasons], (positive, [r.rule for r in hit.reasons])
    miss = assess(near_miss)
    assert miss.level != "emergency", (near_miss, [r.rule for r in miss.reasons])


def test_fever_after_travel_is_seen_today_and_severe_signs_make_it_an_emergency() -> None:
    plain = assess("34M, fever and rigors for 3 days, returned from Nigeria 2 weeks ago. T 39.4.")
    assert plain.level == "urgent" and "fever_after_travel" in [r.rule for r in plain.reasons]


def test_a_red_flag_that_settled_days_ago_is_seen_today_not_by_ambulance() -> None:
    tia = assess("67M, 5 days ago had a 10-minute episode of right arm weakness and slurred speech, fully resolved.")
    assert tia.level == "urgent" and "recent_red_flag_episode" in [r.rule for r in tia.reasons]
    now = assess("67M, 30 minutes ago had right arm weakness and slurred speech, which resolved.")
    assert now.level == "emergency"


def test_a_simple_faint_with_its_trigger_stays_home_and_a_collapse_does_not() -> None:
    faint = assess("A 20-year-old woman fainted while having blood drawn and came round within 20 seconds, fully "
                   "oriented; no chest pain or palpitations.")  # fmt: skip
    assert faint.level == "self_care", [r.rule for r in faint.reasons]
    assert assess("She fainted and collapsed in the kitchen. 55-year-old woman.").level == "emergency"
    assert assess("A 20-year-old fainted while giving blood, with palpitations before.").level == "emergency"


def test_every_reason_names_the_words_that_fired_it() -> None:
    result = assess("An unvaccinated 50-year-old man cut his hand 8 days ago and now has trismus and spasms.")
    reason = next(r for r in result.reasons if r.rule == "tetanus_signs")
    assert "trismus" in reason.words and "spasms" in reason.words and "unvaccinated" in reason.words


def test_an_emergency_is_never_lowered_by_a_milder_finding() -> None:
    # A minor complaint beside a red flag: the red flag decides.
    result = assess("Sore throat and a runny nose for 2 days. Since an hour, crushing chest pain and sweating. 60M.")
    assert result.level == "emergency"
    assert result.to_json()["actions"] == ["call_ambulance"]


REGRESSION = Path(__file__).parents[1] / "data" / "triage" / "regression.jsonl"
CASES = [json.loads(line) for line in REGRESSION.read_text(encoding="utf-8").splitlines() if line.strip()]
TIER = {"urgent": "doctor", "routine": "doctor"}


@pytest.mark.parametrize("case", CASES, ids=[f"{c['issue']}: {c['text'][:40]}" for c in CASES])
def test_every_case_the_blind_measurement_found_stays_fixed(case: dict[str, object]) -> None:
    """tests/data/triage/regression.jsonl: each failure class of the blind clinical vignettes (issue 17), in
    words of our own, two phrasings each."""
    result = assess(str(case["text"]))
    assert TIER.get(result.level, result.level) == case["tier"], (case["text"], [r.rule for r in result.reasons])
    fired = {r.rule for r in result.reasons}
    assert not fired & set(case.get("not_rules", [])), (case["text"], fired)  # type: ignore[arg-type]
