"""The hand-written HL7 splitter (core/hl7/parse.py) against the ``hl7`` package's parse (through the previous
parser, kept as parse_oracle.py): on every development file and on hypothesis-mutated messages (separators
changed, characters inserted, deleted and duplicated, truncation), both read the same fields or refuse the same
message with the same reason."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.hl7 import parse as new
from tests.core.hl7 import parse_oracle as old

DATA = sorted((Path(__file__).parents[2] / "data" / "hl7").glob("*/*.hl7"))
ORU = (
    "MSH|^~\\&|ANALYZER|LAB|LABPULSE|LAB|20261121101500||ORU^R01|MSG-1|P|2.5.1\r"
    "PID|1|x|MRN-1~MRN-2^^^A&B|y|Test^Patient\rOBR|1|TUBE-0001|F^X&Y|CBC^Complete blood count\rSPM|1|^S-1&z~q\r"
    "OBX|1|NM|718-7^Hemoglobin^LN||13.5|g/dL|12.0-15.5|N|||F\rNTE|1||Sample \\S\\ slightly~lip^aemic\r"
    "OBX|2|SN|^Potassium||<^0.1|mmol/L^x|3.5-5.1|L|||P\r"
    "OBX|3|CWE|2345-7^Glucose^LN||a^b\\T\\c^d&e~f|mg/dL|70-99|HH|||C\rZXT|vendor|specific\r"
)
SEEDS = [*(p.read_bytes().decode("utf-8", "replace") for p in DATA), ORU]
PIECES = [*"|^~\\&#$\r\n \t.0123<>=-+ABCabc", "\\F\\", "\\S\\", "MSH", "\rOBX|", "\rNTE|1||", "\rBHS|", "MSH|^~\\&|"]


def outcome(module, text: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    try:
        return "ok", repr(module.parse_message(module.normalize(text)))
    except Exception as exc:  # noqa: BLE001 - the refusal itself is what is compared
        return "refused", f"{type(exc).__name__}: {exc}"


def whole(module, text: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """A whole inbound block: its batch split, then each message."""
    try:
        messages = module.split_batch(module.normalize(text))
    except Exception as exc:  # noqa: BLE001 - the refusal itself is what is compared
        return [("refused", f"{type(exc).__name__}: {exc}")]
    return [outcome(module, m) for m in messages]


def test_every_development_file_reads_the_same() -> None:
    assert len(DATA) > 5
    for text in SEEDS:
        assert whole(new, text) == whole(old, text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, max(len(text) - 1, 0)))
        op = draw(st.sampled_from(["replace", "insert", "delete", "duplicate"]))
        if op == "replace" and text:
            text[i] = draw(st.sampled_from(PIECES))
        elif op == "insert":
            text.insert(i, draw(st.sampled_from(PIECES)))
        elif op == "delete" and text:
            del text[i]
        else:
            j = draw(st.integers(0, max(len(text) - 1, 0)))
            text[i:i] = text[j : j + draw(st.integers(1, 20))]
    out = "".join(text)
    return out[: draw(st.integers(0, len(out)))] if draw(st.booleans()) else out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_messages_read_the_same_or_are_refused_the_same(text: str) -> None:
    assert outcome(new, text) == outcome(old, text)
    assert whole(new, text) == whole(old, text)
