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

import numpy as np

from qa.onnx_utils import export_onnx
from qa.reader import ExtractiveReader, default_model_dir
from qa.schema import Passage
from qa.squad import load_squad, read_json, sample, score_question, squad_metrics

VARIANTS = {
    "int8-per-tensor": {"per_channel": False, "reduce_range": False},
    "int8-per-channel": {"per_channel": True, "reduce_range": False},
    "int8-per-channel-reduce-range": {"per_channel": True, "reduce_range": True},
}
# How retrieval enters the answer score: chosen per reader by bench/tune/interpolation.py, not by the export
PRIOR_KEYS = ("rank_prior", "rank_prior_chosen_by", "ranker_prior", "ranker_prior_chosen_by")


def carried_priors(out: Path) -> dict:
    """The answer-score priors of the reader about to be replaced in `out`, so that a re-export does not
    silently drop them (open-corpus F1 falls without them); marked for re-choosing on the new reader."""
    try:
        old = json.loads((out / "reader.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    carried = {k: old[k] for k in PRIOR_KEYS if k in old}
    if carried:
        carried["priors_note"] = "carried over from the reader this one replaced; re-choose them with python -m bench.tune.interpolation"
    return carried


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


def best_answers(reader: ExtractiveReader, qs) -> tuple[dict, dict, dict, float]:
    """Each question's best answer: text, span margin and score, read against its own paragraph."""
    texts, margins, scores = {}, {}, {}
    t = time.perf_counter()
    for q in qs:
        found = reader(q.question, [Passage.from_text(q.context)], top_n=1)
        texts[q.id] = found[0].text if found else ""
        margins[q.id] = found[0].margin if found else -1e9
        scores[q.id] = found[0].score if found else 0.0
    return texts, margins, scores, (time.perf_counter() - t) / max(1, len(qs))


def fit_platt(margins: np.ndarray, right: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Logistic fit P(right | margin) = sigmoid(a * margin + b), by Newton's method (two parameters)."""
    x = np.clip(margins, -50, 50)
    w = np.zeros(2)
    X = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(X @ w)))
        grad = X.T @ (p - right)
        hess = (X * (p * (1 - p))[:, None]).T @ X + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def calibrate(reader: ExtractiveReader, v2_file: Path, limit: int = 0, keep: float = 0.9) -> dict:
    """The answer score's scale and the no-answer threshold, from SQuAD v2.0 dev.

    1. Scale: the span margin (span vs. its window's "no answer here") is mapped to the
       probability that the answer is right (F1 >= 0.5 with a gold answer; any answer to an
       unanswerable question is wrong) by a two-parameter logistic fit (Platt scaling).
    2. Threshold, on that scale: v2.0's unanswerable questions are written to look answerable
       from their own paragraph, and abstaining almost always keeps gaining v2 F1, which would
       make the product refuse most real questions. So the rule is: the best v2.0 F1 among
       thresholds that keep at least `keep` of the answerable questions' F1. The unconstrained
       optimum is recorded beside it.
    """
    qs = sample(load_squad(v2_file).questions, limit)
    texts, margins, scores, _ = best_answers(reader, qs)
    right = np.array([0.0 if q.is_impossible else float(score_question(q, texts[q.id])[1] >= 0.5) for q in qs])
    a, b = fit_platt(np.array([margins[q.id] for q in qs]), right)
    scores = {k: float(1 / (1 + np.exp(-np.clip(a * m + b, -50, 50)))) for k, m in margins.items()}
    fit = {"score_calibration": {"a": a, "b": b, "fit": "P(F1 >= 0.5) on the calibration file, logistic in the span margin"}}
    sweep = []
    for t in [i / 100 for i in range(0, 100)]:
        preds = {k: (texts[k] if scores[k] >= t else "") for k in texts}
        sweep.append((t, squad_metrics(qs, preds)))
    best_t, best_m = max(sweep, key=lambda tm: tm[1]["f1"])
    floor = keep * sweep[0][1]["HasAns"]["f1"]
    t, m = max((tm for tm in sweep if tm[1]["HasAns"]["f1"] >= floor), key=lambda tm: tm[1]["f1"])
    return {
        **fit,
        "score": "null_aware",
        "no_answer_threshold": t,
        "calibration_file": v2_file.name,
        "calibration_questions": len(qs),
        "calibration_rule": f"best v2.0 F1 keeping >= {keep:.0%} of answerable F1",
        "v2_metrics": m,
        "v2_best_threshold": best_t,
        "v2_best_metrics": best_m,
        "v2_sweep": {f"{tt:.2f}": [round(mm["f1"], 1), round(mm["HasAns"]["f1"], 1), round(mm["NoAns"]["f1"], 1)] for tt, mm in sweep[::5]},
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, help="Folder saved by qa.train.reader (…/final)")
    p.add_argument("--work", type=Path, default=Path("runs/export"))
    p.add_argument("--out", type=Path, default=default_model_dir())
    p.add_argument(
        "--select",
        type=Path,
        help="SQuAD file whose questions pick the quantization variant: the training file with --mined "
        "(its held-out articles), never a dev set",
    )
    p.add_argument("--mined", type=Path, help="qa.train.data.mining output: use only its held-out articles of --select")
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

    if not args.checkpoint or not args.select:
        p.error("--checkpoint and --select are needed to export (only --calibrate-only works without them)")
    args.work.mkdir(parents=True, exist_ok=True)
    fp32 = export_fp32(args.checkpoint, args.work)
    pool = load_squad(args.select).questions
    if args.mined:
        held = set(read_json(args.mined)["holdout_articles"])
        pool = [q for q in pool if q.title in held]
    dev = sample(pool, args.sample)
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
        texts, _, _, per_q = best_answers(ExtractiveReader(d), dev)
        m = squad_metrics(dev, texts)
        results[name] = {
            "f1": m["f1"],
            "exact": m["exact"],
            "ms_per_question": 1000 * per_q,
            "mb": (d / "reader.onnx").stat().st_size / 2**20,
        }
        print(name, json.dumps(results[name]), flush=True)
    chosen = max(VARIANTS, key=lambda n: (round(results[n]["f1"], 0), -results[n]["ms_per_question"]))
    print("chosen", chosen, flush=True)
    cal = calibrate(ExtractiveReader(args.work / chosen), args.dev_v2, args.calibration_limit)
    print("calibration", json.dumps(cal), flush=True)
    priors = carried_priors(args.out)
    if priors:
        print(
            f"carried over the answer-score priors {sorted(k for k in priors if k in PRIOR_KEYS)}; re-choose them with "
            "python -m bench.tune.interpolation --limit 600 --holdout-limit 0",
            flush=True,
        )
    config = {
        **settings,
        "onnx": "reader.onnx",
        "variant": chosen,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "variants_on_selection_sample": results,
        "selection_sample": len(dev),
        "selection_file": args.select.name + (" (held-out articles)" if args.mined else ""),
        **cal,
        **priors,
    }
    write_model_dir(args.out, args.work / chosen / "reader.onnx", args.checkpoint, config)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
