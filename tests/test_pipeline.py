"""The question-answering pipeline in process: answers from every kind of document, bounded questions, a broken index refused."""

from __future__ import annotations

import pytest

from qa.pipeline import MAX_QUESTION_CHARS, BadQuestion, QAPipeline, clean_question
from qa.store import IndexProblem
from tests.broken_index import overwrite_pages
from tests.conftest import open_version

QUESTION = "Who is the NATO Secretary General?"
LONG_QUESTION = ("Who is the NATO Secretary General and what did he say about the meeting with Russia? " * 120)[:10_000]


def test_ask_answers_from_html_and_markdown_with_offsets_into_extracted_text(pipeline):
    for q, doc_id, expected in [
        ("Who built the lighthouse at Port Elwyn?", "harbour.html", "Thomas Quayle"),
        ("Who founded the Aurora research station?", "notes/aurora station.md", "Ingrid Halvorsen"),
    ]:
        res = pipeline(q)
        a = res.answers[0]
        assert not res.no_answer and a.document == doc_id and expected in a.text
        assert pipeline.document_text(doc_id)[a.start : a.end] == a.text


def test_what_did_sherman_say_gives_her_three_statements_and_nobody_elses(pipeline):
    """Sherman speaks on lines 9 (a tweet whose speaker is named a sentence before), 17 and 21 of the seed
    article; Stoltenberg and Grushko speak too, and none of their words may come back."""
    res = pipeline("What did Sherman say?")
    assert not res.no_answer
    assert [(a.line, a.text) for a in res.answers] == [
        (9, "Every country has the right to choose its own path."),
        (17, "Russia is responsible for this crisis."),
        (21, "Russia’s representatives have not committed to de-escalation"),
    ]
    for a in res.answers:
        assert a.document.endswith("nato-russia-council.txt")
        assert pipeline.document_text(a.document)[a.start : a.end] == a.text and a.text in a.passage
        assert 0 < a.score <= 1


def test_a_speaker_the_documents_never_quote_falls_back_to_reading(pipeline):
    res = pipeline("What did Putin say?")
    assert res.answers and all("Every country has the right" not in a.text for a in res.answers)


def test_in_process_questions_are_bounded_in_time_and_nul_is_harmless(pipeline):
    long = pipeline(LONG_QUESTION)
    assert long.warnings and len(long.question) == MAX_QUESTION_CHARS
    word = pipeline("x" * 10_000)  # no spaces: one giant "word"
    assert word.no_answer or word.answers
    # bounded by construction: what reaches the reader is cut to 64 word pieces before reading
    read, truncated = pipeline.reader.truncate_question(long.question)
    assert truncated and len(pipeline.reader._question_tokenizer.encode(read, add_special_tokens=False).ids) <= 64
    r = pipeline("Who is the NATO\x00 Secretary General?\x00")
    assert r.question == "Who is the NATO Secretary General?"
    with pytest.raises(BadQuestion):
        clean_question("\x00\x00")
    with pytest.raises(BadQuestion):
        clean_question(None)  # the web form can send nothing at all


def test_pipeline_refuses_an_index_broken_under_it(fresh, pipeline):
    """A damaged chunk store found mid-question raises IndexProblem instead of answering."""
    seeds, index = fresh
    p = QAPipeline(index, seeds, reader=pipeline.reader)
    assert p(QUESTION).passages
    overwrite_pages(p.version.dir / "store.sqlite")
    with pytest.raises(IndexProblem, match="qa index --full"):
        p.reload()
    with pytest.raises(IndexProblem):
        open_version(index)
