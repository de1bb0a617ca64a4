"""Warm query timing in a process of its own, so its peak memory is the product's, not the benchmark's.

    python bench/ask_worker.py --index DIR --questions FILE.json [--top-k 5]

Prints one JSON object: model/index load time, first question (lazy BM25 load), per-stage
timings of the remaining questions (Result.timings) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--questions", type=Path, required=True, help="JSON list of question strings")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--mode", default="hybrid")
    args = p.parse_args()
    from qa.pipeline import QAPipeline

    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    t = time.perf_counter()
    pipe = QAPipeline(args.index)
    pipe.warm_up()
    load_s = time.perf_counter() - t
    rss_loaded = common.peak_rss_mb()
    t = time.perf_counter()
    first = pipe(questions[0], top_k=args.top_k, mode=args.mode)
    first_s = time.perf_counter() - t
    stages: dict[str, list[float]] = {"embed_s": [], "search_s": [], "rank_s": [], "read_s": [], "total_s": []}
    answers = [first.to_json()]
    for q in questions[1:] or questions[:1]:
        r = pipe(q, top_k=args.top_k, mode=args.mode)
        for k in stages:
            stages[k].append(r.timings.get(k, 0.0))
        answers.append(r.to_json())
    version = pipe.version  # the open index version that answered
    out = {
        "n_chunks": version.n_chunks,
        "faiss": version.manifest.get("faiss"),
        "load_s": round(load_s, 3),
        "first_question_ms": round(1000 * first_s, 1),
        "warm": {k.removesuffix("_s"): common.summary_ms(v) for k, v in stages.items()},
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(common.peak_rss_mb(), 1),
        "answers": answers,
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
