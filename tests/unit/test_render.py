"""The browser UI's HTML and Markdown: everything from a document or a question is escaped, citations mark exact text."""

from __future__ import annotations

import html
import re
import string

import pytest

from qa.pipeline import Result
from qa.schema import Answer, Passage
from qa.ui.render import DOC_WINDOW, NO_ANSWER, Cite, _marked, answer_message, document_html, esc, index_html, md_text


def test_esc():
    assert esc('<a href="x">&\'') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    assert esc(42) == "42"
    assert esc(None) == "None"


def test_md_text_every_ascii_punctuation_is_a_numeric_reference():
    for c in string.punctuation:
        assert md_text(c) == f"&#{ord(c)};"
    assert md_text("a  b\n\n\tc ") == "a b c"
    assert md_text("Kvitøya — “red”") == "Kvitøya — “red”"  # non-ASCII punctuation is not Markdown syntax


@pytest.mark.parametrize(
    "hostile",
    [
        "[x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "![img](http://example.com/x.png) **bold** _em_ `code`",
        "# heading\n1. item\n- item\n> quote",
        "&lt;script&gt; &#60; \\*",
        "<https://example.com>",
    ],
)
def test_md_text_keeps_markdown_and_html_inert(hostile):
    out = md_text(hostile)
    # nothing but letters, digits, spaces and numeric references is left
    leftover = re.sub(r"&#\d+;", "", out)
    assert not any(c in string.punctuation for c in leftover)
    assert "<" not in out and "[" not in out and "(" not in out
    # and it reads back as the original text (whitespace collapsed)
    assert html.unescape(out) == " ".join(hostile.split())


def test_marked_escapes_and_marks_non_overlapping_spans():
    text = "0123456789"
    out = _marked(text, [(2, 5, "", 0), (4, 8, "alt", 1), (6, 9, "", 2)])
    # span 1 overlaps span 0, which comes first: dropped; output in text order
    assert out == '01<mark data-cite="0">234</mark>5<mark data-cite="2">678</mark>9'
    out = _marked(text, [(6, 9, "alt", 3), (2, 5, "", 0)])
    assert out == '01<mark data-cite="0">234</mark>5<mark class="alt" data-cite="3">678</mark>9'
    # clamped to the text; empty spans dropped
    assert _marked(text, [(-3, 2, "", 0), (8, 100, "", 1), (5, 5, "", 2)]) == (
        '<mark data-cite="0">01</mark>234567<mark data-cite="1">89</mark>'
    )
    assert _marked(text, []) == text
    hostile = '<b onclick="x">&</b>'
    assert _marked(hostile, [(0, 15, "", 0)]) == '<mark data-cite="0">&lt;b onclick=&quot;x&quot;&gt;</mark>&amp;&lt;/b&gt;'


def _doc_mark(out: str) -> str:
    m = re.search(r'<mark id="qa-doc-mark">(.*?)</mark>', out, re.S)
    assert m, out
    return m.group(1)


def test_document_html_marks_exactly_the_cited_text():
    text = 'He said "<b>hi</b> & bye" to the <script>alert(1)</script> crowd.'
    start = text.index("<b>")
    end = text.index(" &") + 6  # '<b>hi</b> & bye'
    cite = Cite('notes/<odd> "name".md', start, end, 1)
    out = document_html(cite, text)
    assert html.unescape(_doc_mark(out)) == text[start:end] == "<b>hi</b> & bye"
    assert "<b>hi" not in out and "<script>" not in out and "<odd>" not in out
    assert esc(cite.document) in out
    assert f"characters {start}–{end}" in out and f"(showing {len(text)} characters)" in out
    # everything outside the tags is the document, escaped
    body = re.search(r'<div class="qa-doc-text">(.*)</div></div>$', out, re.S).group(1)
    assert html.unescape(re.sub(r"</?mark[^>]*>", "", body)) == text


def test_document_html_windows_long_text():
    before, after = DOC_WINDOW + 100, DOC_WINDOW + 50
    text = "x" * before + "NEEDLE" + "y" * after
    start, end = before, before + 6
    out = document_html(Cite("big.txt", start, end, 1), text)
    assert _doc_mark(out) == "NEEDLE"
    lo, hi = start - DOC_WINDOW, end + DOC_WINDOW  # 100 .. len - 50
    assert f"(showing characters {lo}–{hi} of {len(text)})" in out
    body = re.search(r'<div class="qa-doc-text">(.*)</div></div>$', out, re.S).group(1)
    shown = re.sub(r"</?mark[^>]*>", "", body)
    assert shown == text[lo:hi] and len(shown) == 2 * DOC_WINDOW + 6
    # near the start: the window starts at 0
    out = document_html(Cite("big.txt", 5, 11, 1), text)
    assert f"(showing characters 0–{11 + DOC_WINDOW} of {len(text)})" in out
    assert _doc_mark(out) == "xxxxxx"


def test_document_html_missing_text():
    out = document_html(Cite("gone <x>.txt", 0, 3, 1), None)
    assert "is no longer in the index" in out
    assert "gone &lt;x&gt;.txt" in out and "<x>" not in out
    assert "qa-doc-mark" not in out


def _ans(text, score, document, line, start=0):
    a = Answer(text, score, document, start, start + len(text), text, start)
    a.line = line
    return a


def test_answer_message_one_answer():
    result = Result("Who built it?", False, [_ans("Thomas *Quayle*", 0.874, "harbour.html", 3)])
    assert answer_message(result) == "**Thomas &#42;Quayle&#42;**\n\nconfidence 0.87 · harbour&#46;html · line 3"
    result.warnings = ["question truncated <to> 2000"]
    assert answer_message(result).endswith("line 3\n\n*question truncated &#60;to&#62; 2000*")


def test_answer_message_several_answers_numbered():
    result = Result("Who?", False, [_ans("NATO", 0.9, "a.txt", 1), _ans("[Russia](x)", 0.456, "b.txt", 12)])
    assert answer_message(result) == (
        "The documents give 2 answers:\n\n"
        "1. **NATO** — confidence 0.90 · a&#46;txt · line 1\n"
        "2. **&#91;Russia&#93;&#40;x&#41;** — confidence 0.46 · b&#46;txt · line 12"
    )


def test_answer_message_no_answer_with_closest_guess():
    guess = _ans("the red ship", 0.123, "notes/aurora.md", 7)
    result = Result("What colour?", True, [guess], passages=[Passage.from_text("the red ship", "notes/aurora.md")])
    assert answer_message(result) == (
        f"{NO_ANSWER}\n\nNo passage answers this with enough confidence; the closest passages are under Sources."
        "\n\nClosest guess (confidence 0.12): “the red ship” — notes&#47;aurora&#46;md · line 7"
    )
    nothing = Result("What colour?", True, [])
    assert answer_message(nothing) == f"{NO_ANSWER}\n\nNo passage answers this with enough confidence; nothing in the index matched."


def test_index_html_escapes_skipped_files_and_stale_note():
    info = {
        "n_documents": 3,
        "n_chunks": 12,
        "built_at": "2024-05-01 <10:00>",
        "skipped": {"b<x>.png": "not text & binary", "a.pdf": "larger than 20 MB"},
        "stale": "2 files <changed>",
    }
    out = index_html(info)
    assert "<b>3</b> documents · <b>12</b> chunks · built 2024-05-01 &lt;10:00&gt;" in out
    assert "<summary>2 files skipped</summary>" in out
    assert "<li>a.pdf: larger than 20 MB</li><li>b&lt;x&gt;.png: not text &amp; binary</li>" in out  # sorted
    assert "(2 files &lt;changed&gt;)" in out and "Rebuild index" in out
    assert "<x>" not in out and "<changed>" not in out and "<10:00>" not in out
    one = index_html({**info, "skipped": {"a.pdf": "too big"}, "stale": ""})
    assert "<summary>1 file skipped</summary>" in one and "qa-warn" not in one
    assert "skipped" not in index_html({"n_documents": 0, "n_chunks": 0, "built_at": "now"})
    assert index_html({"problem": "index <broken>"}) == '<div class="qa-index qa-warn">index &lt;broken&gt;</div>'
