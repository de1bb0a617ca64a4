"""Ingest and chunking: every chunk's offsets are exact, on txt, md and html; odd files are read or refused."""

from __future__ import annotations

import os

import pytest

from qa.chunking import split_document
from qa.documents import Document, FileState, decode, html_to_text, read_document, scan
from qa.settings import Settings
from tests.conftest import HTML_DOC


def _docs(folder):
    files, skipped = scan(folder)
    return [read_document(f)[0] for f in files], skipped


def test_scan_finds_supported_files_recursively_and_skips_others(seeds_dir):
    files, skipped = scan(seeds_dir)
    assert sorted(f.id for f in files) == ["harbour.html", "nato-russia-council.txt", "notes/aurora station.md"]
    assert [(s.path, "unsupported" in s.reason) for s in skipped] == [("image.png", True)]


def test_every_chunk_is_an_exact_substring_at_its_offsets(seeds_dir):
    docs, _ = _docs(seeds_dir)
    assert len(docs) == 3
    for doc in docs:
        spans = split_document(doc)
        assert spans, doc.id
        covered = set()
        for start, end in spans:
            chunk = doc.text[start:end]
            assert chunk and chunk == chunk.strip()
            assert end - start <= Settings().chunk_size
            covered.update(range(start, end))
        # nothing but whitespace is left out of the chunks
        assert all(doc.text[i].isspace() for i in range(len(doc.text)) if i not in covered)


def test_offsets_survive_non_ascii_punctuation():
    text = ("“Quoted” — dash – en‑dash ‘single’ … ellipsis. " * 40) + "\n\nÆgir’s café in Tromsø. " * 30
    doc = Document("x.txt", text, "h", "text")
    spans = split_document(doc)
    assert len(spans) > 2
    assert all(doc.text[s:e] == doc.text[s:e].strip() and doc.text[s:e] for s, e in spans)
    assert any("Tromsø" in doc.text[s:e] for s, e in spans)


def test_html_becomes_visible_text_without_scripts_or_styles():
    text = html_to_text(HTML_DOC)
    assert "Thomas Quayle" in text and "1874" in text
    assert "zzyzx" not in text and "color: red" not in text and "__pwned" not in text
    assert "<b>" not in text and "onerror" not in text
    assert text.startswith("Harbour history")


def test_document_has_stable_id_and_content_hash(seeds_dir):
    a, _ = _docs(seeds_dir)
    b, _ = _docs(seeds_dir)
    assert [(d.id, d.sha256) for d in a] == [(d.id, d.sha256) for d in b]
    assert len({d.sha256 for d in a}) == 3


def test_decode_handles_boms_latin1_and_rejects_binary():
    assert decode("héllo".encode("utf-16"))[0] == "héllo"
    assert decode(b"\xef\xbb\xbfplain")[0] == "plain"
    text, note = decode("café crème".encode("latin-1"))
    assert text == "café crème" and "UTF-8" in note
    try:
        decode(b"\x00\x01\x02binary\x00")
    except ValueError as e:
        assert "binary" in str(e)
    else:
        raise AssertionError("binary data was accepted")


def test_file_whose_size_never_matches_what_is_read_is_retried_then_skipped(tmp_path):
    # a pseudo-file (or one being appended to) reports a size that is not what a read returns
    link = tmp_path / "status.txt"
    link.symlink_to(f"/proc/{os.getpid()}/status")
    st = link.stat()
    assert st.st_size == 0 and link.read_bytes()
    with pytest.raises(ValueError, match="kept changing"):
        read_document(FileState("status.txt", link, st.st_size, st.st_mtime_ns))
