"""P(an answer is right), from all the evidence the pipeline has about it, on every kind of document.

The reader's own score is its span's margin over its window's "no answer here", mapped to a
probability on SQuAD. On manuals and legal text that margin runs lower for right answers, so one
scale fitted on Wikipedia says "probably wrong" of answers that are right. The confidence here is a
logistic model over several kinds of evidence, fitted on questions over several kinds of documents
(`python -m qa.train.confidence`), and stored beside the reader as confidence.json:

- margin: the span against its window's null (the reader's evidence);
- prior: the retriever's log-odds for its passage, and the passage's place in the order read;
- gap: its margin over the next distinct answer below it, and how many answers come close (the shape
  of the question's score distribution);
- agreement: whether the dense and the BM25 lists both found its passage;
- kind: whether it is the kind of thing the question asks for (`qa.answer_types`), or a fragment;
- terms: how many of the question's terms stand around it, and in its passage.

Which of them earn their place is measured when the model is fitted (the fit reports each one's
gain); the model keeps only those. The pipeline abstains when the best answer's P(right) is below
the model's threshold, a probability (0.5: more likely wrong than right).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from qa.answer_types import asks_for_several, expected_kind, fits, is_fragment

CONFIG_FILE = "confidence.json"
CLOSE = 2.0  # answers whose evidence is within this of the best one's count as close rivals
NEAR_CHARS = 150  # "around the answer": this many characters on each side, within its passage


class Candidate(Protocol):
    """What the confidence needs of an answer: its span, its margin and which passage it came from."""

    text: str
    start: int
    end: int
    margin: float
    passage_index: int


class Ranked(Protocol):
    """What it needs of a passage: its text and offset, and how the retrievers ranked it."""

    text: str
    start: int
    dense_rank: int | None
    bm25_rank: int | None
    log_prior: float | None


def evidence(question: str, answers: Sequence[Candidate], passages: Sequence[Ranked], rank_prior: float = 0.5) -> list[dict[str, float]]:
    """One feature dictionary per answer (distinct answers, as the reader returns them)."""
    from qa.chunking import bm25_tokenize

    kind = expected_kind(question)
    read = sorted({a.passage_index for a in answers})
    windows = [(a.start - passages[a.passage_index].start, a.end - passages[a.passage_index].start) for a in answers]
    # one tokenizer call: the question, each passage read, and each answer's surroundings
    texts = [question] + [passages[i].text for i in read]
    texts += [passages[a.passage_index].text[max(0, c0 - NEAR_CHARS) : c1 + NEAR_CHARS] for a, (c0, c1) in zip(answers, windows)]
    tokens = [set(t) for t in bm25_tokenize(texts)]
    q_terms, passage_terms, near_terms = tokens[0], dict(zip(read, tokens[1 : 1 + len(read)])), tokens[1 + len(read) :]
    z = [a.margin + _prior(passages[a.passage_index], a.passage_index, rank_prior) for a in answers]
    rows = []
    for i, a in enumerate(answers):
        p = passages[a.passage_index]
        c0, c1 = windows[i]
        others = [z[j] for j in range(len(z)) if j != i]
        below = [o for j, o in enumerate(z) if j != i and (o, -j) < (z[i], -i)]  # the answers ranked after this one
        near, whole = near_terms[i], passage_terms[a.passage_index]
        fit = fits(kind, a.text)
        rows.append(
            {
                "margin": a.margin,
                "prior": _prior(p, a.passage_index, rank_prior),
                "passage_rank": math.log1p(a.passage_index),
                "gap": min(z[i] - max(below), 10.0) if below else 10.0,  # over the next distinct answer below it
                "close_rivals": math.log1p(sum(1 for o in others if o >= z[i] - CLOSE)),
                "dense_hit": float(p.dense_rank is not None and p.dense_rank <= 10),
                "bm25_hit": float(p.bm25_rank is not None and p.bm25_rank <= 10),
                "type_fit": float(fit is True),
                "type_miss": float(fit is False),
                "fragment": float(is_fragment(p.text, c0, c1)),
                "q_near": len(q_terms & near) / len(q_terms) if q_terms else 0.0,
                "q_passage": len(q_terms & whole) / len(q_terms) if q_terms else 0.0,
                "words": math.log1p(len(a.text.split())),
            }
        )
    return rows


def _prior(passage: Ranked, rank: int, rank_prior: float) -> float:
    return passage.log_prior if passage.log_prior is not None else -rank_prior * math.log1p(rank)


@dataclass
class ConfidenceModel:
    """A logistic model over standardised features: P(right) = sigmoid(w · (x - mean) / scale + b)."""

    features: list[str]
    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    threshold: float = 0.5  # answer when P(right) >= this
    near_ratio: float = 0.8  # a further answer, when one answer is asked for, must be this likely relative to the first
    info: dict = field(default_factory=dict)  # how it was fitted and what each feature gave

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        raw = json.loads(Path(path).read_text())
        return cls(
            **{k: raw[k] for k in ("features", "weights", "bias", "mean", "scale", "threshold", "near_ratio") if k in raw},
            info=raw.get("info", {}),
        )

    def save(self, path: Path) -> None:
        out = {
            "features": self.features,
            "weights": self.weights,
            "bias": self.bias,
            "mean": self.mean,
            "scale": self.scale,
            "threshold": self.threshold,
            "near_ratio": self.near_ratio,
            "info": self.info,
        }
        Path(path).write_text(json.dumps(out, indent=1) + "\n")

    def __call__(self, row: dict[str, float]) -> float:
        z = self.bias + sum(w * (row[f] - m) / s for f, w, m, s in zip(self.features, self.weights, self.mean, self.scale))
        return _sigmoid(z)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def expected_calibration_error(probs: Sequence[float], right: Sequence[float], bins: int = 10) -> float:
    """The gap between stated confidence and the share right, averaged over equal-width bins
    weighted by how many answers fall in each (0: every confidence means what it says)."""
    n = len(probs)
    if not n:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, p in enumerate(probs) if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if idx:
            total += len(idx) / n * abs(sum(probs[i] for i in idx) / len(idx) - sum(right[i] for i in idx) / len(idx))
    return total


def reliability(probs: Sequence[float], right: Sequence[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean confidence, share right, count) per non-empty bin: the points of a reliability plot."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, p in enumerate(probs) if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if idx:
            out.append((sum(probs[i] for i in idx) / len(idx), sum(right[i] for i in idx) / len(idx), len(idx)))
    return out


@dataclass
class Decision:
    """What to show for one question: the answers, best first (the closest guess alone when
    `no_answer`), and the evidence each one's confidence came from."""

    answers: list
    no_answer: bool
    evidence: list[dict[str, float]] = field(default_factory=list)


class AnswerChooser:
    """Scores the reader's distinct answers as P(right), abstains below the model's threshold, and
    keeps further answers only when the question asks for several or when they are nearly as likely
    as the first; never a fragment, never an answer of another kind than the one asked for.

    A Stage: `__init__` stores the folder, `warm_up()` reads confidence.json. Without that file (a
    reader exported before it existed) the reader's own calibrated score and threshold decide, as they
    used to.
    """

    def __init__(self, model_dir: Path, *, reader_threshold: float = 0.5, rank_prior: float = 0.5):
        self.path = Path(model_dir) / CONFIG_FILE
        self.reader_threshold = reader_threshold
        self.rank_prior = rank_prior
        self.model: ConfidenceModel | None = None
        self._loaded = False

    def warm_up(self) -> None:
        if not self._loaded:
            self.model = ConfidenceModel.load(self.path) if self.path.exists() else None
            self._loaded = True

    @property
    def speech_confidence(self) -> float:
        """P(right) of a statement attributed to the speaker a question asks about (measured when fitted)."""
        self.warm_up()
        return float(self.model.info.get("speech_precision", 0.9)) if self.model is not None else 0.9

    @property
    def threshold(self) -> float:
        self.warm_up()
        return self.model.threshold if self.model is not None else self.reader_threshold

    def __call__(self, question: str, found: Sequence, passages: Sequence[Ranked]) -> Decision:
        self.warm_up()
        if not found:
            return Decision([], True)
        rows = evidence(question, found, passages, self.rank_prior)
        if self.model is None:
            above = [i for i, a in enumerate(found) if a.score >= self.reader_threshold] or [0]
            return Decision([found[i] for i in above], found[above[0]].score < self.reader_threshold, [rows[i] for i in above])
        # The reader's order stands: its best span is the best guess (a selector re-ranking its spans did
        # no better), and the model is fitted on that best answer, so re-ranking by P would overstate it.
        top = found[0]
        top.score = self.model(rows[0])
        if top.score < self.model.threshold:
            return Decision([top], True, [rows[0]])
        several = asks_for_several(question)
        z_top = rows[0]["margin"] + rows[0]["prior"]
        for a, row in zip(found[1:], rows[1:]):
            if several:  # items of one list do not compete: each is judged on its own evidence
                a.score = min(self.model(row), top.score)
            else:  # rivals for one answer: as likely as the reader finds it against the first
                a.score = top.score * math.exp(min(0.0, row["margin"] + row["prior"] - z_top))
        keep = [0]
        for i in range(1, len(found)):
            a, row = found[i], rows[i]
            if a.score < self.model.threshold or row["fragment"] or row["type_miss"]:
                continue
            if not several and a.score < self.model.near_ratio * top.score:
                continue
            keep.append(i)
        return Decision([found[i] for i in keep], False, [rows[i] for i in keep])
