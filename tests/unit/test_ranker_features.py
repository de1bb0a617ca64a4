"""The feature ranker's features and settings, on hand-made passages: no model, no index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.ranker import FEATURES, FeatureRanker, choose_ranker_file, match_features, shipped_ranker_file
from qa.schema import Passage

QUESTION = "Who founded the Aurora research station on the ice cap?"
# the same question words; only the first passage says them in one sentence, in the question's order
STATED = "The Aurora research station was founded in 1987 by Ingrid Halvorsen on the ice cap. Supplies come by ship."
SCATTERED = (
    "The Aurora borealis is often seen here. A research team studies it. The station has a kitchen. "
    "Someone founded a choir. The ice cap is melting."
)
OTHER = "The lighthouse at Port Elwyn was built in 1874 by the engineer Thomas Quayle."


def passage(i: int, text: str, dense: float | None = 0.5, bm25: float | None = 5.0) -> Passage:
    return Passage(i, f"doc{i}.txt", 0, len(text), text, dense_score=dense, bm25_score=bm25)


def column(x: np.ndarray, name: str) -> np.ndarray:
    return x[:, FEATURES.index(name)]


def test_features_see_one_sentence_stating_what_scattered_words_do_not():
    x = match_features(QUESTION, [passage(0, SCATTERED), passage(1, STATED), passage(2, OTHER)])
    assert x.shape == (3, len(FEATURES))
    best, whole, pairs = column(x, "best_sentence"), column(x, "whole_passage"), column(x, "question_bigrams")
    assert best[1] == whole[1] and best[1] > best[0] + 0.3 and best[2] < best[0]  # one sentence holds all it has
    assert whole[0] >= whole[1] and whole[0] > best[0] + 0.3  # the scattered passage has the words, just not together
    assert pairs[1] > pairs[0] and pairs[2] == 0
    assert np.allclose(column(x, "fused_rank"), [0.0, -np.log(2), -np.log(3)])


def test_terms_every_candidate_has_weigh_less_than_rare_ones():
    """Weights come from the candidates alone: a word all of them contain cannot tell them apart."""
    common = [passage(i, f"The station report number {i} mentions nothing else.") for i in range(4)]
    rare = passage(4, "The station was founded by Halvorsen.")
    x = match_features("Which station did Halvorsen found?", [*common, rare])
    assert column(x, "best_sentence")[4] > 3 * column(x, "best_sentence")[0] > 0


def test_scores_of_the_two_lists_enter_relative_to_the_best_candidate():
    x = match_features(QUESTION, [passage(0, OTHER, 0.8, 10.0), passage(1, OTHER, 0.6, None), passage(2, OTHER, None, 5.0)])
    assert np.allclose(column(x, "dense_gap"), [0.0, -0.2, -0.2]) and np.allclose(column(x, "bm25_share"), [1.0, 0.0, 0.5])
    assert list(column(x, "in_dense")) == [1.0, 1.0, 0.0]
    assert not match_features("", [passage(0, STATED)])[:, 3:6].any()  # a question with no terms matches nothing


def test_ranker_settings_and_broken_models_fail_clearly(tmp_path):
    assert choose_ranker_file("off") is None and choose_ranker_file("auto") == shipped_ranker_file()
    with pytest.raises(FileNotFoundError, match="QA_RANKER='/nonexistent/ranker.json'"):
        choose_ranker_file("/nonexistent/ranker.json")
    (tmp_path / "ranker.json").write_text(json.dumps({"weights": {"fused_rank": 1.0}}))
    assert choose_ranker_file(str(tmp_path)) == tmp_path / "ranker.json"
    with pytest.raises(ValueError, match="unreadable or of another version"):
        FeatureRanker(tmp_path / "ranker.json").warm_up()
