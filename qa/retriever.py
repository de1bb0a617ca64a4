"""Hybrid retrieval: dense (MiniLM vectors) and lexical (BM25), fused by reciprocal rank.

Dense finds paraphrases; BM25 finds rare names and numbers the embedding blurs.
Reciprocal-rank fusion needs no score calibration between the two. The feature ranker
(qa.ranker) then reorders the fused top candidates by how well each matches the question.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import replace
from typing import Literal

from qa.ranker import FeatureRanker
from qa.schema import Passage
from qa.store import StoreVersion

Mode = Literal["hybrid", "dense", "bm25"]


def reciprocal_rank_fusion(ranked_lists: list[list[int]], k: int = 60, weights: list[float] | None = None) -> dict[int, float]:
    """Sum of weight / (k + rank) over the lists each id appears in (rank is 1-based; weights default to 1)."""
    fused: dict[int, float] = {}
    for ranked, w in zip(ranked_lists, weights or [1.0] * len(ranked_lists)):
        for rank, cid in enumerate(ranked, 1):
            fused[cid] = fused.get(cid, 0.0) + w / (k + rank)
    return fused


class HybridRetriever:
    """Retrieval over one store version (questions in flight keep the version they started on):
    fuse the dense and BM25 lists, let the feature ranker reorder the head, keep the top_k."""

    def __init__(
        self,
        version: StoreVersion,
        *,
        candidates: int = 50,
        rrf_k: int = 60,
        dense_weight: float = 1.0,
        ranker: FeatureRanker | None = None,
    ):
        self.version = version
        self.embed = version.query_embedder()
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight  # BM25's list weighs 1
        self.ranker = ranker  # None: fusion's order goes on as it is

    def __call__(
        self,
        question: str,
        top_k: int = 5,
        mode: Mode = "hybrid",
        timings: dict | None = None,
        rank: bool = True,
        documents: Collection[str] | None = None,
    ) -> list[Passage]:
        """Top passages; `timings` (if given) receives embed_s and search_s, and rank_s when the
        feature ranker reordered fusion's top candidates (`rank=False` keeps fusion's order). With
        `documents` (ids), from those documents only: each store search is filtered, then fused."""
        ranker = self.ranker if rank else None
        fused = self.fuse(question, max(top_k, ranker.candidates) if ranker else top_k, mode, timings, documents)
        if ranker is None:
            return fused
        t = time.perf_counter()
        head = ranker(question, fused[: ranker.candidates])
        # the rest ranks below the whole head: it gets the head's lowest log-prior
        floor = min((p.log_prior for p in head if p.log_prior is not None), default=None)
        out = head + [replace(p, log_prior=floor) for p in fused[ranker.candidates :]]
        if timings is not None:
            timings["rank_s"] = time.perf_counter() - t
        return out[:top_k]

    def fuse(
        self, question: str, top_k: int, mode: Mode = "hybrid", timings: dict | None = None, documents: Collection[str] | None = None
    ) -> list[Passage]:
        """Fusion's top_k passages: the dense and BM25 lists (of `documents` only, when given) by weighted reciprocal rank."""
        t0 = time.perf_counter()
        n = max(self.candidates, top_k)
        embed_s = 0.0
        dense: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense") and self.version.n_chunks:
            vec = self.embed([question])[0]
            embed_s = time.perf_counter() - t0
            dense = self.version.search_dense(vec, n, documents)
        lexical = self.version.search_lexical(question, n, documents) if mode in ("hybrid", "bm25") else []
        fused = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in lexical]], self.rrf_k, [self.dense_weight, 1.0])
        best = sorted(fused, key=lambda c: -fused[c])[:top_k]
        if timings is not None:
            timings["embed_s"] = embed_s
            timings["search_s"] = time.perf_counter() - t0 - embed_s
        d_at = {c: (r, s) for r, (c, s) in enumerate(dense, 1)}
        b_at = {c: (r, s) for r, (c, s) in enumerate(lexical, 1)}
        return [Passage.of(c, fused[c.id], d_at.get(c.id), b_at.get(c.id)) for c in self.version.chunks(best)]
