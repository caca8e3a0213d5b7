"""Every number and circumstance the text says, in lay words or a note's: who the person is ("A 65-year-old
woman", "45F", "my baby 8 months", "umar 45"), how long and how long ago ("3 din se", "2/7", "a 3-week history",
"5 days ago"), vital signs and lab values (temp 102, BP 88/50, HR 112, SpO2 91% RA, sugar 450, BGL 28 mmol/L), and
the course and manner of the illness (sudden, severe, worsening, despite treatment, improving, mild). The words of
findings and risk factors are in ``clinical_words.py``; this module only reads what regular expressions read
best."""

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
_HR = re.compile(
    r"(?<!\d )(?<!\d)(?:\b(?:hr|heart rate|pulse(?: rate)?|pr|heartbeat|heart beat|dhadkan)|धडकन|पल्स)"
    r"\s*(?:of|is|was|:|=|at|rate|reading)?\s*(\d{2,3})\b|\b(\d{2,3})\s*(?:bpm|beats? (?:a|per) min)"
)
_RR = re.compile(r"\b(?:rr|resp(?:iratory)? rate|respirations?|respiratory rate)\s*(?:of|is|was|:|=|at)?\s*(\d{1,2})\b")
_CRT = re.compile(
    r"\b(?:cap(?:illary)?\.?\s*refill(?:\s*time)?|crt)\s*(?:of|is|was|:|=|>)?\s*(\d(?:\.\d)?)\s*(?:s|secs?|seconds)\b"
)
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
    crt_s: float | None = None  # capillary refill time, seconds


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
    hr = (
        int(m.group(1) or m.group(2)) if (m := _HR.search(low)) and 20 <= int(m.group(1) or m.group(2)) <= 250 else None
    )
    rr = int(m.group(1)) if (m := _RR.search(low)) and 4 <= int(m.group(1)) <= 80 else None
    temp_f = None
    if m := _T.search(low):
        value = float(m.group(1))
        temp_f = round(value * 9 / 5 + 32, 1) if 34 <= value <= 43 else value if 94 <= value <= 110 else None
    sugar = round(float(m.group(1)) * 18) if (m := _MMOL.search(low)) else (600 if _METER_HI.search(low) else None)
    crt = float(m.group(1)) if (m := _CRT.search(low)) else None
    return Vitals(hr, rr, temp_f, sugar, crt)


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


# --- durations, temperatures, readings and ages as people say them --------------------------------------------

_NUM_WORDS = {
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3, "several": 3, "couple of": 2, "a few": 3,
    "a couple of": 2,
    "ek": 1, "do": 2, "teen": 3, "char": 4, "chaar": 4, "paanch": 5, "panch": 5, "saat": 7,
    "एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "पाँच": 5, "सात": 7,
}  # fmt: skip
_UNIT_DAYS = {
    "hour": 1 / 24, "hours": 1 / 24, "hr": 1 / 24, "hrs": 1 / 24, "wk": 7, "wks": 7, "mth": 30, "mths": 30,
    "mnth": 30, "mnths": 30, "ghante": 1 / 24, "ghanta": 1 / 24, "घंटे": 1 / 24,
    "day": 1, "days": 1, "din": 1, "दिन": 1,
    "week": 7, "weeks": 7, "hafte": 7, "hafta": 7, "हफ्ते": 7, "हफ़्ते": 7,
    "month": 30, "months": 30, "mahine": 30, "mahina": 30, "महीने": 30,
    "year": 365, "years": 365, "yr": 365, "yrs": 365, "saal": 365,
}  # fmt: skip
_DURATION = re.compile(
    r"(?<![\w\u0900-\u097f])(?<!times )(?<!once )(?<!twice )(?<!per )(?<!\bin )(?<!baby )(?<!son )(?<!daughter )"
    r"(?<!beta )(?<!beti )(?<!bachcha )"
    r"(\d{1,3}|a few|a couple of|couple of|few|several|one|a|an|two|three|four|five|six|seven|eight|nine|ten|twelve"
    r"|ek|do|teen|chaar|char|paanch|panch"
    r"|saat|एक|दो|तीन|चार|पांच|पाँच|सात)\s*-?\s*"
    r"(hours?|hrs?|ghante|ghanta|days?|din|weeks?|wks?|hafte|hafta|months?|mths?|mnths?|mahine|mahina|years?|yrs?"
    r"|saal|घंटे|दिन|हफ्ते"
    r"|हफ़्ते|महीने)"
    r"(?![\w\u0900-\u097f])(?!\s*(?:-\s*)?(?:old|ka\b|ki\b|ke\b|baby|pregnant|ki garbh|की|का))"
)
_LONG_STANDING = re.compile(
    r"\blong[- ]?standing|for (?:a )?long time|for years|several years|many years|since childhood|\brecurrent "
    r"episodes|\bchronic\b|bahut samay se|saalon se|सालों से"
)
_SLASH = re.compile(r"(?<![\d/])(\d{1,2})/(7|52|12)(?![\d/])")
_TEMP = re.compile(
    r"(?:temp(?:erature)?|fever|bukhar|bukhaar|बुखार|ताप|thermometer|थर्मामीटर)[^\d.।!?;]{0,12}?(\d{2,3}(?:\.\d)?)|"
    r"\b(\d{2,3}(?:\.\d)?)\s*(?:°\s*[fc]?|deg(?:rees?)?\b|degree\b|f\b|fahrenheit\b)"
)
BP = re.compile(r"(?:\bbp\b|blood pressure|pressure)\D{0,12}?(\d{2,3})\s*/\s*(\d{2,3})")
SUGAR = re.compile(
    r"(?:sugar|glucose|glucometer|\brbs\b|\bfbs\b|शुगर)(?:\s*(?:level|levels|reading|readings|is|was|of|at|:|=|-|"
    r"showed|shows|came|aayi|aaya|hai|है))*\s*(\d{2,3})(?![\d.])(?!\s*(?:years?|yrs?|saal|sal|साल|months?|"
    r"mahine|days?|din|दिन))"
)
SPO2 = re.compile(r"(?:spo2|sp02|oxygen|saturation|\bo2\b)\D{0,12}?(\d{2,3})")
_AGE_WORDS = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|ek|do|teen|char|chaar|paanch|panch|saat)"
    r"\s*(?:-\s*)?(years?|saal|sal|months?|mahine|weeks?)\s*(?:-\s*)?(?:old|ke|ki|ka)\b"
)
_AGE_SAID = re.compile(r"(?:\bage|\baged|\bumar|\bumr|उम्र)\s*:?\s*(\d{1,3})\b")
_AGE_YEARS = re.compile(r"\b(\d{1,3})\s*(?:-|\s)?(?:years?|yrs?|saal|sal|y/o|yo|साल)(?![a-z\u0900-\u097f])")
_INFANT = r"(?:old|ka|ki|ke|baby|son|daughter|boy|girl|infant|child|का|की|के)"
_AGE_MONTHS = re.compile(
    r"\b(\d{1,2})\s*(?:-|\s)?(?:months?|mahine|mahina|महीने|महीना)[\s-]*" + _INFANT + r"(?![\w\u0900-\u097f])"
)
_AGE_AFTER_CHILD = re.compile(  # "my baby 8 months", "beta 7 mahine"
    r"\b(?:baby|son|daughter|child|beta|beti|bachcha)\s+(?:is\s+)?(\d{1,2})\s*(months?|mahine|mahina|weeks?|hafte)\b"
)
_AGE_WEEKS = re.compile(r"\b(\d{1,2})\s*(?:-|\s)?(?:weeks?|days?|din)[\s-]*" + _INFANT + r"(?![\w\u0900-\u097f])")
# A platelet count as patients quote it: "platelets 15000", "plt 45,000", "platelet 20k", "1.2 lakh", "प्लेटलेट 40 हजार"
_PLATELETS = re.compile(
    r"(?:platelets?|\bplt\b|प्लेटलेट्?स?)\D{0,15}?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b|lakh|lac|हजार|hazar|"
    r"thousand)?"
)
_PLATELET_UNIT = {"k": 1000, "thousand": 1000, "हजार": 1000, "hazar": 1000, "lakh": 100_000, "lac": 100_000}


def platelets_said(low: str) -> int | None:
    """A platelet count per microlitre, if the text gives one (bare numbers under 1,000 read as thousands, as lab
    reports print "150" with a unit of 10^3/µL)."""
    if not (m := _PLATELETS.search(low)):
        return None
    value = float(m.group(1).replace(",", "")) * _PLATELET_UNIT.get(m.group(2) or "", 1)
    value = value * 1000 if value < 1000 else value
    return int(value) if 1000 <= value <= 2_000_000 else None


PREGNANT = re.compile(
    r"pregn[ae]n|\bpreg\b|preggo|garbh|गर्भ|प्रेग्?नें|expecting a baby|pet se hu|pet se hoon|\bgestation|\bantenatal|"
    r"\btrimester|\b(?:primi|multi)?gravida|\bg\d\s*p\d|"
    r"(?:दूसरा|तीसरा|चौथा|पांचवां|पाँचवाँ|छठा|सातवां|सातवाँ|आठवां|आठवाँ|नौवां|नौवाँ)\s*महीना|"
    r"\b(?:satwa|satvan|saatvan|aathwa|aathvan|athwa|nauwa|nauvan|navan)\s*mahina|"
    # Marathi: "गरोदर", "सातवा/आठवा/नववा महिना चालू", "दिवस भरत आले", "9 mahina bharat aala"
    r"गरोदर|garodar|gharodar|(?:दुसरा|तिसरा|चौथा|पाचवा|सहावा|सातवा|आठवा|नववा)\s*महिना|दिवस भरत|"
    r"\b(?:satva|athva|aathva|navva|nauva)\s*mahina|\bmahina bharat|\bdivas bharat"
)
MILD_WORDS = re.compile(
    r"\b(?:mild|mildly|slight|slightly|small|minor|tiny|halka|halki|thoda|thodi)\b|थोडा|थोडी|हल्का|हल्की|"
    r"coin[- ]sized|no blistering|"
    r"without blistering|\ba little\b(?! (?:boy|girl|"
    r"son|daughter|one|baby))|size of a coin|no blisters|"
    r"sikke|chhala nahi|"
    r"हल्का|हल्की|थोड़ा|थोड़ी|छोटी सी|छोटा सा|छोटा"
)
OVERDOSE = re.compile(
    r"\b(?:\d{2,}|ten|fifteen|twenty|thirty|many|lots of|a lot of|whole strip of|full strip of|a bottle of|"
    r"bahut saari|bahut sari|bahut si|bahut saare|dher saari|"
    r"all (?:my|the|his|her))\s+(?:[a-z']+\s+){0,2}(?:pills|tablets|capsules|goliyan)\b"
    r"|\d{2,}\s*(?:\S+\s+){0,2}?(?:गोलियाँ|गोलियां)"
)
IMPROVING = re.compile(r"getting better|improving|better now|settling|theek ho raha|theek ho rahi|आराम मिल")
DIABETIC = re.compile(
    r"diabet|sugar patient|sugar hai|have sugar|had sugar|has sugar|on insulin|takes insulin|शुगर है|शुगर"
)


_YEARS = {"year", "years", "yr", "yrs", "saal"}
_YEARS_BEFORE = re.compile(r"(?:\bfor|\bsince|\bpast|\blast|\bover|\bx|\bfrom|\bof)\s+(?:the\s+)?(?:past\s+|last\s+)?$")
_YEARS_AFTER = re.compile(r"^\s*(?:-\s*)?(?:se\b|से|history|ago|of\b(?! age)|duration|now\b)")


def _years_of_illness(text: str, start: int, end: int) -> bool:
    """Years are a duration only when said as one ("for 3 years", "2 saal se", "a 3-year history"); a bare "25 saal"
    or "30 yrs male" is an age."""
    return bool(_YEARS_BEFORE.search(text[max(0, start - 14) : start]) or _YEARS_AFTER.search(text[end : end + 12]))


def days_said(text: str) -> float | None:
    """The longest duration said ('3 days', 'teen din', 'तीन दिन', 'a week'); an age ('2 month old') is not one."""
    spans: list[float] = []
    ago: list[float] = []
    for m in _DURATION.finditer(text):
        number, unit = m.groups()
        n = int(number) if number.isdigit() else _NUM_WORDS.get(number)
        if unit in _YEARS and not _years_of_illness(text, m.start(), m.end()):
            continue  # "25 saal", "30 yrs male": an age
        if n is not None:
            # "returned 2 weeks ago" dates an event; "for 3 days" in the same sentence is the illness
            (ago if text[m.end() : m.end() + 4] == " ago" else spans).append(n * _UNIT_DAYS[unit])
    for number, unit in _SLASH.findall(text):  # notes: 2/7 (days), 3/52 (weeks), 6/12 (months)
        spans.append(int(number) * {"7": 1, "52": 7, "12": 30}[unit])
    if spans or ago:
        return max(spans or ago)
    if _LONG_STANDING.search(text):
        return 60
    if "since yesterday" in text or "kal se" in text or "कल से" in text:
        return 1
    if "since morning" in text or "since today" in text or "aaj se" in text or "subah se" in text:
        return 0.5
    return None


def temperature_said(text: str) -> float | None:
    for m in _TEMP.finditer(text):
        value = float(m.group(1) or m.group(2))
        if m.group(2) and m.group(0).rstrip().endswith("f") and value < 94:
            continue  # "38F" opens a note (a 38-year-old woman); no temperature is 38 Fahrenheit
        if denied_before(text, m.start()):
            continue  # "denies fever above 38 °C" gives no temperature
        if 94 <= value <= 110:
            return value
        if 34 <= value <= 43:
            return round(value * 9 / 5 + 32, 1)
    return None


def age_said(text: str) -> float | None:
    if m := _AGE_AFTER_CHILD.search(text):
        return int(m.group(1)) / (52 if m.group(2).startswith(("week", "haft")) else 12)
    if m := _AGE_WEEKS.search(text):
        return int(m.group(1)) / 52
    if m := _AGE_MONTHS.search(text):
        return int(m.group(1)) / 12
    if m := _AGE_WORDS.search(text):  # "Five-week-old boy", "two years old"
        per_year = {"w": 52, "m": 12}.get(m.group(2)[0], 1)
        return _NUM_WORDS[m.group(1)] / per_year
    if m := _AGE_SAID.search(text):
        return float(m.group(1)) if int(m.group(1)) <= 120 else None
    for m in _AGE_YEARS.finditer(text):
        if _years_of_illness(text, m.start(), m.end()):
            continue  # "2 saal se khansi": how long, not how old
        value = int(m.group(1))
        return float(value) if value <= 120 else None
    if re.search(r"newborn|new born|navjaat|नवजात", text):
        return 0.05
    return None


# Anything swallowed: by a child this is an emergency whatever the amount ("ate some of grandma's BP tablets").
INGESTED = re.compile(
    r"\b(?:ate|eaten|swallowed|chewed|drank|got into)\b[^.;]{0,40}?\b(?:tablets?|pills?|medicines?|capsules?|"
    r"goliyan|goli|dawai)\b|\b(?:tablets?|pills?|goliyan|goli|dawai|गोलियां|गोलियाँ|गोली|दवा)\b[^.;]{0,20}?"
    r"(?:kha li|kha liya|kha gaya|kha gayi|kha gye|pee li|खा ली|खा लिया|खा गया|खा गई)"
)
