"""Print-ready PDF documents with Chinese text: a title, sections of label/value rows,
paragraphs and tables, on A4 with page numbers.

fpdf2 writes the PDF and embeds (subsets) the Noto Sans CJK font from Debian's
fonts-noto-cjk: its CFF outlines in a TrueType collection, which fpdf2 reads through
fontTools (ReportLab cannot embed CFF outlines; WeasyPrint would need pango from the
system). The text stays text: `pdftotext` gets the Chinese back. Reused by the case
dossier, the reports (with charts from `shared.charts`) and the post-event summary.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import WrapMode, XPos, YPos

# Debian's fonts-noto-cjk; index 2 of each collection is Simplified Chinese (SC).
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"))
REGULAR, BOLD, SC_INDEX = "NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", 2
FAMILY = "noto-cjk"


class FontMissing(RuntimeError):
    """No CJK font to embed (install fonts-noto-cjk)."""


@dataclass(frozen=True)
class Table:
    headings: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[int] | None = None  # relative column widths


@dataclass(frozen=True)
class Section:
    heading: str
    rows: Sequence[tuple[str, str]] = ()
    paragraphs: Sequence[str] = ()
    table: Table | None = None
    empty: str | None = field(default=None)  # printed when the section has nothing
    images: Sequence[bytes] = ()  # PNG charts (shared.charts), full width, after the rows


def font_file(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise FontMissing(f"{name} not found in {', '.join(map(str, FONT_DIRS))} "
                      "(install fonts-noto-cjk)")


class _Document(FPDF):
    def __init__(self, title: str, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title, self.footer_text = title, footer_text
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FAMILY, "", str(font_file(REGULAR)), collection_font_number=SC_INDEX)
        self.add_font(FAMILY, "B", str(font_file(BOLD)), collection_font_number=SC_INDEX)
        self.set_title(title)
        self.set_creator("Beacon")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.cell(0, 5, f"{self.footer_text}  {self.page_no()}/{{nb}}", align="C")


def render(title: str, sections: Sequence[Section], *, subtitle: str | None = None,
           footer: str = "") -> bytes:
    """The document as PDF bytes."""
    pdf = _Document(title, footer)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 16)
    pdf.multi_cell(0, 9, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if subtitle:
        pdf.set_font(FAMILY, "", 9)
        pdf.multi_cell(0, 5, subtitle, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for section in sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _section(pdf: FPDF, section: Section) -> None:
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 12)
    pdf.multi_cell(0, 7, section.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(160, 160, 160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_font(FAMILY, "", 9.5)
    for label, value in section.rows:
        pdf.set_font(FAMILY, "B", 9.5)
        pdf.cell(38, 5.5, label)
        pdf.set_font(FAMILY, "", 9.5)
        pdf.multi_cell(0, 5.5, value or "—", wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for image in section.images:
        pdf.image(io.BytesIO(image), w=pdf.epw)
        pdf.ln(1)
    for paragraph in section.paragraphs:
        pdf.multi_cell(0, 5.5, paragraph, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    if section.table is not None and section.table.rows:
        _table(pdf, section.table)
    elif section.empty and not (section.rows or section.paragraphs or section.images):
        pdf.multi_cell(0, 5.5, section.empty, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font(FAMILY, "", 8.5)
    with pdf.table(col_widths=tuple(table.widths) if table.widths else None,
                   line_height=4.8, wrapmode=WrapMode.CHAR, first_row_as_headings=True,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235))) as grid:
        for row in (table.headings, *table.rows):
            line = grid.row()
            for value in row:
                line.cell(value or "")
