"""The store interface: what the indexer writes to and the retriever reads from.

A store holds, per index version: the documents' text, their chunks (offsets), one vector per
chunk, a lexical (BM25) index, the query embedder that matches the vectors, and a manifest
(seeds folder, settings, per-document hashes). Versions are immutable: a writer builds the
next one from the current one (keep, remove, add documents) and `commit` makes it live
atomically, so readers never see half an index and keep the version they opened.

The local FAISS + SQLite + bm25s store (`qa.local_store`) is the default; the Milvus store
(`qa.milvus_store`, `milvus://HOST:PORT`) implements the same three protocols. `qa.backends.open_store`
picks one by location; the pipeline, reader and UI do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.embedder import EmbedderSpec
from qa.errors import IndexBusy as IndexBusy  # the stores' errors, importable with the interface
from qa.errors import IndexProblem as IndexProblem
from qa.schema import Chunk


class QueryEncoder(Protocol):
    def __call__(self, texts: list[str]) -> np.ndarray: ...


class StoreVersion(Protocol):
    """One immutable version, read-only."""

    name: str  # the version's id; answers carry it so citations resolve against it
    manifest: dict

    @property
    def n_chunks(self) -> int: ...
    @property
    def documents(self) -> dict[str, dict]: ...  # id -> sha256, size, mtime_ns, kind, chars, chunks
    @property
    def seeds(self) -> Path | None: ...  # the folder it was built from
    # the k best chunks; with `documents` (ids), among those documents' chunks only, filtered inside the search
    def search_dense(self, vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[tuple[int, float]]: ...
    def search_lexical(self, question: str, k: int, documents: Collection[str] | None = None) -> list[tuple[int, float]]: ...
    def chunks(self, ids: list[int]) -> list[Chunk]: ...
    def document_text(self, doc_id: str) -> str | None: ...
    def document_chunks(self, doc_id: str) -> tuple[list[tuple[int, int]], np.ndarray]: ...  # spans, vectors
    def query_embedder(self) -> QueryEncoder: ...
    def check(self) -> None: ...  # loads what loads lazily, so a broken part raises IndexProblem before the first question
    def close(self) -> None: ...


class ManifestFacts:
    """What every store's version reads straight from its manifest (the manifest is the one
    record of a version: chunk count, documents, the seeds folder it was built from)."""

    manifest: dict

    @property
    def n_chunks(self) -> int:
        return int(self.manifest["n_chunks"])

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    @property
    def seeds(self) -> Path | None:
        s = self.manifest.get("seeds")
        return Path(s) if s else None


class DocumentChanges:
    """What a writer has been told so far: documents to drop and documents to (re)write. Every
    store's writer starts from this bookkeeping and differs only in how it commits."""

    def __init__(self) -> None:
        self.removed: set[str] = set()
        self.added: dict[str, tuple[str, dict, list[tuple[int, int]], np.ndarray]] = {}

    def remove(self, doc_id: str) -> None:
        self.removed.add(doc_id)
        self.added.pop(doc_id, None)

    def add(self, doc_id: str, text: str, info: dict, spans: list[tuple[int, int]], vectors: np.ndarray) -> None:
        if len(spans) != len(vectors):
            raise ValueError(f"{doc_id}: {len(spans)} chunks but {len(vectors)} vectors")
        self.removed.discard(doc_id)
        self.added[doc_id] = (text, info, spans, vectors)


class StoreWriter(Protocol):
    """Builds the next version; starts as a copy of the current one."""

    def remove(self, doc_id: str) -> None: ...
    def add(self, doc_id: str, text: str, info: dict, spans: list[tuple[int, int]], vectors: np.ndarray) -> None: ...
    # makes the new version live and returns its name; `progress` hears the store's steps, if it has any
    def commit(self, manifest: dict, progress: Callable[[str], None] | None = None) -> str: ...


class Store(Protocol):
    """Where an index lives (a folder, a server)."""

    location: str

    def exists(self) -> bool: ...
    def open(self) -> StoreVersion: ...  # the live version; IndexProblem if none or broken
    def building(self, wait_s: float) -> AbstractContextManager[None]: ...  # one builder at a time (IndexBusy)
    def writer(self, base: StoreVersion | None, spec: EmbedderSpec) -> StoreWriter: ...  # spec: the weights of the vectors
