"""Which SOAP section a sentence belongs to: the features the fitted section model reads (core/notes/models/
section.json, fitted by core.notes.train from ACI-BENCH and MTS-Dialog), and the word patterns they include.
A consult moves through phases (history, then examination, then assessment and plan), so the phase the doctor's
words have reached is one feature among many, never a switch. Patterns also tell Assessment from Plan (what a
sentence does: judge or order) and keep the unmistakable: a reading with its number, an order with its dose or
follow-up time."""

from __future__ import annotations

import itertools
import re
from typing import Literal

Section = Literal["S", "O", "A", "P"]
Phase = Literal["history", "exam", "plan"]

EXAM_START = re.compile(
    r"\b(?:examine|exam|examination|take a (?:quick )?(?:look|listen)|listen to|let me (?:check|feel|press|look|see)|"
    r"vital signs|your vitals|physical|on inspection|press (?:here|on)|lie back|hop up)\b"
)
PLAN_START = re.compile(
    r"\b(?:assessment|impression|my plan|the plan|plan is|for (?:your|his|her) (?:\w+ )?(?:problem|issue)|"
    r"let us talk about|what i (?:want|would like) to do|so for (?:your|the)|"
    r"i am going to (?:order|prescribe|start|give|refer|send)|we are going to (?:order|start|give|refer|do))\b"
)
# Weaker signs that the talk has turned to the plan: trusted once the examination is done.
PLAN_AFTER_EXAM = re.compile(
    r"\b(?:diagnos\w*|i think (?:you|this|that|it|we)|in terms of|treatment|prescri\w*|likely|rule out|"
    r"i want (?:you|him|her) to|order)\b"
)
VITALS = re.compile(
    r"\b(?:temperature|temp|fever of|blood pressure|bp|pulse|heart rate|respiratory rate|respirations|oxygen|o2|"
    r"saturation|sats|spo2|pulse ox\w*|weight|weighs|bmi|height)\b[^.?!]{0,30}?\d|\b\d{2,3}/\d{2,3}\b"
)
EXAM_FINDING = re.compile(
    r"\b(?:lungs?|heart|abdomen|belly|throat|ears?|eyes?|skin|neck|murmurs?|rales|crackles|wheez\w*|clear|"
    r"tender\w*|swelling|swollen|edema|bruis\w*|erythema|redness|rash|lesions?|range of motion|reflexes|strength|"
    r"sensation|pulses|soft|rhythm|palpation|effusion|lymph nodes?|pupils?|tonsils?|gait|spine|joint|ankle|knee|"
    r"shoulder|wrist|hip|exam\w*|looks? (?:good|normal|fine|okay)|sounds? (?:good|normal|clear)|no signs? of|"
    r"positive|negative|bilateral\w*|mild|moderate|decreased|normal)\b"
)
# The doctor reporting what their own senses find: "I can see swelling", "on exam I feel no tenderness".
SENSED = re.compile(
    r"^(?:(?:so|and|okay|well),? )*(?:on (?:your |the )?(?:exam|examination),? )?i (?:can |do not |can not |cannot )?"
    r"(?:see|feel|hear|note|notice|appreciate|detect)\b"
)
RESULTS = re.compile(
    r"\b(?:x-?rays?|mri|ct|cat scan|ultrasound|echo\w*|ekg|ecg|labs?|lab work|cbc|blood count|panel|scan|"
    r"blood work|bloodwork|results?|a1c|"
    r"hemoglobin|haemoglobin|cholesterol|ejection fraction|biopsy|culture|urinalysis|creatinine|platelets?|"
    r"white count|potassium|sodium|glucose|sugar|tsh|t3|t4|dipstick|urine test|phq-?\d*|score|ferritin|vitamin d|"
    r"b12|lipids?|ldl|hdl|triglycerides|esr|crp|uric acid|inr|psa|peak flow|saturation)\b[^.?!]*\b(?:show\w*|"
    r"demonstrat\w*|reveal\w*|came back|was|were|is|looked|looks|of \d|at \d|\d)"
    r"|\b(?:shows?|showed|revealed?)\s+(?:some |a |an )?(?:leukocytes|nitrites?|protein|blood|ketones|fracture|"
    r"infiltrate|consolidation|effusion|\w+ (?:positive|negative))"
)
ASSESS = re.compile(
    r"\b(?:i think (?:this|it|that|you|she|he|we are dealing)|likely|probabl[ey]|consistent with|suggestive of|"
    r"diagnos\w*|impression|rule out|ruling out|ruled out|suspect\w*|looks like (?:you|it|this|a)|i believe|"
    r"sounds like|seems like|concern(?:ed)? (?:for|about|that)|differential|my guess|due to|caused by)\b"
)
PLAN = re.compile(
    r"\b(?:order\w*|prescri\w*|start\w* (?:you |him |her |them )?on|continue|increase|decrease|stop|refer\w*|"
    r"follow[ -]?up|come back|see (?:you|him|her) (?:back|again|in)|return|schedul\w*|recommend\w*|advis\w*|"
    r"want (?:you|him|her|them) to|make sure|\d+(?:\.\d+)? ?(?:mg|milligrams?|mcg|micrograms?|units?|ml|iu)\b|"
    r"(?:once|twice|\d+ times) a day|daily|tablets?|pills?|take|drink|fluids|hydrat\w*|rest|avoid|therapy|"
    r"injection|surgery|procedure|tests?|check|blood work|labs?|we will|i will|going to|should|need to|"
    r"medication|medicine|dose|antibiotics?|paracetamol|ibuprofen|tylenol|motrin|ice|elevat\w*|brace|sling|"
    r"diet|exercise|call|let me know|message|portal|appointment|weeks?|months?)\b"
)
# Plan words that mean a plan even before the consult reaches one (short consults never announce it).
STRONG_PLAN = re.compile(
    r"\b(?:i will (?:order|prescribe|start|refer|send|give)|(?:order|prescrib)\w*|follow[ -]?up in|come back in|"
    r"see (?:you|him|her|them) (?:back )?in|"
    r"\d+(?:\.\d+)? ?(?:mg|milligrams?|mcg|ml)\b|(?:once|twice|\d+ times) a day|refer\w* (?:you|him|her) to)\b"
)
EXAM_INTRO = re.compile(
    r"\b(?:let me|i (?:just )?want to|i will|i am going to|going to do|quick|take a deep breath|lie back|hop up|"
    r"can you|does (?:this|that|it) hurt|tell me if)\b"
)
DICTATION = re.compile(
    r"\b(?:\d+[- ]year[- ]old|past medical history|history (?:significant )?(?:of|for)|presents?|here (?:today )?"
    r"for|chief complaint|referred)\b"
)
QUESTION_START = re.compile(
    r"^(?:do|does|did|are|is|was|were|have|has|had|any|can|could|would|will|how|what|when|where|why|which|who|"
    r"and (?:any|do|did|have|are|how|what)|how about|what about|tell me)\b"
)


def is_question(sentence: str) -> bool:
    return sentence.endswith("?") or bool(QUESTION_START.match(sentence))


def next_phase(phase: Phase, doctor_turn: str) -> Phase:
    """The phase after a doctor's turn: history → exam → plan, never back (a consult rarely returns, and a
    stray "let me check" during the plan is not a new examination)."""
    if phase != "plan" and not doctor_turn.rstrip().endswith("?"):
        if PLAN_START.search(doctor_turn) or (phase == "exam" and PLAN_AFTER_EXAM.search(doctor_turn)):
            return "plan"
    if phase == "history" and EXAM_START.search(doctor_turn):
        return "exam"
    return phase


CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("vitals", VITALS), ("results", RESULTS), ("finding", EXAM_FINDING), ("assess", ASSESS), ("plan", PLAN),
    ("strong_plan", STRONG_PLAN), ("exam_start", EXAM_START), ("plan_start", PLAN_START),
    ("exam_intro", EXAM_INTRO), ("dictation", DICTATION),
)  # fmt: skip
_WORD = re.compile(r"[a-z][a-z'/-]*|\d+(?:[./]\d+)?")


def _bag(prefix: str, text: str, pairs: bool) -> list[str]:
    words = ["#" if w[0].isdigit() else w for w in _WORD.findall(text)]
    out = [f"{prefix}{w}" for w in words]
    if pairs:
        out += [f"{prefix}{a}_{b}" for a, b in itertools.pairwise(words)]
    return out


def unit_features(speaker: str, text: str, before: tuple[str, str] | None, position: float, phase: Phase) -> list[str]:
    """What the section model reads of one sentence unit: who said it, its words and word pairs (those also
    with the speaker), the word patterns above as flags, whether it asks, how far into the consult it is, the
    phase the doctor's words have reached, and the unit before it (who said it, its words: the question an
    answer answers)."""
    s = speaker[0]
    n = len(text.split())
    out = [f"spk={s}", f"pos={min(int(position * 8), 7)}", f"phase={phase}", f"len={min(n // 4, 6)}"]
    out += [f"{s}pos={min(int(position * 8), 7)}", f"{s}phase={phase}"]
    out += _bag("w=", text, pairs=True) + _bag(f"{s}w=", text, pairs=False)
    out += [f"cue={name}" for name, pattern in CUES if pattern.search(text)]
    out += [f"{s}cue={name}" for name, pattern in CUES if pattern.search(text)]
    if is_question(text):
        out.append(f"{s}q")
    if before is not None:
        out.append(f"prev={before[0][0]}{'q' if is_question(before[1]) else ''}")
        out += _bag("p=", before[1], pairs=False)
    return out


# The doctor telling the patient what to do: "I would like you to…", "please…", "make sure you…", "I have sent
# your referral…".
DIRECTIVE = re.compile(
    r"\b(?:i|we) (?:would like|want|need|will have|am going to have) (?:you|him|her|them|for you) to\b|"
    r"^(?:please|try to|make sure|you (?:need|should|have|will need|must) to|you should|continue|keep|avoid|apply|"
    r"stop|start|use|take|call|come back)\b|\b(?:sent|send|put in|placed) (?:over |in )?(?:your|his|her|a|the) "
    r"(?:referral|prescription|order)"
)


# An examination instruction opening a sentence ("breathe in and out", "hold still for me"): not note content.
INSTRUCTION = re.compile(
    r"^(?:(?:now |okay |just |please )*(?:breathe|take a (?:deep|big) breath|hold still|swallow for me|look (?:up|down|"
    r"straight|at me|to)|follow my|open (?:your|his|her|wide)|say ah|lie (?:back|down)|relax|squeeze|push|pull|"
    r"stand up|sit (?:up|back)|cough for me|turn (?:your|his|her|to)|tell me (?:if|when) (?:it|this)))\b"
)
# What a doctor asks a patient to do during the examination, not as treatment.
EXAM_ACTION = re.compile(
    r"\b(?:breath|breathe|lie (?:back|down)|look (?:up|down|left|right|at me)|cough for me|push|pull|relax|squeeze|"
    r"follow my|open (?:your|his|her) mouth|say ah|stand up|sit (?:up|down|back)|bend|turn (?:your|his|her) head|"
    r"raise|hop up|walk for me|point to)\b"
)


def assessment_or_plan(sentence: str, model_says_assessment: bool) -> Section:
    """A sentence of the assessment and plan: Plan when it orders, prescribes, advises or books, Assessment when
    it judges (likely, consistent with, rule out), else as the model leans."""
    plans, judges = bool(PLAN.search(sentence) or STRONG_PLAN.search(sentence)), bool(ASSESS.search(sentence))
    if STRONG_PLAN.search(sentence) or (plans and not judges):
        return "P"
    if judges:
        return "A"
    return "A" if model_says_assessment else "P"


def strong_section(sentence: str) -> Section | None:
    """A doctor's sentence that belongs in the note whatever else is said around it: a reading with its number
    (Objective) or an order, prescription or follow-up with its time (Plan)."""
    if is_question(sentence) or len(sentence.split()) < 4:
        return None
    if STRONG_PLAN.search(sentence):  # "I will get a chest x-ray and start amoxicillin 1000 mg": an order
        return "P"
    if VITALS.search(sentence) or RESULTS.search(sentence):
        return "O"
    if SENSED.match(sentence) and EXAM_FINDING.search(sentence):  # "I can see swelling over the ankle"
        return "O"
    if DIRECTIVE.search(sentence) and not EXAM_ACTION.search(sentence):
        return "P"
    return None
