"""question → retrieve → read → answer: the one pipeline the CLI and the web UI share."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.documents import line_of
from qa.embedder import QueryEmbedder
from qa.indexer import Changes, detect_changes
from qa.reader.extractive import ExtractiveReader, PassageInput
from qa.retriever import HybridRetriever, Mode, Passage
from qa.store import IndexStore

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
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self.reader.warm_up()
        if self._retriever is None:
            self.reload()

    def reload(self) -> IndexStore:
        """Open the current index version; questions in flight keep the one they started with."""
        store = IndexStore.open(self.index_dir)
        with self._lock:
            if self._embedder is None:
                self._embedder = QueryEmbedder.from_dir(self.index_dir / "models")
            self._retriever = HybridRetriever(store, self._embedder)
        return store

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
