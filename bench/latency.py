"""What a person waits for: cold `qa ask` process time, warm per-question time by stage, peak memory.

Measured on the seed index (the repo's seeds/) and on the 2,067-paragraph SQuAD dev corpus.
Cold = a new `qa ask --json` process each time (page cache warm), median of --cold-runs.
Warm = one long-lived process (bench/ask_worker.py) answering --questions questions;
Result.timings gives embed / search / read; the first question is reported apart
(it loads BM25 lazily). Memory is each child's own peak RSS (os.wait4).

With --baseline-ref, the product as committed at that git commit (its `qa` package and shipped
models, unpacked into the work folder) is measured side by side in the same run, on the same index
and questions: cold runs alternate between the two, the warm workers run one after the other.

    python bench/latency.py --cold-runs 5 --questions 200 [--baseline-ref 5ce90f9]
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def qa_command() -> list[str]:
    """The installed console script when there is one, as a person would type it."""
    script = Path(sys.executable).parent / "qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa.cli"]


def tree_at(ref: str, work: Path) -> Path:
    """The `qa` package (with its models) and `bench/` as committed at git `ref`, unpacked into the scratch folder."""
    dest = work / f"tree-{ref}"
    if not (dest / "qa" / "models" / "reader" / "reader.onnx").exists():
        common.git_tree(ref, dest, "qa", "bench")
    return dest


def cold(
    index: Path, seeds: Path, questions: list[str], runs: int, top_k: int, progress: bool, trees: dict[str, Path | None] | None = None
) -> dict[str, dict]:
    """Cold runs per code tree (name -> unpacked tree, None = this checkout), alternating run by run."""
    trees = trees or {"shipped": None}
    walls: dict[str, list[float]] = {r: [] for r in trees}
    rss: dict[str, list[float]] = {r: [] for r in trees}
    for i in common.progress_bar(range(runs), "cold qa ask", not progress, unit="run"):
        q = questions[i % len(questions)]
        for name, tree in trees.items():
            cmd = qa_command() if tree is None else [sys.executable, "-m", "qa.cli"]  # -m from the tree: its qa first
            wall, peak, rc, out, err = common.run_child(
                [*cmd, "ask", q, "--index", str(index.resolve()), "--seeds", str(seeds.resolve()), "--top-k", str(top_k), "--json"],
                cwd=tree,
            )
            if rc != 0:
                sys.exit(f"qa ask failed ({rc}):\n{err[-2000:]}")
            json.loads(out)  # a real answer object came back
            walls[name].append(wall)
            rss[name].append(peak)
    return {
        r: {
            "runs": runs,
            "wall_s_median": round(statistics.median(walls[r]), 3),
            "wall_s_min": round(min(walls[r]), 3),
            "wall_s_max": round(max(walls[r]), 3),
            "peak_rss_mb_median": round(statistics.median(rss[r]), 1),
        }
        for r in trees
    }


def warm(index: Path, questions: list[str], top_k: int, qfile: Path, tree: Path | None = None) -> dict:
    qfile.write_text(json.dumps(questions), encoding="utf-8")
    worker = (tree or common.ROOT) / "bench" / "ask_worker.py"  # its bench/common.py puts its own tree first on sys.path
    wall, peak, rc, out, err = common.run_child(
        [sys.executable, str(worker), "--index", str(index.resolve()), "--questions", str(qfile.resolve()), "--top-k", str(top_k)], cwd=tree
    )
    if rc != 0:
        sys.exit(f"worker failed:\n{err[-2000:]}")
    res = json.loads(out)
    answered = sum(not a["no_answer"] for a in res.pop("answers"))
    return {**res, "questions": len(questions) - 1, "answered": answered, "worker_peak_rss_mb": round(peak, 1)}


def measure(name: str, seeds: Path, index: Path, questions: list[str], args, progress: bool) -> dict:
    from qa.backends import open_store
    from qa.indexer import build_index

    report = build_index(open_store(index), seeds, show_progress_bar=progress)
    print(f"{name}: {report.summary()}", file=sys.stderr)
    out = {"documents": report.n_documents, "chunks": report.n_chunks, "top_k": args.top_k}
    trees: dict[str, Path | None] = {"shipped": None}
    if args.baseline_ref:
        trees[args.baseline_ref] = tree_at(args.baseline_ref, args.work)
    colds = cold(index, seeds, questions, args.cold_runs, args.top_k, progress, trees)
    out["cold"] = colds["shipped"]
    out["warm"] = warm(index, questions, args.top_k, args.work / f"{name}-questions.json")
    if args.baseline_ref:
        ref = args.baseline_ref
        other = warm(index, questions, args.top_k, args.work / f"{name}-questions.json", trees[ref])
        out["baseline"] = {
            "ref": ref,
            "cold": colds[ref],
            "warm": other,
            "warm_p50_ratio": round(out["warm"]["warm"]["total"]["p50_ms"] / other["warm"]["total"]["p50_ms"], 3),
            "read_p50_ratio": round(out["warm"]["warm"]["read"]["p50_ms"] / other["warm"]["read"]["p50_ms"], 3),
        }
    print(f"{name}: {json.dumps(out)}", file=sys.stderr)
    return out


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "latency")
    p.add_argument("--seeds", type=Path, default=common.ROOT / "seeds", help="the seed documents")
    p.add_argument("--cold-runs", type=int, default=5)
    p.add_argument("--questions", type=int, default=200, help="warm questions on the SQuAD index (--limit is an alias)")
    p.add_argument("--seed-questions", type=int, default=30, help="warm questions on the seed index (the list is cycled)")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--no-squad", action="store_true", help="seed index only")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="where the SQuAD dev corpus index is built (reused when current)")
    p.add_argument("--baseline-ref", default="", help="git commit whose product (code and models) is timed side by side ('' skips it)")
    args = p.parse_args()
    if os.environ.get("QA_READER_DIR") and args.baseline_ref:
        p.error("QA_READER_DIR is set: the comparison needs each side's own shipped reader")
    run = common.Run("latency", args)
    progress = not args.no_progress
    args.work.mkdir(parents=True, exist_ok=True)
    seed_qs = [common.SEED_QUESTIONS[i % len(common.SEED_QUESTIONS)] for i in range(args.seed_questions + 1)]
    results = {"indexes": {}}
    results["indexes"]["seed"] = measure("seed", args.seeds, args.work / "seed-index", seed_qs, args, progress)
    if not args.no_squad:
        from qa.squad import load_squad

        dev = common.squad_file(args.squad, "dev-v1.1")
        seeds, _ = common.dev_corpus(dev)
        n = args.limit or args.questions
        qs = [q.question for q in random.Random(0).sample(load_squad(dev).questions, n + 1)]
        results["indexes"]["squad-dev"] = measure("squad-dev", seeds, args.index, qs, args, progress)
    run.write(results)


if __name__ == "__main__":
    main()
