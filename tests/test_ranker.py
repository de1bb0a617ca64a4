"""The feature ranker on real parts: the shipped weights, and the pipeline reordering fusion's head with a
ranker trained here on a hand-written SQuAD file."""

from __future__ import annotations

import json

import pytest

from qa.ranker import FEATURES, FeatureRanker, shipped_ranker_file
from tests.unit.test_ranker_features import OTHER, QUESTION, SCATTERED, STATED, passage


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


def test_pipeline_reorders_fusions_head_and_reports_it(trained_ranker, index_dir, seeds_dir):
    from qa.pipeline import QAPipeline
    from qa.settings import Settings

    base = Settings.from_env().with_(threads=1)
    off = QAPipeline(index_dir, seeds_dir, settings=base.with_(ranker="off"))
    on = QAPipeline(index_dir, seeds_dir, settings=base.with_(ranker=str(trained_ranker)))
    fused = off.retrieve(QUESTION, top_k=6)
    assert off.ranker is None and all(p.fused_rank is None for p in fused)
    assert [p.id for p in on.retrieve(QUESTION, top_k=6, rank=False)] == [p.id for p in fused]
    got = on.retrieve(QUESTION, top_k=6)
    head = {p.id: r for r, p in enumerate(fused[:4], 1)}
    assert [p.id for p in got[:4]] == [p.id for p in FeatureRanker(trained_ranker)(QUESTION, fused[:4])]
    assert {p.id for p in got[:4]} == set(head) and [p.id for p in got[4:]] == [p.id for p in fused[4:]]
    assert all(p.fused_rank == head[p.id] for p in got[:4])
    assert all(p.dense_score is not None or p.bm25_score is not None for p in got)
    # the ranker's log-odds against its first passage; the rest ranks below the whole head; fusion gives none
    assert [p.log_prior for p in got[:4]] == pytest.approx([p.score - got[0].score for p in got[:4]])
    assert got[0].log_prior == 0.0 and all(p.log_prior == min(q.log_prior for q in got[:4]) for p in got[4:])
    assert all(p.log_prior is None for p in fused)
    assert "rank_s" in on(QUESTION, top_k=3).timings and "rank_s" not in off(QUESTION, top_k=3).timings
