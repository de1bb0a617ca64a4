"""Small helpers shared by the ONNX embedder and reader: sessions and tokenizers without torch."""

from __future__ import annotations

import warnings
from pathlib import Path


def session(
    model_path: Path, threads: int = 0, optimized_to: Path | None = None, preoptimized: bool = False, denormals_as_zero: bool = True
):
    """An ONNX Runtime CPU session with `threads` threads (0: ONNX Runtime's default, one per core;
    callers pass Settings.threads, QA_THREADS).

    `optimized_to` saves the graph after fusions, and `preoptimized` loads such a file without
    optimizing again: about half the start-up time for the 90 MB embedder. The saved graph
    is specific to this machine's ONNX Runtime, so it is only made on the machine that uses it.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    level = ort.GraphOptimizationLevel
    opts.graph_optimization_level = level.ORT_DISABLE_ALL if preoptimized else level.ORT_ENABLE_ALL
    if optimized_to is not None:
        opts.graph_optimization_level = level.ORT_ENABLE_EXTENDED
        opts.optimized_model_filepath = str(optimized_to)
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    # Flush denormal floats to zero: they take the CPU's slow path. A reader ran 6 % slower than its
    # predecessor without this and as fast with it; its logits were bit-identical on 100 held-out
    # windows either way (bench/tune/reader_speed.py)
    opts.add_session_config_entry("session.set_denormal_as_zero", "1" if denormals_as_zero else "0")
    return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])


def export_onnx(model, path: Path, output_names: list[str], opset: int = 17) -> None:
    """Export a BERT-style torch model taking ids/mask/type ids with dynamic batch and length."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in names + output_names}

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return tuple(out[k] for k in output_names)

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant shapes; the check after export is what counts
        torch.onnx.export(
            Wrapped(model),
            args,
            str(path),
            input_names=names,
            output_names=output_names,
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
