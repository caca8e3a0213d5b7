"""Reading a patient's words: a spaCy pipeline that needs no downloaded model (``spacy.blank`` + sentencizer +
a token normaliser + a rule matcher over the lexicon's phrases and word combinations + negspacy's NegEx with
Hindi negation words), and regular expressions for the numbers people give: temperature, blood pressure, sugar,
oxygen, duration, age, pregnancy, severity."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from core.triage import clinical
from core.triage import negation as _negation  # noqa: F401  (registers the labpulse_context component)
from core.triage.clinical_words import OVERRIDES, RISKS
from core.triage.lexicon import COMBOS, CONCEPTS
from core.triage.normalize import norm

MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Mention:
    concept: str
    text: str
    negated: bool
    past: bool = False  # history ("past history of", "previous"): a risk, not what brings the person now
    sent: int = 0  # the sentence it is in, to tie it to a duration said there
    resolved: bool = False  # a red flag that came and went ("weakness … which resolved")


@dataclass
class Findings:
    mentions: list[Mention] = field(default_factory=list)
    temp_f: float | None = None
    bp: tuple[int, int] | None = None
    sugar: int | None = None
    spo2: int | None = None
    days: float | None = None
    age: float | None = None
    pregnant: bool = False
    severe: bool = False
    mild: bool = False
    sudden: bool = False
    improving: bool = False
    diabetic: bool = False
    chronic: bool = False  # kidney, heart or lung failure, dialysis, sickle cell: less reserve, sooner to a doctor
    sex: str | None = None
    hr: int | None = None
    rr: int | None = None
    worsening: bool = False  # progressive, getting worse
    despite_treatment: bool = False  # "despite inhalers", "not responding to antibiotics"
    durations: list[tuple[int, float]] = field(default_factory=list)  # (sentence, days) as said
    settled_episode: list[str] = field(default_factory=list)  # red flags that came and went a day or more ago
    sentences: list[str] = field(default_factory=list)  # lower case, in order (Mention.sent indexes them)

    def has(self, *concepts: str) -> list[str]:
        """The words (not negated) that named any of ``concepts``."""
        return [m.text for m in self.mentions if m.concept in concepts and not m.negated and not m.past]

    def negated(self) -> list[str]:
        return [m.text for m in self.mentions if m.negated and m.concept not in RISKS]

    def risk(self, *concepts: str) -> list[str]:
        """The words naming a risk factor: not denied, and counting when in the past ("h/o DVT")."""
        return [m.text for m in self.mentions if m.concept in concepts and not m.negated]

    def symptoms(self) -> list[Mention]:
        """What the person has now: findings neither denied nor past, risk factors left out."""
        return [m for m in self.mentions if not m.negated and not m.past and m.concept not in RISKS]

    def said_with(self, concept: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
        """Whether a sentence naming ``concept`` also says every one of ``patterns`` ("a *sudden*, *severe*
        headache", not a headache in one sentence and a sudden pain elsewhere)."""
        sents = {m.sent for m in self.mentions if m.concept == concept and not m.negated and not m.past}
        return any(all(p.search(self.sentences[n]) for p in patterns) for n in sents if n < len(self.sentences))

    def days_of(self, *concepts: str) -> float | None:
        """How long ``concepts`` have lasted: the longest duration said in a sentence naming them, else the
        illness's duration ("3 months of tiredness. Fever since yesterday." gives the fever one day)."""
        sents = {m.sent for m in self.mentions if m.concept in concepts and not m.negated and not m.past}
        own = [d for s, d in self.durations if s in sents]
        return max(own) if own else self.days


_BREAKS = ["and", "but", "or", "aur", "lekin", "और", "लेकिन"]
_ONE_SIDED = ("one_sided_weakness", "calf_swelling")  # "weakness in both legs" is not one-sided
_ONE_SIDED_BREAKS = ("both", "dono", "दोनों")
COMBO_GAP = 4  # words allowed between two words of a combination ("chest feels very heavy")


@Language.component("labpulse_normalize")
def _normalize(doc: Doc) -> Doc:
    for token in doc:
        token.norm_ = norm(token.text)
    return doc


def _phrase_matcher(nlp: Any) -> PhraseMatcher:
    matcher = PhraseMatcher(nlp.vocab, attr="NORM")
    for concept, phrases in CONCEPTS.items():
        # Case changes how some words split ("t1dm" is "t1" + the unit "dm", "T1DM" one word): add both.
        forms = {form for p in phrases for form in (p, p.upper())}
        docs = [_normalize(nlp.make_doc(p)) for p in sorted(forms)]
        matcher.add(concept, docs)
    return matcher


def _in_word_hyphen(token: Any) -> bool:
    return token.text == "-" and token.i > 0 and not token.doc[token.i - 1].whitespace_ and not token.whitespace_


class _Combos:
    """Words that name a symptom together, in order, each at most COMBO_GAP words after the one before, never across
    punctuation or a conjunction ("not vomiting *and* can keep water down"). spaCy's Matcher does this with
    ``{0,4}`` wildcards, but its cost grows with every pattern; indexing each combination by its first word keeps
    it to a few dictionary lookups per token."""

    def __init__(self, nlp: Any) -> None:
        self.first: dict[str, list[tuple[str, tuple[frozenset[str], ...]]]] = {}
        for concept, combos in COMBOS.items():
            for combo in combos:
                if any(len(nlp.make_doc(w)) != 1 for group in combo for w in group):
                    raise ValueError(f"a combination group holds single words: {combo}")
                groups = tuple(frozenset(norm(w) for w in group) for group in combo)
                for word in groups[0]:
                    self.first.setdefault(word, []).append((concept, groups[1:]))

    def __call__(self, doc: Doc) -> list[tuple[str, int, int]]:
        norms = [t.norm_ for t in doc]
        # quotes and a hyphen inside a word do not break a combination ("speech 'a bit slurred'", "fluid-filled")
        stops = [(t.is_punct and not t.is_quote and not _in_word_hyphen(t)) or t.norm_ in _BREAKS for t in doc]
        found: set[tuple[str, int, int]] = set()
        for i, word in enumerate(norms):
            for concept, rest in self.first.get(word, ()):
                breaks = _ONE_SIDED_BREAKS if concept in _ONE_SIDED else ()
                for end in self._ends(norms, stops, i + 1, rest, breaks):
                    found.add((concept, i, end))
        return sorted(found, key=lambda m: (m[1], m[2]))

    def _ends(self, norms: list[str], stops: list[bool], i: int, rest: tuple[frozenset[str], ...],
              breaks: tuple[str, ...]) -> list[int]:  # fmt: skip
        if not rest:
            return [i]
        ends = []
        for j in range(i, min(i + COMBO_GAP + 1, len(norms))):
            if norms[j] in rest[0]:
                ends += self._ends(norms, stops, j + 1, rest[1:], breaks)
            if stops[j] or norms[j] in breaks:
                break
        return ends


_BUILDING = threading.Lock()


def pipeline() -> Any:
    """The reading pipeline, built once (about a second) by whichever thread asks first; the web process starts
    building it in a worker thread at startup so the first request does not wait."""
    with _BUILDING:
        return _build()


@lru_cache(maxsize=1)
def _build() -> Any:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("labpulse_normalize")
    phrases, combos = _phrase_matcher(nlp), _Combos(nlp)

    @Language.component("labpulse_symptoms")
    def symptoms(doc: Doc) -> Doc:
        # Every match is kept (a phrase can name two concepts); the longest become the entities NegEx reads.
        # Phrases are labelled apart from combinations ("chest hurts"): a list's items are phrases.
        spans = [Span(doc, _own_negation(doc, start), end, label=label, span_id=key)
                 for label, matches in (("SYMPTOM", phrases(doc)), ("COMBO", combos(doc)))
                 for key, start, end in matches]  # fmt: skip
        doc.user_data["symptoms"] = spans
        doc.ents = filter_spans(spans)
        return doc

    nlp.add_pipe("labpulse_symptoms")
    nlp.add_pipe("labpulse_context")
    return nlp


_AUX = {"can", "do", "does", "did", "will", "is", "are", "was", "could", "would", "should", "has", "have"}


def _own_negation(doc: Doc, start: int) -> int:
    """A match that begins with its own "not" ("can't lift his arm") takes in the verb before it, so NegEx does not
    read "can't" as negating the symptom it is part of."""
    if start and doc[start].norm_ == "not" and doc[start - 1].norm_ in _AUX:
        return start - 1
    return start


def _mentions(doc: Doc) -> list[Mention]:
    """One mention per matched span; a span inside (or overlapping) an entity shares that entity's negation."""
    ents = list(doc.ents)
    sent_of = {t.i: n for n, sent in enumerate(doc.sents) for t in sent}
    out: dict[tuple[str, int, int], Mention] = {}
    spans = sorted(doc.user_data.get("symptoms", ()), key=lambda s: (s.start, s.end))
    snoring = any(s.id_ == "snoring" for s in spans)  # pauses in breathing are sleep apnoea only in a snorer
    masks = [s for s in spans if s.id_ in OVERRIDES and (s.id_ != "sleep_apnoea" or snoring)]
    for span in spans:
        owner = next((e for e in ents if e.start < span.end and span.start < e.end), None)
        if span.id_ == "masked" or any(m.start <= span.start and span.end <= m.end and len(m) > len(span)
                                       and m.id_ != span.id_ for m in masks):  # fmt: skip
            continue  # "food poisoning", "can't breathe through my nose": the words inside name nothing
        negated = bool(owner._.negex) if owner is not None else False
        past = bool(owner._.past) if owner is not None else False
        resolved = bool(owner._.resolved) if owner is not None else False
        key = (span.id_, span.start, span.end)
        out.setdefault(key, Mention(span.id_, span.text, negated, past, sent_of.get(span.start, 0), resolved))
    return list(out.values())


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
_BP = re.compile(r"(?:\bbp\b|blood pressure|pressure)\D{0,12}?(\d{2,3})\s*/\s*(\d{2,3})")
_SUGAR = re.compile(
    r"(?:sugar|glucose|glucometer|\brbs\b|\bfbs\b|शुगर)(?:\s*(?:level|levels|reading|readings|is|was|of|at|:|=|-|"
    r"showed|shows|came|aayi|aaya|hai|है))*\s*(\d{2,3})(?![\d.])(?!\s*(?:years?|yrs?|saal|sal|साल|months?|"
    r"mahine|days?|din|दिन))"
)
_SPO2 = re.compile(r"(?:spo2|sp02|oxygen|saturation|\bo2\b)\D{0,12}?(\d{2,3})")
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
_PREGNANT = re.compile(
    r"pregn[ae]n|\bpreg\b|preggo|garbh|गर्भ|प्रेग्नें|expecting a baby|pet se hu|pet se hoon|\bgestation|\bantenatal|"
    r"\btrimester|\b(?:primi|multi)?gravida|\bg\d\s*p\d"
)
_MILD = re.compile(
    r"\b(?:mild|mildly|slight|slightly|small|minor|tiny|halka|halki|thoda|thodi)\b|coin[- ]sized|no blistering|"
    r"without blistering|\ba little\b(?! (?:boy|girl|"
    r"son|daughter|one|baby))|size of a coin|no blisters|"
    r"sikke|chhala nahi|"
    r"हल्का|हल्की|थोड़ा|थोड़ी|छोटी सी|छोटा सा|छोटा"
)
_OVERDOSE = re.compile(
    r"\b(?:\d{2,}|ten|fifteen|twenty|thirty|many|lots of|a lot of|whole strip of|full strip of|a bottle of|"
    r"bahut saari|bahut sari|bahut si|bahut saare|dher saari|"
    r"all (?:my|the|his|her))\s+(?:[a-z']+\s+){0,2}(?:pills|tablets|capsules|goliyan)\b"
    r"|\d{2,}\s*(?:\S+\s+){0,2}?(?:गोलियाँ|गोलियां)"
)
_IMPROVING = re.compile(r"getting better|improving|better now|settling|theek ho raha|theek ho rahi|आराम मिल")
_DIABETIC = re.compile(
    r"diabet|sugar patient|sugar hai|have sugar|had sugar|has sugar|on insulin|takes insulin|शुगर है|शुगर"
)


_YEARS = {"year", "years", "yr", "yrs", "saal"}
_YEARS_BEFORE = re.compile(r"(?:\bfor|\bsince|\bpast|\blast|\bover|\bx|\bfrom|\bof)\s+(?:the\s+)?(?:past\s+|last\s+)?$")
_YEARS_AFTER = re.compile(r"^\s*(?:-\s*)?(?:se\b|से|history|ago|of\b(?! age)|duration|now\b)")


def _years_of_illness(text: str, start: int, end: int) -> bool:
    """Years are a duration only when said as one ("for 3 years", "2 saal se", "a 3-year history"); a bare "25 saal"
    or "30 yrs male" is an age."""
    return bool(_YEARS_BEFORE.search(text[max(0, start - 14) : start]) or _YEARS_AFTER.search(text[end : end + 12]))


def _days(text: str) -> float | None:
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


def _temperature(text: str) -> float | None:
    for m in _TEMP.finditer(text):
        value = float(m.group(1) or m.group(2))
        if m.group(2) and m.group(0).rstrip().endswith("f") and value < 94:
            continue  # "38F" opens a note (a 38-year-old woman); no temperature is 38 Fahrenheit
        if clinical.denied_before(text, m.start()):
            continue  # "denies fever above 38 °C" gives no temperature
        if 94 <= value <= 110:
            return value
        if 34 <= value <= 43:
            return round(value * 9 / 5 + 32, 1)
    return None


def _age(text: str) -> float | None:
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


def normalize(text: str) -> str:
    """One form for what can be typed several ways: Devanagari with or without the nukta ("तेज़"/"तेज"), the
    danda as a full stop, no zero-width joiners."""
    text = unicodedata.normalize("NFD", text).replace("\u093c", "").replace("\u0901", "\u0902")  # ँ is ं
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", text.replace("।", ". ").replace("\u200d", "")).strip()


# Anything swallowed: by a child this is an emergency whatever the amount ("ate some of grandma's BP tablets").
_INGESTED = re.compile(
    r"\b(?:ate|eaten|swallowed|chewed|drank|got into)\b[^.;]{0,40}?\b(?:tablets?|pills?|medicines?|capsules?|"
    r"goliyan|goli|dawai)\b|\b(?:tablets?|pills?|goliyan|goli|dawai|गोलियां|गोलियाँ|गोली|दवा)\b[^.;]{0,20}?"
    r"(?:kha li|kha liya|kha gaya|kha gayi|kha gye|pee li|खा ली|खा लिया|खा गया|खा गई)"
)


def read(text: str) -> Findings:
    """Everything the text says, in order of mention; negated findings are kept, marked."""
    clean = normalize(text)[:MAX_CHARS]
    low = clean.lower()
    doc = pipeline()(clean)
    found = Findings(mentions=_mentions(doc))
    found.temp_f = _temperature(low)
    if bp := _BP.search(low):
        found.bp = (int(bp.group(1)), int(bp.group(2)))
    if sugar := _SUGAR.search(low):
        found.sugar = int(sugar.group(1))
    if spo2 := _SPO2.search(low):
        value = int(spo2.group(1))
        found.spo2 = value if 50 <= value <= 100 else None
    found.sentences = [sent.text.lower() for sent in doc.sents]
    found.durations = [(n, d) for n, sent in enumerate(doc.sents) if (d := _days(sent.text.lower())) is not None]
    # The illness's duration: said beside a symptom, else anywhere but beside a history ("HTN for 10 years").
    said = {m.sent for m in found.symptoms()}
    history = {m.sent for m in found.mentions if m.past or m.concept in RISKS} - said
    found.days = max((d for n, d in found.durations if n in said), default=None) or max(
        (d for n, d in found.durations if n not in history), default=None
    )
    lay_age = _age(low)
    note_age, found.sex = clinical.age_sex(clean)
    found.age = lay_age if lay_age is not None and (lay_age < 1 or note_age is None) else note_age
    vitals = clinical.vitals(low)
    found.hr, found.rr = vitals.hr, vitals.rr
    found.temp_f = found.temp_f or vitals.temp_f
    found.sugar = vitals.sugar_mg or found.sugar  # mmol/L, converted, before a bare number
    found.worsening = clinical.affirmed(clinical.WORSE, low)
    found.despite_treatment = clinical.despite_treatment(low)
    found.pregnant = clinical.affirmed(_PREGNANT, low) and not re.search(r"not pregnant|pregnant nahi|गर्भवती नहीं", low)
    found.severe = clinical.affirmed(clinical.SEVERE, low) or clinical.severity_score(low) >= 7
    found.mild = bool(_MILD.search(low)) and not found.severe
    found.sudden = clinical.affirmed(clinical.SUDDEN, low)
    found.improving = clinical.affirmed(_IMPROVING, low)  # "not getting better" is not improving
    found.diabetic = clinical.affirmed(_DIABETIC, low)
    found.chronic = bool(found.risk("chronic_disease"))  # read with negation lists ("denies … or h/o cancer")
    # A red flag that came and went a day or more ago (said in its own sentence) is a recent episode for a doctor
    # today, not an ambulance now.
    settled = {id(m) for m in found.mentions if m.resolved and not m.negated
               and (clinical.days_ago(found.sentences[m.sent]) or 0) >= 1}  # fmt: skip
    found.settled_episode = [m.text for m in found.mentions if id(m) in settled]
    found.mentions = [Mention(m.concept, m.text, m.negated, True, m.sent) if id(m) in settled else m
                      for m in found.mentions]  # fmt: skip
    named = {m.concept for m in found.mentions}  # the regular expressions below only add what the words missed
    if "one_sided_weakness" not in named and clinical.affirmed(clinical.ONE_SIDE_WEAK, low):
        found.mentions.append(Mention("one_sided_weakness", "one hand or arm weak or clumsy", negated=False))
    if m := clinical.OVERDOSE_COUNT.search(low):
        found.mentions.append(Mention("poisoning", low[m.start() : m.end()], negated=False))
    if "cellulitis" not in named and clinical.affirmed(clinical.RED_WARM_SKIN, low):
        found.mentions.append(Mention("cellulitis", "red and warm skin", negated=False))
    if m := _INGESTED.search(low):
        found.mentions.append(Mention("ingested_medicine", low[m.start() : m.end()], negated=False))
    if m := _OVERDOSE.search(low):
        found.mentions.append(Mention("poisoning", low[m.start() : m.end()], negated=False))
    return found
