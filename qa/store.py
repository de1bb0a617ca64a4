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
    """The live version folder; None when nothing was built. Raises IndexProblem for a bad pointer."""
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    fix = f"run `qa index --full --index {index_dir}` to rebuild it"
    try:
        name = pointer.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise IndexProblem(f"{pointer} is unreadable or corrupt; {fix}") from None
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith(".building-"):
        raise IndexProblem(f"{pointer} does not name an index version; {fix}")
    version = index_dir / "versions" / name
    if not version.is_dir():
        raise IndexProblem(f"{pointer} names version {name!r}, which does not exist; {fix}")
    return version


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
        problem = _manifest_problem(manifest)
        if problem:
            raise IndexProblem(f"index manifest {version / MANIFEST} is corrupt ({problem}); {fix}")
        import faiss

        try:
            findex = faiss.read_index(str(version / FAISS_FILE))
        except Exception:
            raise IndexProblem(f"vector index {version / FAISS_FILE} is missing or corrupt; {fix}") from None
        n = manifest["n_chunks"]
        if findex.ntotal != n:
            raise IndexProblem(f"vector index holds {findex.ntotal} vectors, manifest says {n}; {fix}")
        dim = manifest["settings"]["embedder"].get("dim")
        if findex.d != dim:
            raise IndexProblem(f"vector index has {findex.d}-dimensional vectors, manifest says {dim}; {fix}")
        try:
            db = sqlite3.connect(f"file:{version / SQLITE_FILE}?mode=ro", uri=True, check_same_thread=False)
            (count,) = db.execute("SELECT count(*) FROM chunks").fetchone()
            (n_docs,) = db.execute("SELECT count(*) FROM docs").fetchone()
        except sqlite3.Error:
            raise IndexProblem(f"chunk store {version / SQLITE_FILE} is missing or corrupt; {fix}") from None
        if count != n or n_docs != len(manifest["documents"]):
            db.close()
            raise IndexProblem(
                f"chunk store holds {count} chunks of {n_docs} documents, manifest says {n} of {len(manifest['documents'])}; {fix}"
            )
        return cls(version, manifest, findex, db)

    @property
    def n_chunks(self) -> int:
        return int(self.manifest["n_chunks"])

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    def bm25(self):
        """The BM25 index, loaded on first use and checked against the chunk count."""
        if self._bm25 is None:
            import bm25s

            fix = f"run `qa index --full --index {self.dir.parent.parent}` to rebuild it"
            try:
                bm25 = bm25s.BM25.load(str(self.dir / BM25_DIR), mmap=False, show_progress=False)
                problem = _bm25_problem(bm25, max(1, self.n_chunks))
            except Exception:
                problem = "cannot be loaded"
            if problem:
                raise IndexProblem(f"BM25 index in {self.dir / BM25_DIR} is missing or corrupt ({problem}); {fix}")
            self._bm25 = bm25
        return self._bm25

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT c.id, c.doc_id, c.start, c.end, substr(d.text, c.start + 1, c.end - c.start) "
            f"FROM chunks c JOIN docs d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        )
        by_id = {r[0]: StoredChunk(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def document_text(self, doc_id: str) -> str | None:
        rows = self._query("SELECT text FROM docs WHERE id = ?", (doc_id,))
        return rows[0][0] if rows else None

    def _query(self, sql: str, params) -> list[tuple]:
        """A damaged page may only show up when it is read: never answer from it."""
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            raise IndexProblem(
                f"chunk store {self.dir / SQLITE_FILE} is corrupt ({e}); run `qa index --full --index {self.dir.parent.parent}`"
            ) from None

    def close(self) -> None:
        self.db.close()


def _manifest_problem(m: dict) -> str | None:
    """What is wrong with a manifest's structure (types, chunk ranges), or None."""
    n, docs, sett = m.get("n_chunks"), m.get("documents"), m.get("settings")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return "n_chunks"
    if not isinstance(docs, dict):
        return "documents"
    if not isinstance(sett, dict) or not isinstance(sett.get("embedder"), dict):
        return "settings"
    expected = 0
    try:
        for first, count in sorted(tuple(d["chunks"]) for d in docs.values()):
            if first != expected or not isinstance(count, int) or count < 0:
                return "chunk ranges"
            expected += count
    except (KeyError, TypeError, ValueError):
        return "documents"
    return None if expected == n else "chunk ranges"


def _bm25_problem(bm25, n_docs: int) -> str | None:
    """Cheap consistency checks: a truncated or mixed-up BM25 file must not answer."""
    s = bm25.scores
    data, indices, indptr = s["data"], s["indices"], s["indptr"]
    if s.get("num_docs") != n_docs:
        return f"{s.get('num_docs')} documents, expected {n_docs}"
    n_vocab = len(bm25.vocab_dict)
    if not len(indptr) or len(indptr) - n_vocab not in (0, 1) or len(data) != len(indices) or indptr[-1] != len(indices):
        return "inconsistent arrays"
    if len(indices) and (indices.min() < 0 or indices.max() >= n_docs):
        return "document ids out of range"
    if n_vocab and max(bm25.vocab_dict.values()) >= n_vocab:
        return "vocabulary out of range"
    return None


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
