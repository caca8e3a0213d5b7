"""How a draft is headed: the parts of Subjective and Objective as clinic notes have them (chief complaint, history
of present illness, review of systems; physical examination, results), the chief complaint from the doctor's
opening summary, and the problems that head the Assessment.

Owned here: which part a sentence is under and which problems a consult names as heads; ``core.notes.soap``
places the sentences and builds the draft.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.notes import problems
from core.notes.fold import denied
from core.notes.sections import Section, is_question
from core.notes.units import Unit

# The parts of Subjective and Objective as clinic notes head them, in the order a note gives them.
CHIEF_COMPLAINT = "Chief complaint"
HISTORY = "History of present illness"
SYSTEMS = "Review of systems"
EXAM = "Physical examination"
RESULTS_PART = "Results"
PARTS = (CHIEF_COMPLAINT, HISTORY, SYSTEMS, EXAM, RESULTS_PART)


# What a result is about: imaging, a test, a measured value the doctor reads out (not what the hands find).
_RESULT_WORDS = re.compile(
    r"\b(?:x-?rays?|films?|mri|ct|cat scan|ultrasound|echo\w*|ekg|ecg|electrocardiogram|labs?|lab work|blood work|"
    r"bloodwork|results?|a1c|hemoglobin|cholesterol|ejection fraction|biopsy|culture|urinalysis|urine|creatinine|"
    r"platelets?|white (?:blood )?count|potassium|sodium|glucose|thyroid|tsh|stress test|scan|imaging|mammogram|"
    r"colonoscopy|pathology|swab|test came back)\b"
)


def part_of(section: Section, text: str) -> str:
    """The part a sentence of Subjective or Objective is under; none in Assessment and Plan."""
    if section == "S":
        return HISTORY
    if section == "O":
        return RESULTS_PART if _RESULT_WORDS.search(text.lower()) else EXAM
    return ""


# "… is a 43-year-old female here for right knee pain", "she presents today with a cough": why they came.
_REASON = re.compile(
    r"\b(?:here|presents?|presenting|came in|comes in|coming in|is in|in today|seen|seeing (?:me|us))"
    r"(?: today| again| back)?(?: to be seen| to see (?:me|us))? (?:for|with) (?:an? |the |his |her |some )?"
    r"(?P<cc>[a-z0-9][a-z0-9' /-]*?)(?=,|\.| and (?:he|she|i|we)| who| that| since| after| so |$)"
)


_NOT_HERE = re.compile(r"\b(?:not|no longer)\b")
# "here with your daughter": who came along, not why.
_COMPANION = re.compile(
    r"(?:daughter|son|wife|husband|mother|mom|mum|father|dad|family|friend|partner|sister|brother|child|kids?|"
    r"children|baby|parents?|grand\w+|caregiver|carer|nurse)\b"
)


def chief_complaint(found: Sequence[Unit]) -> tuple[str, int] | None:
    """Why the patient came, in a few words, from the doctor's opening summary, and the line it was said on; None
    when not said."""
    for unit in found[: max(1, len(found) // 2)]:
        m = _REASON.search(unit.text) if unit.speaker == "doctor" and not is_question(unit.text) else None
        if m is None or _NOT_HERE.search(unit.text[max(0, m.start() - 20) : m.start()]):
            continue  # "you are not here for your diabetes today, it is the cough"
        reason = re.sub(r"^(?:your|his|her|my|their|the|a|an)\s+", "", m.group("cc").strip())
        reason = re.sub(r"\s+(?:today|again|now)$", "", reason)
        if 1 <= len(reason.split()) <= 8 and re.search(r"[a-z]{3}", reason) and not _COMPANION.match(reason):
            return reason + ".", unit.line
    return None


# "For your first problem, your congestive heart failure, …", "In terms of his diabetes, …": the doctor naming
# the problem the assessment and plan is about.
_PROBLEM = re.compile(
    r"^(?:so |now |and |okay )*(?:for|regarding|in terms of|with regards? to|as (?:for|far as)|moving on to|"
    r"let us talk about|talking about) (?:your|his|her|the patient's|the) (?:(?:first|second|third|next|last|other) )?"
    r"(?:problem|issue)?,? ?(?:of |is )?(?:your |his |her )?(?P<p>[a-z][a-z0-9' -]{2,50}?)"
    r"(?=,| i | we | you | it | he | she | that | which | so |$)"
)
_NOT_A_PROBLEM = re.compile(
    r"^(?:most|part|problem|issue|number|sake|now|today|moment|time|rest|record|next|first|second|third|last|other|"
    r"plan|question|purposes?|reason|way|case|most part|meantime|future|visit|results?|exam|diagnosis)\b"
)


def problem_heads(found: Sequence[Unit]) -> list[tuple[str, int]]:
    """The problems the Assessment is headed with, each with the line it was named on: those the doctor names
    while giving the plan ("for your hypertension, …"), then the conditions said anywhere (core.notes.problems)
    that are not one of those."""
    heads: list[tuple[str, int]] = []
    for k, unit in enumerate(found):
        if unit.speaker != "doctor" or k < len(found) // 3:
            continue
        if (m := _PROBLEM.match(unit.text)) and (named := denied(m.group("p"))):
            named = re.sub(r"^(?:the|a|an|your|his|her)\s+", "", named)
            if not _NOT_A_PROBLEM.match(named) and re.search(r"[a-z]{4}", named):
                heads.append((named, unit.line))
    said = [(u.line, u.text, u.speaker == "patient") for u in found if not is_question(u.text)]
    for problem in problems.problems(said):
        if not any(problem.name in head or head in problem.name for head, _ in heads):
            heads.append((problem.name, problem.line))
    return heads
