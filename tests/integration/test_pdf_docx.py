"""PDF and Word documents: real files made by real writers (fpdf2, python-docx), answers that cite
the right page with exact offsets, and broken or hostile files skipped with a reason."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.conftest import open_version, run_qa
from tests.pdf_docx_fixture import build_paged, fpdf, make_docx, make_report


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    return build_paged(tmp_path_factory)


@pytest.mark.parametrize(
    ("question", "expected", "page"),
    [
        ("Who was the harbour master in 2023?", "Agnes Pellow", 1),
        ("How much did the new breakwater cost?", "4.2 million pounds", 2),
        ("How many passengers did the ferry to Holm Island carry?", "18,400", 3),
    ],
)
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
    reasons = {
        line.split(": ", 1)[0].removeprefix("skipped "): line.split(": ", 1)[1]
        for line in proc.stderr.splitlines()
        if line.startswith("skipped ")
    }
    assert "not a readable PDF" in reasons["truncated.pdf"] or "could not be read" in reasons["truncated.pdf"], reasons
    assert "not a readable PDF" in reasons["corrupt.pdf"] or "could not be read" in reasons["corrupt.pdf"], reasons
    assert "encrypted" in reasons["locked.pdf"], reasons
    assert "no text layer" in reasons["scanned.pdf"], reasons
    assert "10000 pages, more than" in reasons["empty-pages.pdf"], reasons  # refused before reading 10,000 pages
    assert "not a zip file" in reasons["not-a-zip.docx"], reasons
    assert "zip bomb" in reasons["bomb.docx"], reasons
    assert proc.stdout.startswith("+1 added"), proc.stdout  # fine.txt; the rest of the folder is indexed
    assert "Traceback" not in proc.stderr


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("L").save(buf, format="PNG")  # a "scan": pixels, no text
    return buf.getvalue()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """report.pdf with pages 2 (a table) and 3 (two columns) scanned, indexed by `qa index`: OCR reads those two."""
    from tests.pdf_docx_fixture import make_scanned_report

    pytest.importorskip("rapidocr")
    root = tmp_path_factory.mktemp("scanned")
    (root / "seeds").mkdir()
    make_scanned_report(root / "seeds" / "scanned-report.pdf", root)
    proc = run_qa("index", "--seeds", str(root / "seeds"), "--index", str(root / "index"), "-q", timeout=600)
    return root / "index", proc


@pytest.mark.parametrize(
    ("question", "expected", "page"),
    [
        ("How much did the new breakwater cost?", "4.2 million pounds", 2),  # read by OCR
        ("How many passengers did the ferry to Holm Island carry?", "18,400", 3),  # read by OCR, from the left of two columns
        ("Who was the harbour master in 2023?", "Agnes Pellow", 1),  # the text layer
    ],
)
def test_scanned_pages_are_read_by_ocr_and_answers_cite_their_page(scanned, question, expected, page):
    index, proc = scanned
    assert proc.returncode == 0 and "skipped" not in proc.stderr, proc.stderr
    assert "scanned-report.pdf: 2 of 3 pages read by OCR (no text layer)" in proc.stderr + proc.stdout
    out = json.loads(run_qa("ask", question, "--json", "--index", str(index)).stdout)
    best = out["answers"][0]
    assert expected in best["text"] and best["document"] == "scanned-report.pdf" and best["page"] == page, out
    text = open_version(index).document_text("scanned-report.pdf")
    assert text[best["start"] : best["end"]] == best["text"]
    assert "The ferry to Holm Island carried 18,400\npassengers" in text  # the column read down, not across
