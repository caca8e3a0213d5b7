"""The previous ``core/hl7/parse.py``, which read messages through the ``hl7`` package's own parse tree. Kept here
only as the oracle of test_parse_oracle.py: the hand-written splitter must read every message exactly as this did.
What reading added since (the header an ACK echoes, a coded value with text and no code, a reference range in
components) is read here through the tree too; the text's normalising (line ends, run-together segments) and the
reference range's wording are shared, as they are not the splitter's work."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import hl7

from core.hl7.parse import Header, reference_range
from core.hl7.parse import normalize as normalize

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
    """The bytes are not a message we can read at all (answered AR)."""


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
            raise HL7ParseError(f"segment {kind!r} comes before any MSH")
        else:
            messages[-1].append(seg)
    if not messages:
        raise HL7ParseError("no MSH segment")
    return ["\r".join(m) for m in messages]


def _f(seg: hl7.Segment | None, field_: int, comp: int = 1, rep: int = 1) -> str:
    """Field ``field_``, repetition ``rep``, component ``comp`` of a segment, as text ('' when absent). Walks the
    ``hl7`` containers directly: ``extract_field`` is general but costs most of a message's parse time."""
    if seg is None or field_ >= len(seg):
        return ""
    node = seg[field_]
    if isinstance(node, str):
        return node.strip() if comp == rep == 1 else ""
    if rep > len(node):
        return ""
    repetition = node[rep - 1]
    if isinstance(repetition, str):
        return repetition.strip() if comp == 1 else ""
    if comp > len(repetition):
        return ""
    value = repetition[comp - 1]
    while not isinstance(value, str):  # sub-components: the first one
        value = value[0] if len(value) else ""
    return value.strip()


def _components(seg: hl7.Segment, field_: int) -> list[str]:
    """Every component of a field's first repetition, each as ``_f`` reads it."""
    if field_ >= len(seg):
        return [""]
    node = seg[field_]
    if isinstance(node, str) or isinstance(node[0], str):
        return [_f(seg, field_)]
    return [_f(seg, field_, c) for c in range(1, len(node[0]) + 1)]


def typed_value(value_type: str, raw: str, comps: list[str]) -> Value | None:
    raw = raw.strip()
    if not raw or set(raw) <= {"."}:
        return None
    if value_type in ("CE", "CWE", "CNE", "CF"):
        if not any(comps[:2]):
            return None
        return Value("coded", code=comps[0] or None, text=(comps[1] if len(comps) > 1 else "") or None,
                     code_system=(comps[2] if len(comps) > 2 else "") or None)  # fmt: skip
    match = _NUMBER.match(raw.replace(" ", ""))
    if value_type in ("NM", "SN", "") and match:
        try:
            number = Decimal(match.group(2))
        except InvalidOperation:
            number = None
        if number is not None:
            comparator = match.group(1) if match.group(1) not in (None, "=") else None
            return Value("numeric", number=number, comparator=comparator)
    if value_type == "SN" and "^" in raw:  # structured numeric: comparator^number
        parts = raw.split("^")
        try:
            return Value("numeric", number=Decimal(parts[1]), comparator=parts[0] or None)
        except (InvalidOperation, IndexError):
            pass
    return Value("text", text=raw)


def parse_message(text: str) -> ParsedMessage:
    try:
        msg = hl7.parse(text)
    except Exception as exc:  # the hl7 package raises plain exceptions on garbage
        raise HL7ParseError(f"not an HL7 message: {type(exc).__name__}") from exc
    segments: dict[str, list[hl7.Segment]] = {}
    for seg in msg:  # one pass; every lookup below is then direct
        segments.setdefault(str(seg[0]), []).append(seg)
    msh = segments["MSH"][0]
    control_id = _f(msh, 10)
    if not control_id:
        raise HL7ParseError("MSH-10 (message control id) is empty")
    message_type = "^".join(p for p in (_f(msh, 9, 1), _f(msh, 9, 2)) if p)
    sender = "^".join((_f(msh, 3, 1), _f(msh, 4, 1)))
    header = Header(control_id[:100], _f(msh, 3), _f(msh, 4), _f(msh, 9), _f(msh, 9, 2), _f(msh, 11), _f(msh, 12))
    pid = segments.get("PID", [None])[0]
    ids = [_f(pid, n) for n in (3, 2, 4)] if pid is not None else []
    specimens = []
    for obr in segments.get("OBR", []):
        specimens += [_f(obr, 3), _f(obr, 2)]
    for spm in segments.get("SPM", []):
        specimens.append(_f(spm, 2, 1) or _f(spm, 2, 2))
    return ParsedMessage(
        header=header,
        control_id=control_id[:100],
        sender=sender[:200],
        message_type=message_type,
        patient_ids=[i for i in ids if i],
        specimen_ids=list(dict.fromkeys(s for s in specimens if s)),
        observations=_observations(msg),
    )


def _observations(msg: hl7.Message) -> list[Observation]:
    out: list[Observation] = []
    current: Observation | None = None
    for segment in msg:
        kind = str(segment[0])
        if kind == "OBX":
            current = _observation(segment)
            out.append(current)
        elif kind == "NTE" and current is not None:
            note = str(segment(3)) if len(segment) > 3 else ""
            if note.strip():
                current.notes.append(note.strip())
        elif kind in ("OBR", "ORC", "SPM"):
            current = None
    return out


def _observation(obx: hl7.Segment) -> Observation:
    value_type = _f(obx, 2).upper()
    raw_value = str(obx(5)) if len(obx) > 5 else ""
    comps = [_f(obx, 5, c) for c in (1, 2, 3)]
    flag = _f(obx, 8).upper() or None
    if flag is not None and flag not in FLAGS:
        flag = "A"  # an abnormal flag we do not know: keep that it is abnormal, not the vendor's code
    return Observation(
        set_id=_f(obx, 1),
        code=_f(obx, 3, 1),
        name=_f(obx, 3, 2) or _f(obx, 3, 1),
        code_system=_f(obx, 3, 3),
        value=typed_value(value_type, raw_value, comps),
        unit=_f(obx, 6, 1) or None,
        reference_range=reference_range(_components(obx, 7)),
        flag=flag,
        status=STATUSES.get(_f(obx, 11).upper(), "preliminary"),
        observed_at=_f(obx, 14) or None,
    )


def parse(raw: bytes | str) -> list[ParsedMessage]:
    """Every message in ``raw`` (one, or a batch). HL7ParseError if any of it cannot be read."""
    return [parse_message(m) for m in split_batch(normalize(raw))]
