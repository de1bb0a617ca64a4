"""Open-corpus QA on SQuAD v1.1 dev: every paragraph (2,067) is a document, questions answered end to end.

Reuses `qa.evaluate.evaluate_open` (the product's own indexing, retrieval and reading; EM/F1 and
recall@1/5/20 of the gold paragraph for dense, BM25 and hybrid). The top_k sweep runs on the
same --limit sample for every k; the index is built once (later calls rebuild incrementally).

    python bench/open_qa.py --limit 1000 --top-k 1,3,5,10
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def choose(rows: list[dict], tolerance: float) -> int:
    """The smallest top_k whose F1 is within `tolerance` points of the best: reading more passages costs time."""
    best = max(r["f1"] for r in rows)
    return min(r["top_k"] for r in rows if r["f1"] >= best - tolerance)


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "open_qa")
    p.add_argument("--top-k", default="1,3,5,10", help="comma-separated passages-to-read values to sweep")
    p.add_argument("--tolerance", type=float, default=1.0, help="F1 points a smaller top_k may lose and still be chosen")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="where the corpus index is built (reused when current)")
    p.add_argument("--reader", type=Path, default=None, help="reader folder (default: the shipped one)")
    args = p.parse_args()
    run = common.Run("open_qa", args)
    from qa.evaluate import evaluate_open

    dev = common.squad_file(args.squad, "dev-v1.1")
    index = args.index
    rows = []
    for k in [int(x) for x in args.top_k.split(",")]:
        print(f"top_k={k}", file=sys.stderr)
        r = evaluate_open(dev, limit=args.limit, top_k=k, index_dir=index, reader_dir=args.reader, progress=not args.no_progress)
        r["top_k"] = k
        rows.append(r)
        print({x: r[x] for x in ("top_k", "exact", "f1", "latency_ms_p50")}, file=sys.stderr)
    first = rows[0]
    results = {
        "file": dev.name,
        "questions": first["questions"],
        "documents": first["documents"],
        "chunks": first["chunks"],
        "first_index_build_s": round(first["index_build_s"], 1),
        "recall": first["recall"],
        "sweep": [
            {"top_k": r["top_k"], "exact": round(r["exact"], 2), "f1": round(r["f1"], 2), "latency_ms_p50": round(r["latency_ms_p50"], 1)}
            for r in rows
        ],
        "chosen_top_k": choose(rows, args.tolerance),
        "rule": f"smallest top_k within {args.tolerance} F1 of the best",
    }
    run.write(results)


if __name__ == "__main__":
    main()
