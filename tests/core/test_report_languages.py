"""A report in the patient's language (Hindi, Marathi): its words from the catalogue and the lab's names for the
tests and the centre, shaped by HarfBuzz. The printed labels (pdftoppm) are compared with reference renderings
checked by eye when they were made, and the same report set without shaping is shown to differ from them, so the
comparison can tell; the English report keeps its English labels."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from core.reports import pdf
from tests.core.test_report_devanagari import CONTENT, _difference, printed_near, tools  # noqa: F401 - a fixture

SAME = 2.0  # mean grey-level difference under which two renderings are the same (the same build gives 0.0; the
# same labels unshaped differ by 4.2 in Hindi and 7.2 in Marathi)
pytestmark = pytest.mark.usefixtures("tools")  # pdftoppm and pdftotext are installed
REFERENCES = Path(__file__).parents[1] / "data" / "reports"
LOCAL = {
    "hi": {"centre_local": "पुणे केंद्र", "name_local": "हीमोग्लोबिन"},
    "mr": {"centre_local": "पुणे केंद्र", "name_local": "हिमोग्लोबिन"},
}


def _content(lang: str) -> dict[str, object]:
    local = LOCAL.get(lang, {})
    sample = {
        **CONTENT["sample"],
        "centre": "Pune Centre",
        **({"centre_local": local["centre_local"]} if local else {}),
    }
    test = {"name": "Haemoglobin", "value": "10.1", "unit": "g/dL", "range": "12.0-15.0", "flag": "L"}
    tests = [{**test, **({"name_local": local["name_local"]} if local else {})}]
    return {**CONTENT, "language": lang, "patient": {**CONTENT["patient"], "name": "Asha Patil"}, "sample": sample,
            "tests": tests, "signer": {"name": "Dr Meera Rao", "role": "pathologist"}}  # fmt: skip


def _labels(pdf_file: Path, tmp: Path) -> Image.Image:
    """The patient table's label column as printed: from the left margin 30 mm across, from the row of the MRN
    (Latin in every language, so pdftotext finds it) down four rows."""
    return printed_near(pdf_file, tmp, "MRN0001", (15 * 72 / 25.4, 45 * 72 / 25.4), (-4, 76), from_word=False)


def _printed(lang: str, tmp: Path) -> Image.Image:
    out = tmp / f"{lang}.pdf"
    out.write_bytes(pdf.render(_content(lang), "https://lab.example/verify/R-TEST-1", "ab" * 32))
    return _labels(out, tmp)


@pytest.mark.parametrize("lang", ["hi", "mr"])
def test_the_labels_print_in_the_patients_language_as_the_reference(tmp_path: Path, lang: str) -> None:
    reference = REFERENCES / f"labels_{lang}.png"
    printed = _printed(lang, tmp_path)
    if not reference.exists():  # made once, then looked at by a person before it was committed
        printed.save(reference)
    assert _difference(printed, Image.open(reference).convert("L")) < SAME
    assert _difference(_printed("en", tmp_path), Image.open(reference).convert("L")) > 2 * SAME  # English differs


@pytest.mark.parametrize("lang", ["hi", "mr"])
def test_the_comparison_tells_unshaped_labels_from_shaped(
    tmp_path: Path, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "SHAPING", 0)
    unshaped = _printed(lang, tmp_path)
    assert _difference(unshaped, Image.open(REFERENCES / f"labels_{lang}.png").convert("L")) > SAME


def test_the_words_and_names_are_the_catalogues_and_the_labs(tmp_path: Path) -> None:
    out = tmp_path / "mr.pdf"
    out.write_bytes(pdf.render(_content("mr"), "https://lab.example/verify/R-TEST-1", "ab" * 32))
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Haemoglobin" in text and "Pune Centre" in text  # the English beneath the lab's Marathi names
    assert "MRN" in text and "Patient" not in text and "Result" not in text  # no English label left
    english = tmp_path / "en.pdf"
    english.write_bytes(pdf.render(_content("en"), "https://lab.example/verify/R-TEST-1", "ab" * 32))
    text = subprocess.run(["pdftotext", str(english), "-"], capture_output=True, text=True, check=True).stdout
    assert "Patient" in text and "Your Haemoglobin (10.1 g/dL) is below the usual range." in text
