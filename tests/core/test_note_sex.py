"""He or she in the draft (core.notes.sex): the record's sex first; else the first name the doctor greets the
patient by, how the doctor speaks of them ("a 46 -year-old female", as a recogniser spaces it) and their pronouns;
"the patient" when nothing says."""

from __future__ import annotations

from core.notes.sex import name_sex, patient_sex
from core.notes.soap import Line, draft


def _said(*doctor: str) -> list[Line]:
    return [Line(i, "doctor", text) for i, text in enumerate(doctor)]


def test_the_greeting_names_the_patient() -> None:
    assert patient_sex(_said("hey linda good to see you today", "so what brings you in")) == "female"
    assert patient_sex(_said("okay hi raymond, how are you", "tell me about the cough")) == "male"
    assert patient_sex(_said("hi priya, good morning", "how long has the fever been there")) == "female"
    assert patient_sex(_said("so gloria is a 46 -year-old female here for shortness of breath")) == "female"


def test_words_that_open_a_greeting_are_not_names_and_an_unknown_name_says_nothing() -> None:
    assert name_sex("will") is None and name_sex("how") is None
    assert patient_sex(_said("hi how are you doing today", "what brings you in")) is None
    assert patient_sex(_said("hey zorblax, good to see you")) is None


def test_the_doctors_words_outweigh_one_greeting() -> None:
    lines = _said("hi jordan", "so jordan is a 30-year-old male with asthma", "he uses his inhaler daily")
    assert patient_sex(lines) == "male"


def test_the_records_sex_wins_and_the_draft_uses_it() -> None:
    lines = [
        Line(0, "doctor", "hi alex, what brings you in?"),
        Line(1, "patient", "I have had a cough and my chest hurts."),
    ]
    # A sentence opens with "The patient", as notes write it; the pronoun is the record's.
    assert "The patient has had a cough and her chest hurts." in draft(lines, sex="female").as_text()
    assert "The patient has had a cough and his chest hurts." in draft(lines, sex="male").as_text()


def test_after_a_title_comes_a_surname_which_says_nothing() -> None:
    assert patient_sex(_said("hello mrs. james, how are you today")) == "female"  # "james" is not her first name
