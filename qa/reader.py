"""The extractive reader: finds the answer span in retrieved passages, with exact offsets.

Runs an ONNX QA model (start/end logits) through ONNX Runtime, so the query path needs
neither torch nor transformers.

Scores are null-aware, so that they compare across passages: a window's softmax is
normalised on its own, so p(start)·p(end) says how peaked the window's span distribution
is, not whether the passage answers at all. The score of a span therefore rests on its
margin over the window's [CLS] "no answer here" slot, m = log p − log p_null (= start + end −
start_null − end_null of the logits; sigmoid(m) = p / (p + p_null)), which compares across
windows. `reader.json` maps the margin to a probability that the answer is right,
sigmoid(a·m + b), fitted on SQuAD v2.0 dev (Platt scaling, `qa.train.export_reader.calibrate`),
and stores the no-answer threshold on that scale (`"score": "null_aware"`).

Across passages, the retriever's judgement can enter too (BERTserini's interpolation). When the
feature ranker ordered the passages, each carries its `log_prior`, the ranker's log-odds against
the first passage (a listwise softmax), and with `"ranker_prior": μ` in `reader.json` an answer
scores calibrated(m + μ·log_prior): μ = 1 is the product of the two probabilities. Passages without
one (QA_RANKER=off) fall back to the rank: with `"rank_prior": λ`, an
answer read in the passage ranked r (0 = first) scores calibrated(m − λ·log(1 + r)). Zero for
either leaves the reader's order alone. `bench/tune/interpolation.py` measures both on held-out train
articles. The first passage's prior is 0 either way, so reading a single passage
(`qa eval --reader-only`, the calibration) leaves the threshold its meaning.

A span never runs across a blank line (`paragraph_breaks`): the model sees no whitespace, and on
manuals it joined the end of one list entry to the start of the next.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.errors import BadSetting, MissingPath
from qa.onnx_utils import session
from qa.schema import Answer
from qa.settings import Settings
from qa.text import normalize_answer

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

MAX_QUESTION_TOKENS = 64


@dataclass
class SpanCandidate:
    """One distinct span of one window, before scoring (offsets into its passage's text)."""

    passage_index: int
    c0: int
    c1: int
    p_span: float  # summed over the window's spans that overlap it (one answer, other boundaries)
    p_null: float  # the window's [CLS] "no answer here"
    window_rank: int  # 0: the window's best span

    @property
    def margin(self) -> float:
        return margin(self.p_span, self.p_null)


@dataclass
class _SpanGroup:
    """Overlapping spans of one window, counted as one answer: the best one's offsets, their summed probability."""

    p_span: float
    c0: int
    c1: int


class Readable(Protocol):
    """What the reader needs of a passage: its text, where it sits in its document, and the
    retriever's log-odds for it against the first passage (None: only its rank is known)."""

    text: str
    document: str
    start: int
    log_prior: float | None


def default_model_dir() -> Path:
    """The reader shipped in the package; QA_READER_DIR points elsewhere (a retrained model)."""
    return Settings.env_value("reader_dir") or Path(str(resources.files("qa") / "models" / "reader"))


class ExtractiveReader:
    """Reads passages with the ONNX QA model and returns their best distinct answer spans, best
    first, each scored as P(right) (see the module docstring). A `qa.schema.Stage`.

    Args:
        model_dir: a folder with reader.onnx, tokenizer.json and reader.json (default: the shipped
            reader, or QA_READER_DIR).
        max_answer_tokens: the longest answer, in word pieces.
        threads: ONNX Runtime threads (0: QA_THREADS, else all cores).
        span_candidates: best starts x best ends considered per window.
        batch_size: windows per ONNX run (1 keeps int8 scores independent of batch-mates).

    `__init__` reads only reader.json (threshold, calibration, priors, window size); `warm_up()`
    loads the tokenizer and the model.
    """

    _tokenizer: Tokenizer  # question + passage, cut into overlapping windows (set by warm_up)
    _question_tokenizer: Tokenizer  # the question alone, uncut

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        max_answer_tokens: int = 30,
        threads: int = 0,
        span_candidates: int = 20,
        batch_size: int = 1,
    ):
        self.model_dir = Path(model_dir or default_model_dir())
        # One window per ONNX run by default: int8 dynamic quantization scales activations over the
        # whole batch, padding included, so a window's scores would depend on what it was batched
        # with (its margin moved by 0.3 on average); one at a time is also faster here (no padding).
        self.batch_size = batch_size
        self.max_answer_tokens = max_answer_tokens
        self.span_candidates = span_candidates
        self.threads = threads
        self._session: Any = None  # an onnxruntime.InferenceSession once warm
        cfg_path = self.model_dir / "reader.json"
        self.config = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
        self.threshold: float = float(self.config.get("no_answer_threshold", 0.5))
        platt = self.config.get("score_calibration") or {}
        self.platt_a, self.platt_b = float(platt.get("a", 1.0)), float(platt.get("b", 0.0))
        if self.config and self.config.get("score", "null_aware") != "null_aware":
            raise BadSetting(
                f"{cfg_path} asks for the score rule {self.config['score']!r}, which this version no longer has; "
                "re-export the reader with `python -m qa.train.export_reader`"
            )
        self.rank_prior: float = float(self.config.get("rank_prior", 0.0))
        self.ranker_prior: float = float(self.config.get("ranker_prior", 0.0))
        self.max_length: int = int(self.config.get("max_length", 256))
        self.stride: int = int(self.config.get("stride", 96))

    def warm_up(self) -> None:
        if self._session is None:
            from tokenizers import Tokenizer

            model = self.model_dir / self.config.get("onnx", "reader.onnx")
            if not model.exists():
                raise MissingPath(f"reader model {model} is missing; reinstall qa, or export one with `python -m qa.train.export_reader`")
            tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(self.max_length, stride=self.stride, strategy="only_second")
            self._tokenizer = tok
            # questions alone: no truncation, which refuses a single sequence longer than the window
            self._question_tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._question_tokenizer.no_truncation()
            self._question_tokenizer.no_padding()
            self._session = session(model, self.threads or Settings.env_value("threads") or 0)

    def truncate_question(self, question: str) -> tuple[str, bool]:
        """Keep the first MAX_QUESTION_TOKENS word pieces (a question never fills the window)."""
        self.warm_up()
        enc = self._question_tokenizer.encode(question, add_special_tokens=False)
        if len(enc.ids) <= MAX_QUESTION_TOKENS:
            return question, False
        return question[: enc.offsets[MAX_QUESTION_TOKENS - 1][1]], True

    def __call__(self, question: str, passages: Sequence[Readable], top_n: int = 5, batch_size: int | None = None) -> list[Answer]:
        """Best answers over all passages, best first, near-duplicates merged."""
        question, _ = self.truncate_question(question)
        spans = self.read(question, passages, batch_size)
        found = []
        for span, z in zip(spans, self.logits(passages, spans)):
            p = passages[span.passage_index]
            found.append(
                Answer(
                    text=p.text[span.c0 : span.c1],
                    score=self.calibrated(float(z)),
                    document=p.document,
                    start=p.start + span.c0,
                    end=p.start + span.c1,
                    passage=p.text,
                    passage_start=p.start,
                    passage_index=span.passage_index,
                    margin=span.margin,
                )
            )
        return merge_duplicates(found, top_n)

    def read(self, question: str, passages: Sequence[Readable], batch_size: int | None = None) -> list[SpanCandidate]:
        """Every window's distinct spans, before scoring."""
        self.warm_up()
        batch_size = batch_size or self.batch_size
        windows = []  # (passage index, encoding)
        for p_i, p in enumerate(passages):
            if not p.text.strip():
                continue
            enc = self._tokenizer.encode(question, p.text)
            windows += [(p_i, e) for e in [enc, *enc.overflowing]]
        found: list[SpanCandidate] = []
        for b in range(0, len(windows), batch_size):
            batch = windows[b : b + batch_size]
            start_logits, end_logits = self._run([e for _, e in batch])
            for (p_i, enc), sl, el in zip(batch, start_logits, end_logits):
                found += self._decode(passages[p_i], p_i, enc, sl, el)
        return found

    def logits(self, passages: Sequence[Readable], spans: list[SpanCandidate]) -> np.ndarray:
        """Each span's evidence, before calibration: its margin plus its passage's prior."""
        return np.array([s.margin + self.prior(passages[s.passage_index], s.passage_index) for s in spans])

    def _run(self, encs: list[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        ids, mask, types = pad_batch(encs)
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return out[0], out[1]

    def _decode(self, passage: Readable, p_i: int, enc: Encoding, start_logits: np.ndarray, end_logits: np.ndarray) -> list[SpanCandidate]:
        seq = enc.sequence_ids
        ctx = np.array([s == 1 for s in seq] + [False] * (len(start_logits) - len(seq)))
        allowed = ctx.copy()
        allowed[0] = True  # [CLS]: no answer in this window
        log_start = _log_softmax(np.where(allowed, start_logits, -np.inf))
        log_end = _log_softmax(np.where(allowed, end_logits, -np.inf))
        null = float(np.exp(log_start[0] + log_end[0]))
        ctx_idx = np.nonzero(ctx)[0]
        if not len(ctx_idx):
            return []
        top_s = ctx_idx[np.argsort(-log_start[ctx_idx])[: self.span_candidates]]
        top_e = ctx_idx[np.argsort(-log_end[ctx_idx])[: self.span_candidates]]
        breaks = paragraph_breaks(passage.text)
        spans = []
        for s in top_s:
            for e in top_e:
                if e < s or e - s + 1 > self.max_answer_tokens:
                    continue
                c0, c1 = enc.offsets[s][0], enc.offsets[e][1]
                if breaks and bisect.bisect_left(breaks, c0) != bisect.bisect_left(breaks, c1):
                    continue  # across a blank line: two paragraphs, list entries or headings, never one answer
                c0, c1 = _trim_unbalanced_quotes(passage.text, c0, c1)
                if c1 > c0:
                    spans.append((float(np.exp(log_start[s] + log_end[e])), c0, c1))
        # Spans that overlap the best one are the same answer with other boundaries ("the
        # crisis" / "this crisis."): their probability counts for it. Within one window the
        # span probabilities sum to at most 1, so the score stays a probability.
        groups: list[_SpanGroup] = []  # the best span's offsets, the group's summed probability
        for p, c0, c1 in sorted(spans, reverse=True):
            for g in groups:
                if c0 < g.c1 and g.c0 < c1:
                    g.p_span += p
                    break
            else:
                groups.append(_SpanGroup(p, c0, c1))
        groups.sort(key=lambda g: -g.p_span)
        return [SpanCandidate(p_i, g.c0, g.c1, g.p_span, null, rank) for rank, g in enumerate(groups)]

    def prior(self, passage: Readable, rank: int) -> float:
        """The passage's log-prior against the first (<= 0): the ranker's when it gave one, else by rank."""
        if passage.log_prior is not None and self.ranker_prior:
            return self.ranker_prior * passage.log_prior
        return -self.rank_prior * float(np.log1p(rank))

    def calibrated(self, z: float) -> float:
        """P(the answer is right) for a span's evidence (`logits`), by the fit stored with the model."""
        return _sigmoid(self.platt_a * z + self.platt_b)


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


def paragraph_breaks(text: str) -> list[int]:
    """Where the text's blank lines are (sorted offsets). The reader's tokens carry no whitespace, so the
    model cannot see them, and a span across one joins a heading or a list entry to the next (a man
    page's "-h, --human-readable" to the option before it); SQuAD, which it learnt from, has none."""
    return [m.start() for m in _PARAGRAPH_BREAK.finditer(text)]


def margin(p_span: float, p_null: float) -> float:
    """log p_span - log p_null, finite even when either underflows."""
    return float(np.log(max(p_span, 1e-300)) - np.log(max(p_null, 1e-300)))


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x))) if x >= 0 else float(np.exp(x) / (1.0 + np.exp(x)))


def pad_batch(encs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids, attention mask and type ids of a batch of windows, padded to the longest."""
    width = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), width), np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for r, e in enumerate(encs):
        n = len(e.ids)
        ids[r, :n], mask[r, :n], types[r, :n] = e.ids, e.attention_mask, e.type_ids
    return ids, mask, types


def same_answer(a: Answer, b: Answer) -> bool:
    """Overlapping spans of one document, or texts that are equal or one inside the other once
    normalised ("this crisis" / "Russia is responsible for this crisis"): one answer, not two."""
    if a.document == b.document and a.start < b.end and b.start < a.end:
        return True
    na, nb = normalize_answer(a.text), normalize_answer(b.text)
    if not na or not nb:
        return na == nb
    return f" {na} " in f" {nb} " or f" {nb} " in f" {na} "


def merge_duplicates(answers: list[Answer], limit: int = 10) -> list[Answer]:
    """Highest score first; an answer that repeats a better one (see `same_answer`) is dropped.
    At most `limit` answers (0: no limit)."""
    kept: list[Answer] = []
    for a in sorted(answers, key=lambda a: -a.score):
        if any(same_answer(k, a) for k in kept):
            continue
        kept.append(a)
        if len(kept) == limit:
            break
    return kept


_QUOTES = {"“": "”", "‘": "’", "«": "»", "„": "“", '"': '"', "'": "'"}


_APOSTROPHES = {"'", "’"}


def _trim_unbalanced_quotes(text: str, c0: int, c1: int) -> tuple[int, int]:
    """Drop an opening quote whose closing one is outside the span, and the reverse. An apostrophe
    that belongs to a word is kept: "the keepers'" (possessive), "'90s" (elision)."""
    span = text[c0:c1]
    if len(span) > 1 and span[0] in _QUOTES and _QUOTES[span[0]] not in span[1:]:
        if not (span[0] in _APOSTROPHES and span[1].isdigit()):
            c0 += 1
    span = text[c0:c1]
    openers = [o for o, c in _QUOTES.items() if c == span[-1:]]
    if len(span) > 1 and openers and not any(o in span[:-1] for o in openers):
        if not (span[-1] in _APOSTROPHES and span[-2].isalpha()) or _quote_open_before(text, c0, span[-1]):
            c1 -= 1
    return c0, c1


def _quote_open_before(text: str, pos: int, closer: str) -> bool:
    """Whether a single quote closed by `closer` was opened before `pos` (in the same paragraph):
    then a trailing ’ is that quote's end, not a possessive apostrophe."""
    before = text[max(0, pos - 300) : pos].rsplit("\n\n", 1)[-1]
    if closer == "’":
        return before.rfind("‘") > before.rfind("’")
    quotes = [
        i
        for i, ch in enumerate(before)
        if ch == "'" and not (0 < i < len(before) - 1 and before[i - 1].isalnum() and before[i + 1].isalnum())
    ]
    return len(quotes) % 2 == 1


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = np.max(x)
    return x - m - np.log(np.sum(np.exp(x - m)))
