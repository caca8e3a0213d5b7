"""HL7 by the book, on the public sample messages and our own: ACKs echo the sender's version, processing id and
trigger and carry an ERR segment (HL7 error code and location) on AE/AR; a coded result with text and no code
keeps its text; a reference range in components keeps its value; segments run together on one line are split."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from core.hl7 import ack, intake
from core.hl7.parse import Header, header_of, normalize, parse, parse_message
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.support.factories import TECH, make_sample

DATA = Path(__file__).parents[2] / "data" / "hl7"


def _segments(reply: str) -> dict[str, list[str]]:
    return {seg[:3]: seg.split("|") for seg in reply.split("\r") if seg}


@pytest.mark.parametrize(
    ("sample", "version", "processing", "trigger"),
    [
        ("realm/realm-cj.hl7", "2.5.1", "P", "R01"),  # MSH-11 "P^T": its processing id is P
        ("python-hl7/sample_hl7.hl7", "2.4", "P", "R01"),
        ("other/oru-example.hl7", "2.5.1", "D", "R01"),
        ("nist/ORU_R01_2.5.1_SampleTestCase1.hl7", "2.5.1", "P", "R01"),
    ],
)
def test_an_ack_echoes_version_processing_id_and_trigger(
    sample: str, version: str, processing: str, trigger: str
) -> None:
    [message] = parse((DATA / sample).read_bytes())
    reply = _segments(ack.build("AA", message.header, "Stored"))
    assert reply["MSH"][8] == f"ACK^{trigger}^ACK"  # MSH-9
    assert (reply["MSH"][10], reply["MSH"][11]) == (processing, version)  # MSH-11, MSH-12
    assert reply["MSA"][1:3] == ["AA", message.control_id]
    assert "ERR" not in reply


def test_an_error_ack_says_the_hl7_error_code_and_where() -> None:
    header = Header("C-9", "LIS", "LAB", "ORU", "R01", "P", "2.5.1")
    reply = _segments(ack.build("AE", header, "No sample matches", ack.AckError("204", "OBR^1^3")))
    assert reply["ERR"][2] == "OBR^1^3"  # ERR-2, error location
    assert reply["ERR"][3] == "204^Unknown key identifier^HL70357"  # ERR-3, HL7 error code
    assert reply["ERR"][4] == "E" and reply["ERR"][8] == "No sample matches"
    old = _segments(ack.build("AR", Header("C-1", "LIS", "", "ORU", "R01", "P", "2.3"), "x", ack.AckError("203")))
    assert old["MSH"][11] == "2.3" and old["ERR"][1] == "^^^203&Unsupported version id&HL70357"  # ERR-1 before 2.5
    assert "ERR" not in _segments(ack.build("AA", header, "Stored", ack.AckError("207")))


def test_a_header_is_read_even_from_what_cannot_be_parsed() -> None:
    broken = b"MSH|^~\\&|LIS|LAB|X|Y|2026||ADT^A04^ADT_A01|CTL-7|T|2.3.1\rPID|\x00garbage"
    assert header_of(broken) == Header("CTL-7", "LIS", "LAB", "ADT", "A04", "T", "2.3.1")
    assert header_of(b"no header at all") == Header()


def test_a_coded_result_with_text_and_no_code_keeps_its_text() -> None:
    text = (
        "MSH|^~\\&|MICRO|LAB|LABPULSE|LAB|2026||ORU^R01|M-1|P|2.5.1\rOBR|1|T-1\r"
        "OBX|1|CWE|6584-7^Bordetella culture^LN||^Bordetella pertussis^SNM||||||F\r"
        "OBX|2|CE|600-7^Blood culture^LN||||||||F\r"
    )
    first, empty = parse_message(normalize(text)).observations
    assert first.value is not None and (first.value.kind, first.value.code, first.value.text) == (
        "coded", None, "Bordetella pertussis"
    )  # fmt: skip
    assert empty.value is None


@pytest.mark.parametrize(
    ("field", "kept"),
    [("^^10.000000", "10.000000"), ("3.5^5.1", "3.5-5.1"), ("12-15", "12-15"), ("<5", "<5"), ("", None),
     ("NEG^^", "NEG")],
)  # fmt: skip
def test_a_reference_range_in_components_keeps_its_value(field: str, kept: str | None) -> None:
    text = f"MSH|^~\\&|A|B|C|D|2026||ORU^R01|R-1|P|2.5.1\rOBR|1|T-1\rOBX|1|NM|1-1^X^LN||7|mg|{field}|||F\r"
    assert parse_message(normalize(text)).observations[0].reference_range == kept


def test_segments_run_together_on_one_line_are_split() -> None:
    proper = (DATA / "python-hl7" / "sample_hl7.hl7").read_bytes().decode()
    one_line = " ".join(seg for seg in normalize(proper).split("\r"))
    assert "\r" not in one_line and "\n" not in one_line
    assert parse(one_line) == parse(proper)
    assert len(parse(one_line)[0].observations) == 2


async def test_a_positive_culture_stores_its_organism(conn: asyncpg.Connection, vault: Vault) -> None:
    sample = await make_sample(conn, vault)
    await samples.transition(
        conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
    )
    oru = (
        "MSH|^~\\&|MICRO|LAB|LABPULSE|LAB|2026||ORU^R01|CULT-1|P|2.5.1\r"
        f"OBR|1|{sample.barcode}\rOBX|1|CWE|6584-7^Bordetella culture^LN||^Bordetella pertussis^SNM||||||F\r"
    )
    [out] = await intake.receive(conn, vault, oru.encode())
    assert out.ack_code == "AA"
    row = await conn.fetchrow("SELECT value_text, value_code FROM results WHERE sample_id = $1", sample.id)
    assert (row["value_text"], row["value_code"]) == ("Bordetella pertussis", None)


async def test_an_unknown_barcode_is_answered_ae_204_at_obr_3(conn: asyncpg.Connection, vault: Vault) -> None:
    oru = "MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|2026||ORU^R01|U-1|P|2.4\rOBR|1|NO-SUCH-TUBE\rOBX|1|NM|1^X||1|||||F\r"
    [out] = await intake.receive(conn, vault, oru.encode())
    reply = _segments(ack.build(out.ack_code, out.header, out.text, out.error))
    assert reply["MSA"][1:3] == ["AE", "U-1"] and reply["MSH"][11] == "2.4"
    assert reply["ERR"][1] == "OBR^1^3^204&Unknown key identifier&HL70357"
    [again] = await intake.receive(conn, vault, oru.encode())  # the first answer, again, with its error
    assert again.duplicate and again.error == out.error
