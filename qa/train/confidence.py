"""Fit the answer confidence (qa.confidence) on questions over several kinds of documents.

Why: a confidence fitted on SQuAD alone says "probably wrong" of right answers in manuals and legal
text. This tool asks the product each question of the `fit` split of every question set (one index
per kind of document), plus SQuAD v2.0 questions as one more kind, and fits P(the best answer is
right) as a logistic model over the evidence `qa.confidence.evidence` computes. Every kind weighs
the same in the fit, so no kind of text sets the scale for the others.

Features are chosen by measurement: greedy forward selection by the log-loss of leave-one-kind-out
cross-validation (fit on all kinds but one, score the one left out), so that a feature is kept
only when it helps on kinds of text it was not fitted on. What each feature gave is stored in
the model's `info` and printed.

    python -m qa.train.confidence --sets bench/trust/questions --corpus bench/trust/corpus \\
        --squad ../shared/data/squad/dev-v2.0-part-a.json.gz --out qa/models/reader/confidence.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from qa.confidence import ConfidenceModel, expected_calibration_error

ALL_FEATURES = (
    "margin",
    "prior",
    "passage_rank",
    "gap",
    "close_rivals",
    "dense_hit",
    "bm25_hit",
    "type_fit",
    "type_miss",
    "fragment",
    "q_near",
    "q_passage",
    "words",
)
L2 = 1.0


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2, iters: int = 50) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by Newton's method, an L2 penalty on the weights (not the bias);
    `x` is standardised. Returns (weights, bias)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -30, 30)))
        grad = xb.T @ (w * (p - y)) + reg * beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def kind_weights(kinds: list[str]) -> np.ndarray:
    """Each kind of document weighs the same in total, whatever its number of questions."""
    counts = {k: kinds.count(k) for k in set(kinds)}
    w = np.array([1.0 / counts[k] for k in kinds])
    return w * len(kinds) / w.sum()


def fit_model(rows: list[dict], features: list[str], threshold: float = 0.5) -> ConfidenceModel:
    x = np.array([[r["evidence"][f] for f in features] for r in rows], dtype=float)
    y = np.array([r["right"] for r in rows], dtype=float)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    weights, bias = fit_logistic((x - mean) / scale, y, kind_weights([r["kind"] for r in rows]))
    return ConfidenceModel(list(features), weights.tolist(), bias, mean.tolist(), scale.tolist(), threshold)


def log_loss(model: ConfidenceModel, rows: list[dict]) -> float:
    eps = 1e-6
    ps = [min(1 - eps, max(eps, model(r["evidence"]))) for r in rows]
    return -sum(r["right"] * math.log(p) + (1 - r["right"]) * math.log(1 - p) for r, p in zip(rows, ps)) / max(1, len(rows))


def leave_one_kind_out(rows: list[dict], features: list[str]) -> dict[str, float]:
    """Log-loss on each kind when the model is fitted on the other kinds only; 'mean' is their average."""
    out = {}
    for kind in sorted({r["kind"] for r in rows}):
        model = fit_model([r for r in rows if r["kind"] != kind], features)
        out[kind] = log_loss(model, [r for r in rows if r["kind"] == kind])
    out["mean"] = sum(out.values()) / len(out)
    return out


def select_features(rows: list[dict], say=print) -> tuple[list[str], list[dict]]:
    """Greedy forward selection by the mean leave-one-kind-out log-loss; stops when no feature helps."""
    chosen: list[str] = ["margin"]
    best = leave_one_kind_out(rows, chosen)["mean"]
    trail = [{"feature": "margin", "loko_log_loss": round(best, 4)}]
    say(f"margin alone: leave-one-kind-out log-loss {best:.4f}")
    while True:
        trials = {f: leave_one_kind_out(rows, chosen + [f])["mean"] for f in ALL_FEATURES if f not in chosen}
        if not trials:
            break
        f, loss = min(trials.items(), key=lambda kv: kv[1])
        if loss > best - 0.002:
            say(f"no feature lowers it by 0.002 or more (best next: {f} {loss:.4f}); stop")
            break
        chosen.append(f)
        trail.append({"feature": f, "loko_log_loss": round(loss, 4), "gain": round(best - loss, 4)})
        say(f"+ {f}: {loss:.4f} (gain {best - loss:.4f})")
        best = loss
    return chosen, trail


def kind_corpus(corpus: Path, kind: str) -> Path:
    """A kind's documents: committed under `corpus`, or fetched under bench/work/trust/corpus (news)."""
    for folder in (Path(corpus) / kind, Path("bench/work/trust/corpus") / kind):
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    raise FileNotFoundError(f"no documents for {kind} under {corpus} or bench/work/trust/corpus (bench/trust/fetch_{kind}.sh?)")


def loko_predictions(rows: list[dict], features: list[str]) -> list[float]:
    """Each row's P(right) from the model fitted on the other kinds only: how the model does on a kind it never saw."""
    out = [0.0] * len(rows)
    for kind in sorted({r["kind"] for r in rows}):
        model = fit_model([r for r in rows if r["kind"] != kind], features)
        for i, r in enumerate(rows):
            if r["kind"] == kind:
                out[i] = model(r["evidence"])
    return out


def choose_threshold(rows: list[dict], probs: list[float], keep: float = 0.9, say=print) -> tuple[float, list[dict]]:
    """The highest threshold, in P(right), at which the answerable questions keep `keep` of their
    always-answer F1 (averaged over kinds, on kinds the model never saw), so that abstaining costs
    little of what the reader finds; abstention on the unanswerable ones is reported beside it."""
    kinds = sorted({r["kind"] for r in rows})
    sweep = []
    for t in [i / 20 for i in range(1, 13)]:
        ratio, abstain = [], []
        for kind in kinds:
            idx = [i for i, r in enumerate(rows) if r["kind"] == kind]
            always = sum(rows[i]["f1"] for i in idx if rows[i]["answerable"])
            shown = sum(rows[i]["f1"] for i in idx if rows[i]["answerable"] and probs[i] >= t)
            ratio.append(shown / always if always else 1.0)
            un = [i for i in idx if not rows[i]["answerable"]]
            abstain.append(sum(probs[i] < t for i in un) / len(un) if un else 1.0)
        sweep.append({"threshold": t, "kept_f1": round(sum(ratio) / len(ratio), 3), "abstention": round(sum(abstain) / len(abstain), 3),
                      "worst_kind_kept_f1": round(min(ratio), 3), "worst_kind_abstention": round(min(abstain), 3)})  # fmt: skip
        say(f"threshold {t:.2f}: kept F1 {sweep[-1]['kept_f1']:.3f}, abstention {sweep[-1]['abstention']:.3f}")
    ok = [s for s in sweep if s["kept_f1"] >= keep]
    return (max(ok, key=lambda s: s["threshold"])["threshold"] if ok else sweep[0]["threshold"]), sweep


def collect(sets: Path, corpus: Path, squad: Path | None, work: Path, split: str, squad_limit: int, say=print) -> list[dict]:
    """One row per question: its kind, the best answer's evidence, and whether that answer is right."""
    from qa.evaluate import ask_question_set, ask_squad_open

    rows = []
    for path in sorted(Path(sets).glob("*.jsonl")):
        t = time.time()
        got = ask_question_set(path, kind_corpus(corpus, path.stem), work / path.stem, split=split)
        rows += got
        say(f"{path.stem}: {len(got)} {split} questions asked in {time.time() - t:.0f} s")
    if squad is not None:
        t = time.time()
        got = ask_squad_open(squad, work / "squad", split=split, limit=squad_limit)
        rows += got
        say(f"squad: {len(got)} {split} questions asked in {time.time() - t:.0f} s")
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", type=Path, default=Path("bench/trust/questions"), help="folder of question sets (*.jsonl), one per kind")
    p.add_argument("--corpus", type=Path, default=Path("bench/trust/corpus"), help="folder with one documents folder per kind")
    p.add_argument("--squad", type=Path, default=None, help="a SQuAD v2.0 file: its fit-split articles join as one more kind")
    p.add_argument("--squad-limit", type=int, default=400)
    p.add_argument("--work", type=Path, default=Path("~/qa-runs/confidence").expanduser(), help="indexes and cached answers")
    p.add_argument("--threshold", type=float, default=None, help="answer when P(right) >= this (default: chosen, see choose_threshold)")
    p.add_argument("--reuse", action="store_true", help="fit on the answers a previous run collected in --work")
    p.add_argument("--out", type=Path, required=True, help="where to write confidence.json (e.g. qa/models/reader/confidence.json)")
    args = p.parse_args(argv)
    cached = args.work / "fit_rows.json"
    if args.reuse and cached.exists():
        asked = json.loads(cached.read_text())
    else:
        asked = collect(args.sets, args.corpus, args.squad, args.work, "fit", args.squad_limit)
        cached.write_text(json.dumps(asked))
    # "What did X say?" answered from attributed speech carries no reader evidence: it is measured apart
    rows = [r for r in asked if r["evidence"]]
    speech = [r for r in asked if not r["evidence"] and not r["no_answer"]]
    chosen, trail = select_features(rows)
    threshold, sweep = choose_threshold(rows, loko_predictions(rows, chosen)) if args.threshold is None else (args.threshold, [])
    model = fit_model(rows, chosen, threshold)
    per_kind = {}
    for kind in sorted({r["kind"] for r in rows}):
        these = [r for r in rows if r["kind"] == kind]
        per_kind[kind] = {
            "questions": len(these),
            "right": sum(r["right"] for r in these),
            "ece_in_fit": round(expected_calibration_error([model(r["evidence"]) for r in these], [r["right"] for r in these]), 4),
        }
    model.info = {
        "fitted_on": "the fit split of " + ", ".join(sorted(per_kind)),
        "questions": len(rows),
        "selection": trail,
        "per_kind": per_kind,
        "loko_log_loss": leave_one_kind_out(rows, chosen),
        "threshold_rule": "the highest P(right) threshold keeping 90% of always-answer F1, averaged over kinds left out of the fit",
        "threshold_sweep": sweep,
        "speech_precision": round(sum(r["right"] for r in speech) / len(speech), 3) if speech else 0.9,
        "speech_questions": len(speech),
        "command": "python -m qa.train.confidence " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    model.save(args.out)
    print(json.dumps(model.info, indent=1))
    print(f"wrote {args.out}: features {', '.join(chosen)}")


if __name__ == "__main__":
    main()
