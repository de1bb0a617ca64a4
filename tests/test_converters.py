"""PDF and Word text as the index stores it (pages, no running lines, tables in order), and the child process
that parses them: stopped when it hangs or allocates too much."""

from __future__ import annotations

import re
import sys

import pytest

from qa.converters import ConversionError, read_pdf, run_limited
from tests.conftest import open_version
from tests.pdf_docx_fixture import HEADER, PAGE_FACTS, build_paged, make_scanned_report


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    return build_paged(tmp_path_factory)


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


def test_without_the_ocr_extra_a_scan_is_skipped_naming_it_and_a_mixed_pdf_keeps_its_text_pages(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # the extra not installed: importing it fails
    make_scanned_report(tmp_path / "scan.pdf", tmp_path, pages=(2,), keep_text=False)
    with pytest.raises(
        ConversionError, match=re.escape("no text layer (a scanned PDF?); reading it needs OCR: pip install 'qa-docs[ocr]'")
    ):
        read_pdf((tmp_path / "scan.pdf").read_bytes())
    make_scanned_report(tmp_path / "mixed.pdf", tmp_path)
    text, pages, note = read_pdf((tmp_path / "mixed.pdf").read_bytes())
    assert text.rstrip() == "Harbour operations\n" + PAGE_FACTS[1] and len(pages) == 3  # the scanned pages are empty
    assert note == "2 of 3 pages are scanned (no text layer) and were left out; to read them: pip install 'qa-docs[ocr]'"


def test_a_child_that_hangs_or_allocates_too_much_is_stopped():
    with pytest.raises(ConversionError, match="took longer"):
        run_limited(_sleep_forever, b"", seconds=1)
    with pytest.raises(ConversionError, match="memory"):
        run_limited(_allocate, b"", memory=256 * 2**20)


def _sleep_forever(raw: bytes):
    import time

    while True:
        time.sleep(1)


def _allocate(raw: bytes):
    return bytearray(1024 * 2**20), None
