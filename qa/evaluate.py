"""`qa eval`: SQuAD EM/F1 for the reader alone, or for the whole system end to end."""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import time
from pathlib import Path

from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.squad import load_squad, sample, squad_metrics


def _bar(items, progress: bool, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=not progress, unit="q")


def predict(answer_score: float | None, text: str, threshold: float | None) -> str:
    if answer_score is None or (threshold is not None and answer_score < threshold):
        return ""
    return text


def evaluate_reader(
    path: Path, limit: int = 0, reader_dir: Path | None = None, progress: bool = False, reader: ExtractiveReader | None = None
) -> dict:
    data = load_squad(path)
    qs = sample(data.questions, limit)
    reader = reader or ExtractiveReader(reader_dir)
    reader.warm_up()
    threshold = reader.threshold if data.has_impossible else None
    preds, scores, times = {}, {}, []
    for q in _bar(qs, progress, "reading"):
        t = time.perf_counter()
        found = reader(q.question, [Passage.from_text(q.context)], top_n=1)
        times.append(time.perf_counter() - t)
        best = found[0] if found else None
        scores[q.id] = best.score if best else 0.0
        preds[q.id] = predict(best.score if best else None, best.text if best else "", threshold)
    report = {"file": str(path), "mode": "reader-only", "questions": len(qs), **squad_metrics(qs, preds)}
    report["latency_ms_p50"] = 1000 * statistics.median(times) if times else 0.0
    report["no_answer_threshold"] = threshold
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
) -> dict:
    """Index every paragraph as a document, then answer each question end to end."""
    data = load_squad(path)
    pipe, doc_of, build, build_s = open_corpus(path, data, index_dir, reader_dir, progress)
    qs = sample(data.questions, limit)
    pipe.warm_up()
    threshold = pipe.reader.threshold if data.has_impossible else None
    # each list on its own, their fusion, and (when the feature ranker is on) the order the reader gets
    runs = [("dense", "dense", False), ("bm25", "bm25", False), ("hybrid", "hybrid", False)]
    if pipe.ranker is not None:
        runs.append(("hybrid+rank", "hybrid", True))
    hits = {name: dict.fromkeys(ks, 0) for name, _, _ in runs}
    preds, times = {}, []
    for q in _bar(qs, progress, "answering"):
        gold = doc_of[q.paragraph_id]
        for name, mode, rank in runs:
            docs = [p.document for p in pipe.retrieve(q.question, top_k=max(ks), mode=mode, rank=rank)]
            for k in ks:
                hits[name][k] += gold in docs[:k]
        t = time.perf_counter()
        res = pipe(q.question, top_k=top_k, max_answers=1)
        times.append(time.perf_counter() - t)
        best = res.answers[0] if res.answers else None
        preds[q.id] = predict(best.score if best else None, best.text if best else "", threshold)
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
    return report
