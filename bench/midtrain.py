"""A reader to benchmark while training still runs: the latest training checkpoint, exported like the shipped one.

Loads runs/reader/checkpoint.pt (saved every 200 steps by qa.train.reader) into the HF model,
saves it as an HF checkpoint, exports fp32 ONNX and quantizes it with the same code the shipped
reader goes through (qa.train.export_reader). Speed does not depend on the training step, quality
does: figures from this reader are labelled with its step. Use the final reader when it exists.

    python bench/midtrain.py            # -> bench/work/midtrain/{hf,onnx-fp32,onnx-int8}
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=common.ROOT / "runs" / "reader" / "checkpoint.pt",
        help="training state (checkpoint.pt) or an HF checkpoint folder (runs/reader/final)",
    )
    p.add_argument("--out", type=Path, default=common.WORK / "midtrain")
    p.add_argument("--variant", default="int8-per-channel", help="quantization variant (see qa.train.export_reader.VARIANTS)")
    args = p.parse_args()
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.train.export_reader import VARIANTS, export_fp32, quantize, write_model_dir
    from qa.train.loop import default_base_model

    shutil.rmtree(args.out, ignore_errors=True)
    if args.checkpoint.is_dir():  # an HF checkpoint (runs/reader/final): export it as it is
        hf, step = args.checkpoint, None
    else:
        state = torch.load(args.checkpoint, weights_only=False, map_location="cpu")
        base = default_base_model()
        model = AutoModelForQuestionAnswering.from_pretrained(base)
        model.load_state_dict(state["model"])
        hf = args.out / "hf"
        model.save_pretrained(hf)
        AutoTokenizer.from_pretrained(base).save_pretrained(hf)
        step = int(state["step"])
        del state
    made = f"training checkpoint at step {step}" if step is not None else f"HF checkpoint {args.checkpoint}"
    settings = {
        "max_length": 256,
        "stride": 96,
        "no_answer_threshold": 0.5,
        "training_step": step,
        "note": f"{made}, exported by bench/midtrain.py with qa.train.export_reader; no-answer threshold not calibrated",
    }
    work = args.out / "export"
    work.mkdir(parents=True)
    fp32 = export_fp32(hf, work)
    write_model_dir(args.out / "onnx-fp32", fp32, hf, {**settings, "variant": "fp32"})
    q = quantize(fp32, work / "reader-int8.onnx", **VARIANTS[args.variant])
    write_model_dir(args.out / "onnx-int8", q, hf, {**settings, "variant": args.variant})
    (args.out / "step.json").write_text(json.dumps({"step": step, "checkpoint": str(args.checkpoint), "hf": str(hf)}))
    print(f"step {step}: wrote {args.out}: onnx-fp32, onnx-int8 (torch weights: {hf})", file=sys.stderr)


if __name__ == "__main__":
    main()
