"""The shipped ONNX reader: exact offsets, comparable scores, abstention, accuracy."""

from __future__ import annotations

import json

import pytest

from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.squad import load_squad, squad_metrics
from tests.conftest import SEED_ARTICLE, SQUAD_DIR


@pytest.fixture(scope="module")
def reader() -> ExtractiveReader:
    r = ExtractiveReader()
    r.warm_up()
    return r


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who is the NATO Secretary General?", "Stoltenberg"),
        ("When did the meeting begin?", "10:07"),
        ("Who was Russia's ambassador to NATO from 2011 to 2018?", "Grushko"),
        ("How many soldiers are in each multinational combat unit?", "1,000"),
        ("What does Sherman hope Putin will opt for?", "peace and security"),
        ("When are defense ministers due to discuss the eastern flank?", "February"),
    ],
)
def test_answers_questions_about_the_seed_article(reader, question, expected):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    found = reader(question, [Passage.from_text(text, "seed", 0)])
    best = found[0]
    assert expected in best.text
    assert text[best.start : best.end] == best.text
    assert best.score >= reader.threshold


def test_offsets_map_back_into_the_document_across_windows(reader):
    filler = "The committee discussed routine budget matters at length without reaching any decision. " * 40
    passage = filler + "The bridge over the Kessel river was opened by Mayor Ilse Brandt in 1962."
    doc = "Preamble that is not part of the passage.\n" + passage
    found = reader("Who opened the bridge over the Kessel river?", [Passage.from_text(passage, "d", doc.index(passage))])
    assert found, "no answer from a long passage"
    best = found[0]
    assert "Brandt" in best.text
    assert doc[best.start : best.end] == best.text


def test_scores_are_probabilities_sorted_and_duplicates_merged(reader):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    half = len(text) // 2
    # two overlapping passages both hold the answer: it must come back once
    passages = [
        Passage.from_text(text[: half + 400], "seed", 0),
        Passage.from_text(text[half - 400 :], "seed", half - 400),
        Passage.from_text(text, "seed", 0),
    ]
    found = reader("Who is the NATO Secretary General?", passages, top_n=10)
    scores = [a.score for a in found]
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    spans = [(a.start, a.end) for a in found]
    assert all(e1 <= s2 or e2 <= s1 for i, (s1, e1) in enumerate(spans) for (s2, e2) in spans[i + 1 :])


def test_abstains_when_the_passage_does_not_answer(reader):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    found = reader("What is the boiling point of liquid nitrogen in kelvin?", [Passage.from_text(text, "seed", 0)])
    assert not found or found[0].score < reader.threshold


@pytest.mark.skipif(not (SQUAD_DIR / "dev-v1.1.json.gz").exists(), reason=f"SQuAD dev not found in {SQUAD_DIR}")
def test_f1_on_fixed_300_question_dev_sample(reader):
    from qa.squad import sample

    qs = sample(load_squad(SQUAD_DIR / "dev-v1.1.json.gz").questions, 300)
    preds = {}
    for q in qs:
        found = reader(q.question, [Passage.from_text(q.context)], top_n=1)
        preds[q.id] = found[0].text if found else ""
    m = squad_metrics(qs, preds)
    assert m["total"] == 300
    assert m["f1"] >= 75.0, m


def test_rank_prior_lowers_answers_from_lower_ranked_passages(tmp_path):
    """With "rank_prior": λ, an answer read in the passage ranked r scores calibrated(m - λ·log(1 + r)):
    the same span found lower in the list scores lower; with λ = 0 the rank does not matter."""
    import math

    text = SEED_ARTICLE.read_text(encoding="utf-8")
    gold = Passage.from_text(text, "seed", 0)
    filler = Passage.from_text("The weather in Brussels was grey and wet all week.", "other", 0)
    q = "Who is the NATO Secretary General?"
    src = ExtractiveReader().model_dir
    for lam in (0.0, 1.0):
        d = tmp_path / f"reader-{lam}"
        d.mkdir()
        for f in src.iterdir():
            (d / f.name).symlink_to(f.resolve())
        (d / "reader.json").unlink()
        cfg = {**json.loads((src / "reader.json").read_text()), "score": "null_aware", "rank_prior": lam}
        (d / "reader.json").write_text(json.dumps(cfg))
        r = ExtractiveReader(d)
        first = r(q, [gold], top_n=1)[0]
        fourth = next(a for a in r(q, [filler, filler, filler, gold], top_n=10) if a.passage_index == 3)
        assert (fourth.text, fourth.start) == (first.text, first.start) and fourth.margin == pytest.approx(first.margin)
        assert fourth.score == pytest.approx(r.calibrated(first.margin - lam * math.log(4)), abs=1e-4)
        if lam:
            assert fourth.score < first.score
        else:
            assert fourth.score == pytest.approx(first.score)


def test_ranker_prior_scores_by_the_passages_log_odds_and_falls_back_to_rank_without_one(tmp_path):
    """With "ranker_prior": μ, an answer read in a passage with a log_prior scores calibrated(m + μ·log_prior),
    whatever its rank; a passage without one (the ranker off) keeps the rank prior."""
    import math
    from dataclasses import replace

    text = SEED_ARTICLE.read_text(encoding="utf-8")
    gold = Passage.from_text(text, "seed", 0)
    filler = Passage.from_text("The weather in Brussels was grey and wet all week.", "other", 0)
    q = "Who is the NATO Secretary General?"
    src = ExtractiveReader().model_dir
    d = tmp_path / "reader"
    d.mkdir()
    for f in src.iterdir():
        (d / f.name).symlink_to(f.resolve())
    (d / "reader.json").unlink()
    cfg = {**json.loads((src / "reader.json").read_text()), "score": "null_aware", "rank_prior": 1.0, "ranker_prior": 0.5}
    (d / "reader.json").write_text(json.dumps(cfg))
    r = ExtractiveReader(d)
    first = r(q, [gold], top_n=1)[0]
    passages = [replace(filler, log_prior=0.0), replace(gold, log_prior=-3.0)]
    second = next(a for a in r(q, passages, top_n=10) if a.passage_index == 1)
    assert (second.text, second.start) == (first.text, first.start)
    assert second.score == pytest.approx(r.calibrated(first.margin + 0.5 * -3.0), abs=1e-4)
    unranked = next(a for a in r(q, [filler, gold], top_n=10) if a.passage_index == 1)
    assert unranked.score == pytest.approx(r.calibrated(first.margin - 1.0 * math.log(2)), abs=1e-4)


def test_read_hands_out_each_windows_spans_before_scoring(reader):
    """`read` gives every window's distinct spans, numbered from 0 and best first within the window."""
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    passages = [Passage.from_text(text, "seed", 0)]
    q = "Who is the NATO Secretary General?"
    spans = reader.read(q, passages)
    assert spans and all(text[s.c0 : s.c1].strip() for s in spans)
    by_window: dict[int, list] = {}
    at = 0
    for s in spans:  # a window's spans come together, numbered from 0
        if s.window_rank == 0:
            at += 1
        by_window.setdefault(at, []).append(s)
    assert len(by_window) > 1  # the article is longer than one window
    for window in by_window.values():
        assert [s.window_rank for s in window] == list(range(len(window)))
        assert [s.p_span for s in window] == sorted((s.p_span for s in window), reverse=True)


def test_no_answer_runs_across_a_blank_line(reader):
    """The model sees no whitespace, so it once answered with the end of one list entry and the start of
    the next ("don't print group names\\n\\n  -h, --human-readable"); a span may wrap lines, never
    cross a blank one."""
    import re

    listing = (
        "  -g     like -l, but do not list owner\n\n  -G, --no-group\n         in a long listing, don't print group names\n\n"
        "  -h, --human-readable\n         with -l and -s, print sizes like 1K 234M 2G etc.\n\n"
        "  --si   likewise, but use powers of 1000 not 1024\n"
    )
    passages = [Passage.from_text(listing, "man/ls.txt", 0)]
    found = reader("How do I get ls to print sizes like 1K and 234M?", passages, top_n=20)
    assert len(found) > 3
    for a in found:
        assert listing[a.start : a.end] == a.text and not re.search(r"\n[ \t]*\n", a.text)
    assert any(
        "\n" in a.text
        for a in reader(
            "Which option prints sizes like 1K?",
            [Passage.from_text("Use the option -h,\n--human-readable to print sizes like 1K.", "wrapped", 0)],
            top_n=20,
        )
    )  # a wrapped line is fine
