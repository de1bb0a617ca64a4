"""Real PDF and Word files written by real writers (fpdf2, python-docx), with facts on known pages."""

from __future__ import annotations

import pytest

from tests.conftest import build

fpdf = pytest.importorskip("fpdf")
docx = pytest.importorskip("docx")

HEADER = "Port Elwyn Harbour Board - Annual Report"
PAGE_FACTS = {
    1: "The harbour master in 2023 was Agnes Pellow, who took office in March.",
    2: "The new breakwater cost 4.2 million pounds and was finished by the contractor Brunel Marine.",
    3: "The ferry to Holm Island carried 18,400 passengers during the summer season.",
}


class _Report(fpdf.FPDF):
    def header(self):
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, HEADER, new_x="LMARGIN", new_y="NEXT")

    def footer(self):
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, f"Page {self.page_no()}", align="C")


def make_report(path, facts: dict[int, str] = PAGE_FACTS) -> None:
    """Three pages: running header and footer, a word hyphenated at a line end, a table, two columns."""
    pdf = _Report()
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Harbour operations\n" + facts[1] + "\nThe board approved the recon-\nstruction of the north quay.")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Works and costs\n" + facts[2])
    with pdf.table() as table:
        for row in (("Project", "Cost"), ("North quay", "1.1 million pounds"), ("Lighthouse lamp", "90,000 pounds")):
            r = table.row()
            for cell in row:
                r.cell(cell)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    top = pdf.get_y()
    pdf.set_xy(10, top)
    pdf.multi_cell(90, 6, "Passenger services\n" + facts[3])
    pdf.set_xy(110, top)
    pdf.multi_cell(90, 6, "Cargo\nThe cargo terminal handled mostly timber and salt fish from the northern isles.")
    pdf.output(str(path))


def scan_pages(source, pages: list[int], dpi: int = 120) -> list:
    """Grayscale images of a PDF's 1-based pages, as a scanner would give them (pixels, no text)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    try:
        return [pdf[p - 1].render(scale=dpi / 72, grayscale=True).to_pil() for p in pages]
    finally:
        pdf.close()


def make_scanned_report(path, tmp, pages=(1, 2, 3), keep_text: bool = True) -> None:
    """make_report's given pages in order, scanned (a picture of the page, no text layer; the running
    header and footer stay as text, as a stamp would), but page 1 with its text layer when `keep_text`.
    Page 2 has a table, page 3 two columns."""
    make_report(tmp / "source.pdf")
    scans = dict(zip(pages, scan_pages(tmp / "source.pdf", list(pages))))
    pdf = _Report()
    pdf.set_auto_page_break(False)
    for p in pages:
        pdf.add_page()
        if p == 1 and keep_text:
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, "Harbour operations\n" + PAGE_FACTS[1])
        else:
            pdf.image(scans[p], x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.output(str(path))


def make_docx(path) -> None:
    d = docx.Document()
    d.add_heading("Keeper's handbook", level=1)
    d.add_paragraph("The lamp must be lit thirty minutes before sunset.")
    d.add_heading("Supplies", level=2)
    t = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Item", "Supplier"), ("Lamp oil", "Tregarth & Sons"), ("Wicks", "Morwenna Crafts")]):
        t.cell(r, 0).text, t.cell(r, 1).text = a, b
    d.add_paragraph("Report any fault to the district engineer, Colm Farrell.")
    d.save(str(path))


def build_paged(tmp_path_factory):
    """A report.pdf and a handbook.docx, indexed: (seeds, index, build report)."""
    seeds = tmp_path_factory.mktemp("paged-seeds")
    make_report(seeds / "report.pdf")
    make_docx(seeds / "handbook.docx")
    index = tmp_path_factory.mktemp("paged-index")
    report = build(seeds, index)
    return seeds, index, report
