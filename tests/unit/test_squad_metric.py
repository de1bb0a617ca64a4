"""The SQuAD metric and file reader (qa.squad), against the official evaluate-v1.1.py / evaluate-v2.0.py.

Expected numbers are worked out by hand in the comments, from the documented behaviour of those scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
