"""Reading a patient's words into ``Findings``: a spaCy pipeline that needs no downloaded model (``spacy.blank`` +
sentencizer + a token normaliser + matchers over the lexicon's phrases and word combinations + the negation and
history scope of ``negation.py``), joined with what ``clinical.py`` reads by regular expression (numbers, ages,
durations, vital signs, the course of the illness)."""

from __future__ import annotations

import gc
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
    crt_s: float | None = None  # capillary refill time in seconds
    platelets: int | None = None  # per microlitre, as the text quotes a report
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
    nlp("warm up: fever and vomitting, no cough")  # builds what the components make on first use (the corrector)
    # The pipeline's few hundred thousand objects live as long as the process: frozen out of the cyclic garbage
    # collector, so that a full collection no longer walks them in the middle of a request (~80 ms every so often).
    gc.collect()
    gc.freeze()
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


_NAHI = re.compile(r"(?<![\u0900-\u097f])नही(?![\u0900-\u097f])")  # "नही", as often typed, is "नहीं"


def normalize(text: str) -> str:
    """One form for what can be typed several ways: Devanagari with or without the nukta ("तेज़"/"तेज"), the
    danda as a full stop, no zero-width joiners, "नही" spelt "नहीं"."""
    text = unicodedata.normalize("NFD", text).replace("\u093c", "").replace("\u0901", "\u0902")  # ँ is ं
    text = _NAHI.sub("नहीं", unicodedata.normalize("NFC", text))
    return re.sub(r"\s+", " ", text.replace("।", ". ").replace("\u200d", "")).strip()


def read(text: str) -> Findings:
    """Everything the text says, in order of mention; negated findings are kept, marked."""
    clean = normalize(text)[:MAX_CHARS]
    low = clean.lower()
    doc = pipeline()(clean)
    found = Findings(mentions=_mentions(doc))
    found.temp_f = clinical.temperature_said(low)
    if bp := clinical.BP.search(low):
        found.bp = (int(bp.group(1)), int(bp.group(2)))
    if sugar := clinical.SUGAR.search(low):
        found.sugar = int(sugar.group(1))
    if spo2 := clinical.SPO2.search(low):
        value = int(spo2.group(1))
        found.spo2 = value if 50 <= value <= 100 else None
    found.sentences = [sent.text.lower() for sent in doc.sents]
    found.durations = [
        (n, d) for n, sent in enumerate(doc.sents) if (d := clinical.days_said(sent.text.lower())) is not None
    ]
    # The illness's duration: said beside a symptom, else anywhere but beside a history ("HTN for 10 years").
    said = {m.sent for m in found.symptoms()}
    history = {m.sent for m in found.mentions if m.past or m.concept in RISKS} - said
    found.days = max((d for n, d in found.durations if n in said), default=None) or max(
        (d for n, d in found.durations if n not in history), default=None
    )
    lay_age = clinical.age_said(low)
    note_age, found.sex = clinical.age_sex(clean)
    found.age = lay_age if lay_age is not None and (lay_age < 1 or note_age is None) else note_age
    vitals = clinical.vitals(low)
    found.hr, found.rr, found.crt_s = vitals.hr, vitals.rr, vitals.crt_s
    found.platelets = clinical.platelets_said(low)
    found.temp_f = found.temp_f or vitals.temp_f
    found.sugar = vitals.sugar_mg or found.sugar  # mmol/L, converted, before a bare number
    found.worsening = clinical.affirmed(clinical.WORSE, low)
    found.despite_treatment = clinical.despite_treatment(low)
    found.pregnant = clinical.affirmed(clinical.PREGNANT, low) and not re.search(
        r"not pregnant|pregnant nahi|गर्भवती नहीं", low
    )
    found.severe = clinical.affirmed(clinical.SEVERE, low) or clinical.severity_score(low) >= 7
    found.mild = bool(clinical.MILD_WORDS.search(low)) and not found.severe
    found.sudden = clinical.affirmed(clinical.SUDDEN, low)
    found.improving = clinical.affirmed(clinical.IMPROVING, low)  # "not getting better" is not improving
    found.diabetic = clinical.affirmed(clinical.DIABETIC, low)
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
    if m := clinical.INGESTED.search(low):
        found.mentions.append(Mention("ingested_medicine", low[m.start() : m.end()], negated=False))
    if m := clinical.OVERDOSE.search(low):
        found.mentions.append(Mention("poisoning", low[m.start() : m.end()], negated=False))
    return found
