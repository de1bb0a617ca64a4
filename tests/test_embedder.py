"""The document embedder: its fingerprint is the weights' content, and bf16 stays close to fp32."""

from __future__ import annotations

import shutil

from qa import embedder


def test_model_fingerprint_is_a_content_hash(tmp_path):
    """Other weights of the same size are another model."""
    src = embedder.model_path()
    for copy in ("a", "b"):
        shutil.copytree(src, tmp_path / copy)
    assert embedder.model_fingerprint(tmp_path / "a") == embedder.model_fingerprint(tmp_path / "b") == embedder.model_fingerprint()
    weights = tmp_path / "b" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, one byte differs
    weights.write_bytes(bytes(data))
    assert embedder.model_fingerprint(tmp_path / "b") != embedder.model_fingerprint(tmp_path / "a")


def test_bf16_document_embedding_runs_in_bf16_and_stays_close_to_fp32():
    """`bf16` really casts the model (its vectors differ from fp32's), keeps unit length, and stays
    within cosine 0.99 of the fp32 reference; `auto` means bf16 exactly where the CPU has it natively."""
    import numpy as np
    import torch

    texts = ["NATO and Russia met in Brussels after two and a half years.", "The ferry to Holmvik leaves at 06:40.", "short"]
    bf, fp = embedder.DocumentEmbedder(precision="bf16"), embedder.DocumentEmbedder(precision="fp32")
    assert next(bf.warm_up().parameters()).dtype == torch.bfloat16 and next(fp.warm_up().parameters()).dtype == torch.float32
    vb, vf = bf(texts), fp(texts)
    assert vb.dtype == np.float32 and np.allclose(np.linalg.norm(vb, axis=1), 1.0, atol=1e-5)
    cos = (vb * vf).sum(axis=1)
    assert cos.min() >= 0.99 and not np.array_equal(vb, vf)
    assert embedder.DocumentEmbedder().precision == ("bf16" if embedder.native_bf16() else "fp32")
