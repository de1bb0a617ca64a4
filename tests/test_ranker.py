"""The feature ranker on real parts: its features, the shipped weights, a ranker trained here on a
hand-written SQuAD file through a real index, and the pipeline and CLI using it through QA_RANKER."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.ranker import FEATURES, FeatureRanker, choose_ranker_file, match_features, shipped_ranker_file
from qa.schema import Passage
from tests.conftest import run_qa
from tests.squad_fixture import write_tiny_squad

QUESTION = "Who founded the Aurora research station on the ice cap?"
# the same question words; only the first passage says them in one sentence, in the question's order
STATED = "The Aurora research station was founded in 1987 by Ingrid Halvorsen on the ice cap. Supplies come by ship."
SCATTERED = ("The Aurora borealis is often seen here. A research team studies it. The station has a kitchen. "
             "Someone founded a choir. The ice cap is melting.")  # fmt: skip
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


def test_shipped_ranker_puts_the_stating_passage_first_and_keeps_fusions_rank():
    ranker = FeatureRanker(shipped_ranker_file())
    fused = [passage(0, SCATTERED, 0.52, 6.0), passage(1, OTHER, 0.3, None), passage(2, STATED, 0.5, 5.5)]
    got = ranker(QUESTION, fused)
    assert got[0].id == 2 and [p.fused_rank for p in got] == [3, 1, 2]
    assert got[0].score > got[1].score >= got[2].score and {p.id for p in got} == {0, 1, 2}
    assert (got[0].text, got[0].dense_score) == (STATED, 0.5)
    config = json.loads(shipped_ranker_file().read_text())
    assert config["features"] == list(FEATURES) and ranker.candidates == config["candidates"]
    # its own leave-one-article-out figures are better than fusion's on the same held-out questions
    assert config["recall"]["ranker_leave_one_article_out"]["@1"] > config["recall"]["fusion"]["@1"]


def test_ranker_settings_and_broken_models_fail_clearly(tmp_path):
    assert choose_ranker_file("off") is None and choose_ranker_file("auto") == shipped_ranker_file()
    with pytest.raises(FileNotFoundError, match="QA_RANKER='/nonexistent/ranker.json'"):
        choose_ranker_file("/nonexistent/ranker.json")
    (tmp_path / "ranker.json").write_text(json.dumps({"weights": {"fused_rank": 1.0}}))
    assert choose_ranker_file(str(tmp_path)) == tmp_path / "ranker.json"
    with pytest.raises(ValueError, match="unreadable or of another version"):
        FeatureRanker(tmp_path / "ranker.json").warm_up()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A ranker fitted here: the hand-written SQuAD file's articles all held out, indexed by the product."""
    from qa.train.ranker import main

    tmp = tmp_path_factory.mktemp("ranker")
    main(["--train-file", str(write_tiny_squad(tmp / "tiny.json")), "--out", str(tmp / "model"), "--work", str(tmp / "work"),
          "--holdout-every", "1", "--candidates", "4", "--no-progress"])  # fmt: skip
    return tmp / "model" / "ranker.json"


def test_trainer_writes_a_model_the_ranker_reads(trained):
    config = json.loads(trained.read_text())
    assert config["features"] == list(FEATURES) and set(config["weights"]) == set(FEATURES)
    assert config["candidates"] == 4 and config["trained_on"]["questions"] == 6 and config["trained_on"]["articles"] == 2
    for name in ("fusion", "ranker_leave_one_article_out", "ranker_fitted_questions"):
        assert 0 <= config["recall"][name]["@1"] <= config["recall"][name]["@5"] <= 100
    ranker = FeatureRanker(trained)
    ranker.warm_up()
    assert ranker.candidates == 4 and np.isfinite(ranker.weights).all()


def test_pipeline_reorders_fusions_head_and_reports_it(trained, index_dir, seeds_dir):
    from qa.pipeline import QAPipeline
    from qa.settings import Settings

    base = Settings.from_env().with_(threads=1)
    off = QAPipeline(index_dir, seeds_dir, settings=base.with_(ranker="off"))
    on = QAPipeline(index_dir, seeds_dir, settings=base.with_(ranker=str(trained)))
    fused = off.retrieve(QUESTION, top_k=6)
    assert off.ranker is None and all(p.fused_rank is None for p in fused)
    assert [p.id for p in on.retrieve(QUESTION, top_k=6, rank=False)] == [p.id for p in fused]
    got = on.retrieve(QUESTION, top_k=6)
    head = {p.id: r for r, p in enumerate(fused[:4], 1)}
    assert [p.id for p in got[:4]] == [p.id for p in FeatureRanker(trained)(QUESTION, fused[:4])]
    assert {p.id for p in got[:4]} == set(head) and [p.id for p in got[4:]] == [p.id for p in fused[4:]]
    assert all(p.fused_rank == head[p.id] for p in got[:4])
    assert all(p.dense_score is not None or p.bm25_score is not None for p in got)
    # the ranker's log-odds against its first passage; the rest ranks below the whole head; fusion gives none
    assert [p.log_prior for p in got[:4]] == pytest.approx([p.score - got[0].score for p in got[:4]])
    assert got[0].log_prior == 0.0 and all(p.log_prior == min(q.log_prior for q in got[:4]) for p in got[4:])
    assert all(p.log_prior is None for p in fused)
    assert "rank_s" in on(QUESTION, top_k=3).timings and "rank_s" not in off(QUESTION, top_k=3).timings


def test_cli_reports_a_bad_ranker_setting(tmp_path, index_dir):
    r = run_qa("ask", "Who founded the station?", "--index", str(index_dir), env={"QA_RANKER": str(tmp_path / "missing.json")})
    assert r.returncode == 2 and "QA_RANKER=" in r.stderr and "Traceback" not in r.stderr, r.stderr
