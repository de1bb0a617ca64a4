"""question → retrieve → read → answer: the one pipeline the CLI and the web UI share."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.documents import line_of
from qa.embedder import QueryEmbedder
from qa.indexer import Changes, detect_changes
from qa.reader.extractive import ExtractiveReader, PassageInput
from qa.retriever import HybridRetriever, Mode, Passage
from qa.store import IndexProblem, IndexStore

MAX_QUESTION_CHARS = 2000


class BadQuestion(ValueError):
    """The question cannot be asked (empty, nothing but punctuation…); the message says why."""


@dataclass
class Answer:
    text: str
    score: float  # in [0, 1]: p(start) * p(end) from the reader
    document: str
    start: int  # character offsets into the document's text
    end: int
    line: int
    passage: str
    passage_start: int


@dataclass
class Result:
    question: str
    no_answer: bool
    answers: list[Answer]
    passages: list[Passage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The documented `qa ask --json` object."""
        out = {"question": self.question, "no_answer": self.no_answer, "answers": [asdict(a) for a in self.answers]}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


def clean_question(question: str) -> tuple[str, list[str]]:
    """Strip control characters and cap the length; raise BadQuestion when nothing is left to ask."""
    warnings = []
    q = "".join(ch if ch.isprintable() else " " for ch in question or "")
    q = " ".join(q.split())
    if not q:
        raise BadQuestion("the question is empty")
    if not any(ch.isalnum() for ch in q):
        raise BadQuestion("the question has no letters or digits")
    if len(q) > MAX_QUESTION_CHARS:
        q = q[:MAX_QUESTION_CHARS]
        warnings.append(f"question truncated to its first {MAX_QUESTION_CHARS} characters")
    return q, warnings


class QAPipeline:
    """Holds the loaded index and models; `reload()` swaps in a rebuilt index between questions."""

    def __init__(self, index_dir: Path, seeds_dir: Path | None = None, reader: ExtractiveReader | None = None):
        self.index_dir = Path(index_dir)
        self.seeds_dir = Path(seeds_dir) if seeds_dir else None
        self.reader = reader or ExtractiveReader()
        self._retriever: HybridRetriever | None = None
        self._embedder: QueryEmbedder | None = None
        self._embedder_fingerprint = ""
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._retriever is None:
            self.reload()  # first: a broken index is reported before the reader loads
        self.reader.warm_up()

    def reload(self) -> IndexStore:
        """Open the current index version; questions in flight keep the one they started with.

        Every part is checked here, so a broken index fails before a question, never with a
        wrong answer: vectors, chunk store, BM25, and a query embedder that matches the vectors.
        """
        store = IndexStore.open(self.index_dir)
        try:
            store.bm25()
            query_embedder = self._query_embedder(store)
        except IndexProblem:
            store.close()
            raise
        with self._lock:
            self._embedder = query_embedder
            self._retriever = HybridRetriever(store, query_embedder)
        return store

    def _query_embedder(self, store: IndexStore) -> QueryEmbedder:
        models = self.index_dir / "models"
        fix = f"run `qa index --full --index {self.index_dir}` to rebuild it"
        try:
            fingerprint = json.loads((models / "minilm-embedder.json").read_text(encoding="utf-8"))["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError):
            raise IndexProblem(f"the query embedder in {models} is missing or corrupt; {fix}") from None
        built_with = store.manifest["settings"]["embedder"]
        if built_with.get("fingerprint") != fingerprint:
            raise IndexProblem(
                f"the index was built with a different embedding model ({built_with.get('model')}) than the one in {models}; {fix}"
            )
        if self._embedder is not None and self._embedder_fingerprint == fingerprint:
            return self._embedder
        try:
            query_embedder = QueryEmbedder.from_dir(models)
        except Exception:
            raise IndexProblem(f"the query embedder in {models} is missing or corrupt; {fix}") from None
        self._embedder_fingerprint = fingerprint
        return query_embedder

    @property
    def store(self) -> IndexStore:
        self.warm_up()
        return self._retriever.store

    def stale(self) -> Changes:
        if self.seeds_dir is None or not self.seeds_dir.is_dir():
            return Changes()
        return detect_changes(self.store, self.seeds_dir)

    def __call__(self, question: str, top_k: int = 5, mode: Mode = "hybrid", max_answers: int = 3) -> Result:
        q, warnings = clean_question(question)
        self.warm_up()
        q_read, truncated = self.reader.truncate_question(q)
        if truncated:
            warnings.append("question truncated to the reader's 64-token limit")
        retriever = self._retriever
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        passages = retriever(q, top_k=top_k, mode=mode, timings=timings)
        t1 = time.perf_counter()
        found = self.reader(q_read, [PassageInput(p.text, p.document, p.start) for p in passages], top_n=max_answers)
        t2 = time.perf_counter()
        answers = []
        texts: dict[str, str] = {}
        for a in found:
            p = passages[a.passage_index]
            doc_text = texts.get(a.document) or texts.setdefault(a.document, retriever.store.document_text(a.document) or "")
            answers.append(Answer(a.text, round(a.score, 4), a.document, a.span.start, a.span.end,
                                  line_of(doc_text, a.span.start), p.text, p.start))  # fmt: skip
        no_answer = not answers or answers[0].score < self.reader.threshold
        timings.update(read_s=t2 - t1, total_s=t2 - t0)
        return Result(q, no_answer, answers, passages, warnings, timings)
