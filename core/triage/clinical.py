"""The clinical reading layer's numbers and circumstances: who the person is ("A 65-year-old woman", "45F", "72 yo
M", "her 4-year-old son"), the vital signs and lab values as notes write them (HR 112, RR 28, T 38.9 °C, SpO2 91%
RA, BP 88/50, BGL 28 mmol/L), and the course of the illness (worsening, despite treatment). The words of findings
and risk factors are in ``clinical_words.py``; this module only reads what regular expressions read best."""

from __future__ import annotations

import re
from dataclasses import dataclass

_AGE_SEX = re.compile(
    r"(?<![\d.])(?<!temp )(?<!fever )(?<!t )(?<!°)(?<!since )(?<!for )\b(\d{1,3})"
    r"(?:\s*|-)(?:years?|yrs?|yo|y/o|y\.o\.?)?"
    r"(?:[\s-]*old)?[\s,]*"
    r"(m|f|male|female|man|woman|boy|girl|gentleman|lady|son|daughter|baby boy|baby girl|mother|father)\b"
)
_AGE_SEX_AT_END = re.compile(r"(?<![\d.])(?<!since )(?<!for )(?<!x )(?<!temp )\b(\d{1,3})\s*(m|f|male|female)\W*$")
_OLD = re.compile(r"\b(\d{1,3})(?:\s*|-)(?:years?|yrs?)[\s-]*old\b|\b(\d{1,3})\s*(?:yo|y/o)\b")
_FEMALE = re.compile(r"\b(?:she|her|woman|women|female|girl|lady|mother|daughter|wife|pregnant|aunt|sister|"
                     r"grandmother|mrs|ms)\b|\b\d{1,3}\s*f\b")  # fmt: skip
_MALE = re.compile(r"\b(?:he|his|him|man|men|male|boy|gentleman|father|son|husband|brother|grandfather|mr)\b"
                   r"|\b\d{1,3}\s*m\b")  # fmt: skip
_HR = re.compile(r"(?<!\d )(?<!\d)\b(?:hr|heart rate|pulse(?: rate)?|pr)\s*(?:of|is|was|:|=|at)?\s*(\d{2,3})\b")
_RR = re.compile(r"\b(?:rr|resp(?:iratory)? rate|respirations?|respiratory rate)\s*(?:of|is|was|:|=|at)?\s*(\d{1,2})\b")
_T = re.compile(r"\b(?:t|temp)\s*(?:of|is|was|:|=)?\s*(\d{2,3}(?:\.\d)?)\s*(?:°?\s*[cf]\b)?")
_MMOL = re.compile(
    r"(?:glucose|sugar|bgl|bsl|cbg|rbs|bg)\D{0,12}?(\d{1,2}(?:\.\d)?)\s*mmol",
)
_METER_HI = re.compile(
    r"(?:glucometer|glucose|sugar|cbg|bgl|bsl|meter)[^.;]{0,25}?\b(?:reads?|showing|shows|says|"
    r"is)?\s*['\"]?hi\b['\"]?"
)  # a meter that reads 'HI' is above its range (about 600 mg/dL)
WORSE = re.compile(
    r"\bprogressive(?:ly)?\b|\bworsening\b|getting worse|increasing(?:ly)?\b|\bdeteriorat|worse and worse|"
    r"\bescalating\b|badhta ja|badh raha|बढ़ता जा|बढ़ रह|\bha(?:s|ve) increased\b|\bincreased over\b|"
    r"\bmore (?:breathless|short of breath|sputum|phlegm)"
)
_DESPITE = re.compile(
    r"despite (?:\w+ ){0,3}(?:inhalers?|nebuli[sz]\w*|salbutamol|ventolin|puffs|antibiotics|treatment|medication|"
    r"medicines?|paracetamol|tablets|steroids|antipyretics|rest)|not (?:responding|relieved|helped|improved) "
    r"(?:to|by|with)|no (?:relief|improvement|response) (?:from|with|despite|after)|(?:not|no longer) helping|"
    r"unresponsive to|not improving|no improvement|not getting better|isn't helping|is not helping|"
    r"inhaler (?:is )?not working|not settling|koi fark nahi|no difference|did ?n[o']t help|has ?n[o']t helped"
)


# Skin that is red and warm, hot, tender or spreading, said anywhere in one clause-long stretch (cellulitis).
RED_WARM_SKIN = re.compile(
    r"\b(?:red|reddened|redness|erythema|erythematous)\b[^.;]{0,50}?\b(?:warm|hot|spreading|spread)\b"
    r"|\b(?:warm|hot)\b[^.;]{0,20}?\b(?:red|reddened|erythematous)\b"
    r"|लाल[^.।]{0,30}?गरम|गरम[^.।]{0,30}?लाल|\blaal\b[^.]{0,30}?\bgaram\b|\bgaram\b[^.]{0,30}?\blaal\b"
)
# The pain of a kidney stone that a painkiller has eased ("an anti-inflammatory has eased the pain").
EASED = re.compile(
    r"\b(?:pain|it)\s+(?:has|have|had)\s+eased\b|\beased the pain\b|\bpain (?:has )?settled\b|"
    r"\b(?:has|have) eased (?:the|his|her) pain\b|\brelieved by (?:an? )?(?:painkiller|anti-inflammator|diclofenac|"
    r"ibuprofen|nsaid)"
)


# A hand or arm that suddenly drops things or will not work, on one side ("dropped his cup from his right hand").
ONE_SIDE_WEAK = re.compile(
    r"\b(?:dropped|dropping|drops|clumsy|clumsiness|weak|weakness|numb|numbness)\b[^.;]{0,40}?\b(?:right|left|one)\s+"
    r"(?:hand|arm|leg|side)\b"
    # "left arm and leg weakness", "left haath aur pair achanak kamzor", "बायाँ हाथ और पैर सुन्न"
    r"|\b(?:right|left|one|baayan|baaya|dayan|daaya)\s+(?:arm|leg|hand|side|haath|pair)\b[^.;]{0,30}?"
    r"\b(?:weak|weakness|numb|numbness|kamzor|sunn|paralysed|paralyzed)\b"
    r"|(?:बायाँ|बायां|दायाँ|दायां|बाएं|दाएं)\s+(?:हाथ|पैर)[^.।]{0,30}?(?:कमजोर|कमज़ोर|सुन्न)"
)
# Ten or more tablets as notes count them: "30 x 500 mg", "20 tablets of 500 mg".
OVERDOSE_COUNT = re.compile(r"\b([1-9]\d)\s*(?:x|×|\*)\s*\d+\s*mg\b")


@dataclass(frozen=True, slots=True)
class Vitals:
    hr: int | None = None
    rr: int | None = None
    temp_f: float | None = None
    sugar_mg: int | None = None


def age_sex(text: str) -> tuple[float | None, str | None]:
    """The age and sex a note opens with ("A 65-year-old woman", "45F", "Pt is a 72 yo M"); sex also from
    pronouns when the text is about someone."""
    low = text.lower()
    age: float | None = None
    sex: str | None = None
    m = _AGE_SEX.search(low[:160])
    if m is None and (end := _AGE_SEX_AT_END.search(low[-20:])):
        m = end  # "… walking fine. 25 m"
    if m:
        age = float(m.group(1))
        word = m.group(2)
        sex = "female" if word in ("f", "female", "woman", "girl", "lady", "daughter", "baby girl", "mother") else (
            "male")  # fmt: skip
    elif m := _OLD.search(low):
        age = float(m.group(1) or m.group(2))
    if sex is None:
        f, mm = len(_FEMALE.findall(low)), len(_MALE.findall(low))
        sex = "female" if f > mm else "male" if mm > f else None
    return (age if age is not None and age <= 120 else None), sex


def vitals(low: str) -> Vitals:
    hr = int(m.group(1)) if (m := _HR.search(low)) and 20 <= int(m.group(1)) <= 250 else None
    rr = int(m.group(1)) if (m := _RR.search(low)) and 4 <= int(m.group(1)) <= 80 else None
    temp_f = None
    if m := _T.search(low):
        value = float(m.group(1))
        temp_f = round(value * 9 / 5 + 32, 1) if 34 <= value <= 43 else value if 94 <= value <= 110 else None
    sugar = round(float(m.group(1)) * 18) if (m := _MMOL.search(low)) else (600 if _METER_HI.search(low) else None)
    return Vitals(hr, rr, temp_f, sugar)


_NEGATED_BEFORE = re.compile(r"\b(?:no|not|denies|denied|without|never|nothing like|isn't|wasn't|doesn't|don't|"
                             r"nahi|नहीं|na)\b|n't\b")  # fmt: skip
_CLAUSE_START = re.compile(r"[.,;:!?\n]|\bbut\b|\bhowever\b|\blekin\b|\bpar\b")
_SCORE = re.compile(r"\b(10|[0-9])\s*(?:/|out of)\s*10\b")


def denied_before(low: str, at: int) -> bool:
    """Whether the clause before position ``at`` denies what follows ("no fever above 38 °C")."""
    clause = _CLAUSE_START.split(low[max(0, at - 80) : at])[-1]
    return bool(_NEGATED_BEFORE.search(clause))


def affirmed(pattern: re.Pattern[str], low: str) -> bool:
    """Whether ``pattern`` is said and not denied in its clause ("no severe pain", "denies sudden onset",
    "nothing like the worst headache" are not said)."""
    return any(not denied_before(low, m.start()) for m in pattern.finditer(low))


# Said suddenly, and said severe: the flags a finding is read with, and the words rules look for in its sentence.
SUDDEN = re.compile(
    r"\bsudden|\babrupt|\bacute onset|\ball of a sudden|\bachanak|अचानक|came on all at once|started an hour ago"
)
SEVERE = re.compile(
    r"\bsevere|very bad|really bad|terrible|unbearable|worst|excruciating|agonising|agonizing|bahut tez|bahut zyada|"
    r"bahut dikkat|बहुत तेज|असहनीय|writhing|tadap|तड़प|तडप"
)
# The plain words alone, for a discriminator read in one sentence ("a sudden, severe headache"): "acute onset"
# or "very bad" there would make a sore throat's headache a thunderclap.
SUDDEN_WORD = re.compile(r"\bsudden|\babrupt|\bachanak|अचानक|all of a sudden")
SEVERE_WORD = re.compile(r"\bsevere|\bworst|\bexcruciating|\bunbearable|\bbahut tez|बहुत तेज")
_AGO = re.compile(
    r"\b(\d{1,2}|a|one|two|three|four|five|six|seven|few|several|couple of)\s+(days?|weeks?)\s+ago\b"
    r"|\byesterday\b|\blast week\b"
)
_AGO_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "few": 3,
                "several": 3, "couple of": 2}  # fmt: skip


def days_ago(low: str) -> float | None:
    """How long ago an episode was, when the text says ("5 days ago", "yesterday", "last week")."""
    m = _AGO.search(low)
    if m is None:
        return None
    if m.group(1) is None:
        return 7.0 if "week" in m.group(0) else 1.0
    n = int(m.group(1)) if m.group(1).isdigit() else _AGO_NUMBERS[m.group(1)]
    return float(n * (7 if m.group(2).startswith("week") else 1))


def severity_score(low: str) -> int:
    """The highest pain score out of ten the text gives ("7/10", "8 out of 10"), or 0."""
    return max((int(m.group(1)) for m in _SCORE.finditer(low)), default=0)


def despite_treatment(low: str) -> bool:
    return bool(_DESPITE.search(low))
