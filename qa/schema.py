"""The three records that flow through the pipeline: chunk → passage → answer.

Offsets are always character offsets into the document's extracted text, so
`document_text[start:end] == text` holds for each of them; citations are only as good as that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Chunk:
    """A stored piece of a document (what the index holds)."""

    id: int  # row in the index
    document: str
    start: int
    end: int
    text: str


@dataclass
class Passage:
    """A chunk retrieved for a question, with how it ranked."""

    id: int
    document: str
    start: int
    end: int
    text: str
    score: float = 0.0  # fused retrieval score, or the ranker's / reranker's when one ran (higher is better)
    dense_rank: int | None = None  # 1-based; None when not in that list
    bm25_rank: int | None = None
    fused_rank: int | None = None  # 1-based place in the fused list; set when a ranker reordered it
    dense_score: float | None = None  # the list's own score (cosine, BM25); None when not in that list
    bm25_score: float | None = None
    # log-odds, against the first passage, that this one holds the answer: the feature ranker's
    # listwise-softmax logit difference (<= 0); None when the order has no such scale
    log_prior: float | None = None

    @classmethod
    def from_text(cls, text: str, document: str = "", start: int = 0) -> Passage:
        """A passage to read that did not come from an index (a SQuAD paragraph, a test)."""
        return cls(0, document, start, start + len(text), text)

    @classmethod
    def of(cls, chunk: Chunk, score: float = 0.0, dense: tuple[int, float] | None = None,
           bm25: tuple[int, float] | None = None) -> Passage:  # fmt: skip
        """`dense` and `bm25` are (rank, score) in each list, None when the chunk is not in it."""
        d_rank, d_score = dense or (None, None)
        b_rank, b_score = bm25 or (None, None)
        return cls(chunk.id, chunk.document, chunk.start, chunk.end, chunk.text, score, d_rank, b_rank, None, d_score, b_score)


@dataclass
class Answer:
    """An exact span of a document, with the passage it was read in."""

    text: str
    score: float  # in [0, 1]: the span against its window's "no answer here" (see qa.reader)
    document: str
    start: int
    end: int
    passage: str
    passage_start: int
    line: int = 0  # 1-based line of `start`; filled in by the pipeline, which has the document text
    page: int | None = None  # 1-based page of `start` in a paged document (PDF); in the JSON only then
    passage_index: int = 0  # which of the passages it was read in (not part of the JSON)
    margin: float = 0.0  # log p(span) - log p(no answer here) in its window, before calibration (not in the JSON)

    JSON_FIELDS = ("text", "score", "document", "start", "end", "line", "passage", "passage_start")

    def to_json(self) -> dict:
        out = {k: getattr(self, k) for k in self.JSON_FIELDS}
        if self.page is not None:
            out["page"] = self.page
        return out
