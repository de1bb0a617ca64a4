"""Should the retrieval score enter the answer score? BERTserini-style interpolation, measured.

Each question's top 10 passages are retrieved and read once, one passage at a time, so every
candidate answer keeps its reader margin m = log p(span) - log p(no answer here) and its
passage's rank. An answer then scores

    m + λ · g(passage)

with g the rank prior -log(1 + rank) (0 for the first passage) and, by what ordered the passages,
either the fused retrieval score log(s / s_first) (QA_RANKER=off) or the feature ranker's log-odds
against the first passage, `Passage.log_prior` (the default order; the reader's "ranker_prior").
The best answer is scored (SQuAD EM/F1, and whether it cites the gold paragraph) for a grid of λ
at top_k 1, 3, 5 and 10.

λ is chosen on open-corpus questions from the held-out SQuAD *train* articles (every 50th article,
which neither the reader nor the embedder trained on), and only then read off on dev: a prior
ships only if it helps on both.

On top of the chosen prior, answer aggregation is swept the same way: should an answer that several
passages give add their evidence up (`aggregate`, weight β for the repeats)? The candidates are saved
in --work, so `--reuse-candidates` sweeps again without reading.

    python -m bench.tune.interpolation --limit 600 --holdout-limit 0
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from bench import common

LAMBDAS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
TOP_KS = (1, 3, 5, 10)
PRIORS = {
    "rank": lambda r: -math.log1p(r["rank"]),
    "fused": lambda r: math.log(max(r["score"], 1e-12) / max(r["first"], 1e-12)),  # fusion's order only
    "ranker": lambda r: r["log_prior"],  # the ranker's order only
}


def candidates(path: Path, data, qs, index_dir: Path, progress: bool) -> tuple[list[list[dict]], dict, dict]:
    """Per question, every passage's best answers with (margin, rank, fused score)."""
    from tqdm import tqdm

    from qa.evaluate import open_corpus

    pipe, doc_of, build, _ = open_corpus(path, data, index_dir, progress=progress)
    pipe.warm_up()
    out = []
    for q in tqdm(qs, desc=path.stem, disable=not progress, unit="q"):
        passages = pipe.retrieve(q.question, top_k=max(TOP_KS))
        first = passages[0].score if passages else 0.0
        rows = []
        for rank, p in enumerate(passages):
            for a in pipe.reader(q.question, [p], top_n=5):
                rows.append(
                    {
                        "text": a.text,
                        "margin": a.margin,
                        "rank": rank,
                        "score": p.score,
                        "first": first,
                        "log_prior": p.log_prior,
                        "document": a.document,
                        "start": a.start,
                        "end": a.end,
                    }
                )
        out.append(rows)
    return out, doc_of, {"documents": build.n_documents, "chunks": build.n_chunks}


def cached_candidates(cache: Path, path: Path, limit: int, index_dir: Path, progress: bool, reuse: bool):
    """The sampled questions and their `candidates`, these saved in the scratch folder (`common.cached_json`)."""
    from qa.squad import load_squad, sample

    data = load_squad(path)
    qs = sample(data.questions, limit)
    key = {"file": str(path), "limit": limit, "index": str(index_dir), "reader": common.reader_info()}
    rows, doc_of, corpus = common.cached_json(cache, key, reuse, lambda: candidates(path, data, qs, index_dir, progress))
    return qs, rows, doc_of, corpus


def sweep(qs, rows_per_q, doc_of) -> list[dict]:
    from qa.squad import squad_metrics

    results = []
    ranked = any(r["log_prior"] is not None for rows in rows_per_q for r in rows)
    for prior, g in PRIORS.items():
        if prior == ("fused" if ranked else "ranker"):
            continue  # the score this prior reads is not there: fusion's was replaced by the ranker's, or no ranker ran
        for lam in LAMBDAS:
            if lam == 0.0 and prior != "rank":
                continue  # λ = 0 is the reader alone, the same for every prior: listed once
            for k in TOP_KS:
                preds, cited = {}, 0
                for q, rows in zip(qs, rows_per_q):
                    pool = [r for r in rows if r["rank"] < k]
                    best = max(pool, key=lambda r: r["margin"] + lam * g(r), default=None)
                    preds[q.id] = best["text"] if best else ""
                    cited += bool(best) and best["document"] == doc_of[q.paragraph_id]
                m = squad_metrics(qs, preds)
                results.append(
                    {
                        "prior": prior,
                        "lambda": lam,
                        "top_k": k,
                        "f1": round(m["f1"], 2),
                        "exact": round(m["exact"], 2),
                        "cites_gold": round(100 * cited / max(1, len(qs)), 2),
                    }
                )
    return results


BETAS = (0.0, 0.1, 0.25, 0.5, 1.0)


def aggregate(rows: list[dict], key, beta: float, match: str) -> dict | None:
    """The best answer once repeats in other passages add their evidence (answer aggregation, Wang et al.
    2018): each distinct answer scores log(e^s_best + β·Σ e^s_other), s = key(row), one term per passage
    and per place in a document (chunks overlap, so one mention can be read in two passages). β = 0 is the
    max. `match`: "text" groups equal normalised texts, "same" also overlaps and containment (qa's merge rule)."""
    from qa.reader import same_answer
    from qa.schema import Answer
    from qa.squad import normalize_answer

    def counted_already(c: Answer, a: Answer) -> bool:
        return c.passage_index == a.passage_index or (c.document == a.document and c.start < a.end and a.start < c.end)

    groups: list[dict] = []
    for r in sorted(rows, key=lambda r: -key(r)):
        a = Answer(r["text"], 0.0, r["document"], r["start"], r["end"], "", 0, passage_index=r["rank"])
        for g in groups:
            hit = same_answer(g["answer"], a) if match == "same" else normalize_answer(g["answer"].text) == normalize_answer(a.text)
            if hit:
                if beta > 0 and not any(counted_already(c, a) for c in g["counted"]):
                    g["counted"].append(a)
                    g["s"] = float(np.logaddexp(g["s"], math.log(beta) + key(r)))
                break
        else:
            groups.append({"answer": a, "row": r, "s": key(r), "counted": [a]})
    best = max(groups, key=lambda g: g["s"], default=None)
    return best["row"] if best else None


def aggregation_sweep(qs, rows_per_q, doc_of, prior: str, lam: float) -> list[dict]:
    """Answer aggregation across passages on top of the chosen prior: β and the grouping rule."""
    from qa.squad import squad_metrics

    g = PRIORS[prior]
    results = []
    for match in ("text", "same"):
        for beta in BETAS:
            if beta == 0.0 and match != "text":
                continue  # β = 0 is no aggregation, the same for either rule
            for k in TOP_KS:
                preds, cited = {}, 0
                for q, rows in zip(qs, rows_per_q):
                    pool = [r for r in rows if r["rank"] < k]
                    best = aggregate(pool, lambda r: r["margin"] + lam * g(r), beta, match)
                    preds[q.id] = best["text"] if best else ""
                    cited += bool(best) and best["document"] == doc_of[q.paragraph_id]
                m = squad_metrics(qs, preds)
                results.append(
                    {
                        "match": match,
                        "beta": beta,
                        "top_k": k,
                        "f1": round(m["f1"], 2),
                        "exact": round(m["exact"], 2),
                        "cites_gold": round(100 * cited / max(1, len(qs)), 2),
                    }
                )
    return results


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "interpolation")
    p.add_argument("--top-k", type=int, default=5, help="the top_k λ is chosen for (the product's default)")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="where the dev corpus index is built (reused when current)")
    common.add_holdout_arg(p)
    p.add_argument("--holdout-limit", type=int, default=None, help="held-out train questions (0 = all; default: --limit)")
    p.add_argument(
        "--reuse-candidates",
        action="store_true",
        help="read the candidates saved in --work by an earlier run with the same file, sample and reader",
    )
    args = p.parse_args()
    run = common.Run("interpolation", args)
    held = common.holdout_train(args)
    dev = common.squad_file(args.squad, "dev-v1.1")
    limit = args.limit if args.holdout_limit is None else args.holdout_limit
    sets = {"holdout_train": (held, args.work / "holdout-index", limit), "dev": (dev, args.index, args.limit)}
    out: dict = {
        "rule": "answer score = margin + λ·g(passage); λ and g chosen on holdout_train at --top-k, then read on dev",
        "lambdas": list(LAMBDAS),
        "top_ks": list(TOP_KS),
    }
    read = {}
    for name, (path, index, n) in sets.items():
        read[name] = cached_candidates(args.work / f"candidates-{name}.json", path, n, index, not args.no_progress, args.reuse_candidates)
        qs, rows, doc_of, corpus = read[name]
        out[name] = {"questions": len(qs), **corpus, "sweep": sweep(qs, rows, doc_of)}
    base = {r["top_k"]: r for r in out["holdout_train"]["sweep"] if r["lambda"] == 0.0}
    at_k = [r for r in out["holdout_train"]["sweep"] if r["top_k"] == args.top_k]
    best = max(at_k, key=lambda r: (r["f1"], -r["lambda"]))
    dev = {(r["prior"], r["lambda"], r["top_k"]): r for r in out["dev"]["sweep"]}
    out["chosen"] = {
        "prior": best["prior"],
        "lambda": best["lambda"],
        "top_k": args.top_k,
        "holdout_train_f1": best["f1"],
        "holdout_train_f1_at_0": base[args.top_k]["f1"],
        "dev_f1": dev[(best["prior"], best["lambda"], args.top_k)]["f1"],
        "dev_f1_at_0": dev[("rank", 0.0, args.top_k)]["f1"],
    }
    print(json.dumps(out["chosen"]), file=sys.stderr)
    # then: should an answer found in several passages add their evidence up? (on top of the chosen prior)
    for name, (qs, rows, doc_of, _) in read.items():
        out[name]["aggregation"] = aggregation_sweep(qs, rows, doc_of, best["prior"], best["lambda"])
    agg = [r for r in out["holdout_train"]["aggregation"] if r["top_k"] == args.top_k]
    top = max(agg, key=lambda r: (r["f1"], -r["beta"]))
    dev_agg = {(r["match"], r["beta"], r["top_k"]): r for r in out["dev"]["aggregation"]}
    out["chosen_aggregation"] = {
        "match": top["match"],
        "beta": top["beta"],
        "top_k": args.top_k,
        "holdout_train_f1": top["f1"],
        "dev_f1": dev_agg[(top["match"], top["beta"], args.top_k)]["f1"],
        "dev_f1_at_0": dev_agg[("text", 0.0, args.top_k)]["f1"],
    }
    print(json.dumps(out["chosen_aggregation"]), file=sys.stderr)
    run.write(out)


if __name__ == "__main__":
    main()
