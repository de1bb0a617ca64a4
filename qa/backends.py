"""Which store serves an index location: the one place that knows every backend."""

from __future__ import annotations

from pathlib import Path

from qa.local_store import LocalStore
from qa.settings import Settings
from qa.store import IndexProblem, Store


def open_store(location: str | Path, settings: Settings | None = None) -> Store:
    """The store at `location`: a folder path (the local FAISS + SQLite + BM25 store) or a server URL
    (`milvus://HOST:PORT[/NAME]`, the Milvus store of the `scale` extra)."""
    settings = settings or Settings.from_env()
    text = str(location)
    if text.startswith("milvus://"):
        from qa.embedder import DIM
        from qa.milvus_store import MilvusStore  # pymilvus itself is imported on first use, with a clear message if missing

        return MilvusStore(text, dim=DIM, embedder_choice=settings.embedder)
    if "://" in text:
        raise IndexProblem(f"unsupported store {text!r}: give a folder, or milvus://HOST:PORT for a Milvus server")
    return LocalStore(Path(text), flat_limit=settings.flat_limit)
