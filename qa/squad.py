"""SQuAD-format data and the official v1.1 / v2.0 metrics.

Kept free of torch so `qa eval` can score the ONNX reader on a plain install.
"""

from __future__ import annotations

import collections
import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from qa.text import normalize_answer


@dataclass
class SquadQuestion:
    id: str
    question: str
    context: str
    answers: list[str]
    answer_starts: list[int]
    is_impossible: bool = False
    title: str = ""
    paragraph_id: str = ""


@dataclass
class SquadFile:
    questions: list[SquadQuestion]
    paragraphs: dict[str, str] = field(default_factory=dict)  # paragraph_id -> context
    titles: dict[str, str] = field(default_factory=dict)  # paragraph_id -> article title
    has_impossible: bool = False


def read_json(path: str | Path):
    """A JSON file, plain or gzipped (SQuAD files, and the mined training file)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def read_squad_json(path: str | Path) -> dict:
    """A SQuAD file's JSON as it is (plain or gzipped), checked to have its 'data' list."""
    raw = read_json(path)
    if not isinstance(raw, dict) or "data" not in raw:
        raise ValueError(f"{path} is not a SQuAD-format file (no 'data' list)")
    return raw


def load_squad(path: str | Path) -> SquadFile:
    """Read a SQuAD JSON file, plain or gzipped."""
    return parse_squad(read_squad_json(path))


def parse_squad(raw: dict) -> SquadFile:
    out = SquadFile(questions=[])
    for a_i, article in enumerate(raw["data"]):
        title = article.get("title", f"article{a_i}")
        for p_i, para in enumerate(article["paragraphs"]):
            pid = f"{a_i:04d}_{p_i:03d}"
            ctx = para["context"]
            out.paragraphs[pid] = ctx
            out.titles[pid] = title
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible", False))
                out.has_impossible |= "is_impossible" in qa
                answers = qa.get("answers", [])
                out.questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        question=qa["question"],
                        context=ctx,
                        answers=[a["text"] for a in answers],
                        answer_starts=[a["answer_start"] for a in answers],
                        is_impossible=impossible,
                        title=title,
                        paragraph_id=pid,
                    )
                )
    return out


def sample(questions: list[SquadQuestion], limit: int, seed: int = 0) -> list[SquadQuestion]:
    """A fixed random sample, so that runs with the same --limit compare."""
    if not limit or limit >= len(questions):
        return questions
    return sorted(random.Random(seed).sample(questions, limit), key=lambda q: q.id)


# --- official metric (same normalisation as evaluate-v1.1.py / evaluate-v2.0.py) ---


def f1_score(prediction: str, ground_truth: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(ground_truth).split()
    if not pred_tokens or not gold_tokens:
        # v2.0 rule: both empty counts as a match
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_score(prediction: str, ground_truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def score_question(q: SquadQuestion, prediction: str) -> tuple[float, float]:
    """EM and F1 of one prediction ('' means no answer), max over gold answers."""
    golds = [a for a in q.answers if normalize_answer(a)]
    if q.is_impossible or not golds:
        golds = [""]
    em = max(exact_score(prediction, g) for g in golds)
    f1 = max(f1_score(prediction, g) for g in golds)
    return em, f1


def squad_metrics(questions: list[SquadQuestion], predictions: dict[str, str]) -> dict:
    """EM/F1 in percent; with a HasAns/NoAns split when the data has unanswerable questions."""
    rows = [(q, *score_question(q, predictions.get(q.id, ""))) for q in questions]

    def agg(sel):
        n = len(sel)
        if not n:
            return {"exact": 0.0, "f1": 0.0, "total": 0}
        return {
            "exact": 100.0 * sum(r[1] for r in sel) / n,
            "f1": 100.0 * sum(r[2] for r in sel) / n,
            "total": n,
        }

    out = agg(rows)
    if any(q.is_impossible for q in questions):  # as evaluate-v2.0.py: split by whether there are gold answers
        has = [r for r in rows if any(normalize_answer(a) for a in r[0].answers) and not r[0].is_impossible]
        no = [r for r in rows if r not in has]
        if has:
            out["HasAns"] = agg(has)
        if no:
            out["NoAns"] = agg(no)
    return out
