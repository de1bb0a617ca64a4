"""The cross-encoder reranker: how many fused candidates, how many tokens of each, and how much
fusion's order still counts, chosen on held-out train questions within the latency budget (issue 12).

Every paragraph of a SQuAD file is a document (as in bench/open_qa.py). For each question the
product's hybrid retrieval gives its fused top --candidates (timed: query embedding + search);
the reranker then scores each of them alone (one ONNX run per passage, as the product does) at
each --lengths, and every run is timed. Because a passage's score and time do not depend on the
other candidates, every configuration is read off these numbers exactly:

    candidates n (the fused top n are reordered), max_length L, and μ in logit - μ·log(fused rank)

Per configuration: recall@1/5/20 of the gold paragraph, and retrieval time per question (fused
retrieval + the n reranker runs), p50/p95. The configuration that ships is chosen on questions
from the held-out SQuAD *train* articles (every 50th; neither the reranker, the reader nor the
embedder trained on them): the best recall@1 (then @5) with p50 <= --budget-ms. Only then is it
read off on SQuAD v1.1 dev, with fusion alone beside it. Issue 12's targets: @1 >= 85, @5 >= 97,
p50 <= 60 ms on 2 threads.

    python bench/rerank.py --reranker qa/models/reranker --limit 2000 --holdout-limit 1000
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

KS = (1, 5, 20)
PRIORS = (0.0, 0.25, 0.5, 1.0, 2.0)


def measure(path: Path, index: Path, model_dir: Path, lengths: list[int], candidates: int, limit: int, threads: int,
            progress: bool) -> tuple[list[dict], dict]:  # fmt: skip
    """Per question: the gold paragraph's document, the fused top `candidates` documents, the fused
    retrieval time, and each candidate's logit and run time at each length."""
    from qa.evaluate import open_corpus
    from qa.reader.squad import load_squad, sample
    from qa.reranker import CrossEncoderReranker

    data = load_squad(path)
    pipe, doc_of, build, _ = open_corpus(path, data, index, progress=progress)
    pipe.warm_up()
    rerankers = {n: CrossEncoderReranker(model_dir, threads, max_length=n) for n in lengths}
    qs = sample(data.questions, limit)
    warm = [p.text for p in pipe.retrieve(qs[0].question, top_k=candidates, rerank=False)]  # loads BM25; not timed
    for r in rerankers.values():
        r.scores(qs[0].question, warm)
    rows = []
    for q in common.progress_bar(qs, path.stem, not progress):
        t: dict[str, float] = {}
        passages = pipe.retrieve(q.question, top_k=max(candidates, max(KS)), rerank=False, timings=t)
        row = {"gold": doc_of[q.paragraph_id], "docs": [p.document for p in passages], "fused_s": sum(t.values()), "by_length": {}}
        for n, r in rerankers.items():
            logits, secs = [], []
            for p in passages[:candidates]:
                t0 = time.perf_counter()
                logits.append(float(r.scores(q.question, [p.text])[0]))
                secs.append(time.perf_counter() - t0)
            row["by_length"][n] = (logits, secs)
        rows.append(row)
    return rows, {"questions": len(qs), "documents": build.n_documents, "chunks": build.n_chunks}


def sweep(rows: list[dict], lengths: list[int], candidate_counts: list[int]) -> list[dict]:
    out = []
    fused_hits = dict.fromkeys(KS, 0)
    fused_ms = []
    for row in rows:
        for k in KS:
            fused_hits[k] += row["gold"] in row["docs"][:k]
        fused_ms.append(row["fused_s"])
    n_q = max(1, len(rows))
    out.append({"config": "fusion alone", "candidates": 0, "max_length": 0, "mu": None,
                **{f"@{k}": round(100 * v / n_q, 2) for k, v in fused_hits.items()}, **common.summary_ms(fused_ms)})  # fmt: skip
    for length in lengths:
        for n in candidate_counts:
            for mu in PRIORS:
                hits, times = dict.fromkeys(KS, 0), []
                for row in rows:
                    logits, secs = row["by_length"][length]
                    score = [logits[i] - mu * math.log(i + 1) for i in range(min(n, len(logits)))]
                    order = sorted(range(len(score)), key=lambda i: (-score[i], i))
                    docs = [row["docs"][i] for i in order] + row["docs"][len(score) :]
                    for k in KS:
                        hits[k] += row["gold"] in docs[:k]
                    times.append(row["fused_s"] + sum(secs[:n]))
                out.append({"config": f"rerank top {n}, {length} tokens, μ {mu}", "candidates": n, "max_length": length, "mu": mu,
                            **{f"@{k}": round(100 * v / n_q, 2) for k, v in hits.items()}, **common.summary_ms(times)})  # fmt: skip
    return out


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "rerank")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="the SQuAD dev corpus index (reused when current)")
    p.add_argument("--reranker", type=Path, default=None, help="reranker model folder (default: the shipped one)")
    p.add_argument("--candidates", type=int, default=20, help="most fused passages the reranker reads per question")
    p.add_argument("--counts", default="10,15,20", help="candidate counts compared (each <= --candidates)")
    p.add_argument("--lengths", default="96,128", help="max_length values compared (question + passage word pieces)")
    p.add_argument("--holdout-limit", type=int, default=1000, help="held-out train questions (0 = all)")
    common.add_holdout_arg(p)
    p.add_argument("--budget-ms", type=float, default=60.0, help="retrieval p50 the chosen configuration must keep within")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads (query embedder and reranker)")
    args = p.parse_args()
    os.environ["QA_THREADS"] = str(args.threads)  # the query embedder's session reads it
    os.environ["QA_RERANK"] = "off"  # the pipelines give fusion's order; this script reranks
    run = common.Run("rerank", args)
    from qa.reranker import choose_reranker_dir

    model_dir = choose_reranker_dir(str(args.reranker) if args.reranker else "auto")
    if model_dir is None:
        sys.exit("no reranker shipped in qa/models/reranker; pass --reranker DIR (written by qa.reranker_train)")
    lengths = [int(x) for x in args.lengths.split(",")]
    counts = [int(x) for x in args.counts.split(",") if int(x) <= args.candidates]
    held = common.holdout_train(args)
    sets = {"holdout_train": (held, args.work / "holdout-index", args.holdout_limit),
            "dev": (common.squad_file(args.squad, "dev-v1.1"), args.index, args.limit)}  # fmt: skip
    out: dict = {"reranker": common._rel(model_dir), "threads": args.threads, "budget_ms": args.budget_ms,
                 "rule": "the best holdout_train recall@1 (then @5) with retrieval p50 <= budget; then read on dev"}  # fmt: skip
    for name, (path, index, limit) in sets.items():
        rows, corpus = measure(path, index, model_dir, lengths, args.candidates, limit, args.threads, not args.no_progress)
        out[name] = {**corpus, "sweep": sweep(rows, lengths, counts)}
    within = [r for r in out["holdout_train"]["sweep"] if r["candidates"] and r["p50_ms"] <= args.budget_ms]
    best = max(within, key=lambda r: (r["@1"], r["@5"], -r["p50_ms"]), default=None)
    fused_dev = out["dev"]["sweep"][0]
    dev_of = {r["config"]: r for r in out["dev"]["sweep"]}
    out["chosen"] = best and {"config": best["config"], "candidates": best["candidates"], "max_length": best["max_length"],
                              "mu": best["mu"], "holdout_train": {k: best[k] for k in ("@1", "@5", "@20", "p50_ms")},
                              "dev": {k: dev_of[best["config"]][k] for k in ("@1", "@5", "@20", "p50_ms", "p95_ms")},
                              "dev_fusion_alone": {k: fused_dev[k] for k in ("@1", "@5", "@20", "p50_ms", "p95_ms")}}  # fmt: skip
    print(json.dumps(out["chosen"]), file=sys.stderr)
    run.write(out)


if __name__ == "__main__":
    main()
