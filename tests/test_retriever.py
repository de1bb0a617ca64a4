"""Hybrid retrieval: each of dense and BM25 finds what the other misses; fusion keeps both."""

from __future__ import annotations

import pytest

from qa.retriever import HybridRetriever
from qa.settings import Settings
from tests.conftest import build, open_version

FILLER = [
    "The orchestra rehearsed the symphony for three weeks before the premiere in Vienna.",
    "Farmers in the valley harvest apples in September and press cider in October.",
    "The new railway station has twelve platforms and a glass roof over the concourse.",
    "Volcanic soil makes the island's vineyards unusually productive.",
    "The chess tournament ended in a draw after seven hours of play.",
    "Coral reefs are threatened by rising ocean temperatures and acidification.",
    "The museum's collection includes medieval manuscripts and Roman coins.",
    "Cyclists crossed the mountain pass despite heavy snow and strong wind.",
    "The bakery on the corner sells rye bread, pretzels and poppy seed cake.",
    "Engineers tested the turbine blades in a wind tunnel for months.",
]
# Dense retrieval prefers the help-desk cases (same meaning as the question); only BM25
# sees that the rare number 9931 appears in the lunch menu.
LOOKALIKES = [
    "Help desk case 1204 concerns the broken elevator in building A.",
    "Help desk case 5512 concerns a leaking radiator in building B.",
    "Help desk case 7781 concerns the broken elevator in building D.",
]
LEXICAL_ONLY = "Lunch menu 9931: lentil soup and rye bread on Friday."
DENSE_ONLY = "The physician prescribed medication for the child's high temperature."


@pytest.fixture(scope="module")
def retriever(tmp_path_factory) -> HybridRetriever:
    seeds = tmp_path_factory.mktemp("rseeds")
    for i, t in enumerate([*FILLER, *LOOKALIKES, LEXICAL_ONLY, DENSE_ONLY]):
        (seeds / f"doc{i:02d}.txt").write_text(t, encoding="utf-8")
    index = tmp_path_factory.mktemp("rindex")
    build(seeds, index)
    s = Settings()  # the shipped fusion
    return HybridRetriever(open_version(index), candidates=s.retrieval_candidates, rrf_k=s.rrf_k, dense_weight=s.dense_weight)


def _rank(passages, text):
    return next((i for i, p in enumerate(passages, 1) if p.text == text), None)


def test_bm25_finds_a_rare_number_that_dense_retrieval_misses(retriever):
    q = "What does support ticket 9931 concern?"
    assert _rank(retriever(q, 1, mode="bm25"), LEXICAL_ONLY) == 1
    assert _rank(retriever(q, 3, mode="dense"), LEXICAL_ONLY) is None
    assert _rank(retriever(q, 3, mode="hybrid"), LEXICAL_ONLY) is not None


def test_dense_finds_a_paraphrase_that_bm25_misses(retriever):
    q = "What did the doctor give the kid for fever?"
    assert _rank(retriever(q, 1, mode="dense"), DENSE_ONLY) == 1
    assert _rank(retriever(q, 15, mode="bm25"), DENSE_ONLY) is None
    assert _rank(retriever(q, 2, mode="hybrid"), DENSE_ONLY) is not None


def test_passages_carry_ranks_offsets_and_fused_scores(retriever):
    ps = retriever("apples and cider in the valley", 3)
    assert len(ps) == 3
    assert ps[0].text == FILLER[1] and ps[0].dense_rank == 1 and ps[0].bm25_rank == 1
    assert [p.score for p in ps] == sorted((p.score for p in ps), reverse=True)
    assert all(p.start == 0 and p.end == len(p.text) for p in ps)


def test_top_k_controls_how_many_passages(retriever):
    assert len(retriever("railway", 1)) == 1
    assert len(retriever("railway", 5)) == 5
