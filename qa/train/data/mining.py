"""Training negatives for the reader, mined from SQuAD v1.1 train.

Why: a reader that only ever saw the right paragraph (or a random one) cannot say "no answer
here" about the passages it really meets at question time, which are the retriever's near
misses. So, for every training question:

- **hard distractors**: the paragraphs that the product's own hybrid retrieval (MiniLM dense +
  BM25, fused by reciprocal rank, over all train paragraphs) ranks highest, minus the gold
  paragraph and any paragraph that contains one of the question's answers;
- **a made-up unanswerable** in the style of SQuAD 2.0: an entity of the question that its
  paragraph mentions is swapped for another entity of the same article (a name for a name, a
  number for a number) that the paragraph does not mention, so the paragraph no longer answers it.

Output is one JSON file read by `qa.train.reader` (`--mined`). Run: `python -m qa.train.data.mining --help`. Needs the `train` extra
(sentence-transformers exports the ONNX embedder once).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import numpy as np

from qa.squad import SquadFile, load_squad, parse_squad, read_squad_json

_ENTITY = re.compile(r"(?<![\w'’])(?:\d[\d,.]*\d|\d|[A-Z][\w\-]*(?:\s+(?:of|the|de|la|von|van|and|for)?\s*[A-Z][\w\-]*)*)(?![\w'’])")
_WH = {"what", "who", "whom", "whose", "which", "when", "where", "why", "how", "in", "on", "at", "the", "a", "an", "during",
       "after", "before", "from", "to", "for", "by", "with", "of", "is", "are", "was", "were", "did", "does", "do", "name",
       "according", "along", "about", "as", "between", "besides", "if", "since", "other", "than", "apart", "i"}


def holdout_articles(data: SquadFile, every: int) -> set[str]:
    """Every `every`-th article: kept out of training for model selection."""
    titles = list(dict.fromkeys(data.titles.values()))
    return {t for i, t in enumerate(titles) if every and i % every == every - 1}


def write_holdout_squad(train: Path, out: Path, every: int = 50) -> Path:
    """The held-out train articles as a SQuAD file of their own (for choosing and fitting what sits
    on top of the trained models: fusion weights, the ranker, the reader's rank prior)."""
    raw = read_squad_json(train)
    held = holdout_articles(parse_squad(raw), every)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"version": raw.get("version"), "data": [a for a in raw["data"] if a["title"] in held]}))
    return out


def write_made_up_v2(holdout: Path, out: Path, seed: int = 13) -> Path:
    """A SQuAD 2.0-style file made from a (held-out) SQuAD 1.1 file: every question as it is, plus
    an entity-swapped and a negated or antonym copy of it as unanswerables in the same paragraph.
    Model selection for "no answer" without reading a dev set: it measures the made-up kinds the
    reader is trained on, so it is a check, not a stand-in for real SQuAD 2.0 questions."""
    from qa.train.data.unanswerable import perturb

    rng = random.Random(seed)
    raw = read_squad_json(holdout)
    data = parse_squad(raw)
    pools = entity_pools(data)
    by_id = {q.id: q for q in data.questions}
    for article in raw["data"]:
        for para in article["paragraphs"]:
            made = []
            for qa in para["qas"]:
                qa["is_impossible"] = False
                q = by_id[qa["id"]]
                if not q.answers:
                    continue
                variants = {"swapped": swap_entity(q.question, q.context, q.answers, pools[q.title], rng),
                            "perturbed": perturb(q.question, q.context, q.answer_starts[0], rng)}
                made += [{"id": f"{q.id}/{kind}", "question": text, "answers": [], "is_impossible": True}
                         for kind, text in variants.items() if text]
            para["qas"] += made
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"version": "v2.0-made-up", "data": raw["data"]}))
    return out


def entity_spans(text: str) -> list[tuple[int, int]]:
    """Names (capitalised runs) and numbers; crude on purpose: it only has to find swappable spans."""
    out = []
    for m in _ENTITY.finditer(text):
        e = m.group(0)
        if e.lower() not in _WH and (len(e) > 1 or e.isdigit()):
            out.append((m.start(), m.end()))
    return out


def entities(text: str) -> list[str]:
    return [text[s:e] for s, e in entity_spans(text)]


def entity_pools(data: SquadFile) -> dict[str, list[str]]:
    """Article title -> the entities its paragraphs mention: what `swap_entity` swaps in."""
    pools: dict[str, set[str]] = {}
    for pid, title in data.titles.items():
        pools.setdefault(title, set()).update(entities(data.paragraphs[pid]))
    return {t: sorted(v) for t, v in pools.items()}


def _kind(e: str) -> str:
    return "num" if e[0].isdigit() else "name"


def swap_entity(question: str, context: str, answers: list[str], pool: list[str], rng: random.Random) -> str | None:
    """The question with one entity that its paragraph mentions replaced by one it does not."""
    ctx = context.lower()
    found = [(s, t) for s, t in entity_spans(question) if s > 0 and question[s:t].lower() in ctx]
    rng.shuffle(found)
    for s, t in found:
        e = question[s:t].lower()
        choices = [c for c in pool if _kind(c) == _kind(e) and c.lower() not in ctx and e not in c.lower() and c.lower() not in e
                   and not any(c.lower() in a.lower() or a.lower() in c.lower() for a in answers)]
        if choices:
            return question[:s] + rng.choice(choices) + question[t:]
    return None


def embed_paragraphs(texts: list[str], embedder, batch: int = 64) -> np.ndarray:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), 384), np.float32)
    t0 = time.time()
    for b in range(0, len(order), batch):
        idx = order[b : b + batch]
        out[idx] = embedder([texts[i] for i in idx])
        if b // batch % 50 == 0:
            print(f"embedded {b + len(idx)}/{len(texts)} paragraphs in {time.time() - t0:.0f}s", flush=True)
    return out


def mine(train_file: Path, out: Path, work: Path, per_question: int = 3, depth: int = 20, seed: int = 13,
         holdout_every: int = 50) -> dict:
    import bm25s
    import faiss

    from qa.chunking import bm25_tokenize
    from qa.embedder import EmbedderSpec, QueryEmbedder, export_query_embedder
    from qa.retriever import reciprocal_rank_fusion

    rng = random.Random(seed)
    data = load_squad(train_file)
    pids = list(data.paragraphs)
    texts = [data.paragraphs[p] for p in pids]
    if not work.exists():
        # the bundled MiniLM, always: the fine-tuned embedder is itself trained on these negatives
        export_query_embedder(work, EmbedderSpec.choose("bundled"))
    para_embedder = QueryEmbedder.from_dir(work)
    para_embedder.tokenizer.enable_truncation(256)
    vecs = embed_paragraphs(texts, para_embedder)
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(vecs)
    bm25 = bm25s.BM25()
    bm25.index(bm25_tokenize(texts), show_progress=False)

    q_embedder = QueryEmbedder.from_dir(work)
    qs = [q for q in data.questions if q.answers]
    distractors: dict[str, list[str]] = {}
    ranks: list[int] = []
    t0 = time.time()
    k = min(depth, len(pids))
    for b in range(0, len(qs), 512):
        batch = qs[b : b + 512]
        qv = q_embedder([q.question for q in batch])
        _, dense = index.search(qv, k)
        lex = bm25.retrieve(bm25_tokenize([q.question for q in batch]), k=k, show_progress=False, n_threads=2)
        for i, q in enumerate(batch):
            dense_ids = [int(c) for c in dense[i] if c >= 0]
            lex_ids = [int(c) for c, sc in zip(lex.documents[i], lex.scores[i]) if sc > 0]
            fused = reciprocal_rank_fusion([dense_ids, lex_ids])
            ranked = [pids[c] for c in sorted(fused, key=lambda c: -fused[c])]
            ranks.append(ranked.index(q.paragraph_id) + 1 if q.paragraph_id in ranked else depth + 1)
            golds = [a.lower() for a in q.answers]
            hard = [p for p in ranked if p != q.paragraph_id and not any(g in data.paragraphs[p].lower() for g in golds)]
            if hard:
                distractors[q.id] = hard[:per_question]
        print(f"retrieved for {b + len(batch)}/{len(qs)} questions in {time.time() - t0:.0f}s", flush=True)

    pools = entity_pools(data)
    swaps = {}
    for q in qs:
        new = swap_entity(q.question, q.context, q.answers, pools[q.title], rng)
        if new:
            swaps[q.id] = new
    r = np.array(ranks)
    stats = {"questions": len(qs), "paragraphs": len(pids), "swaps": len(swaps),
             "gold_recall_at_1": float(np.mean(r <= 1)), "gold_recall_at_5": float(np.mean(r <= 5)),
             "gold_recall_at_20": float(np.mean(r <= 20))}
    result = {"stats": stats, "holdout_articles": sorted(holdout_articles(data, holdout_every)),
              "distractors": distractors, "swaps": swaps}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result))
    print(json.dumps(stats), flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-file", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True, help="folder for the exported ONNX embedder")
    p.add_argument("--per-question", type=int, default=3)
    p.add_argument("--holdout-every", type=int, default=50)
    a = p.parse_args(argv)
    mine(a.train_file, a.out, a.work, a.per_question, holdout_every=a.holdout_every)


if __name__ == "__main__":
    main()
