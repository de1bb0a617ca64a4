"""Train the cross-encoder reranker (qa.reranker) from the trained reader or the bundled MiniLM, then export it to int8 ONNX.

Why: no registry ships cross-encoder weights we may use, and the product's fused retrieval
already has the answering passage in its top 20 for ~98% of SQuAD dev questions but first for
only ~79%. A cross-encoder reading question and passage together can fix the order; to stay
within tens of milliseconds on 2 CPU threads it keeps only the first `--layers` transformer
layers, with a one-logit head on the mean of the token states (`--pooling cls` for [CLS]; see
`build_model` for why mean). `--init-from` starts those layers from the trained reader (a BERT
QA checkpoint) instead of the bundled sentence-similarity MiniLM: its layers already attend
across question and passage, and on held-out questions the 2-layer model learned much faster
from it (43% against 29% recall@1 in its 5-chunk groups after 200 steps).

Data: SQuAD v1.1 train questions. Each question's group is its answer chunk (the product's
splitter, as in qa.embedder_train) against one answer-free chunk of each hard distractor the
mining step found with the product's own retrieval (`qa.mining`, mined.json), plus the answer
chunks of `--batch-negatives` other questions of the batch (cheap easy negatives). Loss:
listwise softmax cross-entropy over the group. The articles mined.json holds out are never
trained on; recall@1 of the answer chunk among its group's chunks on them picks the checkpoint
(`best/`). SQuAD dev is never used here.

    python -m qa.reranker_train --train-file train-v1.1.json.gz --mined mined.json [--out-dir ~/qa-runs/reranker-v1] \\
        [--export-to qa/models/reranker]

Resumable: re-running continues from `checkpoint.pt` in --out-dir; a finished run only exports.
bf16 autocast on CPU, AdamW, linear schedule. Needs the `train` extra (transformers).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass
from pathlib import Path

import numpy as np

from qa.embedder_train import answer_chunk, pad_to_32, passage_chunks, training_plan
from qa.reader.squad import SquadFile, SquadQuestion, load_squad
from qa.reranker import CONFIG_FILE, MODEL_FILE, CrossEncoderReranker
from qa.settings import Settings

BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# (question, answer chunk, hard negative chunks, paragraph id)
Group = tuple[str, str, list[str], str]


@dataclass
class RerankerTrainConfig:
    train_file: str
    mined: str
    out_dir: str = "~/qa-runs/reranker-v1"
    layers: int = 3  # first transformer layers kept (speed: ~linear in layers)
    pooling: str = "mean"  # what the head reads: mean of the token states, or [CLS] (see build_model)
    init_from: str = ""  # a BERT checkpoint (e.g. the trained reader's final/) to start from instead of the bundled MiniLM
    max_length: int = 256  # question + passage word pieces; a shipped 800-character chunk is ~180
    questions: int = 0  # training questions sampled (0 = all not held out)
    negatives: int = 3  # mined hard distractors per question (mining keeps 3)
    batch_negatives: int = 1  # answer chunks of other questions in the batch added to each group
    epochs: float = 1.0
    batch_size: int = 16  # questions per step; each brings 1 + negatives + batch_negatives passages
    lr: float = 5e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    eval_questions: int = 500  # held-out questions scored at each save
    save_every: int = 200
    threads: int = 0
    seed: int = 13
    bf16: bool = True
    max_steps: int = 0  # 0 = from questions x epochs; the tests' smoke run sets it


class ChunkCache:
    """Each paragraph split once with the product's splitter (paragraphs recur as distractors)."""

    def __init__(self, data: SquadFile):
        self.data = data
        self.settings = Settings()
        self._chunks: dict[str, list[str]] = {}

    def answer_free(self, pid: str, answers: list[str]) -> list[str]:
        if pid not in self._chunks:
            self._chunks[pid] = passage_chunks(self.data.paragraphs[pid], self.settings)
        return [c for c in self._chunks[pid] if not any(a and a in c for a in answers)]

    def answer(self, q: SquadQuestion) -> str:
        return answer_chunk(q.context, q.answer_starts[0], q.answers[0], self.settings)


def build_groups(questions: list[SquadQuestion], chunks: ChunkCache, mined: dict, negatives: int, rng: random.Random,
                 every_chunk: bool = False) -> list[Group]:  # fmt: skip
    """Each question's answer chunk and answer-free chunks of its mined distractors: one random
    chunk per distractor for training, every chunk with `every_chunk` (held-out scoring)."""
    out = []
    for q in questions:
        negs: list[str] = []
        for pid in mined["distractors"].get(q.id, [])[:negatives]:
            free = chunks.answer_free(pid, q.answers)
            if free:
                negs += free if every_chunk else [rng.choice(free)]
        if negs:
            out.append((q.question, chunks.answer(q), negs, q.paragraph_id))
    return out


def heldout_groups(data: SquadFile, mined: dict, n: int, negatives: int, seed: int = 0) -> list[Group]:
    held = set(mined["holdout_articles"])
    qs = [q for q in data.questions if q.title in held and q.answers]
    random.Random(seed).shuffle(qs)
    return build_groups(qs[: 2 * n], ChunkCache(data), mined, negatives, random.Random(seed), every_chunk=True)[:n]


def group_recall(groups: list[Group], score: Callable[[str, list[str]], np.ndarray]) -> dict:
    """Recall@1 of the answer chunk among its group (ties count against it), and the group size."""
    hits = 0
    for question, pos, negs, _ in groups:
        s = score(question, [pos, *negs])
        hits += bool(s[0] > s[1:].max())
    n = max(1, len(groups))
    return {"questions": len(groups), "@1": round(100 * hits / n, 2),
            "candidates": round(sum(1 + len(g[2]) for g in groups) / n, 2)}  # fmt: skip


def build_model(layers: int, pooling: str = "mean", init_from: str = ""):
    """MiniLM cut to its first `layers` layers, with a fresh one-logit linear head on the mean of the
    token states (`mean`) or on [CLS] (`cls`). Mean by default: at initialisation MiniLM's [CLS] state
    after 2 layers barely depends on the input (std across passages ~0.001 of its norm, against ~0.1
    for the mean; sentence-transformers trained it with mean pooling), so a [CLS] head starts from a
    flat loss (a 30-step smoke run stayed at ln 5)."""
    import torch
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    if pooling not in ("mean", "cls"):
        raise ValueError(f"pooling {pooling!r} is not mean or cls")
    base = init_from or default_base_model()
    config = AutoConfig.from_pretrained(base, num_hidden_layers=layers)
    hf_logging.set_verbosity_error()  # the dropped layers and the unused pooler are expected, not news
    encoder = AutoModel.from_pretrained(base, config=config, add_pooling_layer=False)

    class CrossEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(config.hidden_size, 1)
            self.layers, self.pooling = layers, pooling

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            if self.pooling == "cls":
                v = h[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(h.dtype)
                v = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return {"logits": self.head(v)}

    return CrossEncoder()


def save_model(model, tokenizer, dest: Path, info: dict) -> None:
    """Weights (safetensors), the architecture (reranker_model.json) and the tokenizer, in one folder."""
    from safetensors.torch import save_file

    dest.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(dest / "model.safetensors"))
    (dest / "reranker_model.json").write_text(json.dumps({"layers": model.layers, "pooling": model.pooling, **info}, indent=1) + "\n")
    tokenizer.save_pretrained(dest)


def load_trained(src: Path):
    from safetensors.torch import load_file

    info = json.loads((src / "reranker_model.json").read_text())
    model = build_model(info["layers"], info["pooling"])
    model.load_state_dict(load_file(str(src / "model.safetensors")))
    return model.eval(), info


def torch_scorer(model, tokenizer, max_length: int, batch: int = 64, bf16: bool = True) -> Callable[[str, list[str]], np.ndarray]:
    import torch

    def score(question: str, texts: list[str]) -> np.ndarray:
        out = []
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for i in range(0, len(texts), batch):
                part = texts[i : i + batch]
                enc = tokenizer([question] * len(part), part, truncation="longest_first", max_length=max_length,
                                padding=True, return_tensors="pt")  # fmt: skip
                out.append(model(**enc)["logits"].float().reshape(-1).numpy())
        return np.concatenate(out)

    return score


def default_base_model() -> str:
    from qa.reader.train import default_base_model as base

    return base()


def train(cfg: RerankerTrainConfig) -> Path:
    """Train (or resume) and return the folder of the best checkpoint on the held-out articles."""
    import torch
    from transformers import AutoTokenizer

    from qa.reader.train import adamw_with_schedule, apply_gradients, resume, start_run

    out = Path(cfg.out_dir).expanduser()
    say = start_run(out, cfg.threads)
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    data = load_squad(cfg.train_file)
    mined = json.loads(Path(cfg.mined).read_text(encoding="utf-8"))
    held = set(mined["holdout_articles"])
    pool = [q for q in data.questions if q.title not in held and q.answers and mined["distractors"].get(q.id)]
    rng.shuffle(pool)
    if cfg.questions:
        pool = pool[: cfg.questions]
    groups = build_groups(pool, ChunkCache(data), mined, cfg.negatives, rng)
    evals = heldout_groups(data, mined, cfg.eval_questions, cfg.negatives)
    plan = training_plan(groups, cfg.batch_size, cfg.seed, cfg.epochs, cfg.max_steps)
    total = len(plan)
    say(f"config {json.dumps(asdict(cfg))}")
    say(f"{len(groups)} training groups ({sum(len(g[2]) for g in groups) / max(1, len(groups)):.2f} hard negatives each), "
        f"{len(evals)} held-out, {total} steps")  # fmt: skip

    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    model = build_model(cfg.layers, cfg.pooling, str(Path(cfg.init_from).expanduser()) if cfg.init_from else "")
    opt, sched = adamw_with_schedule(model, cfg.lr, cfg.weight_decay, total, cfg.warmup)
    ckpt = out / "checkpoint.pt"
    state = resume(ckpt, model, opt, sched)
    step, best = state.get("step", 0), state.get("best")
    if state:
        say(f"resumed at step {step}/{total}")

    def save_checkpoint() -> None:
        tmp = out / "checkpoint.pt.tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step, "best": best}, tmp)
        os.replace(tmp, ckpt)

    def evaluate_and_keep_best() -> None:
        nonlocal best
        model.eval()
        scores = {"step": step, **group_recall(evals, torch_scorer(model, tokenizer, cfg.max_length))}
        model.train()
        say(f"held-out at step {step}: {scores}")
        if best is None or scores["@1"] > best["@1"]:
            best = scores
            save_model(model, tokenizer, out / "best", {"max_length": cfg.max_length, "heldout_recall": scores, "config": asdict(cfg)})

    model.train()
    t0, seen, loss_sum, n_loss = time.time(), 0, 0.0, 0
    while step < total:
        idx = plan[step]
        texts, owner = [], []  # flat (question, passage) pairs; owner = row of the group in the batch
        for r, i in enumerate(idx):
            question, pos, negs, _ = groups[i]
            others = [groups[idx[(r + k) % len(idx)]][1] for k in range(1, min(cfg.batch_negatives, len(idx) - 1) + 1)]
            for t in [pos, *negs, *others]:  # the answer chunk first: the target is column 0
                texts.append((question, t))
                owner.append(r)
        enc = tokenizer([q for q, _ in texts], [t for _, t in texts], truncation="longest_first", max_length=cfg.max_length,
                        padding=True, return_tensors="pt")  # fmt: skip
        enc = pad_to_32(dict(enc))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = model(**enc)["logits"].float().reshape(-1)
        width = max(owner.count(r) for r in range(len(idx)))
        table = torch.full((len(idx), width), float("-inf"))
        col = [0] * len(idx)
        rows, cols = [], []
        for r in owner:
            rows.append(r)
            cols.append(col[r])
            col[r] += 1
        table = table.index_put((torch.tensor(rows), torch.tensor(cols)), logits)
        loss = torch.nn.functional.cross_entropy(table, torch.zeros(len(idx), dtype=torch.long))
        loss.backward()
        apply_gradients(model.parameters(), opt, sched)
        step += 1
        seen += len(idx)
        loss_sum += loss.detach().item()
        n_loss += 1
        if step % 20 == 0 or step == total:
            dt = time.time() - t0
            eta = (total - step) * dt / max(1, seen) * cfg.batch_size / 60
            say(f"step {step}/{total} loss {loss_sum / n_loss:.3f} lr {sched.get_last_lr()[0]:.2e} {seen / dt:.1f} q/s eta {eta:.0f} min")
            loss_sum, n_loss = 0.0, 0
        if step % cfg.save_every == 0 or step == total:
            evaluate_and_keep_best()
            save_checkpoint()
    if best is None:  # a finished run resumed with no held-out result saved (cannot happen after step 1)
        evaluate_and_keep_best()
    say(f"best: {best}")
    return out / "best"


def export(checkpoint: Path, dest: Path, work: Path, evals: list[Group] | None = None, threads: int = 0) -> dict:
    """best/ → ONNX fp32 → int8 variants; the int8 one with the best held-out recall@1 (then speed)
    is written to `dest` with tokenizer.json and reranker.json (settings and figures)."""
    from qa.onnx_utils import export_onnx
    from qa.reader.export import VARIANTS, quantize

    work.mkdir(parents=True, exist_ok=True)
    model, trained = load_trained(checkpoint)
    fp32 = work / "reranker-fp32.onnx"
    export_onnx(model, fp32, ["logits"])
    fp32.with_name("reader-pre.onnx").unlink(missing_ok=True)  # quantize() caches its pre-processed graph there
    settings = {"max_length": int(trained["max_length"]), "layers": model.layers, "pooling": model.pooling, "onnx": MODEL_FILE}
    results = {}
    for name, opts in {"fp32": None, **VARIANTS}.items():
        d = work / name
        d.mkdir(exist_ok=True)
        if opts is None:
            shutil.copy(fp32, d / MODEL_FILE)
        else:
            quantize(fp32, d / MODEL_FILE, **opts)
        write_model_dir(d, d / MODEL_FILE, checkpoint, settings)
        results[name] = {"mb": round((d / MODEL_FILE).stat().st_size / 2**20, 2), **measure(d, evals or [], threads)}
        print(name, json.dumps(results[name]), flush=True)
    chosen = max(VARIANTS, key=lambda n: (round(results[n].get("@1", 0.0), 0), -results[n]["ms_per_20"]))
    config = {**settings, "variant": chosen, "base_model": BASE_MODEL_NAME, "variants_on_heldout": results,
              "heldout_recall_in_training": trained.get("heldout_recall"), "training_config": trained.get("config")}  # fmt: skip
    write_model_dir(dest, work / chosen / MODEL_FILE, checkpoint, config)
    print(f"chose {chosen}; wrote {dest}", flush=True)
    return config


def write_model_dir(dest: Path, onnx_file: Path, tokenizer_dir: Path, config: dict) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if onnx_file != dest / MODEL_FILE:
        shutil.copy(onnx_file, dest / MODEL_FILE)
    shutil.copy(tokenizer_dir / "tokenizer.json", dest / "tokenizer.json")
    (dest / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")


def measure(model_dir: Path, evals: list[Group], threads: int = 0) -> dict:
    """Held-out recall@1 of the ONNX model; milliseconds per 20 candidates (median of 7): wall time
    at `threads`, and the CPU time of one thread, which CPU contention from other work barely changes."""
    rr = CrossEncoderReranker(model_dir, threads)
    out = group_recall(evals, rr.scores) if evals else {}
    probe = (evals[:1] or [("Who built the lighthouse?", "The lighthouse was built in 1874. " * 20, [], "")])[0]
    texts = ([probe[1], *probe[2]] * 20)[:20]
    timed = {}
    one_thread = CrossEncoderReranker(model_dir, 1)
    for name, model, clock in (("ms_per_20", rr, time.perf_counter), ("cpu_ms_per_20_1thread", one_thread, time.process_time)):
        model.scores(probe[0], texts)
        times = []
        for _ in range(7):
            t = clock()
            model.scores(probe[0], texts)
            times.append(clock() - t)
        timed[name] = round(1000 * float(np.median(times)), 1)
    return {**out, **timed}


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, f in RerankerTrainConfig.__dataclass_fields__.items():
        flag = "--" + name.replace("_", "-")
        if f.default is MISSING:
            p.add_argument(flag, required=True)
        elif isinstance(f.default, bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=f.default)
        else:
            p.add_argument(flag, type=type(f.default), default=f.default)
    p.add_argument("--export-to", type=Path, help="after training, write the int8 model folder here (e.g. qa/models/reranker)")
    args = vars(p.parse_args(argv))
    export_to = args.pop("export_to")
    cfg = RerankerTrainConfig(**args)
    best = train(cfg)
    if export_to:
        data = load_squad(cfg.train_file)
        mined = json.loads(Path(cfg.mined).read_text(encoding="utf-8"))
        evals = heldout_groups(data, mined, cfg.eval_questions, cfg.negatives)
        export(best, export_to, Path(cfg.out_dir).expanduser() / "export", evals, cfg.threads)


if __name__ == "__main__":
    main()
