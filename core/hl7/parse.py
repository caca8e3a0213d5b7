"""Read ORU^R01 messages the way analyzers really send them.

Tolerated: CR, LF or CRLF segment ends; a segment wrapped onto a second line; segments run together on one line
with spaces between them (``… PID|1||… OBR|1|…``, as copied from documents); batches (FHS/BHS … BTS/FTS);
the patient id in PID-2, PID-3 or PID-4; units in OBX-6; empty OBX-3 codes; values such as ``<0.1``, ``>500`` or
``.....``; a coded value with its text and no code (``^Bordetella pertussis^SNM``); a reference range sent in
components (``^^10.0``); NTE comments after an OBX; Z-segments (ignored). Strict: every value leaves here typed
(numeric with comparator and unit, text, or coded), with its reference range, abnormal flag and result status
checked against the codes HL7 defines, or the message is refused with a reason.

The HL7 grammar is split here, by hand, exactly as ``hl7.parse`` (python-hl7 0.4.5) splits it: segments by CR,
fields by the separator MSH declares, then repetitions, components and sub-components by MSH-2 (HL7's defaults
where MSH-2 is short). Escape sequences (``\\F\\``, ``\\S\\``, ``\\T\\``, ``\\R\\``, ``\\E\\``, …) are kept as
sent, as before. A segment is kept as its list of field texts and a field is split only when read: building
the package's full tree of containers cost more than everything else done to a message in this process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SEGMENT_START = re.compile(r"^[A-Z][A-Z0-9]{2}\|")
_NUMBER = re.compile(r"^(<=|>=|<|>|=)?\s*([+-]?(\d+\.?\d*|\.\d+))$")
FLAGS = frozenset({"L", "H", "LL", "HH", "A", "AA", "N", "<", ">"})
STATUSES = {
    "P": "preliminary",
    "F": "final",
    "C": "corrected",
    "R": "preliminary",
    "I": "preliminary",
    "S": "preliminary",
}
BATCH_SEGMENTS = frozenset({"FHS", "BHS", "BTS", "FTS"})


class HL7ParseError(Exception):
    """The bytes are not a message we can read at all (answered AR), with the HL7 error code (table 0357: 100
    segment sequence, 101 required field missing, 102 data type) and where, for the ACK's ERR segment."""

    def __init__(self, message: str, *, code: str = "102", location: str = "") -> None:
        super().__init__(message)
        self.code, self.location = code, location


@dataclass(frozen=True, slots=True)
class Header:
    """What an ACK echoes of the message it answers: sender (MSH-3, MSH-4), trigger event (MSH-9.2), control id
    (MSH-10), processing id (MSH-11, P/T/D) and version (MSH-12)."""

    control_id: str = ""
    application: str = ""
    facility: str = ""
    message_type: str = ""  # MSH-9.1: ORU, ADT, ORM …
    trigger: str = ""
    processing_id: str = ""
    version: str = ""

    @property
    def sender(self) -> str:
        return f"{self.application}^{self.facility}"[:200]


@dataclass(frozen=True, slots=True)
class Value:
    kind: str  # "numeric", "text" or "coded"
    number: Decimal | None = None
    comparator: str | None = None  # "<", ">", "<=", ">=" for values like <0.1
    text: str | None = None
    code: str | None = None
    code_system: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    set_id: str
    code: str
    name: str
    code_system: str
    value: Value | None  # None: the analyzer sent no usable value (".....", empty)
    unit: str | None
    reference_range: str | None
    flag: str | None
    status: str  # preliminary | final | corrected
    observed_at: str | None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    header: Header
    control_id: str
    sender: str  # MSH-3^MSH-4 (application and facility)
    message_type: str  # e.g. ORU^R01
    patient_ids: list[str]
    specimen_ids: list[str]  # OBR-2 placer, OBR-3 filler, SPM-2: where the tube's barcode may be
    observations: list[Observation]


# A segment that starts after spaces on the line before it: the ids HL7 v2 messages carry, and Z-segments.
_RUN_TOGETHER = re.compile(
    r"[ \t]+(?=(?:MSH|EVN|PID|PD1|PV1|PV2|NK1|NTE|ORC|OBR|OBX|SPM|SAC|TQ1|TQ2|MRG|AL1|DG1|IN1|GT1|FT1|MSA|ERR|TXA|"
    r"ROL|CTD|CTI|BHS|BTS|FHS|FTS|Z[A-Z0-9]{2})\|)"
)


def normalize(raw: bytes | str) -> str:
    """Segments separated by CR only; LF/CRLF turned into CR; a wrapped line rejoined to its segment; segments
    run together with spaces between them split apart."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = _CONTROL.sub("", text)  # NUL and other control bytes some devices emit; PostgreSQL stores no NUL
    lines = [ln for ln in re.split(r"\r\n|\r|\n", text.strip("\x0b\x1c\r\n ")) if ln.strip()]
    if any(_RUN_TOGETHER.search(ln) for ln in lines):
        lines = [part for ln in lines for part in _RUN_TOGETHER.split(ln)]
    segments: list[str] = []
    for line in lines:
        if segments and not _SEGMENT_START.match(line):
            segments[-1] += line  # a wrapped continuation of the segment above
        else:
            segments.append(line)
    return "\r".join(segments)


def split_batch(text: str) -> list[str]:
    """One string per message: batch envelopes dropped, each MSH starts a message. Text before the first MSH
    (other than envelopes) means the batch is malformed."""
    messages: list[list[str]] = []
    for seg in text.split("\r"):
        kind = seg[:3]
        if kind in BATCH_SEGMENTS:
            continue
        if kind == "MSH":
            messages.append([seg])
        elif not messages:
            raise HL7ParseError(f"segment {kind!r} comes before any MSH", code="100", location=f"{kind}^1")
        else:
            messages[-1].append(seg)
    if not messages:
        raise HL7ParseError("no MSH segment", code="100", location="MSH^1")
    return ["\r".join(m) for m in messages]


_HEADERS = ("MSH", "BHS", "FHS")  # segments whose MSH-1/MSH-2 are kept whole, as hl7.parse does


@dataclass(frozen=True, slots=True)
class _Grammar:
    """A message's repetition, component and sub-component separators (MSH-2), for reading its fields."""

    repetition: str
    component: str
    subcomponent: str

    def f(self, seg: list[str] | None, field_: int, comp: int = 1, rep: int = 1) -> str:
        """Field ``field_``, repetition ``rep``, component ``comp`` (its first sub-component) of a segment, as
        text ('' when absent): what ``hl7.parse`` would hold there. (MSH-1 and MSH-2 are whole strings in its
        tree, not split further; they are never read here.)"""
        if seg is None or field_ >= len(seg):
            return ""
        text = seg[field_]
        if rep == 1:
            text = text.partition(self.repetition)[0]
        else:
            reps = text.split(self.repetition)
            if rep > len(reps):
                return ""
            text = reps[rep - 1]
        if comp == 1:
            text = text.partition(self.component)[0]
        else:
            comps = text.split(self.component)
            if comp > len(comps):
                return ""
            text = comps[comp - 1]
        return text.partition(self.subcomponent)[0].strip()

    def components(self, seg: list[str], field_: int) -> list[str]:
        """Every component of the field's first repetition, as ``f`` reads each one (``f(seg, field_, c)`` is
        item ``c - 1``, or '' past the end): one split for a field read component by component."""
        if field_ >= len(seg):
            return [""]
        sub = self.subcomponent
        first = seg[field_].partition(self.repetition)[0]
        return [c.partition(sub)[0].strip() for c in first.split(self.component)]


def _unreadable(why: str) -> HL7ParseError:
    return HL7ParseError(f"not an HL7 message: {why}", code="100" if why == "ParseException" else "102")


def _split(text: str) -> tuple[list[list[str]], _Grammar]:
    """Segments, each as its field texts (``[0]`` is the segment id; in MSH, ``[1]`` is MSH-1 and ``[2]`` MSH-2, so
    ``[n]`` is field n), and the message's grammar. Refuses exactly what ``hl7.parse`` refused, with the name of
    the exception it raised: ParseException (not MSH/BHS/FHS first), IndexError (too short), AssertionError
    (MSH-2 repeats a separator, once a field needs the repeated one)."""
    msg = text.strip()
    if msg[:3] not in _HEADERS:
        raise _unreadable("ParseException")
    if len(msg) <= 4:  # no MSH-1, or nothing after it
        raise _unreadable("IndexError")
    encoding = msg[3 : msg.find(msg[3], 4)]
    field_sep = encoding[0]
    order = (
        "\r"
        + field_sep
        + (encoding[2] if len(encoding) > 2 else "~")
        + (encoding[1] if len(encoding) > 1 else "^")
        + (encoding[4] if len(encoding) > 4 else "&")
    )
    # hl7.parse asserts, level by level as it first needs one, that each separator is not one of those above it
    broken = next((level for level in range(1, 5) if order.find(order[level]) != level), 0)
    if broken == 1:
        raise _unreadable("AssertionError")
    separators = order[1:]
    segments: list[list[str]] = []
    for seg in msg.split("\r"):
        if field_sep not in seg and not any(sep in seg for sep in separators):
            segments.append([seg])  # no separator at all: one bare string
            continue
        if seg[:3] in _HEADERS:
            if len(seg) < 4:
                raise _unreadable("IndexError")
            own = seg[3]
            end = seg.find(own, 4)
            rest = seg[end + 1 :]
            children = rest.split(field_sep) if rest else []
            segments.append([seg[:3], own, seg[4:end], *children])
        else:
            children = seg.split(field_sep)
            segments.append(children)
        if broken and _reaches(children, order, broken):
            raise _unreadable("AssertionError")
    return segments, _Grammar(order[2], order[3], order[4])


def _reaches(fields: list[str], order: str, broken: int) -> bool:
    """Whether hl7.parse, splitting these fields, needs the separator of level ``broken`` (2: repetitions,
    3: components, 4: sub-components)."""
    for text in fields:
        if broken == 2:
            return True
        if any(sep in text for sep in order[2:]):
            if broken == 3:
                return True
            if any(any(sep in rep for sep in order[3:]) for rep in text.split(order[2])):
                return True
    return False


def typed_value(value_type: str, raw: str, comps: list[str]) -> Value | None:
    raw = raw.strip()
    if not raw or set(raw) <= {"."}:
        return None
    if value_type in ("CE", "CWE", "CNE", "CF"):  # the code, its text or both (an organism may come as text alone)
        if not any(comps[:2]):
            return None
        return Value("coded", code=comps[0] or None, text=(comps[1] if len(comps) > 1 else "") or None,
                     code_system=(comps[2] if len(comps) > 2 else "") or None)  # fmt: skip
    match = _NUMBER.match(raw.replace(" ", ""))
    if value_type in ("NM", "SN", "") and match:
        try:
            number = Decimal(match.group(2))
        except ArithmeticError:
            number = None
        if number is not None:
            comparator = match.group(1) if match.group(1) not in (None, "=") else None
            return Value("numeric", number=number, comparator=comparator)
    if value_type == "SN" and "^" in raw:  # structured numeric: comparator^number
        parts = raw.split("^")
        try:
            return Value("numeric", number=Decimal(parts[1]), comparator=parts[0] or None)
        except (ArithmeticError, IndexError):  # not a number, or one too large for Decimal itself (1e999999999)
            pass
    return Value("text", text=raw)


def reference_range(comps: list[str]) -> str | None:
    """OBX-7 as text: usually one component ("12-15", "<5"); some senders split it ("3.5^5.1", "^^10.0"), and every
    part is kept, a low and high pair as "low-high"."""
    parts = [c for c in comps if c]
    if len(comps) >= 2 and comps[0] and comps[1] and all(_NUMBER.match(c) for c in comps[:2]):
        return f"{comps[0]}-{comps[1]}" + "".join(f" {c}" for c in comps[2:] if c)
    return " ".join(parts) or None


def header_of(raw: bytes | str) -> Header:
    """Best effort, for the ACK of a message that cannot be parsed or stored: MSH-3, 4, 9, 10, 11 and 12 of its
    first MSH line, if any. Never raises."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    line = next((ln for ln in normalize(text).split("\r") if ln.startswith("MSH") and len(ln) > 4), None)
    if line is None:
        return Header()
    fields = line.split(line[3])
    component = fields[1][:1] if len(fields) > 1 and fields[1] else "^"

    def get(n: int, c: int = 0) -> str:  # MSH-n (fields[0] is "MSH", fields[1] MSH-2), component c + 1
        parts = fields[n - 1].split(component) if len(fields) > n - 1 else [""]
        return parts[c].strip()[:100] if c < len(parts) else ""

    return Header(get(10), get(3), get(4), get(9), get(9, 1), get(11), get(12))


@dataclass(frozen=True, slots=True)
class Segments:
    """A message's segments as field texts with its grammar, for readers of message types other than results
    (ADT, ORM, OML): ``f(seg, field, comp, rep)`` reads one component as ``parse_message`` does, ``sub`` one
    sub-component, ``reps`` how many repetitions a field has."""

    all: list[list[str]]
    grammar: _Grammar

    def each(self, kind: str) -> list[list[str]]:
        return [seg for seg in self.all if seg[0] == kind]

    def first(self, kind: str) -> list[str] | None:
        return next((seg for seg in self.all if seg[0] == kind), None)

    def f(self, seg: list[str] | None, field_: int, comp: int = 1, rep: int = 1) -> str:
        return self.grammar.f(seg, field_, comp, rep)

    def sub(self, seg: list[str] | None, field_: int, comp: int, sub: int, rep: int = 1) -> str:
        if seg is None or field_ >= len(seg):
            return ""
        g = self.grammar
        reps = seg[field_].split(g.repetition)
        comps = reps[rep - 1].split(g.component) if rep <= len(reps) else []
        subs = comps[comp - 1].split(g.subcomponent) if comp <= len(comps) else []
        return subs[sub - 1].strip() if sub <= len(subs) else ""

    def reps(self, seg: list[str] | None, field_: int) -> int:
        if seg is None or field_ >= len(seg) or not seg[field_]:
            return 0
        return len(seg[field_].split(self.grammar.repetition))


def segments(text: str) -> Segments:
    """The segments of one message (HL7ParseError as ``parse_message`` raises it)."""
    all_segments, grammar = _split(text)
    return Segments(all_segments, grammar)


def parse_message(text: str) -> ParsedMessage:
    all_segments, grammar = _split(text)
    f = grammar.f
    segments: dict[str, list[list[str]]] = {}
    for seg in all_segments:  # one pass; every lookup below is then direct
        segments.setdefault(seg[0], []).append(seg)
    msh = segments["MSH"][0]
    control_id = f(msh, 10)
    if not control_id:
        raise HL7ParseError("MSH-10 (message control id) is empty", code="101", location="MSH^1^10")
    message_type = "^".join(p for p in (f(msh, 9, 1), f(msh, 9, 2)) if p)
    header = Header(control_id[:100], f(msh, 3, 1), f(msh, 4, 1), f(msh, 9, 1), f(msh, 9, 2), f(msh, 11), f(msh, 12))
    pid = segments.get("PID", [None])[0]
    ids = [f(pid, n) for n in (3, 2, 4)] if pid is not None else []
    specimens = []
    for obr in segments.get("OBR", []):
        specimens += [f(obr, 3), f(obr, 2)]
    for spm in segments.get("SPM", []):
        specimens.append(f(spm, 2, 1) or f(spm, 2, 2))
    return ParsedMessage(
        header=header,
        control_id=control_id[:100],
        sender=header.sender,
        message_type=message_type,
        patient_ids=[i for i in ids if i],
        specimen_ids=list(dict.fromkeys(s for s in specimens if s)),
        observations=_observations(all_segments, grammar),
    )


def _observations(all_segments: list[list[str]], grammar: _Grammar) -> list[Observation]:
    out: list[Observation] = []
    current: Observation | None = None
    for segment in all_segments:
        kind = segment[0]
        if kind == "OBX":
            current = _observation(segment, grammar)
            out.append(current)
        elif kind == "NTE" and current is not None:
            note = segment[3] if len(segment) > 3 else ""
            if note.strip():
                current.notes.append(note.strip())
        elif kind in ("OBR", "ORC", "SPM"):
            current = None
    return out


def _observation(obx: list[str], grammar: _Grammar) -> Observation:
    f = grammar.f
    value_type = f(obx, 2).upper()
    raw_value = obx[5] if len(obx) > 5 else ""
    comps = [*grammar.components(obx, 5), "", ""][:3]
    flag = f(obx, 8).upper() or None
    if flag is not None and flag not in FLAGS:
        flag = "A"  # an abnormal flag we do not know: keep that it is abnormal, not the vendor's code
    code, name, code_system = [*grammar.components(obx, 3), "", ""][:3]
    return Observation(
        set_id=f(obx, 1),
        code=code,
        name=name or code,
        code_system=code_system,
        value=typed_value(value_type, raw_value, comps),
        unit=f(obx, 6, 1) or None,
        reference_range=reference_range(grammar.components(obx, 7)),
        flag=flag,
        status=STATUSES.get(f(obx, 11).upper(), "preliminary"),
        observed_at=f(obx, 14) or None,
    )


def parse(raw: bytes | str) -> list[ParsedMessage]:
    """Every message in ``raw`` (one, or a batch). HL7ParseError if any of it cannot be read."""
    return [parse_message(m) for m in split_batch(normalize(raw))]
