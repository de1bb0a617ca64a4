"""Local FAISS store vs a Milvus endpoint at 10k and 100k chunks, and indexing on 1 and 2 Ray workers.

    python bench/scaling.py --sizes 10000,100000 --real 20000 --questions 200

Documents are SQuAD v1.1 train paragraphs (read in place, never copied into the repo) cut into
sentence-sized chunks by the product's splitter (`--chunk-size` characters, no overlap), embedded
once by the product's document embedder and cached by shard in ~/bench-cache/scaling (outside the
repo). Past `--real` chunks, sizes are reached with noisy copies of the real vectors, as in
bench/scale.py. Each size is written through each store's own writer (qa.local_store,
qa.milvus_store) and then queried by a separate process per store (this file with --worker), so its
RSS is the query process's own: p50/p95 of one retrieval (dense + BM25 search, fusion, fetching
the top 5 chunks; query vectors precomputed, the same for both stores), dense recall@10 against
exact search over the same vectors, agreement of the two BM25 top-10 lists, and hit@10 of the
question's own paragraph (hybrid) for the questions whose paragraph is real.

The Milvus endpoint is Milvus Lite's gRPC server (pure Python, started here on a free port): its
latency and memory are a stand-in's, not those of Milvus standalone or a cluster.

Indexing: the first `--ray-chunks` product-sized chunks (800 characters) embedded in-process
(sentence-transformers) and by `qa.distributed.RayEmbedder` on a local Ray with 1 and 2 workers,
and the Milvus store's write rate (rows/s) from the builds above.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import scale  # noqa: E402  (the vector cache, noisy copies and the local-store builder are shared)

CACHE = Path.home() / "bench-cache" / "scaling"


def sentence_chunks(train: Path, chunk_size: int, limit: int) -> tuple[list[tuple[str, int, int]], dict[str, str], list]:
    """(paragraph id, start, end) of the first `limit` sentence-sized chunks, paragraph texts, questions."""
    from qa.chunking import split_document
    from qa.documents import Document
    from qa.squad import load_squad

    data = load_squad(train)
    chunks, paragraphs = [], {}
    for pid, text in data.paragraphs.items():
        paragraphs[pid] = text
        chunks += [(pid, s, e) for s, e in split_document(Document(pid, text, "", "text"), chunk_size, 0)]
        if len(chunks) >= limit:
            break
    return chunks[:limit], paragraphs, data.questions


def documents(n: int, chunks, paragraphs, vectors, noise: float):
    """doc id -> (text, spans, vectors) for n chunks: the real ones, then noisy copies (docs "pid~r")."""
    vecs, src = scale.expand(vectors, n, noise)
    docs = scale.group_documents(chunks, paragraphs, src)
    return {d: (t, spans, vecs[rows]) for d, (t, spans, rows) in docs.items()}, vecs, src


def build_milvus(url: str, docs) -> dict:
    """Every document through the Milvus store's writer, as `qa index` would (timed)."""
    from qa import embedder, indexer
    from qa.backends import open_store
    from qa.settings import Settings

    store = open_store(url)
    info = {"sha256": "", "size": 0, "mtime_ns": 0, "kind": "text"}
    t = time.perf_counter()
    with store.building(60):
        writer = store.writer(None, embedder.EmbedderSpec.choose())
        for doc_id, (text, spans, vecs) in docs.items():
            writer.add(doc_id, text, info, spans, vecs)
        writer.commit(
            {
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "seeds": "",
                "settings": indexer.index_settings(Settings()),
                "skipped": {},
                "skipped_files": {},
            }
        )
    s = time.perf_counter() - t
    n = sum(len(sp) for _, sp, _ in docs.values())
    return {"index_write_s": round(s, 2), "rows_per_s": round(n / s, 1), "documents": len(docs)}


def _original(doc_id: str) -> str:
    """The real paragraph a (possibly copied, "pid~r") document repeats."""
    return doc_id.split("~", 1)[0]


def _agreement(a: list, b: list) -> float:
    """Share of one top-10 list found in the other. Copies repeat their original's text, so BM25 ties
    them: a chunk and its copies count as one."""
    sa, sb = ({(_original(d), start) for d, start in x} for x in (a, b))
    return len(sa & sb) / max(1, len(sa))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(location: str, qfile: Path) -> None:
    """Open the store as `qa ask` does and time retrieval for each precomputed query; print JSON."""
    from qa.backends import open_store
    from qa.retriever import reciprocal_rank_fusion
    from qa.settings import Settings

    data = json.loads(qfile.read_text(encoding="utf-8"))
    qvecs = np.load(qfile.with_suffix(".npy"))
    t = time.perf_counter()
    version = open_store(location).open()
    version.check()
    load_s = time.perf_counter() - t
    rss_loaded = common.peak_rss_mb()
    s = Settings()
    n = s.retrieval_candidates
    times: dict[str, list[float]] = {"retrieval": [], "dense": [], "lexical": [], "fetch": []}
    dense_top, lex_top, fused_top = [], [], []
    for i, (q, vec) in enumerate(zip(data["questions"], qvecs)):
        t0 = time.perf_counter()
        dense = version.search_dense(vec, n)
        t1 = time.perf_counter()
        lexical = version.search_lexical(q, n)
        t2 = time.perf_counter()
        fused = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in lexical]], s.rrf_k, [s.dense_weight, 1.0])
        best = sorted(fused, key=lambda c: -fused[c])[:10]
        t3 = time.perf_counter()
        chunks = version.chunks(best[: s.top_k])
        t4 = time.perf_counter()
        if i:  # the first query warms caches; not timed
            for k, v in (("retrieval", t4 - t0), ("dense", t1 - t0), ("lexical", t2 - t1), ("fetch", t4 - t3)):
                times[k].append(v)
        where = {
            c.id: (c.document, c.start)
            for c in version.chunks(sorted({c for c, _ in dense[:10]} | {c for c, _ in lexical[:10]} | set(best)))
        }
        dense_top.append([where[c] for c, _ in dense[:10]])
        lex_top.append([where[c] for c, _ in lexical[:10]])
        fused_top.append([where[c][0] for c in best])
        assert len(chunks) == min(s.top_k, len(best))
    print(
        json.dumps(
            {
                "n_chunks": version.n_chunks,
                "load_s": round(load_s, 2),
                **{k: common.summary_ms(v) for k, v in times.items()},
                "rss_after_load_mb": round(rss_loaded, 1),
                "peak_rss_mb": round(common.peak_rss_mb(), 1),
                "dense_top10": dense_top,
                "lexical_top10": lex_top,
                "fused_top10_docs": fused_top,
            }
        )
    )


def start_milvus(data: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    from qa.milvus_store import milvus_client

    deadline = time.monotonic() + 120
    while True:
        try:
            milvus_client(f"127.0.0.1:{port}", timeout=1).list_collections()
            return proc, port
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("milvus-lite did not start") from None
            time.sleep(0.5)


def ray_indexing(train: Path, n: int) -> dict:
    """Embedding chunks/s: in-process sentence-transformers, then Ray with 1 and 2 workers (steady state
    from the first to the last batch back, and end to end with Ray's start and the model loads)."""
    from qa.chunking import split_document
    from qa.distributed import RayEmbedder
    from qa.documents import Document
    from qa.embedder import DocumentEmbedder
    from qa.settings import Settings
    from qa.squad import load_squad

    s = Settings()
    texts = []
    for pid, text in load_squad(train).paragraphs.items():
        texts += [text[a:b] for a, b in split_document(Document(pid, text, "", "text"), s.chunk_size, s.chunk_overlap)]
        if len(texts) >= n:
            break
    texts = texts[:n]
    out = {"chunks": len(texts), "mean_chars": round(float(np.mean([len(t) for t in texts])), 1)}
    model = DocumentEmbedder()
    model(texts[:16])
    t = time.perf_counter()
    ref = model(texts)
    out["in_process_sentence_transformers"] = {"chunks_per_s": round(len(texts) / (time.perf_counter() - t), 1)}
    for workers in (1, 2):
        stamps: list[tuple[float, int]] = []

        def progress(message: str, fraction: float, stamps=stamps) -> None:
            stamps.append((time.perf_counter(), int(message.split()[1].split("/")[0])))

        t = time.perf_counter()
        vecs = RayEmbedder(workers=workers, batch=32)(texts, progress)
        wall = time.perf_counter() - t
        (t0, d0), (t1, d1) = stamps[0], stamps[-1]
        out[f"ray_{workers}_workers"] = {
            "chunks_per_s_steady": round((d1 - d0) / (t1 - t0), 1),
            "wall_s": round(wall, 1),
            "chunks_per_s_end_to_end": round(len(texts) / wall, 1),
            "min_cosine_vs_sentence_transformers": round(float(np.min(np.sum(vecs * ref, 1))), 5),
        }
    return out


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "scaling")
    p.add_argument("--sizes", default="10000,100000", help="corpus sizes in chunks")
    p.add_argument("--real", type=int, default=20000, help="real (embedded) chunks; larger sizes add noisy copies")
    p.add_argument("--chunk-size", type=int, default=200, help="characters per chunk: about a sentence")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--ray-chunks", type=int, default=512, help="chunks embedded per Ray measurement (0: skip Ray)")
    p.add_argument("--cache", type=Path, default=CACHE, help="vector cache (outside the repo)")
    p.add_argument("--file", default="train-v1.1")
    p.add_argument("--embed-only", action="store_true", help="fill the vector cache and stop")
    p.add_argument("--worker", nargs=2, metavar=("LOCATION", "QUESTIONS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker[0], Path(args.worker[1]))
    from qa import embedder
    from qa.settings import Settings

    run = common.Run("scaling", args)
    progress = not args.no_progress
    src = common.squad_file(args.squad, args.file)
    chunks, paragraphs, questions = sentence_chunks(src, args.chunk_size, args.real)
    texts = [paragraphs[pid][s:e] for pid, s, e in chunks]
    key = json.dumps([src.name, src.stat().st_size, args.chunk_size, embedder.model_fingerprint()])
    key = hashlib.sha256(key.encode()).hexdigest()[:12]
    t = time.perf_counter()
    vectors = scale.cached_vectors(texts, args.cache / f"vectors-{key}", 1024, progress)
    embed_s = time.perf_counter() - t
    if args.embed_only:
        print(f"{len(vectors)} vectors cached in {args.cache}", file=sys.stderr)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    models = args.work / "models"
    os.environ["QA_MODEL_CACHE"] = str(models)  # the Milvus store's query embedder, exported once
    query_embedder = embedder.ensure_query_embedder(models)
    sizes = [int(x) for x in args.sizes.split(",")]
    real_pids = {pid for pid, _, _ in chunks[: min(sizes)]}  # the same questions at every size, their paragraph in each
    rng = random.Random(0)
    asked = rng.sample([q for q in questions if q.paragraph_id in real_pids], args.questions + 1)
    qfile = args.work / "questions.json"
    qfile.write_text(json.dumps({"questions": [q.question for q in asked]}))
    qvecs = embedder.QueryEmbedder.from_dir(query_embedder)([q.question for q in asked])
    np.save(qfile.with_suffix(".npy"), qvecs)
    gold = [q.paragraph_id for q in asked]

    shutil.rmtree(args.work / "milvus-data", ignore_errors=True)  # every run builds its collections from scratch
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server
    server, port = start_milvus(args.work / "milvus-data")
    rows = []
    try:
        for n in sizes:
            docs, vecs, src_rows = documents(n, chunks, paragraphs, vectors, args.noise)
            # exact search over the very vectors both stores hold, keyed by (document, start)
            keys = []
            for cid, j in enumerate(src_rows):
                pid, s, _ = chunks[j]
                keys.append((pid if cid < len(chunks) else f"{pid}~{cid // len(chunks)}", s))
            exact = [[keys[i] for i in np.argsort(-(vecs @ q))[:10]] for q in qvecs]
            local_dir = args.work / f"local-{n}"
            local_build = scale.build_size(
                n, local_dir, chunks, paragraphs, vectors, query_embedder, args.noise, Settings.from_env().flat_limit
            )
            url = f"milvus://127.0.0.1:{port}/bench{n}"
            milvus_build = build_milvus(url, docs)
            server_rss = rss_mb(server.pid)
            row: dict = {"chunks": n, "real_chunks": min(n, len(chunks)), "documents": len(docs)}
            results = {}
            for name, location, build in (("local_faiss", str(local_dir), local_build), ("milvus_lite", url, milvus_build)):
                wall, peak, rc, out, err = common.run_child([sys.executable, __file__, "--worker", location, str(qfile)])
                if rc != 0:
                    sys.exit(f"worker failed on {location}:\n{err[-3000:]}")
                w = json.loads(out)
                results[name] = w
                recall = np.mean([len({tuple(x) for x in d} & set(e)) / 10 for d, e in zip(w["dense_top10"], exact)])
                hit = np.mean([g in {_original(d) for d in docs_} for g, docs_ in zip(gold, w["fused_top10_docs"])])
                row[name] = {
                    **build,
                    "retrieval_ms": w["retrieval"],
                    "dense_ms": w["dense"],
                    "lexical_ms": w["lexical"],
                    "fetch_ms": w["fetch"],
                    "dense_recall_at_10_vs_exact": round(float(recall), 4),
                    "gold_paragraph_hit_at_10": round(float(hit), 4),
                    "query_process_rss_after_load_mb": w["rss_after_load_mb"],
                    "query_process_peak_rss_mb": round(peak, 1),
                    "load_s": w["load_s"],
                }
            row["milvus_lite"]["server_rss_mb"] = round(server_rss, 1)
            row["bm25_top10_agreement"] = round(
                float(
                    np.mean(
                        [_agreement(a, b) for a, b in zip(results["local_faiss"]["lexical_top10"], results["milvus_lite"]["lexical_top10"])]
                    )
                ),
                4,
            )
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        server.terminate()
        server.wait(30)
    results = {
        "source": src.name,
        "chunk_size": args.chunk_size,
        "real_chunks": len(chunks),
        "noise": args.noise,
        "embed_s_this_run": round(embed_s, 1),
        "questions": args.questions,
        "sizes": rows,
        "indexing": None,
        "milvus_endpoint": "milvus-lite (pure-Python gRPC server), same machine",
    }
    run.write(results)  # the sizes are kept even if Ray fails to start
    if args.ray_chunks:
        results["indexing"] = ray_indexing(src, args.ray_chunks)
        run.write(results)


if __name__ == "__main__":
    main()
