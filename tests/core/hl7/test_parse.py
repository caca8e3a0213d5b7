"""The parser against the public HL7 development data (checked field by field against HAPI's parse trees in
``*.expected.json``) and against what analyzers really send."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.hl7.parse import FLAGS, STATUSES, HL7ParseError, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "hl7"  # copied from ../shared/data (see its README)
FILES = sorted(DATA.glob("*/*.hl7"))
INVALID = {"sample_bad_batch.hl7"}


def _all(tree: Any, key: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            found.extend(v) if k == key else found.extend(_all(v, key))
    elif isinstance(tree, list):
        for item in tree:
            found.extend(_all(item, key))
    return found


def _first(node: dict[str, Any] | None, *path: str) -> str | None:
    value: Any = node
    for key in path:
        if not isinstance(value, dict) or key not in value or not value[key]:
            return None
        value = value[key][0]
    return value if isinstance(value, str) else None


def test_the_development_data_is_here() -> None:
    assert len(FILES) == 17 and len(list(DATA.glob("*/*.expected.json"))) == 8  # 12 public, 5 of our own


@pytest.mark.parametrize("path", [f for f in FILES if f.name not in INVALID], ids=lambda p: p.name)
def test_every_valid_file_parses(path: Path) -> None:
    messages = parse(path.read_bytes())
    assert messages and all(m.control_id for m in messages)


@pytest.mark.parametrize("path", [f for f in FILES if f.name in INVALID], ids=lambda p: p.name)
def test_invalid_files_are_refused_with_a_reason(path: Path) -> None:
    with pytest.raises(HL7ParseError, match="before any MSH"):
        parse(path.read_bytes())


@pytest.mark.parametrize("path", [f for f in FILES if f.with_suffix(".expected.json").exists()], ids=lambda p: p.name)
def test_extracted_fields_match_the_expected_parse_tree(path: Path) -> None:
    tree = json.loads(path.with_suffix(".expected.json").read_text())
    [message] = parse(path.read_bytes())
    assert message.control_id == _first(_all(tree, "MSH")[0], "MSH.10")
    pid = _all(tree, "PID")
    if pid:
        assert _first(pid[0], "PID.3", "CX.1") in message.patient_ids
    for obr in _all(tree, "OBR"):
        filler = _first(obr, "OBR.3", "EI.1")
        if filler:
            assert filler in message.specimen_ids
    expected = _all(tree, "OBX")
    assert len(message.observations) == len(expected)
    for got, want in zip(message.observations, expected, strict=True):
        assert got.code == (_first(want, "OBX.3", "CE.1") or _first(want, "OBX.3", "CWE.1") or "")
        assert got.unit == (_first(want, "OBX.6", "CE.1") or _first(want, "OBX.6", "CWE.1"))
        raw_flag = _first(want, "OBX.8") or _first(want, "OBX.8", "CWE.1")
        assert got.flag == (None if raw_flag is None else raw_flag if raw_flag in FLAGS else "A")
        assert got.status == STATUSES.get(_first(want, "OBX.11") or "", "preliminary")
        value = _first(want, "OBX.5") or _first(want, "OBX.5", "CE.1") or _first(want, "OBX.5", "CWE.1")
        if got.value is not None and got.value.kind == "numeric":
            assert value is not None and Decimal(value) == got.value.number
        elif got.value is not None and got.value.kind == "coded":
            assert got.value.code == value
        elif got.value is not None:
            assert value is not None and value in got.value.text  # type: ignore[operator]


ORU = (
    "MSH|^~\\&|ANALYZER|LAB|LABPULSE|LAB|20261121101500||ORU^R01|MSG-{n}|P|2.5.1\r"
    "PID|1|{pid2}|{pid3}|{pid4}|Test^Patient\r"
    "OBR|1|TUBE-0001||CBC^Complete blood count\r"
    "OBX|1|NM|718-7^Hemoglobin^LN||13.5|g/dL|12.0-15.5|N|||F\r"
    "NTE|1||Sample slightly lipaemic\r"
    "OBX|2|NM|^Potassium||<0.1|mmol/L|3.5-5.1|L|||P\r"
    "OBX|3|NM|2345-7^Glucose^LN||>500|mg/dL|70-99|HH|||C\r"
    "OBX|4|NM|1234-5^Lipase^LN||.....|U/L||||F\r"
    "ZXT|vendor|specific|stuff\r"
    "OBX|5|CE|600-7^Culture^LN||264868006^No growth^SCT||||||F\r"
)


def _oru(**kw: str) -> str:
    return ORU.format(**{"n": "1", "pid2": "", "pid3": "MRN-1", "pid4": "", **kw})


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
def test_any_segment_ending_and_typed_values(ending: str) -> None:
    [m] = parse(_oru().replace("\r", ending))
    hb, k, glucose, lipase, culture = m.observations
    assert (hb.value.number, hb.unit, hb.reference_range, hb.flag, hb.status) == (  # type: ignore[union-attr]
        Decimal("13.5"), "g/dL", "12.0-15.5", "N", "final",
    )  # fmt: skip
    assert hb.notes == ["Sample slightly lipaemic"]
    assert (k.code, k.name, k.value.comparator, k.value.number, k.status) == (  # type: ignore[union-attr]
        "", "Potassium", "<", Decimal("0.1"), "preliminary",
    )  # fmt: skip
    assert (glucose.value.comparator, glucose.value.number, glucose.flag, glucose.status) == (  # type: ignore[union-attr]
        ">", Decimal("500"), "HH", "corrected",
    )  # fmt: skip
    assert lipase.value is None  # "....." is no value, not the text "....."
    assert (culture.value.kind, culture.value.code, culture.value.text) == ("coded", "264868006", "No growth")  # type: ignore[union-attr]
    assert m.specimen_ids == ["TUBE-0001"]


def test_a_segment_wrapped_onto_a_second_line_is_rejoined() -> None:
    wrapped = _oru().replace("|13.5|g/dL|", "|13.5|g/\ndL|")
    [m] = parse(wrapped.replace("\r", "\n"))
    assert m.observations[0].unit == "g/dL" and len(m.observations) == 5


@pytest.mark.parametrize("field", ["pid2", "pid3", "pid4"])
def test_the_patient_id_may_be_in_pid_2_3_or_4(field: str) -> None:
    [m] = parse(_oru(**{"pid3": "", field: "P-77"}))
    assert m.patient_ids == ["P-77"]


def test_a_batch_yields_each_message() -> None:
    batch = "FHS|^~\\&|A\rBHS|^~\\&|A\r" + _oru(n="1") + _oru(n="2") + "BTS|2\rFTS|1\r"
    assert [m.control_id for m in parse(batch)] == ["MSG-1", "MSG-2"]


@pytest.mark.parametrize(
    "raw", [b"", b"hello", b"PID|1||x\rOBX|1", b"MSH|^~\\&|A|B|C|D|2026||ORU^R01||P|2.5.1\r"],
    ids=["empty", "text", "no MSH", "no control id"],
)  # fmt: skip
def test_unreadable_input_is_refused(raw: bytes) -> None:
    with pytest.raises(HL7ParseError):
        parse(raw)
