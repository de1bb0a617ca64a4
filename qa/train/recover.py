"""Torch weights back from the shipped int8 ONNX reader, to train on from where it stands.

Why: training checkpoints live outside the work tree (`~/qa-runs`) and do not outlive the machine
they were made on, while the shipped `reader.onnx` is in git. Its int8 weights, dequantized
((q - zero point) · scale, per output channel for the matrix products, per tensor for the
embeddings), are the trained reader up to rounding: the int8 variant scored the same F1 as fp32 when
it was chosen (`variants_on_selection_sample` in reader.json). This writes them as a Hugging Face
folder (BertForQuestionAnswering, the base MiniLM's config and tokenizer) that `qa.train.reader
--base-model` continues from, here or on a GPU machine (the tree already carries the ONNX file, where
the base weights in fp16 would not fit beside it).

    python -m qa.train.recover --out runs/reader-recovered

Needs the `train` extra (torch, transformers).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from qa.reader import default_model_dir

# "/inner/bert/encoder/layer.0/attention/self/query/MatMul_quant" -> "bert.encoder.layer.0.attention.self.query"
_MATMUL = re.compile(r"^/inner/(.+)/MatMul_quant$")


def dequantized_state(onnx_file: Path) -> dict[str, np.ndarray]:
    """Parameter name -> fp32 array, named as in transformers' BertForQuestionAnswering."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def deq(base: str) -> np.ndarray:
        q = init[f"{base}_quantized"].astype(np.float32)
        return (q - init[f"{base}_zero_point"].astype(np.float32)) * init[f"{base}_scale"].astype(np.float32)

    state: dict[str, np.ndarray] = {}
    for name, value in init.items():
        if not name.startswith("inner."):
            continue
        if name.endswith("_quantized"):  # embeddings, quantized for Gather: (rows, dim), one scale
            state[name[len("inner.") : -len("_quantized")]] = deq(name[: -len("_quantized")])
        elif not name.endswith(("_scale", "_zero_point")):  # biases and LayerNorm, kept in fp32
            state[name[len("inner.") :]] = value.astype(np.float32)
    for node in graph.node:
        m = _MATMUL.match(node.name) if node.op_type == "MatMulInteger" else None
        if m:
            weight = next(i for i in node.input if i.endswith("_quantized") and i in init)
            # ONNX multiplies x @ W (in, out), scales per output column; torch's Linear holds W.T
            state[m.group(1).replace("/", ".") + ".weight"] = deq(weight[: -len("_quantized")]).T.copy()
    return state


def recover(model_dir: Path, out: Path, base_model: str = "") -> Path:
    """Write the reader in `model_dir` as a Hugging Face folder in `out`; returns `out`."""
    import json

    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer

    from qa.train.loop import default_base_model

    cfg = json.loads((model_dir / "reader.json").read_text(encoding="utf-8"))
    base = base_model or default_base_model()
    model = AutoModelForQuestionAnswering.from_config(AutoConfig.from_pretrained(base))
    state = {k: torch.from_numpy(v) for k, v in dequantized_state(model_dir / cfg.get("onnx", "reader.onnx")).items()}
    expected = {k for k in model.state_dict() if not k.endswith("position_ids")}
    missing, unknown = expected - set(state), set(state) - expected
    if missing or unknown:
        raise ValueError(
            f"the ONNX reader does not map onto BertForQuestionAnswering: missing {sorted(missing)[:5]}, unknown {sorted(unknown)[:5]}"
        )
    model.load_state_dict(state, strict=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    (out / "recovered_from.json").write_text(
        json.dumps({"reader_dir": str(model_dir), "training_step": cfg.get("training_step"), "variant": cfg.get("variant")}, indent=1)
    )
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reader-dir", type=Path, default=default_model_dir(), help="a reader folder (reader.onnx, reader.json)")
    p.add_argument("--out", type=Path, required=True, help="the Hugging Face folder to write")
    p.add_argument("--base-model", default="", help="a folder with the MiniLM config and tokenizer (default: the bundled MiniLM)")
    a = p.parse_args(argv)
    print(f"wrote {recover(a.reader_dir, a.out, a.base_model)}")


if __name__ == "__main__":
    main()
