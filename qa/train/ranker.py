"""Fits the feature ranker (qa.ranker) on held-out SQuAD train articles and writes its ranker.json.

Why these questions: the embedder and the reader were trained on the other train articles, so
there the dense scores would look better than they are at question time. qa.train.data.mining holds out
every 50th article; its paragraphs are indexed by the product (one document each), every
question goes through the product's fusion, and the weights are fitted by a listwise softmax:
the gold paragraph's candidates against the others among fusion's top `--candidates`, with a
little L2. The L2 is chosen by leave-one-article-out recall@1 (then @5), and that recall is
written beside fusion's, so the weights are judged on articles they were not fitted on.
Dev sets are never read.

    python -m qa.train.ranker --train-file ../shared/data/squad/train-v1.1.json.gz --out qa/models/ranker
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from qa.evaluate import open_corpus
from qa.ranker import CONFIG_FILE, FEATURES, match_features
from qa.settings import Settings
from qa.squad import load_squad, sample
from qa.train.data.mining import write_holdout_squad

L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2)
KS = (1, 5, 20)


def candidate_features(
    train_file: Path, work: Path, candidates: int, holdout_every: int, limit: int = 0, progress: bool = True
) -> tuple[list[np.ndarray], list[np.ndarray], list[str], dict]:
    """Per held-out question: its candidates' features, which of them are the gold paragraph, its article."""
    from tqdm import tqdm

    held = write_holdout_squad(train_file, work / "holdout-train.json", holdout_every)
    data = load_squad(held)
    if not data.questions:
        raise ValueError(f"no held-out articles in {train_file} at --holdout-every {holdout_every}")
    pipe, doc_of, build, _ = open_corpus(held, data, work / "index", progress=progress)
    xs, golds, articles = [], [], []
    for q in tqdm(sample(data.questions, limit), desc="features", unit="q", disable=not progress):
        passages = pipe.retrieve(q.question, top_k=candidates, rank=False)
        xs.append(match_features(q.question, passages))
        golds.append(np.array([p.document == doc_of[q.paragraph_id] for p in passages], bool))
        articles.append(data.titles[q.paragraph_id])
    corpus = {"articles": len(set(data.titles.values())), "documents": build.n_documents, "chunks": build.n_chunks, "questions": len(xs)}
    return xs, golds, articles, corpus


def fit(xs: list[np.ndarray], golds: list[np.ndarray], l2: float) -> np.ndarray:
    """Weights maximising log Σ_gold softmax(x·w) over the questions whose gold is among the candidates."""
    import torch

    keep = [i for i, g in enumerate(golds) if g.any()]
    if not keep:
        raise ValueError("no question has its gold paragraph among the candidates: nothing to fit")
    n = max(len(golds[i]) for i in keep)
    x = torch.zeros(len(keep), n, len(FEATURES))
    gold = torch.zeros(len(keep), n, dtype=torch.bool)
    valid = torch.zeros(len(keep), n, dtype=torch.bool)
    for row, i in enumerate(keep):
        m = len(golds[i])
        x[row, :m], gold[row, :m], valid[row, :m] = torch.from_numpy(xs[i]), torch.from_numpy(golds[i]), True
    w = torch.zeros(len(FEATURES), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        s = (x @ w).masked_fill(~valid, -1e9)
        loss = (torch.logsumexp(s, 1) - torch.logsumexp(s.masked_fill(~gold, -1e9), 1)).mean() + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy()


def recall(xs: list[np.ndarray], golds: list[np.ndarray], w: np.ndarray | None) -> dict[str, float]:
    """Share of questions with a gold candidate in the top k (fusion's order when w is None)."""
    hits = dict.fromkeys(KS, 0)
    for x, g in zip(xs, golds):
        order = np.arange(len(g)) if w is None else np.argsort(-(x @ w), kind="stable")
        for k in KS:
            hits[k] += bool(g[order[:k]].any())
    return {f"@{k}": round(100 * v / max(1, len(xs)), 2) for k, v in hits.items()}


def leave_one_article_out(xs, golds, articles, l2: float) -> dict[str, float]:
    hits = dict.fromkeys(KS, 0.0)
    for a in sorted(set(articles)):
        train = [i for i, t in enumerate(articles) if t != a]
        test = [i for i, t in enumerate(articles) if t == a]
        if not any(golds[i].any() for i in train):
            continue
        w = fit([xs[i] for i in train], [golds[i] for i in train], l2)
        r = recall([xs[i] for i in test], [golds[i] for i in test], w)
        for k in KS:
            hits[k] += r[f"@{k}"] * len(test) / 100
    return {f"@{k}": round(100 * v / max(1, len(xs)), 2) for k, v in hits.items()}


def train(
    train_file: Path, out: Path, work: Path, candidates: int = 20, holdout_every: int = 50, limit: int = 0, progress: bool = True
) -> dict:
    t0 = time.time()
    xs, golds, articles, corpus = candidate_features(train_file, work, candidates, holdout_every, limit, progress)
    cv = {l2: leave_one_article_out(xs, golds, articles, l2) for l2 in L2_GRID}
    l2 = max(L2_GRID, key=lambda v: (cv[v]["@1"], cv[v]["@5"]))
    w = fit(xs, golds, l2)
    settings = Settings.from_env()
    config = {
        "features": list(FEATURES),
        "weights": {f: round(float(v), 6) for f, v in zip(FEATURES, w)},
        "candidates": candidates,
        "l2": l2,
        "trained_on": {"file": Path(train_file).name, "holdout_every": holdout_every, **corpus},
        "retrieval": {"embedder": settings.embedder, "dense_weight": settings.dense_weight, "rrf_k": settings.rrf_k},
        "recall": {
            "fusion": recall(xs, golds, None),
            "ranker_leave_one_article_out": cv[l2],
            "ranker_leave_one_article_out_by_l2": {str(k): v for k, v in cv.items()},
            "ranker_fitted_questions": recall(xs, golds, w),
        },
        "seconds": round(time.time() - t0, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return config


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-file", type=Path, required=True, help="SQuAD v1.1 train (plain or .gz)")
    p.add_argument("--out", type=Path, required=True, help=f"folder for {CONFIG_FILE} (qa/models/ranker ships)")
    p.add_argument("--work", type=Path, default=Path.home() / "qa-runs" / "ranker", help="scratch: the held-out corpus and its index")
    p.add_argument("--candidates", type=int, default=20, help="fused passages reordered per question")
    p.add_argument("--holdout-every", type=int, default=50, help="every n-th train article is held out (as qa.train.data.mining does)")
    p.add_argument("--limit", type=int, default=0, help="held-out questions used (0: all)")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    if not a.train_file.is_file():
        sys.exit(f"error: {a.train_file} not found")
    config = train(a.train_file, a.out, a.work, a.candidates, a.holdout_every, a.limit, not a.no_progress)
    print(json.dumps({k: config[k] for k in ("weights", "l2", "recall")}, indent=1))


if __name__ == "__main__":
    main()
