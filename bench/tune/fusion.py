"""Hybrid fusion weights, chosen on SQuAD *train* questions and then measured on dev.

Dense (MiniLM) and BM25 lists are fused by weighted reciprocal rank: w / (k + rank), BM25's
weight 1. The grid over the dense weight and k is scored on a train-only corpus (the paragraphs
of `--train-articles` random train articles, each indexed by the product as a document) with a
sample of their questions: recall@1 first, then recall@5. The chosen pair is then measured on
open-corpus dev (all 2,067 paragraphs), side by side with equal weights and k 60 (the old
fusion), on the same questions and the same two ranked lists: dev is never used to choose.

With a fine-tuned embedder (QA_EMBEDDER, the shipped one), tune on the train articles it never saw:
pass `--holdout` (every `--holdout-every`-th article, the ones `qa.train.data.mining` holds out),
otherwise its dense list looks better on train than it is.

    python -m bench.tune.fusion --holdout [--train-questions 3000] [--dev-questions 2000]
"""

from __future__ import annotations

import os
import random
import re
import sys
from pathlib import Path

from bench import common

WEIGHTS = [0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5]
KS = [5, 10, 20, 30, 60, 100]
DEPTH = 50  # candidates taken from each list, as the product does (Settings.retrieval_candidates)


def ranked_lists(version, questions) -> list[tuple[list[int], list[int]]]:
    emb = version.query_embedder()
    out = []
    for b in range(0, len(questions), 256):
        batch = questions[b : b + 256]
        vecs = emb([q.question for q in batch])
        for q, v in zip(batch, vecs):
            dense = [c for c, _ in version.search_dense(v, DEPTH)]
            lexical = [c for c, _ in version.search_lexical(q.question, DEPTH)]
            out.append((dense, lexical))
    return out


def recall(lists, golds, owner, w: float, k: int) -> dict[str, float]:
    from qa.retriever import reciprocal_rank_fusion

    hits = {1: 0, 5: 0, 20: 0}
    for (dense, lexical), gold in zip(lists, golds):
        fused = reciprocal_rank_fusion([dense, lexical], k, [w, 1.0])
        docs = [owner[c] for c in sorted(fused, key=lambda c: -fused[c])[:20]]
        for n in hits:
            hits[n] += gold in docs[:n]
    return {f"@{n}": round(100 * v / max(1, len(golds)), 2) for n, v in hits.items()}


def corpus(seeds: Path, paragraphs: dict[str, str], titles: dict[str, str]) -> dict[str, str]:
    seeds.mkdir(parents=True, exist_ok=True)
    ids = {}
    for pid, text in paragraphs.items():
        doc_id = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', titles[pid])[:60]}/{pid}.txt"
        f = seeds / doc_id
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
        ids[pid] = doc_id
    return ids


def chunk_owner(version) -> dict[int, str]:
    owner = {}
    for doc_id, info in version.documents.items():
        first, count = info["chunks"]
        owner.update({c: doc_id for c in range(first, first + count)})
    return owner


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "fusion")
    p.add_argument("--train-articles", type=int, default=45)
    p.add_argument("--train-questions", type=int, default=3000)
    p.add_argument("--dev-questions", type=int, default=2000)
    p.add_argument("--holdout", action="store_true", help="tune on the held-out train articles instead of --train-articles random ones")
    common.add_holdout_arg(p)
    args = p.parse_args()
    run = common.Run("fusion", args)
    import shutil

    from qa.backends import open_store
    from qa.indexer import build_index
    from qa.squad import load_squad, sample

    shutil.rmtree(args.work, ignore_errors=True)
    train = load_squad(common.squad_file(args.squad, "train-v1.1"))
    titles = sorted(set(train.titles.values()))
    if args.holdout:
        from qa.train.data.mining import holdout_articles

        chosen_titles = holdout_articles(train, args.holdout_every)
    else:
        chosen_titles = set(random.Random(7).sample(titles, args.train_articles))
    paras = {pid: t for pid, t in train.paragraphs.items() if train.titles[pid] in chosen_titles}
    doc_of = corpus(args.work / "train-seeds", paras, train.titles)
    store = open_store(args.work / "train-index")
    build_index(store, args.work / "train-seeds", show_progress_bar=not args.no_progress)
    version = store.open()
    qs = sample([q for q in train.questions if q.paragraph_id in paras], args.train_questions, seed=1)
    lists, golds, owner = ranked_lists(version, qs), [doc_of[q.paragraph_id] for q in qs], chunk_owner(version)
    grid = {f"w={w} k={k}": recall(lists, golds, owner, w, k) for w in WEIGHTS for k in KS}
    best = max(grid, key=lambda key: (grid[key]["@1"], grid[key]["@5"]))
    w_best, k_best = (float(x.split("=")[1]) for x in best.split())
    print(f"train: chose {best} {grid[best]} (equal weights, k 60: {grid['w=1.0 k=60']})", file=sys.stderr)

    dev_file = common.squad_file(args.squad, "dev-v1.1")
    seeds, dev_doc_of = common.dev_corpus(dev_file)
    dstore = open_store(args.work / "dev-index")
    build_index(dstore, seeds, show_progress_bar=not args.no_progress)
    dversion = dstore.open()
    dev = load_squad(dev_file)
    dqs = sample(dev.questions, args.dev_questions)
    dlists, dgolds, downer = ranked_lists(dversion, dqs), [dev_doc_of[q.paragraph_id] for q in dqs], chunk_owner(dversion)
    dev_results = {
        "equal weights, k 60 (old)": recall(dlists, dgolds, downer, 1.0, 60),
        f"dense {w_best}, k {int(k_best)} (chosen on train)": recall(dlists, dgolds, downer, w_best, int(k_best)),
        "dense only": recall([(d, []) for d, _ in dlists], dgolds, downer, 1.0, 60),
        "bm25 only": recall([([], lx) for _, lx in dlists], dgolds, downer, 1.0, 60),
    }
    print(f"dev: {dev_results}", file=sys.stderr)
    run.write(
        {
            "embedder": os.environ.get("QA_EMBEDDER", "auto"),
            "train": {
                "articles": len(chosen_titles),
                "documents": len(paras),
                "questions": len(qs),
                "grid": grid,
                "chosen": {"dense_weight": w_best, "rrf_k": int(k_best), "recall": grid[best]},
            },
            "dev": {"documents": len(dversion.documents), "chunks": dversion.n_chunks, "questions": len(dqs), "recall": dev_results},
        }
    )


if __name__ == "__main__":
    main()
