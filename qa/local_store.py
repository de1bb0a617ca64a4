"""The local store: FAISS vectors, a SQLite chunk store and bm25s, one immutable folder per version.

This module is the only one that knows the layout of an index folder:

    index/
      CURRENT                 name of the live version (swapped atomically with os.replace)
      versions/<name>/        manifest.json, vectors.faiss, store.sqlite, bm25/
      models/<key>/           the ONNX query embedder, content-addressed (model hash, exporter,
                              ONNX Runtime); a version's manifest names the one it needs
      .lock                   held while a build runs

A build writes a fresh version folder (and, first, any model folder it needs, by rename) and
only then flips `CURRENT`, so a crash or a concurrent reader never sees half an index.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Collection
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from qa.chunking import bm25_tokenize
from qa.embedder import DIM, EmbedderSpec, ensure_query_embedder, fsync_tree
from qa.schema import Chunk
from qa.store import DocumentChanges, IndexBusy, IndexProblem, ManifestFacts, StoreVersion

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
FAISS_FILE = "vectors.faiss"
SQLITE_FILE = "store.sqlite"
BM25_DIR = "bm25"


class LocalStore:
    """An index folder. `open()` gives the live version; `writer()` builds the next one."""

    def __init__(self, index_dir: Path, flat_limit: int = 50_000):
        self.dir = Path(index_dir)
        self.location = str(self.dir)
        self.flat_limit = flat_limit
        self.fix = f"run `qa index --full --index {self.dir}` to rebuild it"
        self._embedders: dict[str, object] = {}  # model folder -> loaded QueryEmbedder, shared by versions

    def exists(self) -> bool:
        return (self.dir / "CURRENT").exists()

    def current_version(self) -> Path | None:
        """The live version folder; None when nothing was built. Raises IndexProblem for a bad pointer."""
        pointer = self.dir / "CURRENT"
        if not pointer.exists():
            return None
        try:
            name = pointer.read_bytes().decode("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise IndexProblem(f"{pointer} is unreadable or corrupt; {self.fix}") from None
        if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith(".building-"):
            raise IndexProblem(f"{pointer} does not name an index version; {self.fix}")
        version = self.dir / "versions" / name
        if not version.is_dir():
            raise IndexProblem(f"{pointer} names version {name!r}, which does not exist; {self.fix}")
        return version

    def open(self) -> LocalVersion:
        version = self.current_version()
        if version is None:
            raise IndexProblem(f"no index in {self.dir}: run `qa index` first")
        return LocalVersion.load(version, self)

    @contextmanager
    def building(self, wait_s: float):
        """One builder at a time per index folder; others wait, then give up with a clear message."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a+") as f:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(f"another `qa index` is building {self.dir}; try again when it finishes") from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def writer(self, base: StoreVersion | None, spec: EmbedderSpec) -> LocalWriter:
        return LocalWriter(self, base, spec)

    # --- models ---

    def query_embedder_dir(self, spec: EmbedderSpec) -> str:
        """The content-addressed query embedder for these weights (exported if missing), as a path
        relative to the index folder, for the manifest."""
        return f"models/{ensure_query_embedder(self.dir / 'models', spec).name}"

    # --- housekeeping ---

    def _new_version_name(self) -> str:
        """Unique even when one process builds twice in a second (`qa serve`, tests)."""
        versions = self.dir / "versions"
        base = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        name, n = base, 1
        while (versions / name).exists() or (versions / f".building-{name}").exists():
            n += 1
            name = f"{base}-{n}"
        return name

    def _clean_stale_builds(self) -> None:
        """Remove what a build that was killed before it finished left behind."""
        versions = self.dir / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        for p in versions.glob(".building-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.dir.glob("CURRENT.tmp*"):
            p.unlink(missing_ok=True)
        for p in (self.dir / "models").glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)

    def _drop_old_versions(self, keep: set[str]) -> None:
        """Keep the live version and the one before it (a reader may still have it open), and the
        model folders they name."""
        versions = self.dir / "versions"
        for p in versions.iterdir():
            if p.is_dir() and p.name not in keep and not p.name.startswith("."):
                shutil.rmtree(p, ignore_errors=True)
        needed = set()
        for name in keep:
            try:
                needed.add(json.loads((versions / name / MANIFEST).read_text(encoding="utf-8")).get("query_embedder"))
            except (OSError, ValueError, AttributeError):
                continue
        for p in (self.dir / "models").glob("*"):
            if p.is_dir() and not p.name.startswith(".") and f"models/{p.name}" not in needed:
                shutil.rmtree(p, ignore_errors=True)

    def _swap_current(self, version_name: str) -> None:
        tmp = self.dir / f"CURRENT.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(version_name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / "CURRENT")
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalVersion(ManifestFacts):
    """A read-only view of one index version."""

    def __init__(self, version_dir: Path, manifest: dict, faiss_index, db: sqlite3.Connection, store: LocalStore):
        self.dir = version_dir
        self.name = version_dir.name
        self.manifest = manifest
        self.faiss = faiss_index
        self.db = db
        self.store = store
        self._bm25 = None
        self._embedder = None

    @classmethod
    def load(cls, version: Path, store: LocalStore) -> LocalVersion:
        """Open and check every part, so that a broken index fails here, never with a wrong answer."""
        fix = store.fix
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
        return cls(version, manifest, findex, db, store)

    def check(self) -> None:
        """Load the lazy parts now (BM25, query embedder): a problem shows before the first question."""
        self.bm25()
        self.query_embedder()

    def bm25(self):
        """The BM25 index, loaded on first use and checked against the chunk count."""
        if self._bm25 is None:
            import bm25s

            try:
                bm25 = bm25s.BM25.load(str(self.dir / BM25_DIR), mmap=False, show_progress=False)
                problem = _bm25_problem(bm25, max(1, self.n_chunks))
            except Exception:
                problem = "cannot be loaded"
            if problem:
                raise IndexProblem(f"BM25 index in {self.dir / BM25_DIR} is missing or corrupt ({problem}); {self.store.fix}")
            self._bm25 = bm25
        return self._bm25

    def query_embedder(self):
        """The ONNX query embedder this version's vectors were made to match."""
        if self._embedder is None:
            from qa.embedder import QueryEmbedder

            rel = self.manifest.get("query_embedder") or ""
            folder = self.store.dir / rel
            try:
                meta = json.loads((folder / "embedder.json").read_text(encoding="utf-8"))
                if not rel.startswith("models/") or meta.get("fingerprint") != self.manifest["settings"]["embedder"]["fingerprint"]:
                    raise ValueError("another model")
                # the folder is content-addressed and never changes: versions that name it share one session
                if rel not in self.store._embedders:
                    self.store._embedders[rel] = QueryEmbedder.from_dir(folder)
                self._embedder = self.store._embedders[rel]
            except Exception:
                raise IndexProblem(
                    f"the query embedder {folder} of this index is missing, corrupt or of another model; {self.store.fix}"
                ) from None
        return self._embedder

    def search_dense(self, vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The k chunks nearest the vector; with `documents`, among their chunks only (filtered inside
        the search, so no other document takes a place): FAISS' id selector, or an exact search over
        the chosen chunks' vectors when the index is HNSW and they are few enough for exact search."""
        if self.n_chunks == 0:
            return []
        import faiss

        query = np.asarray(vector, np.float32).reshape(1, -1)
        hnsw = getattr(self.faiss, "hnsw", None)
        params, n = None, self.n_chunks
        if documents is not None:
            ids = self.chunk_ids(documents)
            n = len(ids)
            if n == 0:
                return []
            if hnsw is not None and n <= self.store.flat_limit:
                return self._exact_within(query[0], ids, k)
            selector = faiss.IDSelectorBatch(ids)
            if hnsw is not None:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(64, k))  # type: ignore[attr-defined]  # not in the stubs
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        elif hnsw is not None:
            hnsw.efSearch = max(64, k)
        scores, found = self.faiss.search(query, min(k, n), params=params)
        return [(int(i), float(s)) for i, s in zip(found[0], scores[0]) if i >= 0]

    def _exact_within(self, query: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Inner products with every chosen chunk's vector (read back from the index), best k first."""
        vectors = np.concatenate([self.faiss.reconstruct_n(int(first), int(count)) for first, count in _runs(ids)])
        scores = vectors @ query
        best = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in best]

    def search_lexical(self, question: str, k: int, documents: Collection[str] | None = None) -> list[tuple[int, float]]:
        """BM25's k best chunks; with `documents`, among their chunks only, scored as if they were the
        whole corpus (`_bm25_within`), so the other documents take no place and shift no term's weight."""
        tokens = bm25_tokenize([question])
        if self.n_chunks == 0 or not tokens[0]:
            return []
        if documents is not None:
            return self._bm25_within(tokens[0], self.chunk_ids(documents), k)
        res = self.bm25().retrieve(tokens, k=min(k, self.n_chunks), show_progress=False, n_threads=1)
        return [(int(i), float(s)) for i, s in zip(res.documents[0], res.scores[0]) if s > 0]

    def _bm25_within(self, tokens: list[str], ids: np.ndarray, k: int) -> list[tuple[int, float]]:
        """BM25 over the chosen chunks with each query term's IDF counted among them: bm25s stores
        IDF x the term-frequency part per (term, chunk), so the whole index's IDF is swapped for the
        chosen chunks' own (Lucene's formula, bm25s' default); only the length normalisation keeps the
        whole index's average length. A term common in the chosen documents and rare elsewhere then
        weighs what it would with them indexed alone (bench/scoped.py)."""
        if len(ids) == 0:
            return []
        bm25 = self.bm25()
        if bm25.method != "lucene":  # another IDF formula: filter with bm25s' weight mask, IDF of the whole index
            mask = np.zeros(self.n_chunks, np.float32)
            mask[ids] = 1.0
            res = bm25.retrieve([tokens], k=min(k, len(ids)), show_progress=False, n_threads=1, weight_mask=mask)
            return [(int(i), float(s)) for i, s in zip(res.documents[0], res.scores[0]) if s > 0]
        data, indices, indptr, n_all = (bm25.scores[key] for key in ("data", "indices", "indptr", "num_docs"))
        chosen = np.zeros(n_all, bool)
        chosen[ids] = True
        scores = np.zeros(n_all, np.float64)
        for t in bm25.get_tokens_ids(tokens):  # repeated terms count again, as in bm25s
            docs, values = indices[indptr[t] : indptr[t + 1]], data[indptr[t] : indptr[t + 1]]
            inside = chosen[docs]
            df = int(inside.sum())
            if df:
                scores[docs[inside]] += values[inside] * (_lucene_idf(df, len(ids)) / _lucene_idf(len(docs), n_all))
        best = ids[np.argsort(-scores[ids], kind="stable")[:k]]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]

    def chunk_ids(self, documents: Collection[str]) -> np.ndarray:
        """The row ids of these documents' chunks (each document's chunks are one run of ids), ascending."""
        runs = sorted(tuple(self.documents[d]["chunks"]) for d in documents if d in self.documents)
        if not runs:
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(first, first + count, dtype=np.int64) for first, count in runs])

    def chunks(self, ids: list[int]) -> list[Chunk]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT c.id, c.doc_id, c.start, c.end, substr(d.text, c.start + 1, c.end - c.start) "
            f"FROM chunks c JOIN docs d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        )
        by_id = {r[0]: Chunk(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def document_text(self, doc_id: str) -> str | None:
        rows = self._query("SELECT text FROM docs WHERE id = ?", (doc_id,))
        return rows[0][0] if rows else None

    def document_chunks(self, doc_id: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Chunk offsets and vectors of one document, checked against the manifest."""
        first, count = self.documents[doc_id]["chunks"]
        spans = [(c.start, c.end) for c in self.chunks(list(range(first, first + count)))]
        if len(spans) != count:
            raise IndexProblem(f"the previous index lacks the chunks of {doc_id}")
        vectors = self.faiss.reconstruct_n(first, count) if count else np.zeros((0, self.faiss.d), np.float32)
        return spans, vectors

    def _query(self, sql: str, params) -> list[tuple]:
        """A damaged page may only show up when it is read: never answer from it."""
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            raise IndexProblem(f"chunk store {self.dir / SQLITE_FILE} is corrupt ({e}); {self.store.fix}") from None

    def close(self) -> None:
        self.db.close()


class LocalWriter(DocumentChanges):
    """The next version: the base version's documents, minus `remove`d ones, plus `add`ed ones."""

    def __init__(self, store: LocalStore, base: StoreVersion | None, spec: EmbedderSpec):
        super().__init__()
        self.store = store
        self.base = base
        self.spec = spec

    def commit(self, manifest: dict, progress=None) -> str:
        """Write every file of the new version, then make it live. `manifest` adds the seeds folder,
        settings, skipped files and build time; the store adds the documents and its own parts.
        (`progress` is for stores whose commit has steps worth naming; a folder swap has none.)"""
        store = self.store
        docs: dict[str, tuple[str, dict, list[tuple[int, int]], np.ndarray]] = {}
        if self.base is not None:
            for doc_id, info in self.base.documents.items():
                if doc_id in self.removed or doc_id in self.added:
                    continue
                text = self.base.document_text(doc_id)
                if text is None:
                    raise IndexProblem(f"the previous index lacks the text of {doc_id}")
                docs[doc_id] = (text, info, *self.base.document_chunks(doc_id))
        docs.update(self.added)
        store._clean_stale_builds()
        query_embedder = store.query_embedder_dir(self.spec)
        name = store._new_version_name()
        building = store.dir / "versions" / f".building-{name}"
        docs_rows: list[tuple[str, str]] = []
        chunk_rows: list[tuple[int, str, int, int]] = []  # row, document, start, end
        vec_parts: list[np.ndarray] = []
        texts: list[str] = []
        manifest_docs: dict[str, dict] = {}
        for doc_id in sorted(docs):
            text, info, spans, vectors = docs[doc_id]
            first = len(chunk_rows)
            docs_rows.append((doc_id, text))
            for s, e in spans:
                chunk_rows.append((len(chunk_rows), doc_id, s, e))
                texts.append(text[s:e])
            vec_parts.append(np.asarray(vectors, np.float32).reshape(len(spans), -1))
            manifest_docs[doc_id] = {**info, "chars": len(text), "chunks": [first, len(spans)]}
        vectors = np.concatenate(vec_parts) if vec_parts else np.zeros((0, DIM), np.float32)
        full = {
            **manifest,
            "format_version": FORMAT_VERSION,
            "n_chunks": len(chunk_rows),
            "documents": manifest_docs,
            "query_embedder": query_embedder,
        }
        _write_version(building, full, docs_rows, chunk_rows, vectors, bm25_tokenize(texts), store.flat_limit)
        os.rename(building, store.dir / "versions" / name)
        store._swap_current(name)
        store._drop_old_versions(keep={name, self.base.name if self.base else ""})
        return name


def make_faiss(vectors: np.ndarray, flat_limit: int):
    """Exact search while it is fast; HNSW (recall checked in bench/scale.py) above `flat_limit`."""
    import faiss

    dim = vectors.shape[1]
    index: faiss.Index
    if len(vectors) <= flat_limit:
        index = faiss.IndexFlatIP(dim)
    else:
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        index = hnsw
    index.add(vectors)
    return index


def _write_version(
    version_dir: Path,
    manifest: dict,
    docs: list[tuple[str, str]],
    chunks: list[tuple[int, str, int, int]],
    vectors: np.ndarray,
    bm25_tokens: list[list[str]],
    flat_limit: int,
) -> None:
    """Every file of a version; the manifest goes last, then everything is fsynced."""
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
    findex = make_faiss(vectors, flat_limit)
    faiss.write_index(findex, str(version_dir / FAISS_FILE))
    retriever = bm25s.BM25()
    retriever.index(bm25_tokens or [[""]], show_progress=False)
    retriever.save(str(version_dir / BM25_DIR))
    manifest = {**manifest, "faiss": type(findex).__name__}
    (version_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    fsync_tree(version_dir)


def _lucene_idf(df: int, n: int) -> float:
    """bm25s' default IDF (Lucene's): log(1 + (N - df + 0.5) / (df + 0.5)), always positive."""
    return float(np.log1p((n - df + 0.5) / (df + 0.5)))


def _runs(ids: np.ndarray) -> list[tuple[int, int]]:
    """Ascending ids as (first, count) runs of consecutive ids."""
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    return [(int(r[0]), len(r)) for r in np.split(ids, breaks) if len(r)]


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
