"""The extractive reader: finds the answer span in retrieved passages, with exact offsets.

Runs an ONNX QA model (start/end logits) through ONNX Runtime, so the query path needs
neither torch nor transformers. Scores are per-window probabilities, p(start) * p(end),
with the softmax taken over the window's context tokens plus [CLS] (the "no answer"
slot). They are comparable across passages, and the no-answer threshold stored with
the model is calibrated on SQuAD v2.0 dev.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from qa.onnx_utils import session

MAX_QUESTION_TOKENS = 64


@dataclass
class PassageInput:
    """Text to read and where it sits in its document (offsets are mapped back)."""

    text: str
    document: str = ""
    start: int = 0  # offset of `text` in the document


@dataclass
class Span:
    start: int
    end: int


@dataclass
class ExtractedAnswer:
    text: str
    score: float
    document: str
    span: Span  # character offsets into the document
    passage_index: int  # which input passage it came from
    no_answer_score: float  # the passage window's [CLS] probability


def default_model_dir() -> Path:
    """The reader shipped in the package; QA_READER_DIR points elsewhere (a retrained model)."""
    env = os.environ.get("QA_READER_DIR")
    return Path(env) if env else Path(str(resources.files("qa") / "models" / "reader"))


class ExtractiveReader:
    def __init__(self, model_dir: Path | None = None, max_answer_tokens: int = 30, threads: int = 0):
        self.model_dir = Path(model_dir or default_model_dir())
        self.max_answer_tokens = max_answer_tokens
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._question_tokenizer = None
        cfg_path = self.model_dir / "reader.json"
        self.config = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
        self.threshold: float = float(self.config.get("no_answer_threshold", 0.5))
        self.max_length: int = int(self.config.get("max_length", 256))
        self.stride: int = int(self.config.get("stride", 96))

    def warm_up(self) -> None:
        if self._session is None:
            from tokenizers import Tokenizer

            model = self.model_dir / self.config.get("onnx", "reader.onnx")
            if not model.exists():
                raise FileNotFoundError(f"reader model {model} is missing; reinstall qa or run `qa export-reader`")
            tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(self.max_length, stride=self.stride, strategy="only_second")
            self._tokenizer = tok
            # questions alone: no truncation, which refuses a single sequence longer than the window
            self._question_tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._question_tokenizer.no_truncation()
            self._question_tokenizer.no_padding()
            self._session = session(model, self.threads)

    def truncate_question(self, question: str) -> tuple[str, bool]:
        """Keep the first MAX_QUESTION_TOKENS word pieces (a question never fills the window)."""
        self.warm_up()
        enc = self._question_tokenizer.encode(question, add_special_tokens=False)
        if len(enc.ids) <= MAX_QUESTION_TOKENS:
            return question, False
        return question[: enc.offsets[MAX_QUESTION_TOKENS - 1][1]], True

    def __call__(
        self, question: str, passages: list[PassageInput], top_n: int = 5, batch_size: int = 16
    ) -> list[ExtractedAnswer]:
        """Best answers over all passages, best first, overlapping duplicates merged."""
        self.warm_up()
        question, _ = self.truncate_question(question)
        windows = []  # (passage index, encoding)
        for p_i, p in enumerate(passages):
            if not p.text.strip():
                continue
            enc = self._tokenizer.encode(question, p.text)
            windows += [(p_i, e) for e in [enc, *enc.overflowing]]
        found: list[ExtractedAnswer] = []
        for b in range(0, len(windows), batch_size):
            batch = windows[b : b + batch_size]
            start_logits, end_logits = self._run([e for _, e in batch])
            for (p_i, enc), sl, el in zip(batch, start_logits, end_logits):
                found += self._decode(passages[p_i], p_i, enc, sl, el)
        return merge_overlapping(found, top_n)

    def _run(self, encs) -> tuple[np.ndarray, np.ndarray]:
        ids, mask, types = pad_batch(encs)
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return out[0], out[1]

    def _decode(self, passage: PassageInput, p_i: int, enc, start_logits, end_logits) -> list[ExtractedAnswer]:
        seq = enc.sequence_ids
        ctx = np.array([s == 1 for s in seq] + [False] * (len(start_logits) - len(seq)))
        allowed = ctx.copy()
        allowed[0] = True  # [CLS]: no answer in this window
        ls = _log_softmax(np.where(allowed, start_logits, -np.inf))
        le = _log_softmax(np.where(allowed, end_logits, -np.inf))
        null = float(np.exp(ls[0] + le[0]))
        ctx_idx = np.nonzero(ctx)[0]
        if not len(ctx_idx):
            return []
        top_s = ctx_idx[np.argsort(-ls[ctx_idx])[:20]]
        top_e = ctx_idx[np.argsort(-le[ctx_idx])[:20]]
        spans = []
        for s in top_s:
            for e in top_e:
                if e < s or e - s + 1 > self.max_answer_tokens:
                    continue
                c0, c1 = enc.offsets[s][0], enc.offsets[e][1]
                c0, c1 = _trim_unbalanced_quotes(passage.text, c0, c1)
                if c1 > c0:
                    spans.append((float(np.exp(ls[s] + le[e])), c0, c1))
        # Spans that overlap the best one are the same answer with other boundaries ("the
        # crisis" / "this crisis."): their probability counts for it. Within one window the
        # span probabilities sum to at most 1, so the score stays a probability.
        groups: list[list] = []  # [score, c0, c1] of the best span, summed score
        for p, c0, c1 in sorted(spans, reverse=True):
            for g in groups:
                if c0 < g[2] and g[1] < c1:
                    g[0] += p
                    break
            else:
                groups.append([p, c0, c1])
        return [
            ExtractedAnswer(
                text=passage.text[c0:c1], score=min(1.0, p), document=passage.document,
                span=Span(passage.start + c0, passage.start + c1), passage_index=p_i, no_answer_score=null,
            )
            for p, c0, c1 in groups
        ]  # fmt: skip


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


def merge_overlapping(answers: list[ExtractedAnswer], limit: int = 10) -> list[ExtractedAnswer]:
    """Highest score first; drop any answer overlapping a better one in the same document
    (overlapping chunks and windows propose the same span more than once)."""
    kept: list[ExtractedAnswer] = []
    for a in sorted(answers, key=lambda a: -a.score):
        if any(k.document == a.document and k.span.start < a.span.end and a.span.start < k.span.end for k in kept):
            continue
        kept.append(a)
        if len(kept) == limit:
            break
    return kept


_QUOTES = {"“": "”", "‘": "’", "«": "»", "„": "“", '"': '"', "'": "'"}


def _trim_unbalanced_quotes(text: str, c0: int, c1: int) -> tuple[int, int]:
    """Drop an opening quote whose closing one is outside the span, and the reverse."""
    span = text[c0:c1]
    if len(span) > 1 and span[0] in _QUOTES and _QUOTES[span[0]] not in span[1:]:
        c0 += 1
    span = text[c0:c1]
    openers = [o for o, c in _QUOTES.items() if c == span[-1:]]
    if len(span) > 1 and openers and not any(o in span[:-1] for o in openers):
        c1 -= 1
    return c0, c1


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = np.max(x)
    return x - m - np.log(np.sum(np.exp(x - m)))
