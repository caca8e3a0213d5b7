"""The patient's export as FHIR R4: each released result an Observation (LOINC code, UCUM quantity with its
comparator, reference range as low and high, interpretation flag) linked from its DiagnosticReport, the whole
Bundle validated by fhir.resources' own models."""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.R4B.bundle import Bundle

from core.patient_rights import fhir_bundle

PID, SID = "0b6f8e2c-8a41-4f0e-9a57-3f6f2c1d9e01", "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"


def _export() -> dict[str, object]:
    tests = [
        {"code": "718-7", "name": "Hemoglobin", "value": "10.9", "unit": "g/dL", "range": "12.0-15.5", "flag": "L"},
        {"code": "6690-2", "name": "WBC", "value": "<0.1", "unit": "10*3/uL", "range": "4.0-11.0", "flag": "LL"},
        {"code": "600-7", "name": "Blood culture", "value": "Bordetella pertussis", "unit": None, "range": None,
         "flag": "A"},
        {"code": "HB-OLD", "name": "Old value", "value": "9", "unit": "g/dL", "range": None, "flag": None},
    ]  # fmt: skip
    return {
        "generated_at": "2026-12-07T10:00:00+00:00",
        "patient": {"id": PID, "mrn": "LP0000001", "name": "Test Person", "sex": "female",
                    "date_of_birth": "1980-01-01", "phone": None, "address": None},
        "samples": [{"id": SID, "barcode": "TUBE-F-1", "state": "reported", "tests": ["CBC"],
                     "sample_type": "whole_blood_edta", "collected_at": "2026-12-06T08:00:00+05:30",
                     "updated_at": "2026-12-06T18:00:00+05:30"}],
        "reports": [{"sample_id": SID, "barcode": "TUBE-F-1", "version": 2, "issued_at": "2026-12-06T18:00:00+05:30",
                     "verify_url": "https://lab.example/verify/x", "pdf_base64": None}],
        "results": [{"barcode": "TUBE-F-1", "version": 2, **t} for t in tests[:3]]
        + [{"barcode": "TUBE-F-1", "version": 1, **tests[3]}],  # a superseded version: not exported as current
    }  # fmt: skip


def test_each_released_result_is_a_valid_observation_linked_from_its_report() -> None:
    bundle = Bundle.model_validate(fhir_bundle(_export()))
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    assert kinds == ["Patient", "DiagnosticReport", "Observation", "Observation", "Observation"]
    report, hb, wbc, culture = (e.resource for e in bundle.entry[1:])
    assert [r.reference for r in report.result] == [f"urn:uuid:{o.id}" for o in (hb, wbc, culture)]
    assert (hb.code.coding[0].system, hb.code.coding[0].code) == ("http://loinc.org", "718-7")
    assert (hb.valueQuantity.value, hb.valueQuantity.system, hb.valueQuantity.code) == (
        Decimal("10.9"), "http://unitsofmeasure.org", "g/dL"
    )  # fmt: skip
    assert (hb.referenceRange[0].low.value, hb.referenceRange[0].high.value) == (Decimal("12.0"), Decimal("15.5"))
    assert hb.interpretation[0].coding[0].code == "L" and hb.status == "corrected"  # version 2 of the report
    assert (wbc.valueQuantity.comparator, wbc.valueQuantity.value) == ("<", Decimal("0.1"))
    assert wbc.interpretation[0].coding[0].code == "LL"
    assert culture.valueString == "Bordetella pertussis" and culture.subject.reference == f"urn:uuid:{PID}"
