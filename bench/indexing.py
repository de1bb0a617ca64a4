"""Indexing speed: a full build of the SQuAD dev corpus (2,067 paragraph documents) and incremental rebuilds.

Builds go through `qa.indexer.build_index`, end to end as `qa index` runs them (model load,
reading, splitting, embedding, FAISS + BM25 + SQLite, fsync). The corpus is copied to
bench/work/indexing/seeds so that one document can be changed, one added and one removed.

Side by side in the same run, the same full rebuild is timed with the code of `--baseline-ref`
(a git commit, checked out into the work folder and run in a subprocess with the same
interpreter); the default is the indexing path before bf16 document embedding (sentence-transformers
fp32, batch 64).

    python bench/indexing.py [--limit 500] [--baseline-ref 6728d53]   # --limit: documents
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

EXTRA = "\n\nA sentence added by bench/indexing.py to change this document."
NEW_DOC = "The Aurora research station was founded in 1987 by the glaciologist Ingrid Halvorsen on the Kvitøya ice cap.\n"


def row(report) -> dict:
    return {
        "seconds": round(report.seconds, 2),
        "documents": report.n_documents,
        "chunks": report.n_chunks,
        "chunks_embedded": report.chunks_embedded,
        "chunks_reused": report.chunks_reused,
        "changes": report.changes.summary(),
        "full": report.full,
        "chunks_per_s": round(report.n_chunks / report.seconds, 1) if report.full and report.seconds else None,
    }


BASELINE_BUILD = """
import json, sys
from pathlib import Path
from qa.backends import open_store
from qa.indexer import build_index
seeds, index = Path(sys.argv[1]), Path(sys.argv[2])
build_index(open_store(index), seeds)  # first build: exports the query embedder, loads the model
r = build_index(open_store(index), seeds, full=True)
print(json.dumps({"seconds": r.seconds, "chunks": r.n_chunks, "documents": r.n_documents}))
"""


def baseline_full_rebuild(ref: str, seeds: Path, work: Path) -> dict:
    """The full rebuild, timed with the code at git `ref` (same interpreter, same corpus)."""
    src = work / f"baseline-{ref}"
    shutil.rmtree(src, ignore_errors=True)
    common.git_tree(ref, src, "qa")
    out = subprocess.run(
        [sys.executable, "-c", BASELINE_BUILD, str(seeds), str(work / "baseline-index")],
        cwd=src,
        env={**os.environ, "PYTHONPATH": str(src)},
        check=True,
        capture_output=True,
        text=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"ref": ref, "seconds": round(r["seconds"], 2), "chunks": r["chunks"], "chunks_per_s": round(r["chunks"] / r["seconds"], 1)}


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "indexing")
    p.add_argument("--baseline-ref", default="6728d53", help="git commit whose indexing path is timed side by side ('' skips it)")
    args = p.parse_args()
    run = common.Run("indexing", args)
    from qa.backends import open_store
    from qa.indexer import build_index

    bar = not args.no_progress
    dev = common.squad_file(args.squad, "dev-v1.1")
    source, _ = common.dev_corpus(dev, args.limit)
    seeds, index = args.work / "seeds", args.work / "index"
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(source, seeds)
    store = open_store(index)
    steps = {}

    def build(name: str, full: bool = False) -> None:
        print(f"{name} …", file=sys.stderr)
        steps[name] = row(build_index(store, seeds, full=full, show_progress_bar=bar))
        print(f"{name}: {steps[name]}", file=sys.stderr)

    build("first_full_build")  # also exports the ONNX query embedder once
    baseline = None
    if args.baseline_ref:
        print(f"full rebuild with the code at {args.baseline_ref} …", file=sys.stderr)
        baseline = baseline_full_rebuild(args.baseline_ref, seeds, args.work)
        print(f"baseline: {baseline}", file=sys.stderr)
    build("full_rebuild", full=True)
    build("no_change")
    files = sorted(seeds.rglob("*.txt"))
    target = files[len(files) // 2]
    original = target.read_text(encoding="utf-8")
    target.write_text(original + EXTRA, encoding="utf-8")
    build("change_one_document")
    added = seeds / "bench-added" / "new-document.txt"
    added.parent.mkdir()
    added.write_text(NEW_DOC, encoding="utf-8")
    build("add_one_document")
    shutil.rmtree(added.parent)
    build("remove_one_document")
    target.write_text(original, encoding="utf-8")
    results = {
        "file": dev.name,
        "documents": steps["full_rebuild"]["documents"],
        "chunks": steps["full_rebuild"]["chunks"],
        "chunks_per_s_full_build": steps["full_rebuild"]["chunks_per_s"],
        "steps": steps,
        "embed_precision": os.environ.get("QA_EMBED_PRECISION", "auto"),
        "baseline_full_rebuild": baseline,
    }
    if baseline:
        results["speedup_full_rebuild_vs_baseline"] = round(baseline["seconds"] / steps["full_rebuild"]["seconds"], 2)
    run.write(results)


if __name__ == "__main__":
    main()
