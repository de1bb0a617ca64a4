"""`qa eval`: SQuAD EM/F1 for the reader alone, or for the whole system end to end; and question sets
over a person's own documents (JSON lines), with the calibration of the confidence.

A question set is one JSON object a line: {"id", "question", "answers": [exact strings; [] when the
documents don't say], "document" (the file that holds the answer, relative to the seeds folder;
optional), "all_answers" (every expected item when the question asks for several; optional),
"kind" and "split" (optional labels)}. Each question is judged by the official SQuAD F1 of the best
answer against its answers; "right" means F1 >= 0.5 on an answerable question, and the expected
calibration error compares each best answer's confidence with that.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from qa.confidence import AnswerChooser, expected_calibration_error, reliability
from qa.errors import BadInput
from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.squad import f1_score, load_squad, sample, squad_metrics


def _bar(items, progress: bool, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=not progress, unit="q")


def evaluate_reader(
    path: Path,
    limit: int = 0,
    reader_dir: Path | None = None,
    progress: bool = False,
    reader: ExtractiveReader | None = None,
    rows: list[dict] | None = None,
) -> dict:
    """Each question read against its own paragraph alone, as if retrieval had put it first; the answer
    chooser decides as it does end to end (abstention counts only for a file with unanswerable questions)."""
    data = load_squad(path)
    qs = sample(data.questions, limit)
    reader = reader or ExtractiveReader(reader_dir)
    reader.warm_up()
    chooser = AnswerChooser(reader.model_dir, reader_threshold=reader.threshold, rank_prior=reader.rank_prior)
    preds, times = {}, []
    rows = [] if rows is None else rows  # each question judged (`judge`), for --predictions
    for q in _bar(qs, progress, "reading"):
        t = time.perf_counter()
        passages = [replace(Passage.from_text(q.context), dense_rank=1, bm25_rank=1, log_prior=0.0)]
        decision = chooser(q.question, reader(q.question, passages), passages)
        times.append(time.perf_counter() - t)
        best = decision.answers[0] if decision.answers else None
        preds[q.id] = "" if not best or (data.has_impossible and decision.no_answer) else best.text
        rows.append(judge(decision, SetQuestion(q.id, q.question, [] if q.is_impossible else q.answers)))
    report = {"file": str(path), "mode": "reader-only", "questions": len(qs), **squad_metrics(qs, preds)}
    report["latency_ms_p50"] = 1000 * statistics.median(times) if times else 0.0
    report["no_answer_threshold"] = chooser.threshold if data.has_impossible else None
    report["ece"] = expected_calibration_error([r["confidence"] for r in rows], [r["right"] for r in rows])
    return report


def corpus_dir(path: Path) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa" / "eval"
    return base / f"{path.name.split('.')[0]}-{digest}"


def write_corpus(data, seeds: Path) -> dict[str, str]:
    """One text file per paragraph; returns paragraph id -> document id."""
    seeds.mkdir(parents=True, exist_ok=True)
    ids = {}
    for pid, ctx in data.paragraphs.items():
        title = re.sub(r"[^A-Za-z0-9_.-]+", "_", data.titles[pid])[:60]
        doc_id = f"{title}/{pid}.txt"
        f = seeds / doc_id
        if not f.exists() or f.read_text(encoding="utf-8") != ctx:
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(ctx, encoding="utf-8")
        ids[pid] = doc_id
    return ids


def open_corpus(path: Path, data, index_dir: Path | None = None, reader_dir: Path | None = None, progress: bool = False):
    """A pipeline over a SQuAD file's paragraphs, one document each (built, or brought up to date).
    Returns (pipeline, paragraph id -> document id, build report, build seconds)."""
    from qa.backends import open_store
    from qa.pipeline import QAPipeline, choose_seeds

    work = corpus_dir(path)
    index_dir = Path(index_dir) if index_dir else work / "index"
    doc_of = write_corpus(data, work / "seeds")
    store = open_store(index_dir)
    pipe = QAPipeline(store, choose_seeds(store, work / "seeds"), reader=ExtractiveReader(reader_dir))
    t = time.perf_counter()
    build = pipe.rebuild(show_progress_bar=progress)
    return pipe, doc_of, build, time.perf_counter() - t


def evaluate_open(
    path: Path,
    limit: int = 0,
    top_k: int = 5,
    index_dir: Path | None = None,
    reader_dir: Path | None = None,
    progress: bool = False,
    ks=(1, 5, 20),
    rows: list[dict] | None = None,
) -> dict:
    """Index every paragraph as a document, then answer each question end to end."""
    data = load_squad(path)
    pipe, doc_of, build, build_s = open_corpus(path, data, index_dir, reader_dir, progress)
    qs = sample(data.questions, limit)
    pipe.warm_up()
    abstains = data.has_impossible  # v1.1 rules: every question has an answer, so the best one always counts
    # each list on its own, their fusion, and (when the feature ranker is on) the order the reader gets
    runs = [("dense", "dense", False), ("bm25", "bm25", False), ("hybrid", "hybrid", False)]
    if pipe.ranker is not None:
        runs.append(("hybrid+rank", "hybrid", True))
    hits = {name: dict.fromkeys(ks, 0) for name, _, _ in runs}
    preds, times = {}, []
    rows = [] if rows is None else rows  # each question judged (`judge`), for --predictions
    for q in _bar(qs, progress, "answering"):
        gold = doc_of[q.paragraph_id]
        for name, mode, rank in runs:
            docs = [p.document for p in pipe.retrieve(q.question, top_k=max(ks), mode=mode, rank=rank)]
            for k in ks:
                hits[name][k] += gold in docs[:k]
        t = time.perf_counter()
        res = pipe(q.question, top_k=top_k)
        times.append(time.perf_counter() - t)
        best = res.answers[0] if res.answers else None
        preds[q.id] = "" if abstains and res.no_answer else (best.text if best else "")
        rows.append(judge(res, SetQuestion(q.id, q.question, [] if q.is_impossible else q.answers)))
    n = max(1, len(qs))
    report = {
        "file": str(path),
        "mode": "open",
        "questions": len(qs),
        "documents": build.n_documents,
        "chunks": build.n_chunks,
        "top_k": top_k,
        **squad_metrics(qs, preds),
    }
    report["recall"] = {m: {f"@{k}": 100.0 * v / n for k, v in r.items()} for m, r in hits.items()}
    report["latency_ms_p50"] = 1000 * statistics.median(times) if times else 0.0
    report["index_build_s"] = build_s
    report["ece"] = expected_calibration_error([r["confidence"] for r in rows], [r["right"] for r in rows])
    return report


@dataclass
class SetQuestion:
    """One question of a question set (see the module docstring)."""

    id: str
    question: str
    answers: list[str]
    document: str | None = None
    all_answers: list[str] | None = None
    kind: str = ""
    split: str = ""

    @property
    def golds(self) -> list[str]:
        return self.answers + (self.all_answers or [])


def load_question_set(path: Path) -> list[SetQuestion]:
    """The questions of a JSON-lines file; a malformed line is an error that names it."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            q = SetQuestion(
                id=str(raw["id"]),
                question=str(raw["question"]),
                answers=[str(a) for a in raw.get("answers") or []],
                document=raw.get("document"),
                all_answers=[str(a) for a in raw["all_answers"]] if raw.get("all_answers") else None,
                kind=str(raw.get("kind") or Path(path).stem),
                split=str(raw.get("split") or ""),
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise BadInput(f"{path}:{n}: not a question of a question set ({type(e).__name__}: {e}); see `qa eval --help`") from None
        out.append(q)
    return out


def judge(res, q: SetQuestion) -> dict:
    """One question's row: the best answer (even when the product abstains), its confidence, its F1,
    and what was shown around it."""
    top = res.answers[0] if res.answers else None
    f1 = max((f1_score(top.text, g) for g in q.golds), default=0.0) if top else 0.0
    shown = [] if res.no_answer else res.answers
    wrong_extra = sum(1 for a in shown[1:] if max((f1_score(a.text, g) for g in q.golds), default=0.0) < 0.5)
    return {
        "id": q.id,
        "kind": q.kind,
        "answerable": bool(q.answers),
        "several": q.all_answers is not None,
        "answer": top.text if top else "",
        "confidence": top.score if top else 0.0,
        "no_answer": res.no_answer,
        "f1": f1 if q.answers else 0.0,
        "right": float(bool(q.answers) and f1 >= 0.5),
        "document_right": bool(top and q.document and top.document == q.document),
        "shown": len(shown),
        "wrong_extra": wrong_extra,
        "evidence": res.evidence[0] if getattr(res, "evidence", None) else {},
    }


def ask_questions(pipe, questions: list[SetQuestion], top_k: int | None = None, progress: bool = False) -> list[dict]:
    """Each question asked of the pipeline and judged."""
    pipe.warm_up()
    rows = []
    for q in _bar(questions, progress, "answering"):
        t = time.perf_counter()
        row = judge(pipe(q.question, top_k=top_k), q)
        row["latency_s"] = time.perf_counter() - t
        rows.append(row)
    return rows


def ask_question_set(
    path: Path, seeds: Path, work: Path, split: str | None = None, top_k: int | None = None, progress: bool = False, limit: int = 0
):
    """Index `seeds` in `work/index` (brought up to date), then ask the set's questions of the given split
    (every n-th of them when `limit` is set)."""
    from qa.backends import open_store
    from qa.pipeline import QAPipeline, choose_seeds

    store = open_store(Path(work) / "index")
    pipe = QAPipeline(store, choose_seeds(store, Path(seeds), reseed=True))
    pipe.rebuild(show_progress_bar=progress)
    questions = [q for q in load_question_set(path) if split is None or q.split == split]
    if limit and len(questions) > limit:
        questions = questions[:: -(-len(questions) // limit)]
    return ask_questions(pipe, questions, top_k, progress)


def squad_split(title: str) -> str:
    """SQuAD articles split in two by a hash of their title: 'fit' and 'test'."""
    return "fit" if zlib.crc32(title.encode()) % 2 == 0 else "test"


def ask_squad_open(path: Path, work: Path, split: str | None = None, limit: int = 0, top_k: int | None = None, progress: bool = False):
    """SQuAD questions of one split of its articles, asked end to end over all of the file's paragraphs."""
    data = load_squad(path)
    pipe, doc_of, _, _ = open_corpus(path, data, Path(work) / "index", None, progress)
    chosen = sample([q for q in data.questions if split is None or squad_split(q.title) == split], limit)
    questions = [
        SetQuestion(q.id, q.question, [] if q.is_impossible else q.answers, doc_of[q.paragraph_id], kind="squad", split=split or "")
        for q in chosen
    ]
    return ask_questions(pipe, questions, top_k, progress)


def set_metrics(rows: list[dict]) -> dict:
    """What a person sees, per kind of document: shown F1 (0 for an abstention) and always-answer F1
    over the answerable questions, the share citing the right document, abstention on the
    unanswerable ones, answers shown, and the calibration of the confidence."""

    def mean(xs) -> float:
        xs = list(xs)
        return sum(xs) / len(xs) if xs else 0.0

    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if not r["no_answer"]]
    single = [r for r in answered if not r["several"]]
    probs, right = [r["confidence"] for r in rows], [r["right"] for r in rows]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "shown_f1": 100 * mean(0.0 if r["no_answer"] else r["f1"] for r in answerable),
        "always_f1": 100 * mean(r["f1"] for r in answerable),
        "right_document": 100 * mean(r["document_right"] for r in answerable),
        "abstention": 100 * mean(r["no_answer"] for r in unanswerable),
        "answered_when_answerable": 100 * mean(not r["no_answer"] for r in answerable),
        "mean_shown": mean(r["shown"] for r in answered),
        "single_mean_shown": mean(r["shown"] for r in single),
        "single_no_wrong_extra": 100 * mean(r["wrong_extra"] == 0 for r in single),
        "ece": expected_calibration_error(probs, right),
        "reliability": [[round(p, 4), round(a, 4), n] for p, a, n in reliability(probs, right)],
    }


def write_predictions(rows: list[dict], out: Path) -> None:
    """One line per question: {"id", "answer", "confidence", "no_answer"}; the answer is the best one
    even when the product abstains, so that anyone can check the calibration on their own data."""
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in ("id", "answer", "confidence", "no_answer")}, ensure_ascii=False) + "\n")
