"""Reader quality and speed: the shipped int8 ONNX reader vs the same weights in PyTorch (fp32, bf16 autocast).

Only the inference engine differs: every engine gets the same tokenized windows (the product's
tokenizer and window settings) and the same decoding (qa.reader), because the torch
engines are ExtractiveReader subclasses that replace only `_run` (ids → start/end logits).
Questions are interleaved across engines (rotating order), so a busy machine slows all alike.
SQuAD v1.1 dev, official EM/F1, each question read with its own paragraph.

    python bench/reader.py --checkpoint runs/reader/final [--limit 2000]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from qa.reader import ExtractiveReader, default_model_dir, pad_batch  # noqa: E402
from qa.schema import Passage  # noqa: E402


class TorchReader(ExtractiveReader):
    """The product's reader with a PyTorch model in place of the ONNX session (same windows, same decoding)."""

    def __init__(self, model_dir: Path, checkpoint: Path, bf16: bool = False):
        super().__init__(model_dir)
        self.checkpoint = Path(checkpoint)
        self.bf16 = bf16

    def warm_up(self) -> None:
        if self._session is None:
            import torch
            from transformers import AutoModelForQuestionAnswering

            # The product's own warm-up sets up its tokenizers exactly as it reads; then the engine is swapped.
            self._session = None
            super().warm_up()
            model = AutoModelForQuestionAnswering.from_pretrained(self.checkpoint, dtype=torch.float32)
            self._session = model.eval()

    def _run(self, encs) -> tuple[np.ndarray, np.ndarray]:
        import torch

        ids, mask, types = pad_batch(encs)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            out = self._session(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), token_type_ids=torch.from_numpy(types)
            )
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()


def engines(args) -> dict[str, ExtractiveReader]:
    out: dict[str, ExtractiveReader] = {}
    for name in args.engines.split(","):
        if name == "onnx-int8":
            out[name] = ExtractiveReader(args.onnx_dir)
        elif name == "onnx-fp32":
            if args.onnx_fp32_dir:
                out[name] = ExtractiveReader(args.onnx_fp32_dir)
        elif name in ("torch-fp32", "torch-bf16"):
            out[name] = TorchReader(args.onnx_dir, args.checkpoint, bf16=name == "torch-bf16")
        else:
            sys.exit(f"unknown engine {name}")
    return out


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "reader")
    p.add_argument("--checkpoint", type=Path, default=common.ROOT / "runs" / "reader" / "final", help="HF checkpoint (torch weights)")
    p.add_argument("--onnx-dir", type=Path, default=None, help="shipped reader folder (default: qa/models/reader or $QA_READER_DIR)")
    p.add_argument("--onnx-fp32-dir", type=Path, default=None, help="optional: the fp32 ONNX export, to split quantization from runtime")
    p.add_argument("--engines", default="onnx-int8,onnx-fp32,torch-fp32,torch-bf16")
    args = p.parse_args()
    args.onnx_dir = args.onnx_dir or default_model_dir()
    if not (args.checkpoint / "config.json").exists():
        sys.exit(f"no HF checkpoint at {args.checkpoint} (pass --checkpoint)")
    run = common.Run("reader", args)
    import torch

    from qa.squad import load_squad, sample, squad_metrics

    dev = common.squad_file(args.squad, "dev-v1.1")
    qs = sample(load_squad(dev).questions, args.limit)
    readers = engines(args)
    for r in readers.values():
        r.warm_up()
        r(qs[0].question, [Passage.from_text(qs[0].context)], top_n=1)  # first call allocates; not timed
    names = list(readers)
    preds = {n: {} for n in names}
    times = {n: [] for n in names}
    import time

    for i, q in enumerate(common.progress_bar(qs, "reading", args.no_progress, unit="q")):
        for n in names[i % len(names) :] + names[: i % len(names)]:
            t = time.perf_counter()
            found = readers[n](q.question, [Passage.from_text(q.context)], top_n=1)
            times[n].append(time.perf_counter() - t)
            preds[n][q.id] = found[0].text if found else ""
    ref = "onnx-int8" if "onnx-int8" in names else names[0]
    out = {"file": dev.name, "questions": len(qs), "reference_engine": ref, "engines": {}}
    for n in names:
        m = squad_metrics(qs, preds[n])
        lat = common.summary_ms(times[n])
        out["engines"][n] = {
            "exact": round(m["exact"], 2),
            "f1": round(m["f1"], 2),
            "latency": lat,
            "same_answer_as_reference_pct": round(100 * np.mean([preds[n][q.id] == preds[ref][q.id] for q in qs]), 2),
        }
    r_lat = out["engines"][ref]["latency"]
    for n in names:
        e = out["engines"][n]
        e["p50_vs_reference"] = round(e["latency"]["p50_ms"] / r_lat["p50_ms"], 3)  # > 1: slower than the shipped reader
        e["mean_vs_reference"] = round(e["latency"]["mean_ms"] / r_lat["mean_ms"], 3)
        e["f1_minus_reference"] = round(e["f1"] - out["engines"][ref]["f1"], 2)
    sizes = {"onnx-int8": args.onnx_dir / "reader.onnx", "torch-fp32": args.checkpoint / "model.safetensors"}
    if args.onnx_fp32_dir:
        sizes["onnx-fp32"] = args.onnx_fp32_dir / "reader.onnx"
    out["model_mb"] = {k: round(v.stat().st_size / 2**20, 1) for k, v in sizes.items() if v.exists()}
    out["threads"] = {"torch": torch.get_num_threads(), "onnxruntime": int(os.environ.get("QA_THREADS") or 0) or "one per core (default)"}
    out["shipped_variant"] = readers[ref].config.get("variant", "unknown")
    out["window"] = {"max_length": readers[ref].max_length, "stride": readers[ref].stride}
    run.write(out)


if __name__ == "__main__":
    main()
