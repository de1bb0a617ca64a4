"""Build or refresh the index from the seeds folder, re-embedding only what changed.

Documents → chunks → embeddings → a new index version, swapped in atomically. A
changed embedding model or splitter setting (or `--full`) rebuilds everything.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa import chunking, embedder
from qa.documents import Document, FileState, Skipped, read_document, scan
from qa.store import FORMAT_VERSION, IndexProblem, IndexStore, current_version, swap_current, write_version

Progress = Callable[[str, float], None]  # (message, fraction done)


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        return f"+{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


@dataclass
class BuildReport:
    changes: Changes
    full: bool
    n_documents: int
    n_chunks: int
    chunks_embedded: int
    chunks_reused: int
    skipped: list[Skipped]
    notes: list[str]
    seconds: float
    version: str

    def summary(self) -> str:
        kind = "full rebuild" if self.full else "incremental"
        return (
            f"{self.changes.summary()}, {self.chunks_reused} chunks reused, {self.chunks_embedded} embedded "
            f"({kind}; {self.n_documents} documents, {self.n_chunks} chunks, {self.seconds:.1f}s)"
        )


class IndexBusy(Exception):
    pass


@contextmanager
def build_lock(index_dir: Path, wait_s: float):
    """One builder at a time per index folder; others wait, then give up with a clear message."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as f:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusy(f"another `qa index` is building {index_dir}; try again when it finishes") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def settings() -> dict:
    return {"embedder": embedder.embedder_settings(), "splitter": chunking.splitter_settings()}


def _same_file(state: FileState, old: dict | None) -> bool:
    return bool(old) and old["size"] == state.size and old["mtime_ns"] == state.mtime_ns


def detect_changes(store: IndexStore, seeds: Path) -> Changes:
    """Seeds vs. the index: stat first, hash only files whose size or time moved."""
    import hashlib

    files, _ = scan(seeds)
    old = store.documents
    skipped_before = set(store.manifest.get("skipped", {}))
    skipped_states = store.manifest.get("skipped_files", {})  # size and time of skipped files
    changes = Changes()
    seen = set()
    for st in files:
        seen.add(st.id)
        prev = old.get(st.id)
        if prev is None:
            # a skipped file counts again once it changes (an empty file written to, say)
            if st.id not in skipped_before or skipped_states.get(st.id, [st.size, st.mtime_ns]) != [st.size, st.mtime_ns]:
                changes.added.append(st.id)
        elif not _same_file(st, prev):
            try:
                if hashlib.sha256(st.path.read_bytes()).hexdigest() != prev["sha256"]:
                    changes.changed.append(st.id)
            except OSError:
                changes.changed.append(st.id)
    changes.removed = sorted(set(old) - seen)
    return changes


def build_index(
    seeds: Path,
    index_dir: Path,
    full: bool = False,
    progress: Progress | None = None,
    show_progress_bar: bool = False,
    lock_wait_s: float = float(os.environ.get("QA_LOCK_WAIT", "300")),
) -> BuildReport:
    seeds, index_dir = Path(seeds), Path(index_dir)
    if not seeds.is_dir():
        raise FileNotFoundError(f"seeds folder {seeds} does not exist")
    with build_lock(index_dir, lock_wait_s):
        progress = progress or (lambda m, f: None)
        try:
            return _build(seeds, index_dir, full, progress, show_progress_bar)
        except IndexProblem as e:  # the previous version broke while its parts were being reused
            if full:
                raise
            report = _build(seeds, index_dir, True, progress, show_progress_bar)
            report.notes.insert(0, f"the previous index could not be reused, so everything was rebuilt: {e}")
            return report


def _build(seeds: Path, index_dir: Path, full: bool, progress: Progress, bar: bool) -> BuildReport:
    t0 = time.perf_counter()
    want = settings()
    old: IndexStore | None = None
    notes: list[str] = []
    if not full:
        try:
            old = IndexStore.open(index_dir)
            if old.manifest.get("settings") != want:
                full, old = True, None  # new model or splitter: nothing can be reused
                notes.append("the embedding model or splitter settings changed, so everything was re-embedded")
        except IndexProblem as e:
            full, old = True, None
            if (index_dir / "CURRENT").exists():  # not a first build: say why nothing was reused
                notes.append(f"the previous index could not be used, so everything was rebuilt: {e}")
    progress("scanning seeds", 0.0)
    files, skipped = scan(seeds)
    old_docs = old.documents if old else {}
    old_vectors = old.faiss.reconstruct_n(0, old.n_chunks) if old and old.n_chunks else None

    changes = Changes(removed=sorted(set(old_docs) - {f.id for f in files}))
    kept: list[tuple[Document, list[tuple[int, int]], np.ndarray | None]] = []
    to_embed: list[tuple[Document, list[tuple[int, int]]]] = []
    for i, st in enumerate(files):
        progress(f"reading {st.id}", 0.1 * i / max(1, len(files)))
        prev = old_docs.get(st.id)
        if prev and _same_file(st, prev):
            doc = Document(st.id, old.document_text(st.id), prev["sha256"], prev["kind"], st.size, st.mtime_ns)
            if doc.text is None:
                raise IndexProblem(f"the previous index lacks the text of {st.id}")
            kept.append((doc, *_reuse(old, st.id, prev, old_vectors)))
            continue
        try:
            doc, note = read_document(st)
            touched = bool(prev) and prev["sha256"] == doc.sha256
            spans = [] if touched else chunking.split_document(doc)
        except Exception as e:  # one bad file never stops the folder
            skipped.append(Skipped(st.id, _reason(e)))
            if prev:
                changes.removed.append(st.id)
            continue
        if note:
            notes.append(f"{st.id}: {note}")
        if touched:  # touched, not changed
            kept.append((doc, *_reuse(old, st.id, prev, old_vectors)))
            continue
        (changes.changed if prev else changes.added).append(st.id)
        to_embed.append((doc, spans))

    texts = [d.text[s:e] for d, spans in to_embed for s, e in spans]
    progress(f"embedding {len(texts)} chunks", 0.15)
    new_vectors = _embed(texts, progress, bar)
    offset = 0
    for doc, spans in to_embed:
        kept.append((doc, spans, new_vectors[offset : offset + len(spans)]))
        offset += len(spans)
    kept.sort(key=lambda t: t[0].id)

    progress("writing index", 0.9)
    docs_rows, chunk_rows, vec_parts, tokens, manifest_docs = [], [], [], [], {}
    for doc, spans, vecs in kept:
        first = len(chunk_rows)
        docs_rows.append((doc.id, doc.text))
        for s, e in spans:
            chunk_rows.append((len(chunk_rows), doc.id, s, e))
        vec_parts.append(vecs)
        tokens += _bm25_tokens([doc.text[s:e] for s, e in spans])
        manifest_docs[doc.id] = {
            "sha256": doc.sha256, "size": doc.size, "mtime_ns": doc.mtime_ns, "kind": doc.kind,
            "chars": len(doc.text), "chunks": [first, len(spans)],
        }  # fmt: skip
    vectors = np.concatenate(vec_parts) if vec_parts else np.zeros((0, embedder.DIM), np.float32)
    versions = index_dir / "versions"
    name = _new_version_name(versions)
    building = versions / f".building-{name}"
    skipped_ids = {s.path for s in skipped}
    manifest = {
        "format_version": FORMAT_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seeds": str(seeds.resolve()),
        "settings": want,
        "n_chunks": len(chunk_rows),
        "documents": manifest_docs,
        "skipped": {s.path: s.reason for s in skipped},
        "skipped_files": {f.id: [f.size, f.mtime_ns] for f in files if f.id in skipped_ids},
    }
    _clean_stale_builds(versions)
    write_version(building, manifest, docs_rows, chunk_rows, vectors, tokens)
    os.rename(building, versions / name)
    _ensure_query_embedder(index_dir / "models")
    progress(f"switching to version {name}", 0.95)
    swap_current(index_dir, name)
    _drop_old_versions(versions, keep={name, old.dir.name if old else ""})
    progress("done", 1.0)
    n_new = len(texts)
    return BuildReport(
        changes=changes, full=full, n_documents=len(kept), n_chunks=len(chunk_rows),
        chunks_embedded=n_new, chunks_reused=len(chunk_rows) - n_new, skipped=skipped,
        notes=notes, seconds=time.perf_counter() - t0, version=name,
    )  # fmt: skip


def _reason(e: Exception) -> str:
    """One line for `skipped PATH: REASON`."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = " ".join(str(e).split()) or type(e).__name__
    return text if isinstance(e, (OSError, ValueError)) else f"could not be read ({type(e).__name__}: {text})"


def _new_version_name(versions: Path) -> str:
    """Unique even when one process builds twice in a second (`qa serve`, tests)."""
    base = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    name, n = base, 1
    while (versions / name).exists() or (versions / f".building-{name}").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _ensure_query_embedder(models: Path) -> None:
    """Export the ONNX query embedder, and export it again if the copy on disk does not load."""
    embedder.export_query_embedder(models)
    try:
        embedder.QueryEmbedder.from_dir(models)(["check"])
    except Exception:
        for p in models.glob("minilm-*"):
            p.unlink()
        embedder.export_query_embedder(models)


_DOC_EMBEDDER: embedder.DocumentEmbedder | None = None


def _reuse(old: IndexStore, doc_id: str, prev: dict, old_vectors: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Chunk offsets and vectors of an unchanged document, taken from the previous index."""
    first, count = prev["chunks"]
    spans = [(c.start, c.end) for c in old.chunks(list(range(first, first + count)))]
    if len(spans) != count:
        raise IndexProblem(f"the previous index lacks the chunks of {doc_id}")
    return spans, old_vectors[first : first + count]


def _embed(texts: list[str], progress: Progress, bar: bool) -> np.ndarray:
    global _DOC_EMBEDDER
    if not texts:
        return np.zeros((0, embedder.DIM), np.float32)
    # one model load per process: `qa serve` and tests rebuild many times
    model = _DOC_EMBEDDER = _DOC_EMBEDDER or embedder.DocumentEmbedder()
    step = 256
    parts = []
    from tqdm import tqdm

    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not bar) as pbar:
        for i in range(0, len(texts), step):
            parts.append(model(texts[i : i + step]))
            pbar.update(len(texts[i : i + step]))
            progress(f"embedded {min(i + step, len(texts))}/{len(texts)} chunks", 0.15 + 0.75 * min(i + step, len(texts)) / len(texts))
    return np.concatenate(parts)


def _bm25_tokens(texts: list[str]) -> list[list[str]]:
    from qa.retriever import bm25_tokenize

    return bm25_tokenize(texts)


def _clean_stale_builds(versions: Path) -> None:
    """Remove folders left by a build that was killed before it finished."""
    versions.mkdir(parents=True, exist_ok=True)
    for p in versions.glob(".building-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in versions.parent.glob("CURRENT.tmp*"):  # a build killed while swapping
        p.unlink(missing_ok=True)


def _drop_old_versions(versions: Path, keep: set[str]) -> None:
    """Keep the live version and the one before it (a reader may still have it open)."""
    for p in versions.iterdir():
        if p.is_dir() and p.name not in keep and not p.name.startswith("."):
            shutil.rmtree(p, ignore_errors=True)


def index_status(index_dir: Path, seeds: Path) -> tuple[IndexStore, Changes]:
    store = IndexStore.open(index_dir)
    return store, detect_changes(store, seeds)


__all__ = ["build_index", "detect_changes", "BuildReport", "Changes", "IndexBusy", "current_version"]
