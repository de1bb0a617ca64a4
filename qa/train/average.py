"""Average two readers' weights: a fine-tune, pulled part of the way back to where it started.

Why: a short fine-tune that teaches something new (made-up unanswerables, "What did X say?")
also forgets a little of what the long run taught. Interpolating the fine-tuned weights with
the ones it started from (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models",
WiSE-FT) keeps much of the new skill and gives back much of the old. Both folders must hold
the same architecture (a fine-tune and its `--base-model`). Needs the `train` extra.

    python -m qa.train.average --start runs/reader-recovered --tuned ~/qa-runs/quote/final --weight 0.5 --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def average(start: Path, tuned: Path, weight: float, out: Path) -> Path:
    """`weight` × tuned + (1 − weight) × start, saved as a Hugging Face folder with the tuned tokenizer."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"--weight must be within [0, 1], got {weight}")
    a = AutoModelForQuestionAnswering.from_pretrained(start, dtype=torch.float32)
    b = AutoModelForQuestionAnswering.from_pretrained(tuned, dtype=torch.float32)
    sa, sb = a.state_dict(), b.state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        raise ValueError(f"{start} and {tuned} are not the same architecture")
    b.load_state_dict({k: torch.lerp(sa[k], sb[k], weight) if sa[k].is_floating_point() else sb[k] for k in sa})
    b.save_pretrained(out)
    AutoTokenizer.from_pretrained(tuned).save_pretrained(out)
    (out / "averaged_from.json").write_text(json.dumps({"start": str(start), "tuned": str(tuned), "weight": weight}, indent=1))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--start", type=Path, required=True, help="the weights the fine-tune started from")
    p.add_argument("--tuned", type=Path, required=True, help="the fine-tuned weights")
    p.add_argument("--weight", type=float, default=0.5, help="share of the fine-tuned weights (1 = the fine-tune itself)")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    print(average(a.start, a.tuned, a.weight, a.out))


if __name__ == "__main__":
    main()
