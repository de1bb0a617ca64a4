"""Indexing speed: a full build of the SQuAD dev corpus (2,067 paragraph documents) and incremental rebuilds.

Builds go through `qa.indexer.build_index`, end to end as `qa index` runs them (model load,
reading, splitting, embedding, FAISS + BM25 + SQLite, fsync). The corpus is copied to
bench/work/indexing/seeds so that one document can be changed, one added and one removed.

    python bench/indexing.py [--limit 500]   # --limit: documents (first paragraphs of dev)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

EXTRA = "\n\nA sentence added by bench/indexing.py to change this document."
NEW_DOC = "The Aurora research station was founded in 1987 by the glaciologist Ingrid Halvorsen on the Kvitøya ice cap.\n"


def row(report) -> dict:
    return {"seconds": round(report.seconds, 2), "documents": report.n_documents, "chunks": report.n_chunks,
            "chunks_embedded": report.chunks_embedded, "chunks_reused": report.chunks_reused,
            "changes": report.changes.summary(), "full": report.full,
            "chunks_per_s": round(report.n_chunks / report.seconds, 1) if report.full and report.seconds else None}  # fmt: skip


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "indexing")
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
    results = {"file": dev.name, "documents": steps["full_rebuild"]["documents"], "chunks": steps["full_rebuild"]["chunks"],
               "chunks_per_s_full_build": steps["full_rebuild"]["chunks_per_s"], "steps": steps}  # fmt: skip
    run.write(results)


if __name__ == "__main__":
    main()
