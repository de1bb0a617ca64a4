"""Retrieval order: fusion alone against fusion + the feature ranker, side by side.

Every paragraph of a SQuAD file is a document (as in bench/open_qa.py). Each question is
retrieved twice by the same pipeline, in alternation: fusion's order (`rank=False`) and the
product's order (fusion, then the shipped feature ranker, QA_RANKER; `rank=True`).
Per order: recall@1/5/20 of the gold paragraph, and retrieval time per question (query embedding,
search, ranking) p50/p95. Run on SQuAD v1.1 dev and on the held-out train articles the ranker was
fitted on (its fitted figures, for reference: the leave-one-article-out ones are in ranker.json).
What it guards: the ranker must raise recall@1 and @5 on dev and keep retrieval well inside a
60 ms p50 budget on 2 threads.

    python bench/ranking.py --limit 2000
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

KS = (1, 5, 20)


def measure(path: Path, index: Path, limit: int, progress: bool) -> dict:
    from qa.evaluate import open_corpus
    from qa.squad import load_squad, sample

    data = load_squad(path)
    pipe, doc_of, build, _ = open_corpus(path, data, index, progress=progress)
    pipe.warm_up()
    if pipe.ranker is None:
        sys.exit("no ranker: QA_RANKER is off and none ships in qa/models/ranker")
    qs = sample(data.questions, limit)
    for rank in (False, True):  # loads BM25 and the ranker; not timed
        pipe.retrieve(qs[0].question, top_k=max(KS), rank=rank)
    orders = {"fusion": False, "fusion + ranker": True}
    hits = {name: dict.fromkeys(KS, 0) for name in orders}
    secs: dict[str, list[float]] = {name: [] for name in orders}
    for q in common.progress_bar(qs, path.stem, not progress):
        gold = doc_of[q.paragraph_id]
        for name, rank in orders.items():
            t = time.perf_counter()
            docs = [p.document for p in pipe.retrieve(q.question, top_k=max(KS), rank=rank)]
            secs[name].append(time.perf_counter() - t)
            for k in KS:
                hits[name][k] += gold in docs[:k]
    n = max(1, len(qs))
    rows = {name: {**{f"@{k}": round(100 * v / n, 2) for k, v in hits[name].items()}, **common.summary_ms(secs[name])} for name in orders}
    return {"questions": len(qs), "documents": build.n_documents, "chunks": build.n_chunks, "orders": rows}


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "ranking")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="the SQuAD dev corpus index (reused when current)")
    p.add_argument("--holdout-limit", type=int, default=0, help="held-out train questions (0 = all)")
    common.add_holdout_arg(p)
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads (the query embedder)")
    args = p.parse_args()
    os.environ["QA_THREADS"] = str(args.threads)
    run = common.Run("ranking", args)
    from qa.settings import Settings

    s = Settings.from_env()
    held = common.holdout_train(args)
    out = {
        "ranker": s.ranker,
        "threads": args.threads,
        "dev": measure(common.squad_file(args.squad, "dev-v1.1"), args.index, args.limit, not args.no_progress),
        "holdout_train_fitted": measure(held, args.work / "holdout-index", args.holdout_limit, not args.no_progress),
    }
    for name in ("dev", "holdout_train_fitted"):
        print(name, out[name]["orders"], file=sys.stderr)
    run.write(out)


if __name__ == "__main__":
    main()
