"""Folding a doctor's yes/no question with the answer into one statement of the history ("Any chest pain?" "No."
→ "Denies chest pain."), and a patient's own "no …" read as what it denies.

Owned here: what a yes and a no sound like, what a denial's object may be (a thing, never a statement: "no, I love
running" denies nothing), a list of noes, a relative's history kept as family history, questions a yes or no
cannot answer (open ones, ones about the visit). ``core.notes.soap`` decides where the folded sentence goes.
"""

from __future__ import annotations

import re
from typing import Any

from negspacy.negation import Negex  # noqa: F401 - registers the "negex" factory

from core.notes import rewrite
from core.notes.rewrite import Person
from core.triage import nlp

_NO = re.compile(
    r"^(?:no|nope|nah|not really|not at all|never|none|negative|(?:i do|i have|i did) not(?=[,.!]|$))\b[,.!]?\s*"
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|yes ma'am|yes sir|(?:i do|i have|i did|i am)(?=[,.!]|$)|correct|right|sometimes|"
    r"a little|a bit|definitely|absolutely|uh-huh|mm-hmm)\b[,.!]?\s*"
)
_PATIENT_DENIES = re.compile(
    r"^(?:i )?(?:do|did|have|has|had) not (?:have|had|get|got|gotten|notice|noticed|feel|felt|experience|"
    r"experienced|been having)\s+(?:any\s+)?(?P<t>[^,.;]+)[.]?$|^no (?P<n>[a-z][^,.;]+)[.]?$"
)
_STOP = frozenset(
    "a an the and or but so to of in on at for with is are was were be been it this that i you he she we they my "
    "your me him her them not no yes yeah okay ok just like really very do did does have has had well oh um uh "
    "know think right sure good great fine all what how when there here then too also about as if".split()
)


def content(text: str) -> int:
    return sum(1 for w in re.findall(r"[a-z0-9/.]+", text.lower()) if w not in _STOP)


# What a denial's object must not hold: a pronoun or a verb makes it a statement ("no, I love McDonald's", "no,
# that is great"), not the thing denied.
_NOT_A_THING = re.compile(
    r"\b(?:i|me|my|you|your|he|she|it|we|they|them|his|her|their|that|this|there|is|am|are|was|were|do|does|did|"
    r"have|has|had|will|would|can|could|love|like|eat|think|know|want|said|say|mom|dad|mother|father|none|nothing|"
    r"not|never|problems?|worries|way|thanks|sir|ma'am|doctor|idea|questions?|more|less|longer|shorter|better|"
    r"worse|than|but|except|only)\b"
)


def denied(thing: str) -> str | None:
    """What a patient's "no X" or "I have not had X" denies, when X is a thing (at most six words, no pronoun or
    verb); None for a statement that only starts with "no"."""
    thing = thing.strip(" ,.")
    return thing if thing and len(thing.split()) <= 6 and not _NOT_A_THING.search(thing) else None


# "no cough, no runny nose": a list of things denied one by one.
_ITEM = r"no (?:(?!no\b|but\b)[^,.;])+"  # one thing denied; it never spans the next "no", so matching cannot backtrack
_NO_LIST = re.compile(rf"^{_ITEM}(?:,? (?:and |or )?{_ITEM})+[.]?$")
_NO_ITEM = re.compile(r",? (?:and |or )?no ")
# A "no" that answers and is followed by a statement of its own: "no, I actually love running".
_NO_THEN = re.compile(r"^no,? (?=(?:i|it|that|we|he|she|they|but|actually|not|never)\b)")


def _denied_list(sentence: str) -> str | None:
    """ "no cough, no runny nose" → "denies cough, runny nose"; None unless every item is a thing denied."""
    if not _NO_LIST.match(sentence):
        return None
    things = [denied(t) for t in _NO_ITEM.split(sentence.rstrip(".")[3:])]
    return "denies " + ", ".join(t for t in things if t) if all(things) else None


# "no rash, no vomiting, and he has not complained about his ears": denials, then a statement of their own.
_NO_ITEMS_THEN = re.compile(rf"^(?P<items>{_ITEM}(?:,? (?:and |or )?{_ITEM})*),? (?:and |but )?(?P<rest>[^,.;].*)$")


# What follows the noes as a thing the patient does have: "no blood, just some cramps".
_SOME = re.compile(r"^(?:just |only |but )?(?:some|a little|a bit of|mild|slight|occasional)\b")


def denied_then(sentence: str) -> tuple[str, str] | None:
    """ "no rash, no vomiting, and he has not complained …" → ("denies rash, vomiting", "he has not complained …");
    None unless the sentence opens with things denied one by one and goes on with something else."""
    m = _NO_ITEMS_THEN.match(sentence.rstrip("."))
    rest = m.group("rest") if m else ""
    if m is None or _NO_LIST.match(sentence) or not (_NOT_A_THING.search(rest) or _SOME.match(rest)):
        return None
    things = [denied(t) for t in _NO_ITEM.split(m.group("items")[3:])]
    return ("denies " + ", ".join(t for t in things if t), m.group("rest")) if all(things) else None


def patient_text(sentence: str, person: Person) -> str:
    if (m := _PATIENT_DENIES.match(sentence.removeprefix("i "))) and (thing := denied(m.group("t") or m.group("n"))):
        return "denies " + thing
    if listed := _denied_list(sentence):
        return listed
    if split := denied_then(sentence):
        return f"{split[0]}; {rewrite.third_person(split[1], person)}"
    return rewrite.third_person(_NO_THEN.sub("", sentence), person)


def symptom_pipeline() -> Any:
    """The triage reader's spaCy pipeline (core/triage/nlp.py), loaded on first use: call it at start-up to pay
    the half second then."""
    return nlp.pipeline()


def negated_mentions(text: str) -> tuple[list[str], list[str]]:
    """Symptoms named in ``text``, read as triage reads them (lexicon, misspellings, NegEx): (affirmed, negated),
    each in the words used."""
    mentions = nlp.read(text[:2000]).mentions
    return [m.text for m in mentions if not m.negated], [m.text for m in mentions if m.negated]


_OPEN_QUESTION = re.compile(r"^(?:how|what|when|where|why|which|who)\b(?! about)")
_NO_AGAIN = re.compile(r"^(?:none of (?:that|those|them|these)|nothing like that|not at all|never|no,? no)\b")
# A relative the question is about ("does your mother have diabetes?", "anyone in the family?"), not one it is
# said to ("mum, has he had any vomiting?").
_FAMILY = re.compile(
    r"\b(?:family|relatives?|(?:your|his|her|their|the) (?:mother|mom|mum|mummy|father|dad|papa|parents?|"
    r"brothers?|sisters?|siblings?|in-laws?|grand(?:mother|father|parents?|ma|pa)|aunts?|uncles?))\b"
)


# "Any questions?", "does that sound good?": about the visit, not the patient's history.
_ABOUT_THE_VISIT = re.compile(
    r"\b(?:questions?|concerns?|sound (?:good|okay|ok|alright|like a plan)|make sense|okay with (?:that|this)|"
    r"understand|ready|anything else)\b"
)


def symptoms(text: str) -> bool:
    """Whether a question names a symptom (the triage reader's lexicon): its answer belongs in the history."""
    affirmed, negated = negated_mentions(text)
    return bool(affirmed or negated)


def fold(question: str, answer: str, person: Person) -> tuple[str | None, str]:
    """A doctor's yes/no question and the first sentence of the answer as one statement ("Denies chest pain.")
    and what is left of the answer to draft on its own; (None, answer) when they do not fold."""
    if listed := _denied_list(answer):
        return listed, ""  # "no cough, no runny nose"
    if _OPEN_QUESTION.match(question) or _ABOUT_THE_VISIT.search(question):
        # "how often?" "no more than once a week": nothing a yes or no could fold, and the answer stays whole but
        # for a "no" said on its own before it ("how was the trip?" "no, that is great").
        return None, re.sub(r"^no,\s+", "", answer)
    if split := denied_then(answer):  # "no rash, no vomiting, and he has not complained about his ears"
        family = _FAMILY.search(question) is not None  # "any cancer in the family?" "no lung cancer, but my mom …"
        return (split[0].replace("denies ", "denies family history of ", 1) if family else split[0]), split[1]
    if (named := _PATIENT_DENIES.match(answer)) and named.group("n") and (thing := denied(named.group("n"))):
        return "denies " + thing, ""  # "no pop.": the answer names what it denies
    no, yes = _NO.match(answer), _YES.match(answer)
    m = no or yes
    if m is None:
        return None, answer
    rest = answer[m.end() :].strip(" ,.")
    about = rewrite.topic(question, person)
    if about is None:
        affirmed, negated = negated_mentions(question)
        about = rewrite.second_to_third(" or ".join(affirmed + negated), person) or None
    if about is None:
        return None, rest
    if _FAMILY.search(question) and "family" not in about:
        about = f"family history of {_FAMILY.sub('', about).strip()}"  # the relatives' history, not the patient's
    if no:
        # "no, I do not have chest pain", "no, none of that": the rest only says the no again.
        again = _NO_AGAIN.match(rest)  # "no, none of that" says the no again; "no, never at rest, only …" does not
        said_again = again is not None and content(rest[again.end() :]) == 0
        if _PATIENT_DENIES.match(rest.removeprefix("i ")) or content(rest) <= 1 or said_again:
            return f"denies {about}", ""
        if listed := _denied_list(rest):
            return listed, ""  # "no, no cough, no runny nose"
        if split := denied_then(rest):
            return split
        first = next((w for w in re.findall(r"[a-z0-9']+", rest) if w not in _STOP), "")
        if first in about.split():
            # "no chest pain and no blood but I have lost weight": the answer goes on about what was asked; it is
            # drafted whole, its "no" kept, rather than folded into a denial of everything the question listed.
            return None, answer
        # "no, but my mom had breast cancer": a qualified no is drafted as said, not as a denial.
        return (None, rest) if content(rest) >= 3 else (f"denies {about}", rest)
    if content(rest) >= 3 or "," in about or " or " in about:
        return None, rest  # a yes to a list of symptoms does not say which one
    negated = negated_mentions(rest)[1] if rest else []
    return (None, rest) if negated else (f"reports {about}", "")
