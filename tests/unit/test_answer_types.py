"""What a question asks for, whether an answer is that kind of thing, and fragments (qa.answer_types)."""

from __future__ import annotations

import pytest

from qa.answer_types import asks_for_several, expected_kind, fits, is_fragment

ARTICLE = (
    "Vice Secretary of State Wendy Sherman spreads the message. The meeting begins at 10:07 a.m. in Brussels. "
    "NATO Secretary General Jens Stoltenberg said so. It uses ASN.1 IMPLICIT tags."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who visited NATO headquarters from Moscow?", "person"),
        ("When did the meeting begin?", "time"),
        ("In what year was the licence first published?", "time"),
        ("How many soldiers does each combat unit have?", "number"),
        ("Which tar option removes the files once they are archived?", "option"),
        ("What flag makes grep ignore case?", "option"),
        ("Which function returns the current working directory?", "identifier"),
        ("What exception is raised for invalid JSON?", "identifier"),
        ("Where did the Russians speak to the press?", "place"),
        ("What does the licence require of redistributions?", "other"),
    ],
)
def test_expected_kind_follows_the_wording(question, kind):
    assert expected_kind(question) == kind


def test_several_answers_are_asked_for_only_by_plural_or_list_questions():
    assert asks_for_several("Which countries may NATO station troops in?")
    assert asks_for_several("What options does ssh have for port forwarding?")
    assert asks_for_several("List the conditions of the licence.")
    assert not asks_for_several("Which option removes the files?")
    assert not asks_for_several("Who is the NATO Secretary General?")


def test_fits_checks_the_shape_of_the_answer_and_abstains_when_it_cannot_tell():
    assert fits("option", "--remove-files") and fits("option", "-C DIR")
    assert fits("option", "the files in the archive") is False
    assert fits("time", "10:07 a.m.") and fits("time", "in February") and fits("time", "the alliance") is False
    assert fits("number", "four hours") and fits("number", "1,000") and fits("number", "the embassy") is False
    assert fits("identifier", "os.path.join()") and fits("identifier", "JSONDecodeError")
    assert fits("person", "Jens Stoltenberg") and fits("person", "the alliance") is False
    assert fits("other", "anything") is None


@pytest.mark.parametrize(
    ("span", "fragment"),
    [
        ("Wendy Sherman", False),
        ("Vice Secretary of State Wendy Sherman", False),
        ("Jens Stoltenberg", False),
        ("10:07 a.m.", False),
        ("Brussels", False),
        ("NATO", False),
        ("Wendy", True),  # half a name: "Sherman" follows
        ("Jens", True),
        ("the", True),  # a function word alone
        ("Stoltenb", True),  # a word cut in two
    ],
)
def test_fragments_are_function_words_cut_words_or_half_a_name(span, fragment):
    start = ARTICLE.index(span)
    assert is_fragment(ARTICLE, start, start + len(span)) is fragment


def test_punctuation_alone_is_a_fragment():
    text = "It ends here. Then more."
    assert is_fragment(text, text.index("."), text.index(".") + 1)
