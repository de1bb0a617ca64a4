"""The three records that flow through the pipeline: chunk → passage → answer, and the contract of
the stages that turn one into the next.

Offsets are always character offsets into the document's extracted text, so
`document_text[start:end] == text` holds for each of them; citations are only as good as that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

Out = TypeVar("Out")  # what a stage hands on: passages, or answers


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
    score: float = 0.0  # fused retrieval score, or the feature ranker's when it ran (higher is better)
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
        return cls(id=0, document=document, start=start, end=start + len(text), text=text)

    @classmethod
    def of(cls, chunk: Chunk, score: float = 0.0, dense: tuple[int, float] | None = None, bm25: tuple[int, float] | None = None) -> Passage:
        """`dense` and `bm25` are (rank, score) in each list, None when the chunk is not in it."""
        dense_rank, dense_score = dense or (None, None)
        bm25_rank, bm25_score = bm25 or (None, None)
        return cls(
            id=chunk.id,
            document=chunk.document,
            start=chunk.start,
            end=chunk.end,
            text=chunk.text,
            score=score,
            dense_rank=dense_rank,
            bm25_rank=bm25_rank,
            dense_score=dense_score,
            bm25_score=bm25_score,
        )


class Stage(Protocol[Out]):
    """A step after retrieval that takes the question and the passages so far: the feature ranker
    (passages in a new order) and the reader (answers). Making one loads no model: `warm_up()`
    does, once (later calls do nothing), so a pipeline can report a broken index before it waits
    for a model. A call answers one question."""

    def warm_up(self) -> None: ...
    def __call__(self, question: str, passages: list[Passage]) -> list[Out]: ...


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
