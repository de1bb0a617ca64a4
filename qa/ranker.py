"""A feature ranker: reorders the fused candidates by how well each one matches the question.

Why: dense and BM25 scores each judge a whole chunk, so a passage that mentions the question's
words here and there can outrank the one with a sentence that says what was asked. A handful of
match features computed on the candidates themselves (does one sentence hold most of the
question's rarer terms, do its word pairs occur in order, how far apart the two lists put it),
weighed by a linear model trained on held-out SQuAD train questions (`qa.train.ranker`), moves
the answering passage up at a cost of a few milliseconds and no model run.

Term weights are inverse document frequencies over the candidates alone: a term every candidate
has cannot tell them apart. So the features need nothing from the store beyond the ranked lists,
and rank the same over every store.

The model is one JSON file (weights, feature names, candidates, how it was trained):
`choose_ranker_file` maps the QA_RANKER setting to it, or to None (fusion's order is kept).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np

from qa.chunking import bm25_tokenize
from qa.errors import BadSetting, MissingPath
from qa.schema import Passage

CONFIG_FILE = "ranker.json"
FEATURES = ("fused_rank", "dense_gap", "bm25_share", "best_sentence", "whole_passage", "question_bigrams", "in_dense")
# sentence ends, and blank lines (manuals and notes often have no full stops)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def shipped_ranker_file() -> Path:
    return Path(str(resources.files("qa") / "models" / "ranker" / CONFIG_FILE))


def choose_ranker_file(setting: str) -> Path | None:
    """QA_RANKER → the model file, or None for fusion's order.

    `auto` uses the shipped model when the package has one, `off` none, anything else is a
    ranker.json written by qa.train.ranker (or the folder holding one)."""
    if setting == "off":
        return None
    if setting == "auto":
        f = shipped_ranker_file()
        return f if f.is_file() else None
    f = Path(setting).expanduser()
    f = f / CONFIG_FILE if f.is_dir() else f
    if not f.is_file():
        raise MissingPath(f"QA_RANKER={setting!r}: no ranker model at {f} (use auto, off, or a {CONFIG_FILE} written by qa.train.ranker)")
    return f


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_BREAK.split(text) if s.strip()] or [text]


def match_features(question: str, passages: list[Passage]) -> np.ndarray:
    """One row of FEATURES per passage, in the order given (that order is fusion's rank)."""
    n = len(passages)
    out = np.zeros((n, len(FEATURES)), np.float32)
    if not n:
        return out
    q_terms = bm25_tokenize([question])[0]
    unique = list(dict.fromkeys(q_terms))
    sentences = [_sentences(p.text) for p in passages]
    tokens = bm25_tokenize([s for ss in sentences for s in ss])  # one call: stemming is per word
    per_sentence: list[list[list[str]]] = []
    at = 0
    for ss in sentences:
        per_sentence.append(tokens[at : at + len(ss)])
        at += len(ss)
    whole = [[t for s in ps for t in s] for ps in per_sentence]
    whole_sets = [set(w) for w in whole]
    df = {t: sum(t in w for w in whole_sets) for t in unique}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in unique}
    total = sum(idf.values()) or 1.0

    def share(terms: set[str]) -> float:
        return sum(idf[t] for t in unique if t in terms) / total

    q_pairs = set(zip(q_terms, q_terms[1:]))
    dense = [p.dense_score for p in passages if p.dense_score is not None]
    d_top, d_floor = (max(dense), min(dense)) if dense else (0.0, 0.0)
    b_top = max((p.bm25_score or 0.0 for p in passages), default=0.0)
    for i, p in enumerate(passages):
        w = whole[i]
        out[i] = (
            -math.log(i + 1),
            (p.dense_score if p.dense_score is not None else d_floor) - d_top,
            (p.bm25_score or 0.0) / b_top if b_top > 0 else 0.0,
            max(share(set(s)) for s in per_sentence[i]),
            share(whole_sets[i]),
            len(q_pairs & set(zip(w, w[1:]))) / len(q_pairs) if q_pairs else 0.0,
            float(p.dense_score is not None),
        )
    return out


class FeatureRanker:
    """Orders passages by weights · match_features; `score` becomes that value, `fused_rank`
    keeps where fusion had put each one (ties keep fusion's order), and `log_prior` is the score
    minus the first's: trained as a listwise softmax, it is the log-odds of holding the answer.
    A `qa.schema.Stage`: `path` is its ranker.json, read by `warm_up()`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.config: dict = {}
        self.weights: np.ndarray | None = None

    @property
    def candidates(self) -> int:
        """How many of fusion's top passages it reorders (what it was trained on)."""
        self.warm_up()
        return int(self.config.get("candidates", 20))

    def warm_up(self) -> None:
        if self.weights is not None:
            return
        try:
            config = json.loads(self.path.read_text(encoding="utf-8"))
            weights = np.asarray([float(config["weights"][f]) for f in FEATURES], np.float32)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BadSetting(
                f"ranker model {self.path} is unreadable or of another version ({type(e).__name__}: {e}); "
                "retrain it with qa.train.ranker or set QA_RANKER=off"
            ) from None
        self.config, self.weights = config, weights

    def __call__(self, question: str, passages: list[Passage]) -> list[Passage]:
        self.warm_up()
        scores = match_features(question, passages) @ self.weights
        order = sorted(range(len(passages)), key=lambda i: (-scores[i], i))
        top = float(scores[order[0]]) if order else 0.0
        return [replace(passages[i], score=float(scores[i]), fused_rank=i + 1, log_prior=float(scores[i]) - top) for i in order]
