"""question → retrieve → read → answers: the one pipeline the CLI, the web UI and `qa eval` share.

It also owns "build, then reload": `rebuild()` refreshes the store from the index's own seeds
folder and swaps the new version in between questions. Every answer carries the version it
came from, and `document_text(doc, version)` resolves citations against that version.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.backends import open_store
from qa.confidence import AnswerChooser, Decision
from qa.documents import line_of, page_of
from qa.errors import BadQuestion, MissingPath, SeedsMismatch
from qa.followup import Turn, resolve
from qa.indexer import BuildReport, Changes, Progress, build_index, detect_changes
from qa.ranker import FeatureRanker, choose_ranker_file
from qa.reader import ExtractiveReader
from qa.retriever import HybridRetriever, Mode
from qa.schema import Answer, Passage, Stage
from qa.scope import select_documents
from qa.settings import Settings
from qa.speech import speaker_asked_about, statements_by
from qa.store import IndexProblem, Store, StoreVersion

MAX_QUESTION_CHARS = 2000
KEEP_VERSIONS = 3  # versions kept open for citations of earlier answers (the live one and two before)


@dataclass
class Result:
    question: str
    no_answer: bool
    answers: list[Answer]
    passages: list[Passage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    version: str = ""  # the index version that answered
    evidence: list[dict[str, float]] = field(default_factory=list)  # what each answer's confidence came from (not in the JSON)
    resolved_question: str | None = None  # how a follow-up was read in the conversation (None: asked without history)
    documents: list[str] | None = None  # the ids it was asked within (None: every document)

    def to_json(self) -> dict:
        """The documented `qa ask --json` object."""
        out = {"question": self.question, "no_answer": self.no_answer, "answers": [a.to_json() for a in self.answers]}
        if self.resolved_question is not None:
            out["resolved_question"] = self.resolved_question
        if self.documents is not None:
            out["documents"] = self.documents
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


def recorded_seeds(store: Store) -> Path | None:
    """The seeds folder the live index was built from (None: no usable index yet)."""
    try:
        version = store.open()
    except IndexProblem:
        return None
    try:
        return version.seeds
    finally:
        version.close()


def choose_seeds(store: Store, given: Path | None, reseed: bool = False, default: Path = Path("seeds")) -> Path:
    """The index's own seeds folder unless another is given; another one needs `reseed`, because
    a rebuild from it replaces every document of the index."""
    recorded = recorded_seeds(store)
    if given is None:
        return recorded or default
    if recorded is not None and Path(given).resolve() != recorded and not reseed:
        raise SeedsMismatch(
            f"the index {store.location} was built from {recorded}, not {Path(given).resolve()}; pass --reseed to "
            f"rebuild it from {given} (the documents from {recorded} leave the index), or use another --index"
        )
    return Path(given)


class QAPipeline:
    """Holds the open index version and the models; `rebuild()`/`reload()` swap in a new version
    between questions, while questions in flight finish on the version they started with."""

    def __init__(
        self,
        store: Store | str | Path,
        seeds: Path | None = None,
        *,
        reader: ExtractiveReader | None = None,
        settings: Settings | None = None,
    ):
        self.settings = settings or Settings.from_env()
        self.store = open_store(store, self.settings) if isinstance(store, (str, Path)) else store
        self.seeds = Path(seeds) if seeds else None
        s = self.settings
        self.reader = reader or ExtractiveReader(
            s.reader_dir, max_answer_tokens=s.max_answer_tokens, threads=s.threads, span_candidates=s.span_candidates
        )
        ranker_file = choose_ranker_file(s.ranker)  # a bad QA_RANKER fails here, before any question
        self.ranker = FeatureRanker(ranker_file) if ranker_file else None
        # what to show and how sure: P(right) for each answer, abstention, the answer list
        self.chooser = AnswerChooser(self.reader.model_dir, reader_threshold=self.reader.threshold, rank_prior=self.reader.rank_prior)
        self._retriever: HybridRetriever | None = None
        self._versions: OrderedDict[str, StoreVersion] = OrderedDict()
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    @property
    def stages(self) -> list[Stage[Any]]:
        """The models that work on retrieval's passages, in the order `warm_up` loads them: the reader,
        then the feature ranker when one is set (a question meets the ranker first)."""
        return [self.reader] if self.ranker is None else [self.reader, self.ranker]

    def warm_up(self) -> None:
        """Open the index, then load every stage's model; later calls do nothing."""
        if self._retriever is None:
            self.reload()  # first: a broken index is reported before the reader loads
        for stage in self.stages:
            stage.warm_up()
        self.chooser.warm_up()

    def _warm_retriever(self) -> HybridRetriever:
        """`warm_up()`, then the retriever over the live version (questions keep the one they took)."""
        self.warm_up()
        retriever = self._retriever
        assert retriever is not None  # warm_up() opened a version or raised
        return retriever

    def reload(self) -> str:
        """Open the live version, checking every part, so a broken index fails here, never with a
        wrong answer. Returns its name."""
        version = self.store.open()
        try:
            version.check()
            s = self.settings
            retriever = HybridRetriever(
                version, candidates=s.retrieval_candidates, rrf_k=s.rrf_k, dense_weight=s.dense_weight, ranker=self.ranker
            )
        except IndexProblem:
            version.close()
            raise
        with self._lock:
            self._retriever = retriever
            self._versions[version.name] = version
            self._versions.move_to_end(version.name)
            while len(self._versions) > KEEP_VERSIONS:
                self._versions.popitem(last=False)  # closed when no answer in flight holds it
        return version.name

    def rebuild(self, full: bool = False, progress: Progress | None = None, show_progress_bar: bool = False) -> BuildReport:
        """Refresh the index from its seeds folder, then answer from the new version at once."""
        if self.seeds is None:
            raise MissingPath(f"no seeds folder is known for {self.store.location}; pass --seeds")
        with self._build_lock:
            report = build_index(self.store, self.seeds, self.settings, full, progress, show_progress_bar)
            self.reload()
        return report

    @property
    def version(self) -> StoreVersion:
        return self._warm_retriever().version

    def document_text(self, doc_id: str, version: str | None = None) -> str | None:
        """A document's text as the given version (default: the live one) holds it."""
        v = self._versions.get(version) if version else self.version
        if v is None:
            raise IndexProblem(f"index version {version} is no longer open; ask again")
        return v.document_text(doc_id)

    def document_pages(self, doc_id: str, version: str | None = None) -> list[int] | None:
        """Start offsets of a paged document's pages, as the given version holds them."""
        v = self._versions.get(version) if version else self.version
        return (v.documents.get(doc_id) or {}).get("pages") if v is not None else None

    def stale(self) -> Changes:
        if self.seeds is None or not self.seeds.is_dir():
            return Changes()
        return detect_changes(self.version, self.seeds)

    def index_info(self) -> dict:
        """What the index holds, for the UI's index panel."""
        v = self.version
        stale = self.stale()
        return {
            "n_documents": len(v.documents),
            "n_chunks": v.n_chunks,
            "built_at": v.manifest.get("built_at", "?"),
            "skipped": v.manifest.get("skipped", {}),
            "stale": stale.summary() if stale.any else "",
            "seeds": str(v.seeds or ""),
            "version": v.name,
        }

    def within(self, documents: Sequence[str] | None, version: StoreVersion | None = None) -> frozenset[str] | None:
        """The ids of the documents (of `version`, default the live one) that these patterns name
        (`qa.scope`); None for no pattern (every document). NoMatchingDocuments when a pattern names none."""
        return select_documents(documents, (version or self.version).documents)

    def retrieve(
        self,
        question: str,
        top_k: int = 5,
        mode: Mode = "hybrid",
        timings: dict | None = None,
        rank: bool = True,
        documents: Sequence[str] | None = None,
    ) -> list[Passage]:
        """The passages the reader would read; `rank=False` gives fusion's order (benchmarks compare).
        `documents`: patterns (`qa.scope`) of the documents to search within."""
        retriever = self._warm_retriever()
        chosen = self.within(documents, retriever.version)
        return retriever(question, top_k=top_k, mode=mode, timings=timings, rank=rank, documents=chosen)

    def __call__(
        self,
        question: str,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        max_answers: int | None = None,
        history: Sequence[Turn] | None = None,
        *,
        documents: Sequence[str] | None = None,
    ) -> Result:
        """The answers to show, best first (`qa.confidence`); when the best one's P(right) is under the
        threshold, that best guess alone with `no_answer` set. With `history` (the conversation so far, even empty), a follow-up
        is first read in its context (`qa.followup`) and `resolved_question` says how. With `documents` (patterns:
        ids, file names, globs, folders; `qa.scope`), only those documents are searched and quoted, and the
        result names them; a pattern that names no document raises NoMatchingDocuments (a BadQuestion)."""
        top_k = top_k or self.settings.top_k
        max_answers = max_answers or self.settings.max_answers
        typed, warnings = clean_question(question)
        q = typed
        if history is not None:
            resolution = resolve(typed, history)
            if resolution.changed:
                q, _ = clean_question(resolution.question)
        retriever = self._warm_retriever()
        chosen = self.within(documents, retriever.version)
        q_read, truncated = self.reader.truncate_question(q)
        if truncated:
            warnings.append("question truncated to the reader's 64-token limit")
        version = retriever.version
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        passages = retriever(q, top_k=top_k, mode=mode, timings=timings, documents=chosen)
        t1 = time.perf_counter()
        found = self.reader(q_read, passages, top_n=max_answers + 1)  # one more: the last shown answer's rival
        decision = self.chooser(q, found, passages)
        speaker = speaker_asked_about(q)
        if speaker:  # "What did X say?": everything the documents attribute to X, when they attribute anything
            said = self.attributed(speaker, version, within=chosen)
            if said:
                sure = self.chooser.speech_confidence >= self.chooser.threshold
                shown = said if sure else said[:1]  # abstaining: the closest guess alone, as for any question
                decision = Decision(shown, not sure, [{} for _ in shown])
        t2 = time.perf_counter()
        answers = decision.answers[:max_answers]
        texts: dict[str, str] = {}
        for a in answers:
            doc_text = texts.get(a.document) or texts.setdefault(a.document, version.document_text(a.document) or "")
            a.line = line_of(doc_text, a.start)
            a.page = page_of(version.documents.get(a.document, {}).get("pages"), a.start)
            a.score = round(a.score, 4)
        timings.update(read_s=t2 - t1, total_s=t2 - t0)
        resolved = None if history is None else q
        within = None if chosen is None else sorted(chosen)
        return Result(typed, decision.no_answer, answers, passages, warnings, timings, version.name, decision.evidence, resolved, within)

    def attributed(self, speaker: str, version: StoreVersion, documents: int = 10, within: frozenset[str] | None = None) -> list[Answer]:
        """Every statement the documents (those `within`, when given) attribute to `speaker` (`qa.speech`), each
        cited with the paragraph around it, from the documents whose chunks name them (best BM25 match first)."""
        surname = speaker.split()[-1]
        hits = version.chunks([c for c, _ in version.search_lexical(speaker, 50, within)])
        docs = list(dict.fromkeys(c.document for c in hits if surname in c.text))[:documents]
        out = []
        for doc in docs:
            text = version.document_text(doc) or ""
            for st in statements_by(speaker, text):
                p0 = max(text.rfind("\n\n", 0, st.start) + 2, st.start - 400, 0)
                end = text.find("\n\n", st.end)
                p1 = min(end if end >= 0 else len(text), st.end + 400)
                out.append(
                    Answer(
                        text=st.said,
                        score=self.chooser.speech_confidence,
                        document=doc,
                        start=st.start,
                        end=st.end,
                        passage=text[p0:p1],
                        passage_start=p0,
                    )
                )
        return out
