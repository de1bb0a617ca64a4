"""Hybrid retrieval: dense (FAISS over MiniLM) and lexical (BM25), fused by reciprocal rank.

Dense finds paraphrases; BM25 finds rare names and numbers the embedding blurs.
Reciprocal-rank fusion needs no score calibration between the two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from qa.embedder import QueryEmbedder
from qa.store import IndexStore

Mode = Literal["hybrid", "dense", "bm25"]
RRF_K = 60
_STEMMER = None


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, Snowball-stemmed tokens (the same for chunks and questions)."""
    global _STEMMER
    import bm25s

    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


@dataclass
class Passage:
    chunk_id: int
    document: str
    start: int
    end: int
    text: str
    score: float  # fused score (higher is better)
    dense_rank: int | None = None  # 1-based, None when not in that list
    bm25_rank: int | None = None


class HybridRetriever:
    def __init__(self, store: IndexStore, query_embedder: QueryEmbedder, candidates: int = 50):
        self.store = store
        self.embed = query_embedder
        self.candidates = candidates

    def dense(self, question: str, k: int, timings: dict | None = None) -> list[tuple[int, float]]:
        if self.store.n_chunks == 0:
            return []
        t = time.perf_counter()
        vec = self.embed([question])
        if timings is not None:
            timings["embed_s"] = time.perf_counter() - t
        hnsw = getattr(self.store.faiss, "hnsw", None)
        if hnsw is not None:
            hnsw.efSearch = max(64, k)
        scores, ids = self.store.faiss.search(vec, min(k, self.store.n_chunks))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def lexical(self, question: str, k: int) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([question])
        if self.store.n_chunks == 0 or not tokens[0]:
            return []
        bm25 = self.store.bm25()
        res = bm25.retrieve(tokens, k=min(k, self.store.n_chunks), show_progress=False, n_threads=1)
        return [(int(i), float(s)) for i, s in zip(res.documents[0], res.scores[0]) if s > 0]

    def __call__(self, question: str, top_k: int = 5, mode: Mode = "hybrid", timings: dict | None = None) -> list[Passage]:
        """Top passages; `timings` (if given) receives embed_s and search_s."""
        t0 = time.perf_counter()
        n = max(self.candidates, top_k)
        local: dict[str, float] = {"embed_s": 0.0}
        dense = self.dense(question, n, local) if mode in ("hybrid", "dense") else []
        lexical = self.lexical(question, n) if mode in ("hybrid", "bm25") else []
        fused: dict[int, float] = {}
        for ranked in (dense, lexical):
            for rank, (cid, _) in enumerate(ranked, 1):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        best = sorted(fused, key=lambda c: -fused[c])[:top_k]
        if timings is not None:
            timings["embed_s"] = local["embed_s"]
            timings["search_s"] = time.perf_counter() - t0 - local["embed_s"]
        d_rank = {c: r for r, (c, _) in enumerate(dense, 1)}
        b_rank = {c: r for r, (c, _) in enumerate(lexical, 1)}
        return [
            Passage(c.id, c.doc_id, c.start, c.end, c.text, fused[c.id], d_rank.get(c.id), b_rank.get(c.id))
            for c in self.store.chunks(best)
        ]
