"""A cross-encoder reranker: reads the question and each fused candidate together, puts the best first.

Why: the dense and BM25 lists each see the question and the passage apart, so their fusion
often has the answering passage among the top 20 but not first. A cross-encoder attends across
both texts and orders those few candidates far better. It is small on purpose: the first layers
of the bundled MiniLM with a one-logit head on its mean token state, int8, trained by `qa.reranker_train`, so
20 candidates fit in tens of milliseconds on two CPU threads. Query path: ONNX Runtime and
`tokenizers` only (no torch).

The model folder holds reranker.onnx, tokenizer.json and reranker.json (max_length, layers and
how it was trained). `choose_reranker_dir` maps the QA_RERANK setting to such a folder or None.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np

from qa.onnx_utils import session
from qa.schema import Passage

MODEL_FILE = "reranker.onnx"
CONFIG_FILE = "reranker.json"


def shipped_model_dir() -> Path:
    return Path(str(resources.files("qa") / "models" / "reranker"))


def choose_reranker_dir(setting: str) -> Path | None:
    """QA_RERANK → the model folder, or None for no reranking.

    `auto` uses the shipped model when the package has one (else none, exactly the old retrieval),
    `off` none, anything else is a folder written by qa.reranker_train, which must hold a model."""
    if setting == "off":
        return None
    if setting == "auto":
        d = shipped_model_dir()
        return d if (d / MODEL_FILE).is_file() else None
    d = Path(setting).expanduser()
    if not (d / MODEL_FILE).is_file():
        raise FileNotFoundError(f"QA_RERANK={setting!r}: no reranker model at {d / MODEL_FILE} "
                                "(use auto, off, or a folder written by qa.reranker_train)")  # fmt: skip
    return d


class CrossEncoderReranker:
    """Scores (question, passage) pairs; higher is better."""

    def __init__(self, model_dir: Path, threads: int = 0, max_length: int | None = None):
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.config: dict = {}
        self.requested_length = max_length  # None: reranker.json's (bench/rerank.py compares lengths)
        self.max_length = max_length or 256
        self._session = None
        self._tokenizer = None

    def warm_up(self) -> None:
        if self._session is not None:
            return
        from tokenizers import Tokenizer

        model = self.model_dir / MODEL_FILE
        if not model.is_file():
            raise FileNotFoundError(f"reranker model {model} is missing")
        cfg = self.model_dir / CONFIG_FILE
        self.config = json.loads(cfg.read_text(encoding="utf-8")) if cfg.exists() else {}
        self.max_length = self.requested_length or int(self.config.get("max_length", 256))
        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tok.enable_truncation(self.max_length, strategy="longest_first")  # questions are short: the passage is what gets cut
        tok.no_padding()
        self._tokenizer = tok
        self._session = session(model, self.threads)

    @property
    def fused_rank_prior(self) -> float:
        """μ in `logit - μ·log(fused rank)`: how much fusion's order still counts (reranker.json,
        chosen on held-out train questions by bench/rerank.py; 0 = the reranker alone)."""
        return float(self.config.get("fused_rank_prior", 0.0))

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text, each text in its own ONNX run: int8 dynamic quantization scales
        activations per tensor, so in a padded batch a text's logit would move with its companions
        (as the reader's margins did). Alone, a passage's score is its own, and with no padding
        this is as fast as one batch at this size."""
        self.warm_up()
        out = np.zeros(len(texts), dtype=np.float32)
        for i, e in enumerate(self._tokenizer.encode_batch([(question, t) for t in texts])):
            feed = {
                "input_ids": np.array([e.ids], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }
            (logits,) = self._session.run(["logits"], feed)
            out[i] = float(logits.reshape(-1)[0])
        return out

    def __call__(self, question: str, passages: list[Passage], top_k: int | None = None) -> list[Passage]:
        """The passages best first (top_k of them, or all), by `logit - μ·log(fused rank)`; `score` becomes
        that value and `fused_rank` keeps where fusion had put each one (ties keep the fused order)."""
        logits = self.scores(question, [p.text for p in passages])
        ranks = [p.fused_rank or i + 1 for i, p in enumerate(passages)]
        s = [float(logits[i]) - self.fused_rank_prior * math.log(ranks[i]) for i in range(len(passages))]
        order = sorted(range(len(passages)), key=lambda i: (-s[i], i))[:top_k]
        # its logits were trained pointwise, so they carry no log-prior across passages (the reader falls back to rank)
        return [replace(passages[i], score=s[i], fused_rank=ranks[i], log_prior=None) for i in order]
