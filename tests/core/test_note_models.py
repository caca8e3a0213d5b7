"""The fitted note models (core/notes/models): an unpunctuated stretch of speech is cut into sentences where a
reader would cut it, a punctuated short sentence is left whole, a scored model gives probabilities, and the
shipped weights still match the feature functions that read them (a feature renamed without refitting would
silently score nothing)."""

from __future__ import annotations

from core.notes import linear, rewrite, units
from core.notes.soap import Line, features_of, sections_of, units_of

RAMBLE = (
    "okay so your lungs are clear your heart sounds normal i do not hear any murmur so for your diabetes i want you "
    "to continue metformin five hundred milligrams twice a day and i will see you again in three months"
)


def test_unpunctuated_speech_is_cut_into_sentences() -> None:
    found = units.units(rewrite.clean(RAMBLE))
    assert found[:3] == ["your lungs are clear", "your heart sounds normal", "i do not hear any murmur"], found
    assert any(u.startswith("for your diabetes") for u in found), found  # the "so" that opens it is trimmed
    assert all(len(u.split()) <= 20 for u in found), found
    assert {w for u in found for w in u.split()} == set(rewrite.clean(RAMBLE).split()) - {"okay", "so", "and"}


def test_a_short_punctuated_sentence_is_left_whole() -> None:
    said = "I have had a fever for four days and a headache."
    assert units.units(rewrite.clean(said)) == ["i have had a fever for 4 days and a headache."]


def test_probabilities_are_a_distribution() -> None:
    model = linear.LinearModel(("in", "end"), (0.0,), {"a=and": (2.0,)})
    p = model.probabilities(["a=and", "unknown"])
    assert abs(sum(p.values()) - 1) < 1e-9 and p["end"] > 0.85
    multi = linear.LinearModel(("A", "B", "C"), (0.0, 0.0, 0.0), {"x": (1.0, 0.0, -1.0)})
    q = multi.probabilities(["x", "x"])  # a feature counts once
    assert abs(sum(q.values()) - 1) < 1e-9 and q["A"] > q["B"] > q["C"]


def test_the_shipped_weights_match_the_feature_functions() -> None:
    lines = [
        Line(1, "doctor", "Any chest pain or shortness of breath?"),
        Line(2, "patient", "No, but my knee has been hurting for two weeks."),
        Line(3, "doctor", "Your blood pressure is one twenty over eighty and your lungs are clear."),
        Line(4, "doctor", "I will start you on ibuprofen 400 mg twice a day and see you in two weeks."),
    ]
    model = linear.load("section")
    feats = [f for unit_feats in features_of(units_of(lines)) for f in unit_feats]
    known = sum(f in model.weights for f in feats)
    assert known / len(feats) > 0.5, [f for f in feats if f not in model.weights][:20]
    gaps = units.gap_features(units.words_of(RAMBLE), 10, 5)
    assert sum(g in linear.load("boundary").weights for g in gaps) >= len(gaps) // 2, gaps
    assert sections_of(units_of(lines))[2:] == ["O", "P"]


def test_an_abbreviation_spoken_letter_by_letter_is_one_word() -> None:
    assert rewrite.clean("Your E K G shows no S T changes, and the C B C is normal.") == (
        "your ekg shows no st changes, and the cbc is normal."
    )
    assert rewrite.clean("I fell in an A B C store.") == "i fell in an a b c store."  # "a" is a word: left alone


def test_spoken_contractions_and_letters_keep_their_meaning() -> None:
    assert (
        rewrite.clean("He's had a fever. It's always worse at night.")
        == "he has had a fever. it is always worse at night."
    )
    assert (
        rewrite.clean("I had hepatitis C a few years ago, and a U T I.")
        == "i had hepatitis c a few years ago, and a uti."
    )
