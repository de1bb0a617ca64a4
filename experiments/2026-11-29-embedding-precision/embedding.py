"""Document embedding, side by side in one run: sentence-transformers fp32 at batch 64 (the
earlier indexing path), the same in bf16 (autocast, and weights cast to bf16) and the
ONNX export the questions use. Speed in chunks/s, agreement of the vectors with fp32 (cosine), and
what each does to dense retrieval (recall@1/5/20 of the gold paragraph, same query vectors).

The corpus is the SQuAD v1.1 dev paragraphs, chunked by the product's splitter. Questions are a
fixed sample of dev questions.

    python experiments/2026-11-29-embedding-precision/embedding.py [--limit 0] [--questions 500]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # frozen: it ran from bench/, beside common.py
import common  # noqa: E402


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "embedding")
    p.add_argument("--questions", type=int, default=500)
    args = p.parse_args()
    run = common.Run("embedding", args)
    import shutil

    import faiss
    import numpy as np

    from qa.chunking import split_document
    from qa.documents import Document
    from qa.embedder import DocumentEmbedder, OnnxDocumentEmbedder, QueryEmbedder, export_query_embedder
    from qa.settings import Settings
    from qa.squad import load_squad, sample

    data = load_squad(common.squad_file(args.squad, "dev-v1.1"))
    pids = list(data.paragraphs)[: args.limit or None]
    cfg = Settings()
    texts, owner = [], []
    for pid in pids:
        doc = Document(pid, data.paragraphs[pid], "", "text")
        for s, e in split_document(doc, cfg.chunk_size, cfg.chunk_overlap):
            texts.append(doc.text[s:e])
            owner.append(pid)
    shutil.rmtree(args.work, ignore_errors=True)
    export_query_embedder(args.work / "model")
    import torch

    autocast = DocumentEmbedder(batch_size=16, precision="fp32")

    def bf16_autocast(texts: list[str]) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return autocast(texts)

    engines = {
        "st-fp32-b64": DocumentEmbedder(batch_size=64, precision="fp32"),
        "st-bf16-autocast-b16": bf16_autocast,
        "st-bf16-weights-b16": DocumentEmbedder(batch_size=16, precision="bf16"),  # what indexing uses where bf16 is native
        "onnx-fp32": OnnxDocumentEmbedder(args.work / "model"),
    }
    vectors, timing = {}, {}
    for name, model in engines.items():
        model(texts[:8])  # load and warm up: not timed
        t = time.perf_counter()
        vectors[name] = model(texts)
        timing[name] = time.perf_counter() - t
        print(f"{name}: {len(texts) / timing[name]:.1f} chunks/s", file=sys.stderr)
    ref = vectors["st-fp32-b64"]
    cos = {name: np.sum(ref * v, axis=1) for name, v in vectors.items() if name != "st-fp32-b64"}
    qs = [q for q in sample(data.questions, args.questions) if q.paragraph_id in set(pids)]
    qv = QueryEmbedder.from_dir(args.work / "model")([q.question for q in qs])
    recall = {}
    top5 = {}
    for name, vecs in vectors.items():
        index = faiss.IndexFlatIP(vecs.shape[1])
        index.add(vecs)
        _, ids = index.search(qv, 20)
        hits = [[owner[i] for i in row] for row in ids]
        top5[name] = [tuple(row[:5]) for row in ids]
        recall[name] = {f"@{k}": round(100 * float(np.mean([q.paragraph_id in h[:k] for q, h in zip(qs, hits)])), 2) for k in (1, 5, 20)}
    same_top5 = {name: round(float(np.mean([a == b for a, b in zip(top5["st-fp32-b64"], t5)])), 4) for name, t5 in top5.items()}
    results = {
        "chunks": len(texts),
        "documents": len(pids),
        "questions": len(qs),
        "chunks_per_s": {k: round(len(texts) / v, 1) for k, v in timing.items()},
        "speedup_vs_st_fp32": {k: round(timing["st-fp32-b64"] / v, 2) for k, v in timing.items()},
        "cosine_vs_st_fp32": {
            k: {"min": round(float(c.min()), 6), "p01": round(float(np.percentile(c, 1)), 6), "mean": round(float(c.mean()), 6)}
            for k, c in cos.items()
        },
        "dense_recall": recall,
        "identical_top5_share_vs_st_fp32": same_top5,
    }
    print(results, file=sys.stderr)
    run.write(results)


if __name__ == "__main__":
    main()
