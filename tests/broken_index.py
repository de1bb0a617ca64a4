"""Ways to break an index on disk, each with the words `qa ask` must say about it, for the robustness tests."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from qa.local_store import LocalStore


def version_dir(index: Path) -> Path:
    return LocalStore(index).current_version()


def embedder_dir(index: Path) -> Path:
    """The content-addressed query embedder that the live version names."""
    return index / json.loads((version_dir(index) / "manifest.json").read_text(encoding="utf-8"))["query_embedder"]


def garbage(path: Path) -> None:
    path.write_bytes(random.Random(path.name).randbytes(max(256, path.stat().st_size if path.exists() else 0)))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def edit_manifest(index: Path, change: Callable[[dict], None]) -> None:
    path = version_dir(index) / "manifest.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    change(m)
    path.write_text(json.dumps(m), encoding="utf-8")


def run_sql(index: Path, sql: str) -> None:
    db = sqlite3.connect(version_dir(index) / "store.sqlite")
    db.execute(sql)
    db.commit()
    db.close()


def overwrite_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:] = random.Random(1).randbytes(len(data) - 4096)  # keep the header page, break the tables
    path.write_bytes(bytes(data))


def remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def bm25_params_from_another_build(index: Path) -> None:
    path = version_dir(index) / "bm25" / "params.index.json"
    p = json.loads(path.read_text())
    p["num_docs"] += 5
    path.write_text(json.dumps(p))


V = version_dir  # short, for the table below
# name -> (break the index, words the message must contain)
BREAKAGES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "index folder missing": (lambda i: remove(i), ["no index", "qa index"]),
    "CURRENT missing": (lambda i: (i / "CURRENT").unlink(), ["no index", "qa index"]),
    "CURRENT names a missing version": (lambda i: (i / "CURRENT").write_text("20990101-000000-1\n"), ["does not exist"]),
    "CURRENT empty": (lambda i: (i / "CURRENT").write_text(""), ["does not name"]),
    "CURRENT garbage": (lambda i: (i / "CURRENT").write_bytes(b"\xff\xfe\x00\x9c garbage"), ["corrupt"]),
    "CURRENT escapes the folder": (lambda i: (i / "CURRENT").write_text("../../../etc\n"), ["does not name"]),
    "manifest missing": (lambda i: (V(i) / "manifest.json").unlink(), ["missing its manifest"]),
    "manifest truncated": (lambda i: truncate(V(i) / "manifest.json"), ["manifest", "corrupt"]),
    "manifest not an object": (lambda i: (V(i) / "manifest.json").write_text("[1, 2, 3]"), ["manifest", "corrupt"]),
    "manifest without documents": (lambda i: edit_manifest(i, lambda m: m.pop("documents")), ["manifest", "corrupt"]),
    "manifest chunk ranges wrong": (lambda i: edit_manifest(i, lambda m: m.update(n_chunks=m["n_chunks"] + 1)), ["corrupt"]),
    "manifest older format": (lambda i: edit_manifest(i, lambda m: m.update(format_version=0)), ["outdated"]),
    "manifest newer format": (
        lambda i: edit_manifest(i, lambda m: m.update(format_version=3, layout="sharded")),
        ["newer version of qa", "upgrade qa"],
    ),
    "manifest from another model": (
        lambda i: edit_manifest(
            i, lambda m: m["settings"]["embedder"].update(model="sentence-transformers/all-mpnet-base-v2", fingerprint="0123456789abcdef")
        ),
        ["query embedder", "another model"],
    ),
    "manifest with another dimension": (lambda i: edit_manifest(i, lambda m: m["settings"]["embedder"].update(dim=768)), ["768"]),
    "vectors truncated": (lambda i: truncate(V(i) / "vectors.faiss"), ["vector index", "missing or corrupt"]),
    "vectors garbage": (lambda i: garbage(V(i) / "vectors.faiss"), ["vector index", "missing or corrupt"]),
    "store missing": (lambda i: (V(i) / "store.sqlite").unlink(), ["chunk store"]),
    "store truncated": (lambda i: truncate(V(i) / "store.sqlite"), ["chunk store"]),
    "store garbage": (lambda i: garbage(V(i) / "store.sqlite"), ["chunk store"]),
    "store pages overwritten": (lambda i: overwrite_pages(V(i) / "store.sqlite"), ["chunk store"]),
    "store lost a document": (lambda i: run_sql(i, "DELETE FROM docs WHERE id = 'harbour.html'"), ["chunk store"]),
    "bm25 missing": (lambda i: remove(V(i) / "bm25"), ["BM25"]),
    "bm25 vocabulary garbage": (lambda i: garbage(V(i) / "bm25" / "vocab.index.json"), ["BM25"]),
    "bm25 indices truncated": (lambda i: truncate(V(i) / "bm25" / "indices.csc.index.npy"), ["BM25"]),
    "bm25 from another build": (bm25_params_from_another_build, ["BM25"]),
    "query embedder missing": (lambda i: remove(i / "models"), ["query embedder"]),
    "query embedder truncated": (lambda i: truncate(embedder_dir(i) / "minilm-embedder.onnx"), ["query embedder"]),
    "query tokenizer garbage": (lambda i: garbage(embedder_dir(i) / "minilm-tokenizer.json"), ["query embedder"]),
}
# the breakages after which the next build starts over rather than reusing the old version's chunks
NEEDS_FULL_REBUILD = {k for k in BREAKAGES if not k.startswith(("bm25", "query", "index folder", "CURRENT missing"))}
# one of each kind for the (slower) rebuild test: the rest take the same path
REBUILT = [
    "CURRENT names a missing version",
    "manifest truncated",
    "manifest newer format",
    "manifest from another model",
    "store pages overwritten",
    "bm25 missing",
    "query embedder truncated",
]  # a garbage vectors.faiss: the `qa index` test in integration/test_robust_index.py
