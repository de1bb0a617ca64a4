"""The product against a plain PyTorch + transformers + sentence-transformers version of the same pipeline.

Same weights (the shipped embedder; the reader's torch weights: the checkpoint the shipped int8 ONNX
was exported from, or what `python -m qa.train.recover` rebuilds from it), same index, same
passages. The baseline embeds the question with sentence-transformers (fp32), searches the same
FAISS + BM25 index (the product's fusion and feature ranker), and reads the product's retrieved
passages with a textbook transformers reader (AutoTokenizer windows, AutoModelForQuestionAnswering
fp32, best start/end within 30 tokens). Each question runs through both in the same process,
product first, so the speed-up is a ratio measured in one run. Questions are SQuAD v1.1 dev, over
the 2,067-paragraph corpus.

    python bench/baseline.py --checkpoint runs/reader/final --limit 300
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


class STQueryEmbedder:
    """sentence-transformers (PyTorch, fp32) behind the product's QueryEmbedder call signature."""

    def __init__(self):
        from qa.embedder import DocumentEmbedder

        self.model = DocumentEmbedder(precision="fp32").warm_up()  # the embedder as shipped (its fine-tuned layers), in fp32

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)


class PlainReader:
    """Extractive QA the way the transformers course writes it: windows with overflow, one forward, best span."""

    def __init__(self, checkpoint: Path, max_length: int, stride: int, max_answer_tokens: int = 30):
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(checkpoint)
        self.model = AutoModelForQuestionAnswering.from_pretrained(checkpoint).eval()
        self.max_length, self.stride, self.max_answer_tokens = max_length, stride, max_answer_tokens

    def __call__(self, question: str, contexts: list[str]) -> tuple[str, float]:
        torch = self.torch
        enc = self.tok(
            [question] * len(contexts),
            contexts,
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            out = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"])
        best = ("", -1.0)
        for w in range(len(enc["input_ids"])):
            seq = enc.sequence_ids(w)
            ctx = torch.tensor([s == 1 for s in seq])
            allowed = ctx.clone()
            allowed[0] = True
            ls = torch.log_softmax(out.start_logits[w].masked_fill(~allowed, -float("inf")), -1)
            le = torch.log_softmax(out.end_logits[w].masked_fill(~allowed, -float("inf")), -1)
            scores = ls[:, None] + le[None, :]
            n = len(seq)
            valid = torch.triu(torch.ones(n, n, dtype=torch.bool)) & ~torch.triu(torch.ones(n, n, dtype=torch.bool), self.max_answer_tokens)
            valid &= ctx[:, None] & ctx[None, :]
            scores = scores.masked_fill(~valid, -float("inf"))
            flat = int(torch.argmax(scores))
            s, e = divmod(flat, n)
            p = float(torch.exp(scores[s, e]))
            if p > best[1]:
                text = contexts[int(enc["overflow_to_sample_mapping"][w])]
                offs = enc["offset_mapping"][w]
                best = (text[int(offs[s][0]) : int(offs[e][1])], p)
        return best


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "baseline")
    p.add_argument("--checkpoint", type=Path, default=common.ROOT / "runs" / "reader" / "final", help="HF checkpoint of the reader")
    p.add_argument("--index", type=Path, default=common.DEV_INDEX, help="the corpus index (built or refreshed first)")
    p.add_argument("--top-k", type=int, default=5)
    args = p.parse_args()
    if not (args.checkpoint / "config.json").exists():
        sys.exit(f"no HF checkpoint at {args.checkpoint} (pass --checkpoint)")
    run = common.Run("baseline", args)
    from qa.backends import open_store
    from qa.indexer import build_index
    from qa.pipeline import QAPipeline
    from qa.retriever import HybridRetriever
    from qa.squad import load_squad, sample, squad_metrics

    dev = common.squad_file(args.squad, "dev-v1.1")
    seeds, _ = common.dev_corpus(dev)
    build_index(open_store(args.index), seeds, show_progress_bar=not args.no_progress)
    qs = sample(load_squad(dev).questions, args.limit or 200)
    product = QAPipeline(args.index)
    product.warm_up()
    # the same version, candidates, fusion and ranker as the product; only the question embedder differs
    s = product.settings
    plain_retriever = HybridRetriever(
        product.version, candidates=s.retrieval_candidates, rrf_k=s.rrf_k, dense_weight=s.dense_weight, ranker=product.ranker
    )
    plain_retriever.embed = STQueryEmbedder()
    plain_reader = PlainReader(args.checkpoint, product.reader.max_length, product.reader.stride)
    warm_q = qs[0].question  # one untimed pass each: first-call allocations are not what we compare
    product(warm_q, top_k=args.top_k)
    plain_reader(warm_q, [x.text for x in plain_retriever(warm_q, args.top_k)])

    t_prod = {k: [] for k in ("embed", "search", "read", "total")}
    t_base = {k: [] for k in ("embed", "search", "read", "total")}
    preds_p, preds_b, same_passages, same_answer = {}, {}, 0, 0
    for q in common.progress_bar(qs, "questions", args.no_progress, unit="q"):
        t = time.perf_counter()
        res = product(q.question, top_k=args.top_k, max_answers=1)
        t_prod["total"].append(time.perf_counter() - t)
        for k in ("embed", "search", "read"):
            t_prod[k].append(res.timings[f"{k}_s"])
        preds_p[q.id] = res.answers[0].text if res.answers else ""

        timings: dict[str, float] = {}
        t = time.perf_counter()
        got = plain_retriever(q.question, top_k=args.top_k, timings=timings)
        t1 = time.perf_counter()
        preds_b[q.id] = plain_reader(q.question, [x.text for x in res.passages])[0]  # the product's passages: same inputs
        t2 = time.perf_counter()
        t_base["embed"].append(timings["embed_s"])
        t_base["search"].append(timings["search_s"])
        t_base["read"].append(t2 - t1)
        t_base["total"].append(t2 - t)
        same_passages += {x.id for x in got} == {x.id for x in res.passages}
        same_answer += preds_b[q.id] == preds_p[q.id]
    mp, mb = squad_metrics(qs, preds_p), squad_metrics(qs, preds_b)
    sp = {k: common.summary_ms(v) for k, v in t_prod.items()}
    sb = {k: common.summary_ms(v) for k, v in t_base.items()}
    results = {
        "file": dev.name,
        "questions": len(qs),
        "top_k": args.top_k,
        "chunks": product.version.n_chunks,
        "product": {
            "exact": round(mp["exact"], 2),
            "f1": round(mp["f1"], 2),
            "latency": sp,
            "engine": "ONNX Runtime: MiniLM fp32 embedder, int8 reader " + str(product.reader.config.get("variant", "")),
        },
        "baseline": {
            "exact": round(mb["exact"], 2),
            "f1": round(mb["f1"], 2),
            "latency": sb,
            "engine": "PyTorch fp32: sentence-transformers embedder, transformers reader",
        },
        "speedup_p50": {k: round(sb[k]["p50_ms"] / sp[k]["p50_ms"], 2) for k in sp if sp[k]["p50_ms"] > 0},
        "speedup_mean": {k: round(sb[k]["mean_ms"] / sp[k]["mean_ms"], 2) for k in sp if sp[k]["mean_ms"] > 0},
        "same_retrieved_passages_pct": round(100 * same_passages / len(qs), 1),
        "same_answer_text_pct": round(100 * same_answer / len(qs), 1),
        "baseline_peak_rss_note": "both run in one process; see latency.json for the product's own memory",
    }
    run.write(results)


if __name__ == "__main__":
    main()
