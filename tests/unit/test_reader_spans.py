"""The reader's span handling that needs no model: merging duplicate answers, trimming unbalanced quotes."""

from __future__ import annotations

import pytest

from qa.reader import _trim_unbalanced_quotes, merge_duplicates, same_answer
from qa.schema import Answer

# ---- merging duplicates


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


# ---- trimming quotes


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
