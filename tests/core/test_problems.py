"""The Assessment's problem list (core.notes.problems): a condition's name with the words that qualify it, not
across a comma; none asked about and denied, none of a relative's; each problem once, where it was first said."""

from __future__ import annotations

from core.notes.problems import Problem, mentions, problems


def test_a_name_keeps_its_qualifiers_and_stops_at_a_comma() -> None:
    assert mentions("she suffers from bipolar disorder and iron deficiency anemia") == [
        "bipolar disorder",
        "iron deficiency anemia",
    ]
    assert mentions("history of diabetes type 2, hypertension and heart attack") == [
        "diabetes",
        "hypertension",
        "heart attack",
    ]
    assert mentions("i think this is lateral epicondylitis") == ["lateral epicondylitis"]
    assert mentions("the diagnosis is clear and the mechanism of injury too") == []


def test_a_generic_head_needs_a_qualifier() -> None:
    assert mentions("the pain is worse at night") == []
    assert mentions("the fracture healed") == []
    assert mentions("his right knee pain started yesterday") == ["right knee pain"]


def test_denied_and_relatives_conditions_are_not_the_patients_problems() -> None:
    assert mentions("no history of asthma") == []
    assert mentions("i do not have diabetes") == []
    assert mentions("my mother had breast cancer") == []


def test_each_problem_once_where_first_said_and_the_longer_name_kept() -> None:
    said = [
        (3, "you have anemia", False),
        (7, "this is iron deficiency anemia", False),
        (9, "your hypertension is fine", False),
    ]
    assert problems(said) == [Problem("iron deficiency anemia", 3), Problem("hypertension", 9)]


def test_a_condition_looked_for_feared_or_vaccinated_against_is_not_a_problem() -> None:
    looked_for = [
        "I got my flu shot last month",
        "my covid test was negative",
        "pneumonia is unlikely on the x-ray",
        "diabetes is ruled out",
        "we will screen you for colon cancer",
        "we need to rule out a fracture",
    ]
    for said in looked_for:
        assert mentions(said) == [], said
    assert mentions("I am worried it might be cancer", patient=True) == []
    assert mentions("I am concerned this could be stable angina") == ["stable angina"]  # the doctor's impression
    assert mentions("it is probably a wrist sprain, but we need to rule out a fracture") == ["wrist sprain"]
