"""The index on disk: one immutable version folder per build, named by the `CURRENT` file.

    index/
      CURRENT                 name of the live version (swapped atomically with os.replace)
      versions/<name>/        manifest.json, vectors.faiss, store.sqlite, bm25/
      models/                 ONNX query embedder exported at first build
      .lock                   held by `qa index` while it builds

A build writes a fresh version folder and only then flips `CURRENT`, so a crash or a
concurrent reader never sees half an index. Readers open one version and keep it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAISS_FILE = "vectors.faiss"
SQLITE_FILE = "store.sqlite"
BM25_DIR = "bm25"
# Exact search while it is fast; HNSW (recall checked in bench/scale.py) above this.
FLAT_LIMIT = int(os.environ.get("QA_FLAT_LIMIT", "50000"))


class IndexProblem(Exception):
    """The index cannot be used; the message says why and how to fix it."""


@dataclass
class StoredChunk:
    id: int
    doc_id: str
    start: int
    end: int
    text: str


def current_version(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return index_dir / "versions" / name


def make_faiss(vectors: np.ndarray):
    import faiss

    dim = vectors.shape[1]
    if len(vectors) <= FLAT_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    index.add(vectors)
    return index


def faiss_kind(index) -> str:
    return type(index).__name__


class IndexStore:
    """A read-only view of one index version."""

    def __init__(self, version_dir: Path, manifest: dict, faiss_index, db: sqlite3.Connection):
        self.dir = version_dir
        self.manifest = manifest
        self.faiss = faiss_index
        self.db = db
        self._bm25 = None

    @classmethod
    def open(cls, index_dir: Path) -> IndexStore:
        index_dir = Path(index_dir)
        fix = f"run `qa index --full --index {index_dir}` to rebuild it"
        version = current_version(index_dir)
        if version is None:
            raise IndexProblem(f"no index in {index_dir}: run `qa index` first")
        try:
            manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexProblem(f"index {version} is missing its manifest; {fix}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexProblem(f"index manifest {version / MANIFEST} is corrupt; {fix}") from None
        fmt = manifest.get("format_version") if isinstance(manifest, dict) else None
        if not isinstance(fmt, int):
            raise IndexProblem(f"index manifest {version / MANIFEST} is corrupt; {fix}")
        if fmt > FORMAT_VERSION:
            raise IndexProblem(
                f"index was written by a newer version of qa (format {fmt}, this one reads {FORMAT_VERSION}); upgrade qa or {fix}"
            )
        if fmt < FORMAT_VERSION:
            raise IndexProblem(f"index format {fmt} is outdated; {fix}")
        import faiss

        try:
            findex = faiss.read_index(str(version / FAISS_FILE))
        except Exception:
            raise IndexProblem(f"vector index {version / FAISS_FILE} is missing or corrupt; {fix}") from None
        n = manifest.get("n_chunks")
        if findex.ntotal != n:
            raise IndexProblem(f"vector index holds {findex.ntotal} vectors, manifest says {n}; {fix}")
        try:
            db = sqlite3.connect(f"file:{version / SQLITE_FILE}?mode=ro", uri=True, check_same_thread=False)
            (count,) = db.execute("SELECT count(*) FROM chunks").fetchone()
        except sqlite3.Error:
            raise IndexProblem(f"chunk store {version / SQLITE_FILE} is missing or corrupt; {fix}") from None
        if count != n:
            raise IndexProblem(f"chunk store holds {count} chunks, manifest says {n}; {fix}")
        return cls(version, manifest, findex, db)

    @property
    def n_chunks(self) -> int:
        return int(self.manifest["n_chunks"])

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    def bm25(self):
        if self._bm25 is None:
            import bm25s

            try:
                self._bm25 = bm25s.BM25.load(str(self.dir / BM25_DIR), mmap=False)
            except Exception:
                raise IndexProblem(f"BM25 index in {self.dir} is missing or corrupt; run `qa index --full`") from None
        return self._bm25

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT c.id, c.doc_id, c.start, c.end, substr(d.text, c.start + 1, c.end - c.start) "
            f"FROM chunks c JOIN docs d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        by_id = {r[0]: StoredChunk(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def document_text(self, doc_id: str) -> str | None:
        row = self.db.execute("SELECT text FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.db.close()


def write_version(
    version_dir: Path,
    manifest: dict,
    docs: list[tuple[str, str]],
    chunks: list[tuple[int, str, int, int]],
    vectors: np.ndarray,
    bm25_tokens: list[list[str]],
) -> None:
    """Write every file of a version; the manifest goes last, then everything is fsynced."""
    import bm25s
    import faiss

    version_dir.mkdir(parents=True)
    db = sqlite3.connect(version_dir / SQLITE_FILE)
    db.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, text TEXT NOT NULL)")
    db.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, start INTEGER, end INTEGER)")
    db.executemany("INSERT INTO docs VALUES (?, ?)", docs)
    db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", chunks)
    db.commit()
    db.close()
    findex = make_faiss(vectors)
    faiss.write_index(findex, str(version_dir / FAISS_FILE))
    retriever = bm25s.BM25()
    retriever.index(bm25_tokens or [[""]], show_progress=False)
    retriever.save(str(version_dir / BM25_DIR))
    manifest = {**manifest, "faiss": faiss_kind(findex)}
    (version_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    for path in version_dir.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def swap_current(index_dir: Path, version_name: str) -> None:
    tmp = index_dir / f"CURRENT.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(version_name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
