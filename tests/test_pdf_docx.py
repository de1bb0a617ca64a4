"""PDF and Word documents: real files made by real writers (fpdf2, python-docx), answers that cite
the right page with exact offsets, and broken or hostile files skipped with a reason."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from qa.converters import ConversionError, dehyphenate, docx_text, drop_running_lines, pdf_text, run_limited
from tests.conftest import build, open_version, run_qa

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


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    seeds = tmp_path_factory.mktemp("paged-seeds")
    make_report(seeds / "report.pdf")
    make_docx(seeds / "handbook.docx")
    index = tmp_path_factory.mktemp("paged-index")
    report = build(seeds, index)
    return seeds, index, report


def test_pdf_text_has_pages_no_running_lines_and_joined_hyphenation(paged):
    seeds, index, report = paged
    assert not report.skipped, report.skipped
    v = open_version(index)
    text, pages = v.document_text("report.pdf"), v.documents["report.pdf"]["pages"]
    assert len(pages) == 3 and pages[0] == 0
    for n, fact in PAGE_FACTS.items():  # each fact sits on its own page (lines may wrap inside it)
        at = re.search(r"\s+".join(map(re.escape, fact.split())), text).start()
        assert pages[n - 1] <= at and (n == 3 or at < pages[n])
    assert HEADER not in text and "Page 2" not in text  # running header and footer dropped
    assert "reconstruction of the north quay" in text  # hyphenation across the line end joined
    assert "Lighthouse lamp" in text and "90,000 pounds" in text  # the table's cells
    assert "timber and salt\nfish" in text or "timber and salt fish" in text  # the second column


def test_docx_keeps_headings_paragraphs_and_tables_in_order(paged):
    _, index, _ = paged
    text = open_version(index).document_text("handbook.docx")
    order = ["Keeper's handbook", "thirty minutes", "Supplies", "Lamp oil | Tregarth & Sons", "Colm Farrell"]
    assert [text.index(s) for s in order] == sorted(text.index(s) for s in order)


@pytest.mark.parametrize(("question", "expected", "page"), [
    ("Who was the harbour master in 2023?", "Agnes Pellow", 1),
    ("How much did the new breakwater cost?", "4.2 million pounds", 2),
    ("How many passengers did the ferry to Holm Island carry?", "18,400", 3),
])  # fmt: skip
def test_answers_cite_the_right_page_with_exact_offsets(paged, question, expected, page):
    seeds, index, _ = paged
    r = run_qa("ask", question, "--json", "--index", str(index))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    best = out["answers"][0]
    assert expected in best["text"] and best["document"] == "report.pdf" and best["page"] == page, out
    assert open_version(index).document_text("report.pdf")[best["start"] : best["end"]] == best["text"]
    human = run_qa("ask", question, "--index", str(index))
    assert f"report.pdf:page {page}, line " in human.stdout, human.stdout


def test_answers_from_a_docx_table_and_no_page_for_unpaged_documents(paged):
    _, index, _ = paged
    out = json.loads(run_qa("ask", "Who supplies the lamp oil?", "--json", "--index", str(index)).stdout)
    best = out["answers"][0]
    assert "Tregarth" in best["text"] and best["document"] == "handbook.docx" and "page" not in best, out


def _pdf_bytes(build_pages) -> bytes:
    pdf = fpdf.FPDF()
    build_pages(pdf)
    return bytes(pdf.output())


def test_broken_and_hostile_files_are_skipped_with_a_reason(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    make_report(tmp_path / "good.pdf")
    good = (tmp_path / "good.pdf").read_bytes()
    (seeds / "truncated.pdf").write_bytes(good[: len(good) // 3])
    (seeds / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)

    def encrypted(pdf):
        pdf.set_encryption(owner_password="owner", user_password="secret")
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.cell(0, 10, "The vault code is 4471.")

    (seeds / "locked.pdf").write_bytes(_pdf_bytes(encrypted))

    def scanned(pdf):  # a page with a picture and no text layer
        pdf.add_page()
        png = tmp_path / "scan.png"
        png.write_bytes(_tiny_png())
        pdf.image(str(png), x=10, y=10, w=100)

    (seeds / "scanned.pdf").write_bytes(_pdf_bytes(scanned))

    def empty_pages(pdf):
        for _ in range(10_000):
            pdf.add_page()

    (seeds / "empty-pages.pdf").write_bytes(_pdf_bytes(empty_pages))
    (seeds / "not-a-zip.docx").write_text("just text pretending to be Word", encoding="utf-8")
    make_docx(tmp_path / "ok.docx")
    with zipfile.ZipFile(tmp_path / "ok.docx") as src, zipfile.ZipFile(seeds / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("word/media/padding.bin", bytes(300 * 2**20))  # 300 MB of zeros, a few hundred KB packed
    (seeds / "fine.txt").write_text("The tide tables are posted at the harbour office.", encoding="utf-8")

    proc = run_qa("index", "--seeds", str(seeds), "--index", str(tmp_path / "index"), "-q", timeout=600)
    assert proc.returncode == 0, proc.stderr
    reasons = {line.split(": ", 1)[0].removeprefix("skipped "): line.split(": ", 1)[1]
               for line in proc.stderr.splitlines() if line.startswith("skipped ")}  # fmt: skip
    assert "not a readable PDF" in reasons["truncated.pdf"] or "could not be read" in reasons["truncated.pdf"], reasons
    assert "not a readable PDF" in reasons["corrupt.pdf"] or "could not be read" in reasons["corrupt.pdf"], reasons
    assert "encrypted" in reasons["locked.pdf"], reasons
    assert "no text layer" in reasons["scanned.pdf"], reasons
    assert "10000 pages, more than" in reasons["empty-pages.pdf"], reasons  # refused before reading 10,000 pages
    assert "not a zip file" in reasons["not-a-zip.docx"], reasons
    assert "zip bomb" in reasons["bomb.docx"], reasons
    assert proc.stdout.startswith("+1 added"), proc.stdout  # fine.txt; the rest of the folder is indexed
    assert "Traceback" not in proc.stderr


def test_a_child_that_hangs_or_allocates_too_much_is_stopped():
    with pytest.raises(ConversionError, match="took longer"):
        run_limited(_sleep_forever, b"", seconds=1)
    with pytest.raises(ConversionError, match="memory"):
        run_limited(_allocate, b"", memory=256 * 2**20)


def test_running_line_and_hyphen_helpers():
    topics = ["tides", "cargo", "ferries", "lamps", "storms"]
    pages = [f"{HEADER}\nBody text about {t}.\nMore on {t} here.\nPage {i}" for i, t in enumerate(topics, 1)]
    cleaned = drop_running_lines(pages)
    assert all(HEADER not in p and "Page" not in p and "Body text" in p for p in cleaned)
    assert drop_running_lines(pages[:2]) == pages[:2]  # two pages: too few to tell
    assert dehyphenate("recon-\nstruction and well-\nKnown") == "reconstruction and well-\nKnown"
    with pytest.raises(ConversionError, match="not a zip"):
        docx_text(b"plain text")
    with pytest.raises(ConversionError):
        pdf_text(b"%PDF-1.4 nonsense")


def _sleep_forever(raw: bytes):
    import time

    while True:
        time.sleep(1)


def _allocate(raw: bytes):
    return bytearray(1024 * 2**20), None


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("L").save(buf, format="PNG")  # a "scan": pixels, no text
    return buf.getvalue()
