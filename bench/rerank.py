"""Retrieval with and without the cross-encoder reranker on open-corpus SQuAD v1.1 dev (issue 12).

Every dev paragraph (2,067) is a document, as in bench/open_qa.py, and the index is the one the
other benchmarks share (opened as it is when it exists, built otherwise). For each question
the product's hybrid retrieval is run twice on the same index: fused only, and fused top
--candidates reordered by the reranker. Reported: recall@1/5/20 of the gold paragraph, and
retrieval time per question (query embedding + search [+ reranking]) at --threads ONNX
Runtime threads, p50/p95. Issue 12's target: hybrid (+ rerank) @1 >= 85, @5 >= 97, p50 <= 60 ms
on 2 threads.

    python bench/rerank.py --reranker qa/models/reranker --limit 2000 [--candidates 20] [--threads 2]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

KS = (1, 5, 20)


def open_dev_index(dev: Path, index: Path):
    """(store version, paragraph id -> document id, the dev questions): the shared index as it is
    when it has a live version, else built the way bench/open_qa.py builds it."""
    from qa.backends import open_store
    from qa.evaluate import corpus_dir, write_corpus
    from qa.indexer import build_index
    from qa.pipeline import choose_seeds
    from qa.reader.squad import load_squad
    from qa.settings import Settings

    data = load_squad(dev)
    seeds = corpus_dir(dev) / "seeds"
    doc_of = write_corpus(data, seeds)
    store = open_store(index)
    if store.current_version() is None:
        print(f"building {index} (once; other benchmarks reuse it)", file=sys.stderr)
        build_index(store, choose_seeds(store, seeds), Settings.from_env(), show_progress_bar=True)
    return store.open(), doc_of, data.questions


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "rerank")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="the SQuAD dev corpus index (reused as it is)")
    p.add_argument("--reranker", type=Path, default=None, help="reranker model folder (default: the shipped one)")
    p.add_argument("--candidates", type=int, default=20, help="fused passages the reranker reads per question")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads (query embedder and reranker)")
    args = p.parse_args()
    os.environ["QA_THREADS"] = str(args.threads)  # the query embedder's session reads it
    run = common.Run("rerank", args)
    from qa.reader.squad import sample
    from qa.reranker import CrossEncoderReranker, choose_reranker_dir
    from qa.retriever import HybridRetriever
    from qa.settings import Settings

    model_dir = choose_reranker_dir(str(args.reranker) if args.reranker else "auto")
    if model_dir is None:
        sys.exit("no reranker shipped in qa/models/reranker; pass --reranker DIR (written by qa.reranker_train)")
    dev = common.squad_file(args.squad, "dev-v1.1")
    version, doc_of, questions = open_dev_index(dev, args.index)
    s = Settings.from_env()
    reranker = CrossEncoderReranker(model_dir, args.threads)
    reranker.warm_up()
    retriever = HybridRetriever(version, s.retrieval_candidates, s.rrf_k, s.dense_weight, reranker, args.candidates)
    qs = sample(questions, args.limit)
    retriever(qs[0].question, top_k=max(KS))  # first call loads BM25 and warms the sessions; not timed
    hits = {m: dict.fromkeys(KS, 0) for m in ("hybrid", "hybrid+rerank")}
    times: dict[str, list[float]] = {"hybrid": [], "hybrid+rerank": [], "rerank_only": []}
    for q in common.progress_bar(qs, "questions", args.no_progress):
        gold = doc_of[q.paragraph_id]
        for mode, rerank in (("hybrid", False), ("hybrid+rerank", True)):
            t: dict[str, float] = {}
            docs = [x.document for x in retriever(q.question, top_k=max(KS), timings=t, rerank=rerank)]
            for k in KS:
                hits[mode][k] += gold in docs[:k]
            times[mode].append(sum(t.values()))
            if rerank:
                times["rerank_only"].append(t["rerank_s"])
    n = max(1, len(qs))
    results = {
        "file": dev.name, "questions": len(qs), "chunks": version.n_chunks, "candidates": args.candidates,
        "threads": args.threads, "reranker": {"dir": common._rel(model_dir), **{k: reranker.config.get(k) for k in
                                                                                ("layers", "max_length", "variant")}},
        "recall": {m: {f"@{k}": round(100 * v / n, 2) for k, v in r.items()} for m, r in hits.items()},
        "retrieval_ms": {m: common.summary_ms(v) for m, v in times.items()},
        "note": "@20 with rerank equals fused @20 when --candidates is 20 (the reranker only reorders them)",
    }  # fmt: skip
    print({m: results["recall"][m] for m in hits}, {m: results["retrieval_ms"][m]["p50_ms"] for m in times}, file=sys.stderr)
    version.close()
    run.write(results)


if __name__ == "__main__":
    main()
