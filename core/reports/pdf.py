"""The printed report (reportlab): lab header, patient and sample, each test with value, unit, reference range
and flag (abnormal values in bold with an arrow), a plain-language line per abnormal result, the pathologist's
name and signature fingerprint, page numbers, and a QR code to the public verification page.

Text is set in Noto Sans Devanagari (from the fontpkg-noto-sans-devanagari package, OFL): one font for Latin and
Devanagari, so a patient's name written in Hindi or Marathi prints as written, shaped by HarfBuzz (uharfbuzz; the
conjuncts and vowel signs of Devanagari are not one glyph per character). The bold labels stay Helvetica-Bold,
which only ever prints the report's own Latin labels and numbers."""

from __future__ import annotations

import io
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import fontpkg_noto_sans_devanagari as noto
import segno
from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

_ARROW = {"L": "LOW", "LL": "VERY LOW", "H": "HIGH", "HH": "VERY HIGH", "A": "ABNORMAL", "AA": "ABNORMAL"}
_PLAIN = {
    "L": "is below the usual range",
    "LL": "is well below the usual range; your doctor will want to talk to you about it",
    "H": "is above the usual range",
    "HH": "is well above the usual range; your doctor will want to talk to you about it",
    "A": "is outside what is usually seen",
    "AA": "is outside what is usually seen",
}


FONT = "LabpulseSans"


@cache
def font() -> str:
    """Registers the report font once per process (shaped: reportlab shapes a TrueType font when uharfbuzz is
    importable) and returns its name. Bold and italic map to it too: the font ships one weight, and a Devanagari
    word in bold must not fall back to a font without Devanagari."""
    path = next((noto.ROOT / "files").glob("NotoSansDevanagari*.ttf"))
    face = TTFont(FONT, str(path))
    if not face.shapable:  # pragma: no cover - uharfbuzz is a dependency; without it Devanagari would print wrong
        raise RuntimeError("uharfbuzz is not importable: Devanagari in reports cannot be shaped")
    pdfmetrics.registerFont(face)
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT, bold, italic, FONT)
    return FONT


class _QR(Flowable):  # type: ignore[misc]  # reportlab ships no type hints
    """A QR code drawn as one filled path, a rectangle per run of dark modules. segno encodes it (with the
    standard mask evaluation); drawing it this way is ~10x faster than reportlab's widget, which makes one
    validated shape object per module and encodes the code twice."""

    def __init__(self, url: str, size: float = 28 * mm) -> None:
        super().__init__()
        self.matrix = segno.make_qr(url, error="m").matrix
        self.width = self.height = size

    def draw(self) -> None:
        n = len(self.matrix) + 8  # four modules of quiet zone on each side
        unit = self.width / n
        path = self.canv.beginPath()
        for r, row in enumerate(self.matrix):
            y = self.height - (r + 5) * unit
            c = 0
            while c < len(row):
                if row[c]:
                    start = c
                    while c < len(row) and row[c]:
                        c += 1
                    path.rect((start + 4) * unit, y, (c - start) * unit, unit)
                else:
                    c += 1
        self.canv.drawPath(path, stroke=0, fill=1)


def _qr(url: str) -> _QR:
    return _QR(url)


def _footer(canvas: Canvas, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawString(15 * mm, 10 * mm, f"Report {doc.report_ref} - verify at {doc.verify_url}")
    canvas.drawRightString(195 * mm, 10 * mm, f"Page {canvas.getPageNumber()}")
    canvas.restoreState()


def render(content: dict[str, Any], verify_url: str, signature_hex: str) -> bytes:
    sheet = getSampleStyleSheet()
    styles = {k: ParagraphStyle(k, parent=sheet[k], fontName=font(), shaping=1) for k in ("Normal", "Heading4")}
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8, leading=10)
    cell = ParagraphStyle("cell", parent=styles["Normal"], fontSize=9, leading=11)

    def shaped(text: object) -> Paragraph:
        """A table cell that may hold Devanagari: reportlab shapes text in paragraphs, not in plain cells."""
        return Paragraph(escape(str(text)), cell)

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Lab report {content['report_id']}",
    )
    doc.report_ref = f"{content['report_id']} v{content['version']}"
    doc.verify_url = verify_url
    lab, patient, sample = content["lab"], content["patient"], content["sample"]
    head = Table(
        [
            [
                Paragraph(f"<b>{lab['name']}</b><br/>{lab['address']}<br/>{lab['accreditation']}", styles["Normal"]),
                _qr(verify_url),
            ]
        ],
        colWidths=[150 * mm, 30 * mm],
    )
    people = Table(
        [
            ["Patient", shaped(patient["name"]), "MRN", patient["mrn"]],
            [
                "Sex / age",
                f"{patient['sex']} / {patient['age'] if patient['age'] is not None else '-'}",
                "Tube",
                sample["barcode"],
            ],
            ["Collected", sample["collected_at"][:16].replace("T", " "), "Sample", sample["type"]],
            [
                "Collection centre",
                shaped(sample["centre"]),
                "Report issued",
                content["issued_at"][:16].replace("T", " "),
            ],
        ],
        colWidths=[30 * mm, 60 * mm, 30 * mm, 60 * mm],
    )
    people.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font()),
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("FONTNAME", (2, 0), (2, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    rows = [["Test", "Result", "Unit", "Reference range", "Flag"]]
    style = [
        ("FONTNAME", (0, 1), (-1, -1), font()),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.whitesmoke]),
    ]
    plain = []
    for i, t in enumerate(content["tests"], 1):
        flag = t["flag"] if t["flag"] not in (None, "N") else ""
        rows.append([shaped(t["name"]), t["value"], t["unit"] or "", t["range"] or "", _ARROW.get(flag, "")])
        if flag:
            style += [("FONTNAME", (1, i), (1, i), "Helvetica-Bold"), ("TEXTCOLOR", (4, i), (4, i), colors.darkred)]
            said = f"Your {t['name']} ({t['value']} {t['unit'] or ''}) {_PLAIN.get(flag, 'is unusual')}."
            plain.append(escape(said))  # a value such as "<0.01" is text, not markup
    results = Table(rows, colWidths=[60 * mm, 30 * mm, 25 * mm, 40 * mm, 25 * mm], repeatRows=1)
    results.setStyle(TableStyle(style))
    story = [head, Spacer(1, 4 * mm), people, Spacer(1, 6 * mm), results, Spacer(1, 6 * mm)]
    if plain:
        story.append(Paragraph("<b>In plain words</b>", styles["Heading4"]))
        story += [Paragraph(line, styles["Normal"]) for line in plain]
    if content.get("comment"):
        story.append(Paragraph("<b>Pathologist's comment</b>", styles["Heading4"]))
        story += [Paragraph(escape(line), styles["Normal"]) for line in str(content["comment"]).splitlines()]
    signer = content["signer"]
    story += [
        Spacer(1, 8 * mm),
        Paragraph(f"Verified and signed by <b>{signer['name']}</b>, {signer['role']}", styles["Normal"]),
        Paragraph(f"Digital signature (Ed25519): {signature_hex[:32]}... - hash {content['hash_hint']}", small),
        Paragraph("Results should be read with your doctor. Scan the QR code to check this report is genuine.", small),
    ]
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()
