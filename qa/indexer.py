"""Build or refresh an index from a seeds folder, re-embedding only what changed.

Documents → chunks → embeddings → the store's next version. What changed is decided here (by
size and time, then content hash); how versions are written, swapped and cleaned is the
store's business. Changed settings (embedding model, splitter, text extraction) or `full`
rebuild everything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa import chunking, embedder
from qa.documents import EXTRACTION_VERSION, FileState, Skipped, read_document, scan
from qa.errors import MissingPath
from qa.settings import Settings
from qa.store import IndexProblem, Store, StoreVersion

Progress = Callable[[str, float], None]  # (message, fraction done)
Embed = Callable[[list[str], Progress], np.ndarray]  # chunk texts -> one normalised vector each (qa.distributed: on Ray)


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


def index_settings(settings: Settings) -> dict:
    """What shapes the stored chunks and vectors; saved in the manifest, compared at each build."""
    spec = embedder.EmbedderSpec.choose(settings.embedder)
    return {"embedder": spec.settings(), "splitter": settings.splitter(), "extraction": EXTRACTION_VERSION}


def _same_file(state: FileState, old: dict | None) -> bool:
    if not old:
        return False
    return old["size"] == state.size and old["mtime_ns"] == state.mtime_ns


def detect_changes(version: StoreVersion, seeds: Path) -> Changes:
    """Seeds vs. an index version: stat first, hash only files whose size or time moved."""
    files, _ = scan(seeds)
    old = version.documents
    skipped_before = set(version.manifest.get("skipped", {}))
    skipped_states = version.manifest.get("skipped_files", {})  # size and time of skipped files
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
    store: Store,
    seeds: Path,
    settings: Settings | None = None,
    full: bool = False,
    progress: Progress | None = None,
    show_progress_bar: bool = False,
    embed: Embed | None = None,
) -> BuildReport:
    """Bring `store` up to date with `seeds`. One build at a time per store (others wait). `embed`
    replaces the in-process sentence-transformers (Ray workers, say)."""
    settings = settings or Settings.from_env()
    seeds = Path(seeds)
    if not seeds.is_dir():
        raise MissingPath(f"seeds folder {seeds} does not exist")
    progress = progress or (lambda m, f: None)
    with store.building(settings.lock_wait_s):
        try:
            return _build(store, seeds, settings, full, progress, show_progress_bar, embed)
        except IndexProblem as e:  # the previous version broke while its parts were being reused
            if full:
                raise
            report = _build(store, seeds, settings, True, progress, show_progress_bar, embed)
            report.notes.insert(0, f"the previous index could not be reused, so everything was rebuilt: {e}")
            return report


def _build(store: Store, seeds: Path, settings: Settings, full: bool, progress: Progress, bar: bool, embed: Embed | None) -> BuildReport:
    t0 = time.perf_counter()
    want = index_settings(settings)
    old: StoreVersion | None = None
    notes: list[str] = []
    if not full:
        try:
            old = store.open()
            if old.manifest.get("settings") != want:
                full, old = True, None  # new model, splitter or extraction: nothing can be reused
                notes.append("the embedding model, splitter or text extraction changed, so everything was re-embedded")
        except IndexProblem as e:
            full, old = True, None
            if store.exists():  # not a first build: say why nothing was reused
                notes.append(f"the previous index could not be used, so everything was rebuilt: {e}")
    progress("scanning seeds", 0.0)
    files, skipped = scan(seeds)
    old_docs = old.documents if old else {}
    spec = embedder.EmbedderSpec.choose(settings.embedder)
    writer = store.writer(old, spec)
    changes = Changes(removed=sorted(set(old_docs) - {f.id for f in files}))
    for doc_id in changes.removed:
        writer.remove(doc_id)
    to_embed: list[tuple] = []  # (document, spans)
    n_kept = 0
    for i, st in enumerate(files):
        progress(f"reading {st.id}", 0.1 * i / max(1, len(files)))
        prev = old_docs.get(st.id)
        if prev and _same_file(st, prev):
            n_kept += 1
            continue  # the writer carries it over from the previous version
        try:
            doc, note = read_document(st, settings.max_file_bytes, settings.ocr_page_seconds)
        except Exception as e:  # one bad file never stops the folder
            skipped.append(Skipped(st.id, _reason(e)))
            if prev:
                changes.removed.append(st.id)
                writer.remove(st.id)
            continue
        if note:
            notes.append(f"{st.id}: {note}")
        if prev and old is not None and prev["sha256"] == doc.sha256:  # touched, not changed: new size and time, same chunks
            spans, vectors = old.document_chunks(st.id)
            writer.add(st.id, doc.text, _info(doc), spans, vectors)
            n_kept += 1
            continue
        (changes.changed if prev else changes.added).append(st.id)
        to_embed.append((doc, chunking.split_document(doc, settings.chunk_size, settings.chunk_overlap)))

    texts = [d.text[s:e] for d, spans in to_embed for s, e in spans]
    progress(f"embedding {len(texts)} chunks", 0.15)
    vectors = embed(texts, progress) if embed and texts else _embed(texts, settings, progress, bar)
    offset = 0
    for doc, spans in to_embed:
        writer.add(doc.id, doc.text, _info(doc), spans, vectors[offset : offset + len(spans)])
        offset += len(spans)

    progress("writing index", 0.9)
    skipped_ids = {s.path for s in skipped}
    version = writer.commit(
        {
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seeds": str(seeds.resolve()),
            "settings": want,
            "skipped": {s.path: s.reason for s in skipped},
            "skipped_files": {f.id: [f.size, f.mtime_ns] for f in files if f.id in skipped_ids},
        },
        progress=lambda message: progress(message, 0.95),
    )
    progress("done", 1.0)
    live = store.open()
    try:
        n_chunks, n_docs = live.n_chunks, len(live.documents)
    finally:
        live.close()
    return BuildReport(
        changes=changes,
        full=full,
        n_documents=n_docs,
        n_chunks=n_chunks,
        chunks_embedded=len(texts),
        chunks_reused=n_chunks - len(texts),
        skipped=skipped,
        notes=notes,
        seconds=time.perf_counter() - t0,
        version=version,
    )


def _info(doc) -> dict:
    info = {"sha256": doc.sha256, "size": doc.size, "mtime_ns": doc.mtime_ns, "kind": doc.kind}
    if doc.pages:
        info["pages"] = doc.pages
    return info


def _reason(e: Exception) -> str:
    """One line for `skipped PATH: REASON`."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = " ".join(str(e).split()) or type(e).__name__
    return text if isinstance(e, (OSError, ValueError)) else f"could not be read ({type(e).__name__}: {text})"


_DOC_EMBEDDER: embedder.DocumentEmbedder | None = None
_DOC_EMBEDDER_LOCK = threading.Lock()


def document_embedder(settings: Settings) -> embedder.DocumentEmbedder:
    """The process's document embedder for `settings`, loaded once: `qa serve` and tests rebuild many
    times, and the browser's Documents panel loads it ahead of a first upload (a build that starts
    meanwhile waits for that load instead of making a second)."""
    global _DOC_EMBEDDER
    spec = embedder.EmbedderSpec.choose(settings.embedder)
    with _DOC_EMBEDDER_LOCK:
        if _DOC_EMBEDDER is None or (_DOC_EMBEDDER.requested, _DOC_EMBEDDER.spec) != (settings.embed_precision, spec):
            _DOC_EMBEDDER = embedder.DocumentEmbedder(precision=settings.embed_precision, spec=spec)
        _DOC_EMBEDDER.warm_up()
        return _DOC_EMBEDDER


def _embed(texts: list[str], settings: Settings, progress: Progress, bar: bool) -> np.ndarray:
    """Vectors for `texts` by sentence-transformers, in bf16 where the CPU has it (see
    embedder.DocumentEmbedder), longest last so batches pad little."""
    if not texts:
        return np.zeros((0, embedder.DIM), np.float32)
    model = document_embedder(settings)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), embedder.DIM), np.float32)
    from tqdm import tqdm

    step = settings.embed_batch
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not bar) as pbar:
        for i in range(0, len(texts), step):
            idx = order[i : i + step]
            out[idx] = model([texts[j] for j in idx])
            done = min(i + step, len(texts))
            pbar.update(done - i)
            progress(f"embedded {done}/{len(texts)} chunks", 0.15 + 0.75 * done / len(texts))
    return out


__all__ = ["build_index", "detect_changes", "document_embedder", "index_settings", "BuildReport", "Changes"]
