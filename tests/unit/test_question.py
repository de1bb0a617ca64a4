"""clean_question: what a person types becomes a question, or a clear BadQuestion."""

from __future__ import annotations

import pytest

from qa.pipeline import MAX_QUESTION_CHARS, BadQuestion, clean_question


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
