"""Fast unit tests of the pure functions: no models, no index, no network, a few seconds in all.

Expected numbers are worked out by hand in the comments, from the documented behaviour (the
official SQuAD evaluate-v1.1.py / evaluate-v2.0.py scripts for the metric)."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import string
from pathlib import Path

import pytest

from qa.pipeline import MAX_QUESTION_CHARS, BadQuestion, Result, clean_question
from qa.reader import _trim_unbalanced_quotes, merge_duplicates, same_answer
from qa.retriever import reciprocal_rank_fusion
from qa.schema import Answer, Passage
from qa.settings import Settings
from qa.squad import (
    SquadQuestion,
    exact_score,
    f1_score,
    load_squad,
    normalize_answer,
    sample,
    score_question,
    squad_metrics,
)
from qa.ui.render import DOC_WINDOW, NO_ANSWER, Cite, _marked, answer_message, document_html, esc, index_html, md_text

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- 1. SQuAD metric


def test_normalize_answer_lowercases_and_drops_punctuation_articles_and_extra_whitespace():
    assert normalize_answer("The Eiffel Tower") == "eiffel tower"
    assert normalize_answer("  A cat,\tan apple\nand THE dog!  ") == "cat apple and dog"
    # punctuation is deleted, not replaced by a space (as in the official scripts)
    assert normalize_answer("Eiffel-Tower.") == "eiffeltower"
    assert normalize_answer("1,889") == "1889"
    # articles only as whole words
    assert normalize_answer("theatre anthem") == "theatre anthem"
    assert normalize_answer("the") == ""
    assert normalize_answer("!?.,") == ""
    # punctuation is ASCII string.punctuation only: curly quotes stay
    assert normalize_answer("“Aurora”") == "“aurora”"


def test_exact_score_after_normalisation():
    assert exact_score("the Eiffel Tower", "Eiffel Tower") == 1.0  # article dropped
    assert exact_score("Eiffel  tower.", "eiffel tower") == 1.0  # case, whitespace, punctuation
    assert exact_score("Eiffel", "Eiffel Tower") == 0.0
    assert exact_score("", "") == 1.0


def test_f1_score_token_overlap():
    # "tower in paris" vs "eiffel tower": 1 common token, P = 1/3, R = 1/2,
    # F1 = 2 * (1/3 * 1/2) / (1/3 + 1/2) = (1/3) / (5/6) = 0.4
    assert f1_score("Tower in Paris", "Eiffel Tower") == pytest.approx(0.4)
    assert f1_score("the Eiffel Tower", "Eiffel Tower") == 1.0
    assert f1_score("Louvre", "Eiffel Tower") == 0.0
    # repeated tokens count by multiplicity: pred "tower tower" vs gold "tower": common 1,
    # P = 1/2, R = 1, F1 = 2 * 0.5 / 1.5 = 2/3
    assert f1_score("tower tower", "tower") == pytest.approx(2 / 3)
    # v2.0 rule for empty token lists: both empty is a match, one empty is not
    assert f1_score("", "") == 1.0
    assert f1_score("the", "a") == 1.0  # both normalise to nothing
    assert f1_score("", "Eiffel Tower") == 0.0
    assert f1_score("Eiffel Tower", "") == 0.0


def _q(qid, answers, impossible=False):
    return SquadQuestion(id=qid, question="?", context="", answers=answers, answer_starts=[0] * len(answers), is_impossible=impossible)


def test_score_question_max_over_gold_answers_and_no_answer_rule():
    q = _q("q", ["Eiffel Tower", "Eiffel Tower in Paris, France"])
    # vs gold 1: F1 0.4 (above); vs gold 2 (eiffel tower in paris france): common 3,
    # P = 3/3, R = 3/5, F1 = 2 * 0.6 / 1.6 = 0.75  -> max 0.75; EM 0 with both
    em, f1 = score_question(q, "Tower in Paris")
    assert em == 0.0 and f1 == pytest.approx(0.75)
    # v2.0: an unanswerable question's only gold answer is ""
    unanswerable = _q("u", [], impossible=True)
    assert score_question(unanswerable, "") == (1.0, 1.0)
    assert score_question(unanswerable, "Paris") == (0.0, 0.0)
    # an empty prediction on an answerable question scores 0
    assert score_question(q, "") == (0.0, 0.0)
    # gold answers that normalise to nothing are ignored, as in evaluate-v2.0.py
    q2 = _q("q2", ["the", "Paris"])
    assert score_question(q2, "Paris") == (1.0, 1.0)
    assert score_question(q2, "") == (0.0, 0.0)


CONTEXT = "The Eiffel Tower is in Paris. It was built in 1889 for the World's Fair."


def _squad_json(with_impossible: bool) -> dict:
    def qa(qid, answers, impossible=False):
        item = {"id": qid, "question": f"question {qid}?", "answers": [{"text": a, "answer_start": CONTEXT.find(a)} for a in answers]}
        if with_impossible:
            item["is_impossible"] = impossible
        return item

    qas = [
        qa("q1", ["Eiffel Tower", "The Eiffel Tower"]),
        qa("q2", ["Eiffel Tower", "Eiffel Tower is in Paris"]),
        qa("q3", ["1889", "in 1889"]),
        qa("q6", ["World's Fair"]),
    ]
    if with_impossible:
        qas += [qa("q4", [], impossible=True), qa("q5", [], impossible=True)]
    return {"version": "v2.0" if with_impossible else "1.1", "data": [{"title": "Paris", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}


PREDICTIONS = {
    "q1": "the Eiffel Tower",  # EM 1, F1 1
    "q2": "Tower in Paris",  # vs "eiffel tower": F1 0.4; vs "eiffel tower is in paris": common 3, P 1, R 3/5, F1 0.75; EM 0
    "q3": "1889.",  # EM 1, F1 1 (punctuation)
    "q4": "",  # unanswerable, no answer given: EM 1, F1 1
    "q5": "Paris",  # unanswerable, an answer given: EM 0, F1 0
    "q6": "",  # answerable, no answer given: EM 0, F1 0
}


def _write(tmp_path: Path, data: dict, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_squad_metrics_v2_with_has_ans_and_no_ans_split(tmp_path):
    squad = load_squad(_write(tmp_path, _squad_json(with_impossible=True)))
    assert squad.has_impossible
    assert [q.id for q in squad.questions] == ["q1", "q2", "q3", "q6", "q4", "q5"]
    m = squad_metrics(squad.questions, PREDICTIONS)
    # all six: EM (1 + 0 + 1 + 0 + 1 + 0) / 6 = 50 %; F1 (1 + 0.75 + 1 + 0 + 1 + 0) / 6 = 3.75 / 6 = 62.5 %
    assert m["total"] == 6
    assert m["exact"] == pytest.approx(50.0)
    assert m["f1"] == pytest.approx(62.5)
    # HasAns q1 q2 q3 q6: EM 2/4 = 50 %, F1 2.75/4 = 68.75 %
    assert m["HasAns"] == {"exact": pytest.approx(50.0), "f1": pytest.approx(68.75), "total": 4}
    # NoAns q4 q5: EM 1/2 = 50 %, F1 1/2 = 50 %
    assert m["NoAns"] == {"exact": pytest.approx(50.0), "f1": pytest.approx(50.0), "total": 2}


def test_squad_metrics_v1_has_no_split(tmp_path):
    squad = load_squad(_write(tmp_path, _squad_json(with_impossible=False)))
    assert not squad.has_impossible
    m = squad_metrics(squad.questions, PREDICTIONS)
    # q1 q2 q3 q6: EM 2/4 = 50 %, F1 (1 + 0.75 + 1 + 0) / 4 = 68.75 %
    assert m == {"exact": pytest.approx(50.0), "f1": pytest.approx(68.75), "total": 4}
    assert "HasAns" not in m and "NoAns" not in m


def test_squad_metrics_missing_prediction_counts_as_no_answer(tmp_path):
    squad = load_squad(_write(tmp_path, _squad_json(with_impossible=False)))
    # only q1 predicted: 1 of 4 correct (evaluate-v1.1.py also counts a missing prediction as 0)
    m = squad_metrics(squad.questions, {"q1": "Eiffel Tower"})
    assert m["exact"] == pytest.approx(25.0) and m["f1"] == pytest.approx(25.0)
    assert squad_metrics([], {}) == {"exact": 0.0, "f1": 0.0, "total": 0}


def test_load_squad_gzip_and_bad_file(tmp_path):
    import gzip

    path = tmp_path / "data.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(_squad_json(with_impossible=True), f)
    squad = load_squad(path)
    assert len(squad.questions) == 6 and squad.paragraphs == {"0000_000": CONTEXT}
    assert squad.questions[0].answer_starts == [CONTEXT.find("Eiffel Tower"), 0]
    with pytest.raises(ValueError, match="not a SQuAD-format file"):
        load_squad(_write(tmp_path, [1, 2], "list.json"))


def test_sample_fixed_seed_sorted_and_limit_zero():
    qs = [_q(f"q{i:03d}", ["x"]) for i in range(50)]
    qs.reverse()
    a = sample(qs, 10, seed=3)
    b = sample(qs, 10, seed=3)
    assert [q.id for q in a] == [q.id for q in b]
    assert len(a) == 10 and len({q.id for q in a}) == 10
    assert [q.id for q in a] == sorted(q.id for q in a)
    assert {q.id for q in a} <= {q.id for q in qs}
    # limit 0 (or not below the number of questions): all of them, in their own order
    assert sample(qs, 0) is qs
    assert sample(qs, 50) is qs
    assert sample(qs, 99) is qs


# --------------------------------------------------------------------------- 2. rank fusion


def test_reciprocal_rank_fusion_exact_values():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused == pytest.approx({1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61})
    # k changes the values: k=0 gives 1/rank
    assert reciprocal_rank_fusion([[7, 8]], k=0) == pytest.approx({7: 1.0, 8: 0.5})
    # default k is 60
    assert reciprocal_rank_fusion([[5]]) == pytest.approx({5: 1 / 61})


def test_reciprocal_rank_fusion_ids_in_both_lists_win():
    dense = [10, 11, 12, 13, 14]
    lexical = [20, 21, 22, 14, 13]
    fused = reciprocal_rank_fusion([dense, lexical])
    best = sorted(fused, key=lambda c: -fused[c])
    # 13 and 14 are in both lists, even near the bottom: 1/64 + 1/65 > 1/61
    assert set(best[:2]) == {13, 14}
    assert all(fused[c] < min(fused[13], fused[14]) for c in fused if c not in (13, 14))


def test_reciprocal_rank_fusion_empty():
    assert reciprocal_rank_fusion([]) == {}
    assert reciprocal_rank_fusion([[], []]) == {}
    assert reciprocal_rank_fusion([[], [4]]) == pytest.approx({4: 1 / 61})


# --------------------------------------------------------------------------- 3. span merging


def _answer(text, score=0.5, document="a.txt", start=0, end=None):
    end = start + len(text) if end is None else end
    return Answer(text, score, document, start, end, text, start)


def test_same_answer_overlapping_spans_in_one_document():
    a = _answer("alpha beta", start=10)  # 10..20
    b = _answer("beta gamma", start=16)  # 16..26
    assert same_answer(a, b) and same_answer(b, a)
    # the same offsets in another document are not an overlap, and the texts differ
    assert not same_answer(a, _answer("beta gamma", document="b.txt", start=16))
    # touching is not overlapping
    assert not same_answer(a, _answer("delta", start=20))


def test_same_answer_by_normalised_text():
    assert same_answer(_answer("The Eiffel Tower", document="a.txt"), _answer("eiffel tower.", document="b.txt", start=500))
    assert same_answer(
        _answer("this crisis", document="a.txt", start=100), _answer("Russia is responsible for this crisis", document="b.txt")
    )
    assert same_answer(_answer("Russia is responsible for this crisis"), _answer("this crisis", start=900))
    assert not same_answer(_answer("NATO"), _answer("Russia", start=50))
    # inside only as whole words
    assert not same_answer(_answer("cat"), _answer("concatenate", start=50))
    # texts with nothing left after normalisation only match each other
    assert same_answer(_answer("the"), _answer("a", start=50))
    assert not same_answer(_answer("the"), _answer("NATO", start=50))


def test_merge_duplicates_keeps_best_and_orders_best_first():
    answers = [
        _answer("this crisis", 0.40, "a.txt", 100),
        _answer("NATO", 0.30, "a.txt", 10),
        _answer("Russia is responsible for this crisis", 0.90, "b.txt", 0),
        _answer("the crisis", 0.20, "a.txt", 98, 108),  # normalises to "crisis", inside the best answer's text
        _answer("Council", 0.25, "a.txt", 8),  # 8..15 overlaps "NATO" (10..14) in a.txt
        _answer("Russia", 0.50, "c.txt", 0),  # inside the best answer's text
        _answer("the Alliance", 0.10, "a.txt", 300),
    ]
    merged = merge_duplicates(answers)
    assert [a.text for a in merged] == ["Russia is responsible for this crisis", "NATO", "the Alliance"]
    assert [a.score for a in merged] == [0.90, 0.30, 0.10]
    # the input is not changed
    assert len(answers) == 7


def test_merge_duplicates_limit():
    answers = [_answer(f"answer{i}", score=i / 10, start=i * 100) for i in range(8)]
    assert [a.text for a in merge_duplicates(answers, 3)] == ["answer7", "answer6", "answer5"]
    assert len(merge_duplicates(answers, 1)) == 1
    assert len(merge_duplicates(answers)) == 8
    assert merge_duplicates([], 5) == []


# --------------------------------------------------------------------------- 4. quote trimming


def _span(text, part):
    c0 = text.index(part)
    return c0, c0 + len(part)


@pytest.mark.parametrize(
    "text, quoted",
    [
        ("He called it “the red ship” and left.", "“the red ship”"),
        ('He called it "the red ship" and left.', '"the red ship"'),
        ("He called it ‘the red ship’ and left.", "‘the red ship’"),
        ("He called it «the red ship» and left.", "«the red ship»"),
        ("Er nannte es „das rote Schiff“ und ging.", "„das rote Schiff“"),
    ],
)
def test_trim_unbalanced_quotes(text, quoted):
    inner = quoted[1:-1]
    # a balanced quoted span is kept whole
    assert _trim_unbalanced_quotes(text, *_span(text, quoted)) == _span(text, quoted)
    # an opening quote whose closing one is outside the span is dropped
    head = quoted[:-1]
    c0, c1 = _trim_unbalanced_quotes(text, *_span(text, head))
    assert text[c0:c1] == inner
    # and a closing quote without its opener
    tail = quoted[1:]
    c0, c1 = _trim_unbalanced_quotes(text, *_span(text, tail))
    assert text[c0:c1] == inner
    # a span with both quotes on one side only, cut from a longer phrase
    c0, c1 = _trim_unbalanced_quotes(text, *_span(text, quoted[:5]))
    assert text[c0:c1] == quoted[1:5]


def test_trim_unbalanced_quotes_leaves_other_spans_alone():
    text = 'She said "stop" and “go” today.'
    assert _trim_unbalanced_quotes(text, *_span(text, "said")) == _span(text, "said")
    # quotes inside the span, balanced, not at its ends
    assert _trim_unbalanced_quotes(text, *_span(text, 'said "stop" and')) == _span(text, 'said "stop" and')
    # a lone quote character is not trimmed to nothing
    c0 = text.index('"')
    assert _trim_unbalanced_quotes(text, c0, c0 + 1) == (c0, c0 + 1)
    # both ends unbalanced: both quotes are dropped
    messy = "a “foo bar» b"
    c0, c1 = _trim_unbalanced_quotes(messy, *_span(messy, "“foo bar»"))
    assert messy[c0:c1] == "foo bar"
    # a span that starts with a closer and ends with an opener matches neither rule
    messy = "“stop” and «go»"
    assert _trim_unbalanced_quotes(messy, *_span(messy, "” and «")) == _span(messy, "” and «")


# --------------------------------------------------------------------------- 5. rendering


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


# --------------------------------------------------------------------------- 6. scripts/readme_command.py


@pytest.fixture(scope="module")
def readme_command():
    spec = importlib.util.spec_from_file_location("readme_command", ROOT / "scripts" / "readme_command.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


README_SAMPLE = """# Tool

```bash
echo not-this-one
```

<!-- quickstart -->
Some prose about the quick start.

```bash
# make a venv
python3 -m venv .venv

  # an indented comment
.venv/bin/pip install -e . && .venv/bin/qa ask "What?"
```

<!-- tests -->
```sh
bash scripts/test.sh
```
"""


def test_marked_command_takes_the_block_after_the_marker(readme_command):
    assert readme_command.marked_command(README_SAMPLE, "quickstart") == (
        'python3 -m venv .venv\n.venv/bin/pip install -e . && .venv/bin/qa ask "What?"'
    )
    assert readme_command.marked_command(README_SAMPLE, "tests") == "bash scripts/test.sh"


def test_marked_command_missing_marker_exits(readme_command):
    with pytest.raises(SystemExit, match="no ```bash block after <!-- quick -->"):
        readme_command.marked_command(README_SAMPLE, "quick")
    with pytest.raises(SystemExit):
        readme_command.marked_command("<!-- quickstart -->\n```python\nprint(1)\n```\n", "quickstart")


def test_marked_command_real_readme(readme_command):
    command = readme_command.marked_command((ROOT / "README.md").read_text(encoding="utf-8"), "quickstart")
    assert "pip install" in command and "qa ask" in command
    assert not any(line.lstrip().startswith("#") for line in command.splitlines())


# --------------------------------------------------------------------------- 7. settings

QA_VARS = ("QA_SEEDS", "QA_INDEX", "QA_MAX_FILE_MB", "QA_FLAT_LIMIT", "QA_LOCK_WAIT", "QA_READER_DIR", "QA_THREADS", "QA_UI_CONCURRENCY",
           "QA_EMBED_PRECISION")


@pytest.fixture()
def clean_env(monkeypatch):
    for var in QA_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_settings_defaults(clean_env):
    s = Settings.from_env()
    assert s == Settings()
    assert s.seeds == Path("seeds") and s.index == Path("index")
    assert s.max_file_mb == 20.0 and s.max_file_bytes == 20 * 1024 * 1024
    assert s.flat_limit == 50_000 and s.threads == 0 and s.reader_dir is None and s.embed_precision == "auto"
    assert s.splitter() == {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": 800, "chunk_overlap": 120}


def test_settings_env_then_overrides(clean_env):
    clean_env.setenv("QA_MAX_FILE_MB", "1.5")
    clean_env.setenv("QA_FLAT_LIMIT", "100")
    clean_env.setenv("QA_THREADS", "3")
    clean_env.setenv("QA_SEEDS", "/tmp/my seeds")
    s = Settings.from_env()
    assert s.max_file_mb == 1.5 and s.max_file_bytes == int(1.5 * 1024 * 1024) == 1_572_864
    assert s.flat_limit == 100 and isinstance(s.flat_limit, int)
    assert s.threads == 3
    assert s.seeds == Path("/tmp/my seeds")
    # explicit overrides beat the environment; None means "not given"
    s = Settings.from_env(flat_limit=7, threads=None, chunk_size=500, max_file_mb=None)
    assert s.flat_limit == 7 and s.threads == 3 and s.max_file_mb == 1.5
    assert s.splitter()["chunk_size"] == 500
    # an empty variable is unset
    clean_env.setenv("QA_THREADS", "")
    assert Settings.from_env().threads == 0


@pytest.mark.parametrize(
    "var, raw",
    [("QA_FLAT_LIMIT", "lots"), ("QA_FLAT_LIMIT", "1e5"), ("QA_MAX_FILE_MB", "big"), ("QA_THREADS", "2.5"), ("QA_EMBED_PRECISION", "fp16")],
)
def test_settings_bad_value_names_the_variable(clean_env, var, raw):
    clean_env.setenv(var, raw)
    with pytest.raises(ValueError, match=var) as err:
        Settings.from_env()
    assert repr(raw) in str(err.value)


def test_settings_with_ignores_none(clean_env):
    s = Settings.from_env().with_(top_k=9, threads=None)
    assert s.top_k == 9 and s.threads == 0


# --------------------------------------------------------------------------- 8. clean_question


def test_clean_question_strips_control_characters_and_collapses_whitespace():
    assert clean_question("What\x00 is\tthe\n\ncapital?\x1b") == ("What is the capital?", [])
    assert clean_question("  Who   built\u200bit?  ") == ("Who built it?", [])
    assert clean_question("Où est Kvitøya ?") == ("Où est Kvitøya ?", [])


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\n\t", None])
def test_clean_question_empty_raises(question):
    with pytest.raises(BadQuestion, match="empty"):
        clean_question(question)


@pytest.mark.parametrize("question", ["?", " ?!... ", "— “” …", "\x00?\x00"])
def test_clean_question_punctuation_only_raises(question):
    with pytest.raises(BadQuestion, match="no letters or digits"):
        clean_question(question)
    assert issubclass(BadQuestion, ValueError)


def test_clean_question_truncates_long_questions_with_a_warning():
    q, warnings = clean_question("a" * (MAX_QUESTION_CHARS + 500))
    assert q == "a" * MAX_QUESTION_CHARS
    assert len(warnings) == 1 and str(MAX_QUESTION_CHARS) in warnings[0] and "truncated" in warnings[0]
    # exactly at the cap: untouched, no warning
    assert clean_question("b" * MAX_QUESTION_CHARS) == ("b" * MAX_QUESTION_CHARS, [])
    # the cap applies after whitespace is collapsed
    q, warnings = clean_question("c  " * (MAX_QUESTION_CHARS // 2))
    assert q == " ".join(["c"] * (MAX_QUESTION_CHARS // 2)) and warnings == []


@pytest.mark.parametrize(
    ("text", "span", "kept"),
    [
        ("the keepers' cottage", "the keepers'", "the keepers'"),  # possessive apostrophe stays
        ("the keepers’ cottage", "the keepers’", "the keepers’"),
        ("built in the '90s by them", "'90s", "'90s"),  # elision stays
        ("He said 'no way' and left", "no way'", "no way"),  # a real closing quote goes
    ],
)
def test_trim_keeps_apostrophes_that_belong_to_words(text, span, kept):
    start = text.index(span)
    c0, c1 = _trim_unbalanced_quotes(text, start, start + len(span))
    assert text[c0:c1] == kept


def test_readme_marker_without_its_own_block_is_an_error(readme_command):
    readme = "<!-- quickstart -->\nno block here\n<!-- tests -->\n```bash\nbash scripts/test.sh\n```\n"
    with pytest.raises(SystemExit):
        readme_command.marked_command(readme, "quickstart")
