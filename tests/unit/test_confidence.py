"""The confidence model, its calibration measures and the answer chooser's rules (qa.confidence), on
hand-made candidates: no reader, no index."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from qa.confidence import CONFIG_FILE, AnswerChooser, ConfidenceModel, evidence, expected_calibration_error, reliability


@dataclass
class Cand:
    text: str
    start: int
    end: int
    margin: float
    passage_index: int = 0
    score: float = 0.0


@dataclass
class Psg:
    text: str
    start: int = 0
    dense_rank: int | None = 1
    bm25_rank: int | None = 1
    log_prior: float | None = 0.0


TEXT = "Sherman met Stoltenberg in Brussels on Monday. The talks lasted four hours. Grushko spoke at the embassy."


def cand(span: str, margin: float) -> Cand:
    i = TEXT.index(span)
    return Cand(span, i, i + len(span), margin)


def test_ece_is_zero_when_confidence_matches_the_share_right_and_large_when_it_does_not():
    assert expected_calibration_error([0.75] * 4, [1, 1, 1, 0]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [0] * 10) == pytest.approx(0.9)
    assert expected_calibration_error([], []) == 0.0
    assert reliability([0.05, 0.95, 0.95], [0, 1, 0]) == [(0.05, 0.0, 1), (0.95, 0.5, 2)]


def test_evidence_describes_each_answer_against_the_question_and_its_rivals():
    found = [cand("four hours", 3.0), cand("Monday", 1.0), cand("Brussels", 0.5)]
    four, monday, _ = evidence("How long did the talks last?", found, [Psg(TEXT)])
    assert four["gap"] == pytest.approx(2.0) and monday["gap"] == pytest.approx(0.5)  # each over the next answer below it
    assert four["type_fit"] == 1.0 and four["q_near"] > monday["q_near"] - 1e-9
    assert four["fragment"] == 0.0 and four["dense_hit"] == four["bm25_hit"] == 1.0


def model_on_margin(threshold: float = 0.5) -> ConfidenceModel:
    """P(right) = sigmoid(margin - 2): a margin of 2 is a coin toss."""
    return ConfidenceModel(["margin"], [1.0], -2.0, [0.0], [1.0], threshold=threshold)


def chooser_with(tmp_path, model: ConfidenceModel) -> AnswerChooser:
    model.save(tmp_path / CONFIG_FILE)
    return AnswerChooser(tmp_path)


def test_a_saved_model_loads_as_the_same_function(tmp_path):
    m = model_on_margin(0.4)
    m.save(tmp_path / CONFIG_FILE)
    back = ConfidenceModel.load(tmp_path / CONFIG_FILE)
    assert back.threshold == 0.4 and back({"margin": 3.0}) == pytest.approx(m({"margin": 3.0}))
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["features"] == ["margin"]


def test_the_chooser_abstains_below_the_threshold_and_still_gives_its_closest_guess(tmp_path):
    chooser = chooser_with(tmp_path, model_on_margin())
    d = chooser("Where did Grushko speak?", [cand("the embassy", 1.0)], [Psg(TEXT)])
    assert d.no_answer and [a.text for a in d.answers] == ["the embassy"] and d.answers[0].score < 0.5
    d = chooser("Where did Grushko speak?", [cand("the embassy", 4.0)], [Psg(TEXT)])
    assert not d.no_answer and d.answers[0].score > 0.5


def test_a_single_answer_question_shows_a_second_answer_only_when_it_is_nearly_as_likely(tmp_path):
    chooser = chooser_with(tmp_path, model_on_margin())
    far = chooser("How long did the talks last?", [cand("four hours", 6.0), cand("Monday", 2.5)], [Psg(TEXT)])
    assert [a.text for a in far.answers] == ["four hours"]
    near = chooser("Who met in Brussels?", [cand("Sherman", 6.0), cand("Stoltenberg", 5.9)], [Psg(TEXT)])
    assert [a.text for a in near.answers] == ["Sherman", "Stoltenberg"]


def test_further_answers_are_never_fragments_or_of_another_kind(tmp_path):
    chooser = chooser_with(tmp_path, model_on_margin())
    d = chooser("Which people met?", [cand("Sherman", 6.0), cand("the", 5.9), cand("four hours", 5.9)], [Psg(TEXT)])
    assert [a.text for a in d.answers] == ["Sherman"]


def test_a_question_for_several_keeps_every_likely_answer(tmp_path):
    chooser = chooser_with(tmp_path, model_on_margin())
    found = [cand("Sherman", 6.0), cand("Stoltenberg", 3.0), cand("Grushko", 1.0)]
    d = chooser("Which people took part in the talks?", found, [Psg(TEXT)])
    assert [a.text for a in d.answers] == ["Sherman", "Stoltenberg"]  # Grushko is below the threshold


def test_without_a_fitted_model_the_readers_score_and_threshold_decide(tmp_path):
    chooser = AnswerChooser(tmp_path, reader_threshold=0.3)
    found = [Cand("Sherman", 0, 7, 1.0, score=0.6), Cand("Stoltenberg", 12, 23, 0.5, score=0.2)]
    d = chooser("Who met?", found, [Psg(TEXT)])
    assert not d.no_answer and [a.text for a in d.answers] == ["Sherman"] and d.answers[0].score == 0.6
