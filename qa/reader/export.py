"""Trained checkpoint → ONNX → int8, calibrated, as package data under qa/models/reader/.

Variants of dynamic quantization are compared on a dev sample (F1 and latency) and the
chosen one is written with the tokenizer and `reader.json` (threshold, settings, figures).
Needs the `train` extra (torch, transformers) for the export step only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from qa.onnx_utils import export_onnx
from qa.reader.extractive import ExtractiveReader, default_model_dir
from qa.reader.squad import load_squad, sample, squad_metrics
from qa.schema import Passage

VARIANTS = {
    "int8-per-tensor": {"per_channel": False, "reduce_range": False},
    "int8-per-channel": {"per_channel": True, "reduce_range": False},
    "int8-per-channel-reduce-range": {"per_channel": True, "reduce_range": True},
}


def export_fp32(checkpoint: Path, out: Path) -> Path:
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(checkpoint)
    path = out / "reader-fp32.onnx"
    export_onnx(model, path, ["start_logits", "end_logits"])
    return path


def quantize(fp32: Path, dest: Path, per_channel: bool, reduce_range: bool) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = fp32.with_name("reader-pre.onnx")
    if not pre.exists():
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_dynamic(str(pre), str(dest), weight_type=QuantType.QInt8, per_channel=per_channel, reduce_range=reduce_range)
    return dest


def write_model_dir(work: Path, onnx_file: Path, tokenizer_dir: Path, config: dict) -> None:
    work.mkdir(parents=True, exist_ok=True)
    if onnx_file.parent != work or onnx_file.name != "reader.onnx":
        shutil.copy(onnx_file, work / "reader.onnx")
    shutil.copy(tokenizer_dir / "tokenizer.json", work / "tokenizer.json")
    (work / "reader.json").write_text(json.dumps(config, indent=1))


def best_scores(reader: ExtractiveReader, qs) -> tuple[dict, dict, float]:
    texts, scores = {}, {}
    t = time.perf_counter()
    for q in qs:
        found = reader(q.question, [Passage.from_text(q.context)], top_n=1)
        texts[q.id] = found[0].text if found else ""
        scores[q.id] = found[0].score if found else 0.0
    return texts, scores, (time.perf_counter() - t) / max(1, len(qs))


def calibrate(reader: ExtractiveReader, v2_file: Path, limit: int = 0, keep: float = 0.9) -> dict:
    """No-answer threshold on the answer score, chosen on SQuAD v2.0 dev.

    v2.0's unanswerable questions are written to look answerable from their own paragraph;
    a reader trained on v1.1 plus off-paragraph negatives keeps gaining v2 F1 by abstaining
    almost always, which would make the product refuse most real questions. So the rule is:
    the threshold with the best v2.0 F1 among those that keep at least `keep` of the
    answerable questions' F1. The unconstrained optimum is recorded beside it.
    """
    qs = sample(load_squad(v2_file).questions, limit)
    texts, scores, _ = best_scores(reader, qs)
    sweep = []
    for t in [i / 100 for i in range(0, 100)]:
        preds = {k: (texts[k] if scores[k] >= t else "") for k in texts}
        sweep.append((t, squad_metrics(qs, preds)))
    best_t, best_m = max(sweep, key=lambda tm: tm[1]["f1"])
    floor = keep * sweep[0][1]["HasAns"]["f1"]
    t, m = max((tm for tm in sweep if tm[1]["HasAns"]["f1"] >= floor), key=lambda tm: tm[1]["f1"])
    return {
        "no_answer_threshold": t, "calibration_file": v2_file.name, "calibration_questions": len(qs),
        "calibration_rule": f"best v2.0 F1 keeping >= {keep:.0%} of answerable F1",
        "v2_metrics": m, "v2_best_threshold": best_t, "v2_best_metrics": best_m,
        "v2_sweep": {f"{tt:.2f}": [round(mm["f1"], 1), round(mm["HasAns"]["f1"], 1), round(mm["NoAns"]["f1"], 1)]
                     for tt, mm in sweep[::5]},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True, help="Folder saved by qa.reader.train (…/final)")
    p.add_argument("--work", type=Path, default=Path("runs/export"))
    p.add_argument("--out", type=Path, default=default_model_dir())
    p.add_argument("--dev", type=Path, required=True, help="SQuAD v1.1 dev, to pick the quantization variant")
    p.add_argument("--dev-v2", type=Path, required=True, help="SQuAD v2.0 dev (part), to calibrate the threshold")
    p.add_argument("--sample", type=int, default=300)
    p.add_argument("--calibration-limit", type=int, default=0)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--stride", type=int, default=96)
    p.add_argument("--calibrate-only", action="store_true", help="Recalibrate the threshold of the model in --out")
    args = p.parse_args(argv)

    if args.calibrate_only:
        config = json.loads((args.out / "reader.json").read_text())
        config.update(calibrate(ExtractiveReader(args.out), args.dev_v2, args.calibration_limit))
        (args.out / "reader.json").write_text(json.dumps(config, indent=1))
        print("calibration", json.dumps({k: config[k] for k in ("no_answer_threshold", "v2_metrics")}))
        return

    args.work.mkdir(parents=True, exist_ok=True)
    fp32 = export_fp32(args.checkpoint, args.work)
    dev = sample(load_squad(args.dev).questions, args.sample)
    settings = {"max_length": args.max_length, "stride": args.stride}
    results = {}
    for name, opts in {"fp32": None, **VARIANTS}.items():
        d = args.work / name
        d.mkdir(exist_ok=True)
        if opts is None:
            shutil.copy(fp32, d / "reader.onnx")
        else:
            quantize(fp32, d / "reader.onnx", **opts)
        write_model_dir(d, d / "reader.onnx", args.checkpoint, settings)
        texts, _, per_q = best_scores(ExtractiveReader(d), dev)
        m = squad_metrics(dev, texts)
        results[name] = {"f1": m["f1"], "exact": m["exact"], "ms_per_question": 1000 * per_q,
                         "mb": (d / "reader.onnx").stat().st_size / 2**20}  # fmt: skip
        print(name, json.dumps(results[name]), flush=True)
    chosen = max(VARIANTS, key=lambda n: (round(results[n]["f1"], 0), -results[n]["ms_per_question"]))
    print("chosen", chosen, flush=True)
    cal = calibrate(ExtractiveReader(args.work / chosen), args.dev_v2, args.calibration_limit)
    print("calibration", json.dumps(cal), flush=True)
    config = {**settings, "onnx": "reader.onnx", "variant": chosen, "base_model": "sentence-transformers/all-MiniLM-L6-v2",
              "variants_on_dev_sample": results, "dev_sample": len(dev), **cal}  # fmt: skip
    write_model_dir(args.out, args.work / chosen / "reader.onnx", args.checkpoint, config)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
