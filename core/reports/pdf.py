"""The printed report (reportlab): lab header, patient and sample, each test with value, unit, reference range
and flag (abnormal values in bold with their flag), a plain-language line per abnormal result, the pathologist's
name and signature fingerprint, page numbers, and a QR code to the public verification page.

The report is in the patient's language (``content["language"]``, signed with the rest): its words come from the
catalogue (``report:`` keys, core/locale/), and the lab's names for the tests and the centre in that language are
printed first with the English beneath (the analyzer's name is what a doctor elsewhere reads).

Text is set in Noto Sans Devanagari (from the fontpkg-noto-sans-devanagari package, OFL): one font for Latin and
Devanagari, so Hindi and Marathi print as written, shaped by HarfBuzz (uharfbuzz; the conjuncts and vowel signs
of Devanagari are not one glyph per character). Only an English report's labels are Helvetica-Bold."""

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

from core import i18n

FLAGS = ("L", "LL", "H", "HH", "A", "AA")  # an abnormal result's flag, each with its words in the catalogue
FONT = "LabpulseSans"
SHAPING = 1  # reportlab shapes paragraphs in a shapable font (the tests turn it off to show the difference)


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
    """The report, its version and where to verify it, and the page: numbers and an address, in any language."""
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawString(15 * mm, 10 * mm, f"labpulse {doc.report_ref} - {doc.verify_url}")
    canvas.drawRightString(195 * mm, 10 * mm, f"- {canvas.getPageNumber()} -")
    canvas.restoreState()


def _word(lang: str, kind: str, value: str) -> str:
    """A patient's sex or a sample's type in the report's language (as recorded when the catalogue lacks it)."""
    key = f"report:{kind}.{value}"
    return i18n.text(lang, key) if i18n.has(key) else value.replace("_", " ")


def render(content: dict[str, Any], verify_url: str, signature_hex: str) -> bytes:
    lang = str(content.get("language") or "en")  # reports signed before issue 22 have none: English

    def say(key: str, **kw: object) -> str:
        return escape(i18n.text(lang, f"report:{key}", **{k: str(v) for k, v in kw.items()}))

    sheet = getSampleStyleSheet()
    styles = {k: ParagraphStyle(k, parent=sheet[k], fontName=font(), shaping=SHAPING) for k in ("Normal", "Heading4")}
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8, leading=10)
    cell = ParagraphStyle("cell", parent=styles["Normal"], fontSize=9, leading=11)
    label = ParagraphStyle("label", parent=cell, fontName="Helvetica-Bold" if lang == "en" else font())

    def shaped(text: object, english: object = None) -> Paragraph:
        """A table cell that may hold Devanagari (reportlab shapes text in paragraphs, not in plain cells); a name
        in the report's language has the English beneath it."""
        below = f"<br/><font size=7>{escape(str(english))}</font>" if english and english != text else ""
        return Paragraph(escape(str(text)) + below, cell)

    def head(key: str) -> Paragraph:
        return Paragraph(say(key), label)

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Lab report {content['report_id']}",
        lang=lang,
    )
    doc.report_ref = f"{content['report_id']} v{content['version']}"
    doc.verify_url = verify_url
    lab, patient, sample = content["lab"], content["patient"], content["sample"]
    top = Table(
        [
            [
                Paragraph(f"<b>{lab['name']}</b><br/>{lab['address']}<br/>{lab['accreditation']}", styles["Normal"]),
                _qr(verify_url),
            ]
        ],
        colWidths=[150 * mm, 30 * mm],
    )
    age = patient["age"] if patient["age"] is not None else "-"
    centre = sample.get("centre_local") or sample["centre"]
    people = Table(
        [
            [head("patient"), shaped(patient["name"]), head("mrn"), patient["mrn"]],
            [head("sex_age"), shaped(f"{_word(lang, 'sex', patient['sex'])} / {age}"), head("tube"), sample["barcode"]],
            [head("collected"), sample["collected_at"][:16].replace("T", " "), head("sample"),
             shaped(_word(lang, "sample", sample["type"].replace(" ", "_")))],
            [head("centre"), shaped(centre, sample["centre"]), head("issued"),
             content["issued_at"][:16].replace("T", " ")],
        ],
        colWidths=[30 * mm, 60 * mm, 30 * mm, 60 * mm],
    )  # fmt: skip
    people.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font()), ("FONTSIZE", (0, 0), (-1, -1), 9)]))
    rows: list[list[Any]] = [[head(k) for k in ("test", "result", "unit", "range", "flag")]]
    style = [
        ("FONTNAME", (0, 1), (-1, -1), font()),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.whitesmoke]),
    ]
    plain = []
    for i, t in enumerate(content["tests"], 1):
        flag = t["flag"] if t["flag"] in FLAGS else ""
        name = t.get("name_local") or t["name"]
        rows.append([shaped(name, t["name"]), t["value"], t["unit"] or "", t["range"] or "",
                     Paragraph(say(f"flag.{flag}"), label) if flag else ""])  # fmt: skip
        if flag:
            style += [("FONTNAME", (1, i), (1, i), "Helvetica-Bold"), ("TEXTCOLOR", (4, i), (4, i), colors.darkred)]
            value = f"{t['value']} {t['unit'] or ''}".strip()
            plain.append(say(f"plain.{flag}", test=name, value=value))  # a value such as "<0.01" is text, not markup
    results = Table(rows, colWidths=[60 * mm, 30 * mm, 25 * mm, 40 * mm, 25 * mm], repeatRows=1)
    results.setStyle(TableStyle(style))
    story = [top, Spacer(1, 4 * mm), people, Spacer(1, 6 * mm), results, Spacer(1, 6 * mm)]
    if plain:
        story.append(Paragraph(f"<b>{say('plain_heading')}</b>", styles["Heading4"]))
        story += [Paragraph(line, styles["Normal"]) for line in plain]
    if content.get("comment"):
        story.append(Paragraph(f"<b>{say('comment_heading')}</b>", styles["Heading4"]))
        story += [Paragraph(escape(line), styles["Normal"]) for line in str(content["comment"]).splitlines()]
    signer = content["signer"]
    role = i18n.text(lang, key) if i18n.has(key := "staff_role_" + signer["role"].replace(" ", "_")) else signer["role"]
    story += [
        Spacer(1, 8 * mm),
        Paragraph(say("signed_by", name=signer["name"], role=role), styles["Normal"]),
        Paragraph(say("signature", signature=signature_hex[:32], hash=content["hash_hint"]), small),
        Paragraph(say("read_with_doctor"), small),
    ]
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()
