"""The cross-encoder reranker end to end on real parts: a tiny model trained here (a few steps on the
hand-written SQuAD file), exported to int8 ONNX, then used by the pipeline through QA_RERANK."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_qa

QUESTION = "Who founded the Aurora research station?"


def test_onnx_export_scores_as_the_trained_model_does(reranker_dir):
    """Same tokenization and same numbers on both sides of the export (fp32 ONNX against torch)."""
    from transformers import AutoTokenizer

    from qa.reranker import CrossEncoderReranker
    from qa.reranker_train import load_trained, torch_scorer

    best = reranker_dir.parent / "run" / "best"
    model, info = load_trained(best)
    texts = ["The Aurora research station was founded in 1987.", "Supplies arrive twice a year by the icebreaker Polarstjerna. " * 12]
    want = torch_scorer(model, AutoTokenizer.from_pretrained(best), info["max_length"], bf16=False)(QUESTION, texts)
    got = CrossEncoderReranker(reranker_dir.parent / "export" / "fp32", threads=1).scores(QUESTION, texts)
    assert np.allclose(got, want, atol=1e-4), (got, want)


def test_scores_are_deterministic_and_the_order_is_by_score(reranker_dir):
    from qa.reranker import CrossEncoderReranker
    from qa.schema import Passage

    texts = ["The Aurora research station was founded in 1987 by the glaciologist Ingrid Halvorsen.",
             "The keeper's cottage has three rooms and a small garden.", "Supplies arrive twice a year by icebreaker."]  # fmt: skip
    a, b = CrossEncoderReranker(reranker_dir, threads=1), CrossEncoderReranker(reranker_dir, threads=1)
    s = a.scores(QUESTION, texts)
    assert s.shape == (3,) and np.array_equal(s, b.scores(QUESTION, texts))
    # a passage's score is its own: the same alone, among others, in any order (int8 scales are per run)
    assert all(a.scores(QUESTION, [t])[0] == s[i] for i, t in enumerate(texts))
    assert np.array_equal(a.scores(QUESTION, texts[::-1])[::-1], s)
    passages = [Passage(i, f"d{i}.txt", 0, len(t), t, 1.0 - i / 10, i + 1, None) for i, t in enumerate(texts)]
    out = a(QUESTION, passages, top_k=2)
    assert [p.id for p in out] == [int(i) for i in np.argsort(-s, kind="stable")[:2]]
    for p in out:  # every field kept but the score, and where fusion had put it
        assert p.text == texts[p.id] and p.dense_rank == p.id + 1 and p.fused_rank == p.id + 1 and p.score == float(s[p.id])


def test_fused_rank_prior_in_reranker_json_keeps_some_of_fusions_order(reranker_dir, tmp_path):
    """logit - μ·log(fused rank): with μ in reranker.json a lower fused rank costs what it says."""
    import shutil

    from qa.reranker import CONFIG_FILE, CrossEncoderReranker
    from qa.schema import Passage

    texts = ["The Aurora research station was founded in 1987 by the glaciologist Ingrid Halvorsen.",
             "The keeper's cottage has three rooms and a small garden.", "Supplies arrive twice a year by icebreaker.",
             "Ingrid Halvorsen later led the station's winter crew."]  # fmt: skip
    passages = [Passage(i, f"d{i}.txt", 0, len(t), t, 1.0 - i / 10) for i, t in enumerate(texts)]
    weighted = tmp_path / "weighted"
    shutil.copytree(reranker_dir, weighted)
    config = json.loads((weighted / CONFIG_FILE).read_text())
    (weighted / CONFIG_FILE).write_text(json.dumps({**config, "fused_rank_prior": 3.0}))
    plain, prior = CrossEncoderReranker(reranker_dir, threads=1), CrossEncoderReranker(weighted, threads=1)
    logits = plain.scores(QUESTION, texts)
    assert plain(QUESTION, passages, top_k=4)[0].score == float(logits.max())
    got = prior(QUESTION, passages, top_k=4)
    want = logits - 3.0 * np.log(np.arange(1, 5))
    assert [p.id for p in got] == [int(i) for i in np.argsort(-want, kind="stable")]
    assert np.allclose([p.score for p in got], np.sort(want)[::-1], atol=1e-5) and [p.fused_rank for p in got] == [p.id + 1 for p in got]


def test_pipeline_returns_passages_in_reranker_order(reranker_dir, index_dir, seeds_dir):
    from qa.pipeline import QAPipeline
    from qa.reranker import CrossEncoderReranker, choose_reranker_dir
    from qa.settings import Settings

    base = Settings.from_env().with_(threads=1, rerank_candidates=6, ranker="off")  # the cross-encoder alone, on fusion's order
    off = QAPipeline(index_dir, seeds_dir, settings=base.with_(rerank="off"))
    fused = off.retrieve(QUESTION, top_k=6)
    assert off.reranker is None and all(p.fused_rank is None for p in fused)
    if choose_reranker_dir("auto") is None:  # nothing shipped: "auto" is exactly the fused order
        auto = QAPipeline(index_dir, seeds_dir, settings=base.with_(rerank="auto"))
        assert auto.reranker is None and [p.id for p in auto.retrieve(QUESTION, top_k=6)] == [p.id for p in fused]

    on = QAPipeline(index_dir, seeds_dir, settings=base.with_(rerank=str(reranker_dir)))
    got = on.retrieve(QUESTION, top_k=3)
    s = CrossEncoderReranker(reranker_dir, threads=1).scores(QUESTION, [p.text for p in fused])
    assert [p.id for p in got] == [fused[i].id for i in np.argsort(-s, kind="stable")[:3]]
    by_id = {p.id: (r, p) for r, p in enumerate(fused, 1)}
    for p in got:
        rank, f = by_id[p.id]
        assert p.fused_rank == rank and (p.dense_rank, p.bm25_rank, p.start, p.text) == (f.dense_rank, f.bm25_rank, f.start, f.text)
    assert "rerank_s" in on(QUESTION, top_k=3).timings and "rerank_s" not in off(QUESTION, top_k=3).timings

    # after the feature ranker, the cross-encoder reorders the ranker's head, not fusion's
    ranked = QAPipeline(index_dir, seeds_dir, settings=base.with_(ranker="auto", rerank="off")).retrieve(QUESTION, top_k=6)
    both = QAPipeline(index_dir, seeds_dir, settings=base.with_(ranker="auto", rerank=str(reranker_dir)))
    s = CrossEncoderReranker(reranker_dir, threads=1).scores(QUESTION, [p.text for p in ranked])
    assert [p.id for p in both.retrieve(QUESTION, top_k=6)] == [ranked[i].id for i in np.argsort(-s, kind="stable")]
    assert {"rank_s", "rerank_s"} <= set(both(QUESTION, top_k=3).timings)


def test_bad_rerank_setting_is_a_clear_error(tmp_path, index_dir, seeds_dir):
    from qa.pipeline import QAPipeline
    from qa.settings import Settings

    with pytest.raises(FileNotFoundError, match="QA_RERANK='/nonexistent/reranker'"):
        QAPipeline(index_dir, seeds_dir, settings=Settings().with_(rerank="/nonexistent/reranker"))
    r = run_qa("ask", "Who founded the Aurora station?", "--index", str(index_dir), env={"QA_RERANK": str(tmp_path)})
    assert r.returncode == 2 and "QA_RERANK" in r.stderr and "Traceback" not in r.stderr, r.stderr
