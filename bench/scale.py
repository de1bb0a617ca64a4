"""Query latency and memory at 1k / 10k / 100k chunks, with the FAISS index the product picks at each size.

Documents are the paragraphs of SQuAD v1.1 train, split by the product's splitter and embedded once
by the product's document embedder (vectors cached in bench/work/scale/, so a rerun is cheap and an
interrupted embedding resumes by shard). Sizes beyond the real chunks are reached by replicating
vectors with small Gaussian noise (texts repeated). Each size is written as a real index version
through the local store's writer (qa.local_store: FAISS via make_faiss, SQLite, BM25), then queried
warm by a separate process (bench/ask_worker.py). Where the product uses HNSW, recall@10 is checked
against exact search.

    python bench/scale.py --sizes 1000,10000,100000 --questions 200
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def chunk_corpus(train: Path, limit_paragraphs: int) -> tuple[list[tuple[str, int, int]], dict[str, str], list]:
    """(paragraph id, start, end) per chunk in a fixed order, paragraph texts, and the questions."""
    from qa.chunking import split_document
    from qa.documents import Document
    from qa.settings import Settings
    from qa.squad import load_squad

    settings = Settings()
    data = load_squad(train)
    pids = list(data.paragraphs)[: limit_paragraphs or None]
    chunks = []
    for pid in pids:
        text = data.paragraphs[pid]
        for s, e in split_document(Document(pid, text, "", "text"), settings.chunk_size, settings.chunk_overlap):
            chunks.append((pid, s, e))
    return chunks, {p: data.paragraphs[p] for p in pids}, data.questions


def cached_vectors(texts: list[str], cache: Path, shard: int, progress: bool) -> np.ndarray:
    """Embed in shards saved as they finish: an interrupted run picks up where it stopped."""
    from qa.embedder import DocumentEmbedder

    cache.mkdir(parents=True, exist_ok=True)
    model = DocumentEmbedder()
    parts = []
    n_shards = (len(texts) + shard - 1) // shard
    todo = [i for i in range(n_shards) if not (cache / f"shard-{i:05d}.npy").exists()]
    bar = common.progress_bar(range(n_shards), "embedding shards", not progress or not todo, unit="shard")
    for i in bar:
        f = cache / f"shard-{i:05d}.npy"
        part = texts[i * shard : (i + 1) * shard]
        if f.exists():
            v = np.load(f)
            if len(v) == len(part):
                parts.append(v)
                continue
        v = model(part)
        np.save(f.with_suffix(".tmp.npy"), v)
        os.replace(f.with_suffix(".tmp.npy"), f)
        parts.append(v)
    return np.concatenate(parts)[: len(texts)]


def expand(vectors: np.ndarray, n: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n vectors: the real ones, then noisy copies (norm of the noise ≈ `noise`); also which real row each copies."""
    real = len(vectors)
    src = np.arange(n) % real
    out = vectors[src].copy()
    if n > real:
        rng = np.random.default_rng(seed)
        extra = out[real:] + rng.standard_normal((n - real, vectors.shape[1]), dtype=np.float32) * (noise / np.sqrt(vectors.shape[1]))
        extra /= np.linalg.norm(extra, axis=1, keepdims=True)
        out[real:] = extra
    return np.ascontiguousarray(out, dtype=np.float32), src


def shared_query_embedder(models: Path) -> Path:
    """The ONNX query embedder, exported once into `models/<key>` (content-addressed, like an index's
    own models/ folder) and linked into every size's index, so no size pays for an export."""
    from qa import embedder

    models.mkdir(parents=True, exist_ok=True)
    return embedder.ensure_query_embedder(models)


def group_documents(chunks, paragraphs, src) -> dict[str, tuple[str, list[tuple[int, int]], list[int]]]:
    """doc id -> (text, spans, rows of the expanded vectors): the real chunks' paragraphs, then their
    noisy copies as documents "pid~r"."""
    docs: dict[str, tuple[str, list[tuple[int, int]], list[int]]] = {}
    for cid, j in enumerate(src):
        pid, s, e = chunks[j]
        doc_id = pid if cid < len(chunks) else f"{pid}~{cid // len(chunks)}"
        text, spans, rows = docs.setdefault(doc_id, (paragraphs[pid], [], []))
        spans.append((s, e))
        rows.append(cid)
    return docs


def build_size(n: int, dest: Path, chunks, paragraphs, vectors, query_embedder: Path, noise: float, flat_limit: int) -> dict:
    """A real index version with n chunks (reused when already built with the same settings)."""
    from qa import embedder, indexer
    from qa.local_store import FORMAT_VERSION, LocalStore
    from qa.settings import Settings

    stamp = {
        "n": n,
        "noise": noise,
        "real_chunks": len(chunks),
        "vectors_sha": hashlib.sha256(vectors[:64].tobytes()).hexdigest()[:16],
        "format_version": FORMAT_VERSION,
        "flat_limit": flat_limit,
    }
    marker = dest / "bench-stamp.json"
    if marker.exists() and json.loads(marker.read_text()).get("stamp") == stamp:
        return json.loads(marker.read_text())["build"]
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    (dest / "models").mkdir()
    (dest / "models" / query_embedder.name).symlink_to(query_embedder.resolve(), target_is_directory=True)
    vecs, src = expand(vectors, n, noise)
    docs = group_documents(chunks, paragraphs, src)
    store = LocalStore(dest, flat_limit=flat_limit)
    info = {"sha256": "", "size": 0, "mtime_ns": 0, "kind": "text"}
    t = time.perf_counter()
    writer = store.writer(None, embedder.EmbedderSpec.choose())
    for doc_id, (text, spans, rows) in docs.items():
        writer.add(doc_id, text, info, spans, vecs[rows])
    writer.commit(
        {
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seeds": "",
            "settings": indexer.index_settings(Settings()),
            "skipped": {},
            "skipped_files": {},
        }
    )
    write_s = time.perf_counter() - t
    version = store.current_version()
    disk = sum(f.stat().st_size for f in version.rglob("*") if f.is_file())
    build = {"index_write_s": round(write_s, 2), "disk_mb": round(disk / 2**20, 1), "documents": len(docs)}
    marker.write_text(json.dumps({"stamp": stamp, "build": build}))
    return build


def faiss_check(index_dir: Path, queries: np.ndarray, k: int = 10) -> dict:
    """Recall@k of the product's index against exact search over the same vectors, and raw search time of both."""
    import faiss

    from qa.local_store import FAISS_FILE, LocalStore

    prod = faiss.read_index(str(LocalStore(index_dir).current_version() / FAISS_FILE))
    hnsw = getattr(prod, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = 64  # what the store's dense search sets for the retriever's 50 candidates
    # the store orders chunks by document id, so the exact index is built from the product index's
    # own vectors (same ids), not from the order they were generated in
    flat = faiss.IndexFlatIP(prod.d)
    flat.add(prod.reconstruct_n(0, prod.ntotal))

    def timed(index) -> tuple[np.ndarray, float]:
        index.search(queries[:1], 50)  # first search touches the pages; not timed
        ids, t = [], time.perf_counter()
        for q in queries:
            ids.append(index.search(q[None, :], 50)[1][0])
        return np.array(ids), (time.perf_counter() - t) / len(queries)

    got, prod_s = timed(prod)
    want, flat_s = timed(flat)
    recall = float(np.mean([len(set(g[:k]) & set(w[:k])) / k for g, w in zip(got, want)]))
    return {
        "faiss": type(prod).__name__,
        f"recall_at_{k}_vs_flat": round(recall, 4),
        "search_ms_product_index": round(1000 * prod_s, 3),
        "search_ms_exact_flat": round(1000 * flat_s, 3),
        "ef_search": 64 if hnsw is not None else None,
    }


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "scale")
    p.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes in chunks")
    p.add_argument("--questions", type=int, default=100, help="warm questions per size")
    p.add_argument("--recall-queries", type=int, default=500)
    p.add_argument("--noise", type=float, default=0.1, help="norm of the noise added to replicated vectors")
    p.add_argument("--shard", type=int, default=1024, help="chunks per cached embedding shard")
    p.add_argument("--flat-limit", type=int, default=0, help="override QA_FLAT_LIMIT (flat up to this many chunks, HNSW above)")
    p.add_argument("--file", default="train-v1.1", help="SQuAD file whose paragraphs are the documents")
    p.add_argument("--embed-only", action="store_true", help="fill the vector cache and stop (e.g. while the CPU is busy)")
    args = p.parse_args()
    # --limit caps the paragraphs taken from the SQuAD file (0 = all 18,896)
    from qa.settings import Settings

    if args.flat_limit:
        os.environ["QA_FLAT_LIMIT"] = str(args.flat_limit)
    flat_limit = Settings.from_env().flat_limit
    run = common.Run("scale", args)
    progress = not args.no_progress
    sizes = [int(s) for s in args.sizes.split(",")]
    src = common.squad_file(args.squad, args.file)
    chunks, paragraphs, all_questions = chunk_corpus(src, args.limit)
    texts = [paragraphs[pid][s:e] for pid, s, e in chunks]
    from qa import embedder

    # chunks come in a fixed order, so a smaller --limit is a prefix of the same shards: 0 in the key on purpose
    key = hashlib.sha256(
        json.dumps([src.name, src.stat().st_size, 0, Settings().splitter(), embedder.model_fingerprint(), args.shard]).encode()
    ).hexdigest()[:12]
    t = time.perf_counter()
    vectors = cached_vectors(texts, args.work / f"vectors-{key}", args.shard, progress)
    embed_s = time.perf_counter() - t
    if args.embed_only:
        print(f"{len(vectors)} vectors cached in {args.work}", file=sys.stderr)
        return
    from qa.backends import open_store

    query_embedder = shared_query_embedder(args.work / "models")

    # the same questions at every size: their paragraphs are in the smallest corpus
    smallest = {pid for pid, _, _ in chunks[: min(sizes)]}
    pool = [q for q in all_questions if q.paragraph_id in smallest]
    rng = random.Random(0)
    asked = [q.question for q in rng.sample(pool, min(args.questions + 1, len(pool)))]
    recall_qs = [q.question for q in rng.sample(all_questions, min(args.recall_queries, len(all_questions)))]
    qfile = args.work / "questions.json"
    qfile.write_text(json.dumps(asked))
    qvecs = None

    rows = []
    for n in common.progress_bar(sizes, "sizes", not progress, unit="size"):
        dest = args.work / f"index-{n}"
        build = build_size(n, dest, chunks, paragraphs, vectors, query_embedder, args.noise, flat_limit)
        if qvecs is None:  # the index's own query embedder (the same at every size)
            version = open_store(dest).open()
            qvecs = version.query_embedder()(recall_qs)
            version.close()
        check = faiss_check(dest, qvecs)
        wall, rss, rc, out, err = common.run_child(
            [sys.executable, str(common.BENCH / "ask_worker.py"), "--index", str(dest), "--questions", str(qfile)]
        )
        if rc != 0:
            sys.exit(f"worker failed on {dest}:\n{err[-3000:]}")
        warm = json.loads(out)
        warm.pop("answers")
        rows.append(
            {
                "chunks": n,
                "replicated_chunks": max(0, n - len(chunks)),
                **build,
                **check,
                "worker": warm,
                "worker_peak_rss_mb": round(rss, 1),
                "worker_wall_s": round(wall, 2),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    results = {
        "source": src.name,
        "real_chunks": len(chunks),
        "paragraphs": len(paragraphs),
        "noise": args.noise,
        "flat_limit": flat_limit,
        "embed_s_this_run": round(embed_s, 1),
        "questions_per_size": len(asked) - 1,
        "recall_queries": len(recall_qs),
        "sizes": rows,
    }
    run.write(results)


if __name__ == "__main__":
    main()
