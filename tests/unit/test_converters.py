"""The PDF and Word converters' pure helpers: running headers and footers, hyphenation, files that are not what they say."""

from __future__ import annotations

import pytest

from qa.converters import ConversionError, dehyphenate, docx_text, drop_running_lines, pdf_text

HEADER = "Port Elwyn Harbour Board - Annual Report"


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
