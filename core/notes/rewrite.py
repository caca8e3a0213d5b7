"""Light rewriting of spoken words into note style: fillers and stutters dropped, contractions expanded, numbers
as digits ("one thirty over eighty" → "130/80"), and the patient's first person turned into the third person
("I have had fever" → "She has had fever"). Notes are written that way, and a doctor reads a draft faster when it
already is. Plain regular expressions: deterministic and well under a millisecond a line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# Transcripts tokenised the Penn way ("do n't", "it 's", "gon na") are joined back first.
_DETOK = [
    (re.compile(r"\s+n't\b"), "n't"),
    (re.compile(r"\s+'(s|re|ve|ll|d|m)\b"), r"'\1"),
    (re.compile(r"\b(gon|wan|got)\s+na\b"), r"\1na"),
    (re.compile(r"\s+([,.?!;:])"), r"\1"),
    (re.compile(r"\.{2,}|…"), ","),
    (re.compile(r"\s+-\s+|--+"), ", "),
    (re.compile(r"[’‘]"), "'"),
]
_CONTRACTIONS = {
    "can't": "cannot", "won't": "will not", "shan't": "shall not", "ain't": "is not", "gonna": "going to",
    "wanna": "want to", "gotta": "have to", "kinda": "kind of", "sorta": "sort of", "y'all": "you",
    "let's": "let us", "'cause": "because", "cuz": "because", "cos": "because", "dont": "do not",
    "didnt": "did not", "doesnt": "does not", "cant": "cannot", "im": "i am", "ive": "i have", "wont": "will not",
    # Speech recognisers and typists that drop the apostrophe (only where the word cannot be another word).
    "youre": "you are", "youve": "you have", "youll": "you will", "theyre": "they are", "theres": "there is",
    "thats": "that is", "whats": "what is", "isnt": "is not", "arent": "are not", "wasnt": "was not",
    "werent": "were not", "havent": "have not", "hasnt": "has not", "hadnt": "had not", "shouldnt": "should not",
    "wouldnt": "would not", "couldnt": "could not", "weve": "we have", "theyve": "they have", "hes": "he is",
    "shes": "she is", "id like": "i would like",
}  # fmt: skip
_SUFFIXES = {"n't": " not", "'m": " am", "'re": " are", "'ve": " have", "'ll": " will", "'d": " would"}
_CONTRACTION = re.compile(r"\b([a-z]+)(n't|'m|'re|'ve|'ll|'d)\b|\b(" + "|".join(map(re.escape, _CONTRACTIONS)) + r")\b")
# "he's had", "she's been": has, not is.
_HAS = re.compile(r"\b(it|that|there|he|she|who|this)'s(?= (?:just |always |never )?(?:had|been|got|gotten)\b)")
_IS = re.compile(r"\b(it|that|there|what|he|she|here|where|who|how|this)'s\b")

FILLERS = re.compile(
    r"\b(?:u+m+|u+h+m*|u+h+-h+u+h+|h+m+|m+-?hm+|mm+|m+-hmm+|er+m*|a+h+|o+h+|eh|huh|(?<!let )you know|i mean|like,|"
    r"kind of|sort of|basically|actually|literally|honestly|totally|pretty much)\b,?",
)
# Words that open a turn without saying anything ("okay, so, well, um, the pain…"). Some only when a pause or
# another opener follows: "good, the pain is better" but "good range of motion".
_EMPTY = r"ok(?:ay)?|alright|all right|alrighty|so|well|and|but|now|yes|yeah|yep|yup|oh|um|uh|wow|hey|hi|hello|mm-hmm"
_EMPTY_BEFORE_PAUSE = (
    r"sure|right|great|good|perfect|excellent|got it|i see|thanks|thank you|very good|no worries|awesome|cool"
)
_OPENERS = re.compile(
    rf"^(?:(?:{_EMPTY})\b[,.!]?\s*|(?:{_EMPTY_BEFORE_PAUSE})(?:[,.!]\s*|\s+(?=(?:{_EMPTY}|{_EMPTY_BEFORE_PAUSE})\b)|$))+"
)
# A voice assistant addressed mid-consult ("Dragon, order a refill of Fosamax"): its name is not note content,
# the command after it is.
_WAKE_WORD = re.compile(r"\b(?:hey\s+|ok(?:ay)?,?\s+)?(?:dragon|dax|alexa|siri)\b[,.]?\s*")
# An abbreviation spoken letter by letter, as some transcripts write it ("e k g", "c b c", "u t i"): one word. A run
# starting with "a" or "i" is left alone, those being words.
_SPELLED = re.compile(r"(?<!\b[b-hj-z] )\b(?:[b-hj-z] )(?:[a-z] ){0,3}[a-z]\b")
# Spelled abbreviations whose last letter is "a" or "i", which are otherwise words ("hepatitis c a few years ago").
_SPELLED_AI = frozenset("uti mri bmi ada hba copd".split())


def _joined(m: re.Match[str]) -> str:
    """ "e k g" → "ekg"; a trailing "a" or "i" stays a word unless the letters make a known abbreviation, and "a b c"
    (after the word "a") is left alone."""
    letters = m.group(0).split()
    before = m.string[max(0, m.start() - 2) : m.start()]
    if letters[-1] in ("a", "i") and "".join(letters) not in _SPELLED_AI:
        head = letters[:-1]
        return (("".join(head) if len(head) > 1 else head[0]) + " " + letters[-1]) if head else m.group(0)
    if before in ("a ", "i ") and len(letters) == 2:
        return m.group(0)
    return "".join(letters)


_STUTTER = re.compile(r"\b(\w+(?:\s+\w+)?)(?:,?\s+\1\b)+")
_CUT = re.compile(r"\b\w+-(?:\s+|,\s*)(?=\w)|\s\w+-$")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, "hundred", "thousand"])
_NUMBER_RUN = re.compile(
    rf"\b(?:a\s+(?=hundred|thousand))?(?:{_NUMBER_WORD})(?:(?:\s+|-)(?:and\s+)?(?:{_NUMBER_WORD}|point|oh))*\b"
)
# "one" alone is a number only before a unit ("one week"), not in "no one", "this one", "one of them".
_UNIT_AFTER = re.compile(
    r"^\s*(?:\w+\s+)?(?:days?|weeks?|months?|years?|hours?|minutes?|times?|mg|milligrams?|tablets?|pills?|"
    r"puffs?|units?|cups?|glass(?:es)?|drinks?|packs?|pounds?|kilos?|percent|degrees?|cm|mm|inches?|feet|foot|"
    r"episodes?|to\s+\w+|or\s+\w+)\b"
)
_BP_WORDS = re.compile(r"\b(\d{2,3})\s+over\s+(\d{2,3})\b")


def _value(words: list[str]) -> str | None:
    """Digits for a run of number words: "one hundred and one" → 101, "one thirty" → 130 (how readings are
    said), "ninety eight point six" → 98.6, "twenty five" → 25."""
    if "point" in words:
        i = words.index("point")
        whole, frac = _value(words[:i]), "".join(str(_UNITS.get(w, "")) for w in words[i + 1 :] if w in _UNITS)
        return f"{whole or '0'}.{frac}" if frac else whole
    words = [w for w in words if w not in ("and", "a")]
    if not words:
        return None
    if "hundred" in words or "thousand" in words:
        total, current = 0, 0
        for w in words:
            if w == "oh":
                continue
            if w in _UNITS:
                current += _UNITS[w]
            elif w in _TENS:
                current += _TENS[w]
            elif w == "hundred":
                current = (current or 1) * 100
            elif w == "thousand":
                total += (current or 1) * 1000
                current = 0
        return str(total + current)
    chunks: list[int] = []  # values under 100, said one after another ("one thirty")
    for w in words:
        if w == "oh":
            chunks.append(0)
        elif w in _TENS:
            chunks.append(_TENS[w])
        elif chunks and 20 <= chunks[-1] < 100 and chunks[-1] % 10 == 0 and 0 < _UNITS[w] < 10:
            chunks[-1] += _UNITS[w]
        else:
            chunks.append(_UNITS[w])
    if len(chunks) == 1:
        return str(chunks[0])
    return "".join(str(c) if i == 0 or c >= 10 else f"0{c}" for i, c in enumerate(chunks))


def digits(text: str) -> str:
    """Number words as digits, and blood pressure as systolic/diastolic."""

    def sub(m: re.Match[str]) -> str:
        words = re.split(r"[\s-]+", m.group(0))
        if words == ["one"] and not _UNIT_AFTER.match(text[m.end() :]):
            return m.group(0)
        if words[0] in ("point", "oh", "and"):
            return m.group(0)
        value = _value(words)
        return value if value is not None else m.group(0)

    out = _NUMBER_RUN.sub(sub, text)
    return _BP_WORDS.sub(r"\1/\2", out)


# Doses as notes write them: "500 milligrams" → "500 mg".
_UNIT_ABBREVIATIONS = {"milligram": "mg", "milligrams": "mg", "microgram": "mcg", "micrograms": "mcg",
                       "milliliter": "ml", "milliliters": "ml", "millilitre": "ml", "millilitres": "ml",
                       "kilogram": "kg", "kilograms": "kg", "centimeter": "cm", "centimeters": "cm",
                       "centimetre": "cm", "centimetres": "cm"}  # fmt: skip
_UNIT_WORDS = re.compile(r"(?<=\d )(" + "|".join(_UNIT_ABBREVIATIONS) + r")\b")


def clean(text: str) -> str:
    """Spoken words, tidied: joined tokens, no fillers or stutters, contractions expanded, numbers as digits.
    Lower case (transcripts disagree on case; the sentence is capitalised when emitted)."""
    out = text.lower().strip()
    for pattern, repl in _DETOK:
        out = pattern.sub(repl, out)
    out = _HAS.sub(r"\1 has", out)
    out = _IS.sub(r"\1 is", out)

    def expand(m: re.Match[str]) -> str:
        if m.group(3):
            return _CONTRACTIONS[m.group(3)]
        stem, suffix = m.group(1), m.group(2)
        if suffix == "n't":
            return {"ca": "cannot", "wo": "will not", "sha": "shall not"}.get(stem, stem + " not")
        return stem + _SUFFIXES[suffix]

    out = _CONTRACTION.sub(expand, out)
    out = re.sub(r"\b(\w+)'s\b", r"\1's", out)
    out = _WAKE_WORD.sub("", out)
    out = _SPELLED.sub(_joined, out)
    out = FILLERS.sub("", out)
    out = _CUT.sub("", out)
    out = _STUTTER.sub(r"\1", out)
    out = digits(out)
    out = _UNIT_WORDS.sub(lambda m: _UNIT_ABBREVIATIONS[m.group(1)], out)
    out = re.sub(r"\s*,(?:\s*,)+", ",", out)
    out = re.sub(r"\s+", " ", out)
    out = re.sub(r"\s+([,.?!;:])", r"\1", out)
    return out.strip(" ,")


# A full stop ends a sentence unless it ends a title ("Mr. Rao", "Dr. Shah").
_SENTENCE_END = re.compile(r"(?<=[.?!;])(?<!\bmr\.)(?<!\bmrs\.)(?<!\bms\.)(?<!\bdr\.)(?<!\bst\.)(?<!\bvs\.)\s+")


def punctuated(text: str) -> list[str]:
    """A cleaned turn split at its full stops, question marks and semicolons, words kept as said."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def trimmed(part: str) -> str:
    """A sentence without the words that open a turn and say nothing ("okay, so, well, …"); "" if nothing is
    left."""
    part = _OPENERS.sub("", part.strip()).strip(" ,")
    return part if re.search(r"[a-z0-9]", part) else ""


def sentences(text: str) -> list[str]:
    """A cleaned turn split into sentences, each without the words that open a turn and say nothing."""
    return [t for t in map(trimmed, punctuated(text)) if t]


@dataclass(frozen=True, slots=True)
class Person:
    """The pronouns for the patient in the draft: he/she when the consult said so, else "the patient"."""

    subject: str
    object: str
    possessive: str
    reflexive: str

    @classmethod
    def of(cls, sex: Literal["male", "female"] | None) -> Person:
        if sex == "male":
            return cls("he", "him", "his", "himself")
        if sex == "female":
            return cls("she", "her", "her", "herself")
        return cls("the patient", "the patient", "the patient's", "themselves")


# Verbs said after "I" and their third-person form ("I feel" → "she feels").
_IRREGULAR = {"am": "is", "have": "has", "do": "does", "go": "goes", "was": "was", "'m": "is", "are": "is"}
_VERBS = frozenset(
    "feel think know want need get take use notice see work try like wake sleep eat drink walk run live smoke "
    "exercise play wear stay check keep remember believe guess mean say tell wonder hope love make come get start "
    "usually hate find wish agree understand drive lift cough sneeze vomit bleed sweat pee urinate lose gain "
    "struggle cook ride swim travel plan forget follow avoid prefer miss call climb bend stand sit kneel move turn "
    "bruise ache throb limp".split()
)  # fmt: skip
_ADVERBS = frozenset("also still just really only never always sometimes often usually definitely even".split())


def _third(verb: str) -> str:
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb not in _VERBS:
        return verb
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "o", "u"):
        return verb[:-1] + "ies"
    return verb + "s"


def third_person(text: str, person: Person) -> str:
    """The patient's "I/my/me" as the third person, the verb that follows agreeing ("I have" → "he has")."""
    words = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(words):
        raw = words[i]
        core_word = raw.strip(",.?!;:")
        tail = raw[len(core_word) :] if raw.startswith(core_word) else ""
        if core_word == "i":
            out.append(person.subject + tail)
            j = i + 1
            if j < len(words) and words[j] in _ADVERBS:
                out.append(words[j])
                j += 1
            if j < len(words) and not tail:
                verb = words[j].strip(",.?!;:")
                out.append(_third(verb) + words[j][len(verb) :])
                j += 1
            i = j
            continue
        # The patient's "we" (the patient and family) is "they" in a note: "they had construction on their kitchen".
        repl = {"my": person.possessive, "me": person.object, "mine": person.possessive, "myself": person.reflexive,
                "we": "they", "our": "their", "us": "them", "ours": "theirs", "ourselves": "themselves"}  # fmt: skip
        kept = core_word == "us" and out and out[-1] == "let"  # "let us see how it goes": the patient and doctor
        out.append(repl[core_word] + tail if core_word in repl and not kept else raw)
        i += 1
    return " ".join(out)


_YOU_SUBJECT_VERB = {"are": "is", "have": "has", "were": "was", "do": "does", "feel": "feels", "need": "needs"}
# What follows "you" when it is the subject ("you are retaining fluid"), not the object ("I want you to").
_YOU_SUBJECT = re.compile(
    r"\byou(?=\s+(?:are|is|was|has|does|were|have|had|do|did|will|would|can|could|should|may|might|must|need|feel|seem|look|"
    r"get|got|go|take|know|mentioned|said|told|see|start|continue|keep|come|call|stay|try|use|also|still|just|"
    r"really|probably|definitely|already|never|currently)\b)"
)


def second_to_third(text: str, person: Person) -> str:
    """A doctor's "you/your" about the patient, in the third person ("your lungs are clear" → "his lungs…",
    "you are retaining fluid" → "he is retaining fluid", "I want you to" → "I want him to")."""
    text = re.sub(r"\byour\b", person.possessive, text)
    text = re.sub(r"\byourself\b", person.reflexive, text)
    text = re.sub(r"\byou(?=\s+(?:are|have|were|do)\b)\s+(\w+)", lambda m: f"you {_YOU_SUBJECT_VERB[m.group(1)]}", text)
    text = _YOU_SUBJECT.sub(person.subject, text)
    return re.sub(r"\byou\b", person.object, text)


_ACRONYMS = re.compile(
    r"\b(?:cbc|ns1|bp|ecg|ekg|mri|ct|tsh|hba1c|a1c|lfts?|kfts?|crp|esr|copd|hiv|uti|er|icu|iv|bmi|psa|inr|ent|"
    r"gerd|adhd|acl|mcl|ibs|ibd|dvt|pe|afib|chf|cad|ldl|hdl|nsaids?|ppi|otc|ptsd|iu)\b"
)


def sentence_case(text: str) -> str:
    """Capitalised, "I" and acronyms upper-cased ("CBC", "BP"), ending in a full stop."""
    text = re.sub(r"\bi\b", "I", text.strip(" ,;:"))
    text = _ACRONYMS.sub(lambda m: m.group(0).upper(), text)
    text = text.rstrip(" ,;:")
    if not text:
        return text
    if text[-1] not in ".?!":
        text += "."
    return text[0].upper() + text[1:]


_TOPIC = [
    re.compile(r"\b(?:do|did) you (?P<v>smoke|drink|exercise|vape|snore|work)\b(?P<t>.*)"),
    re.compile(
        r"\b(?:do|did|does) (?:you|it|that|this) (?:ever |still |also )?(?:have|get|notice|feel|experience|see|"
        r"cause|give (?:you|him|her))\s+(?:any\s+)?(?P<t>.+)"
    ),
    re.compile(
        r"\b(?:have|had) you (?:ever |also |recently )?(?:had|noticed|experienced|been having|been experiencing|felt|"
        r"seen|gotten|got|developed)\s+(?:any\s+)?(?P<t>.+)"
    ),
    re.compile(r"\bare you (?:having|experiencing|feeling|getting|noticing)\s+(?:any\s+)?(?P<t>.+)"),
    re.compile(
        r"\b(?:are|were|have) you (?:been )?(?P<t>(?:taking|using|on|smoking|drinking|able|sleeping|eating|"
        r"exercising|working|tolerating|following|checking|monitoring)\b.+)"
    ),
    re.compile(r"\bis there (?:any\s+)?(?P<t>.+)"),
    re.compile(r"(?:^|\b(?:and|or|also|how about|what about)\s+)(?:any|how about|what about)\s+(?:any\s+)?(?P<t>.+)"),
]
_TOPIC_END = re.compile(
    r"(?:\bthat you\b|\bor anything\b|\bat all\b|\blately\b|\brecently\b|\bright now\b|\btoday\b|\bthese days\b|"
    r"\bor not\b|\bwith (?:that|this|it)\b|\bsince then\b|\bwhen\b|\bbecause\b|\?).*$"
)
_GERUND = {"smoke": "smoking", "drink": "drinking alcohol", "exercise": "exercising", "vape": "vaping",
           "snore": "snoring", "work": "working"}  # fmt: skip


_CLAUSE = re.compile(r"\b(?:i|you|he|she|it|we|they|that|this|when|because|is|are|was|were|do|did|have|has|had)\b")


def _listed(asked: str) -> str:
    """What a question asks about up to the first comma that ends a list ("fever, cough, shortness of breath or
    sore throat" stays whole; "pain, when you walk" stops at the comma)."""
    items = asked.split(",")
    kept = [items[0]]
    for item in items[1:]:
        if not 1 <= len(item.split()) <= 6 or _CLAUSE.search(item):
            break
        kept.append(item)
    return ",".join(kept)


def topic(question: str, person: Person) -> str | None:
    """What a yes/no question asks about ("any chest pain?" → "chest pain"), in the patient's third person,
    or None when the question is not one (how long, where, what)."""
    q = question.lower().strip()
    if re.match(r"^(?:how|what|when|where|why|which|who)\b(?! about)", q):
        return None
    for pattern in _TOPIC:
        if m := pattern.search(q):
            verb = m.groupdict().get("v")
            text = _TOPIC_END.sub("", _listed(m.group("t"))).strip(" ,.?")
            text = re.sub(r"^(?:a|an|some|the)\s+", "", text)
            if verb:
                text = (_GERUND[verb] + " " + text).strip()
            words = text.split()
            if not words or len(words) > 12:
                return None
            return second_to_third(text, person)
    return None
