"""Can a learned answer selector beat the reader's own score? Measured on held-out train articles; not shipped.

The reader picks the span with the best margin (span vs. its window's "no answer here") plus its passage's
prior (the ranker's log-odds). On open SQuAD dev the best of the top spans from 5 passages would score F1
91.5 against 76.4 for the chosen one, so this asks whether cheap evidence the reader does not weigh
picks better: the share of the question's terms in the span's sentence and passage, whether the span
repeats the question, whether it is the kind of thing asked for (a number for "how many", a name for
"who"), whether other passages give it too, its length, its place in its window.

Spans come from the product itself: each held-out question (every 50th train article, which neither the
reader nor the embedder trained on) is asked of an index of all held-out paragraphs and its top 10
passages are read; it is read alone against its own paragraph; and, in SQuAD 2.0's style, an entity of
the question is swapped for one its paragraph lacks (`qa.train.data.mining.swap_entity`) and that is read against the
paragraph. A span is right when its F1 against a gold answer is at least 0.5.

Three selectors over FEATURES are cross-validated by article (5 folds) against the reader's rule:
a pointwise logistic regression (P(right) per span), a listwise one with a "no answer" option (a softmax
over the question's spans and a learned null, Clark & Gardner's shared normalisation over passages,
applied to the features), and a small MLP with that listwise loss. Reported: open-mode F1 at top_k 1,
3, 5, 10, and a v2-style F1 (alone + swapped questions, best threshold on each score's own scale).
No dev set is read.

    python experiments/2026-11-30-answer-selector/answer_selector.py
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # frozen: it ran from bench/, beside common.py
import common  # noqa: E402

from qa.chunking import bm25_tokenize  # noqa: E402

TOP_KS = (1, 3, 5, 10)
SPANS_PER_WINDOW = 8
FOLDS = 5
FEATURES = (
    "margin",  # log p(span) - log p(no answer here), in its window
    "log_span",  # log p(span): how sure the window is of its own best span
    "log_prior",  # the retriever's log-odds for the passage against the first (0 without a ranker)
    "log_rank",  # log(1 + passage rank)
    "window_rank",  # log(1 + the span's place among its window's spans)
    "answer_words",  # log(1 + words in the span)
    "answer_in_question",  # share of the span's terms that the question already has
    "sentence_coverage",  # share of the question's terms in the span's sentence (the span's own words left out)
    "passage_coverage",  # share of the question's terms anywhere in the passage
    "repeats",  # log(1 + other places in the passages read where a span has the same text)
    "number_asked_number_given",
    "number_asked_none_given",
    "person_asked_name_given",
)

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_NUMBER_ASKED = re.compile(
    r"\b(how (many|much|long|old|far|large|big|tall|high|often)|what (year|percent|percentage|number|amount)"
    r"|which year|in what year|when)\b",
    re.I,
)
_PERSON_ASKED = re.compile(r"\b(who|whom|whose)\b", re.I)
_DIGIT = re.compile(r"\d")
_NUMBER_WORD = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|half|several|century|centuries|decade|decades)\b",
    re.I,
)
_NORM = re.compile(r"\W+")


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text)] or [(0, len(text))]


def _share(terms: set[str], of: set[str]) -> float:
    return len(terms & of) / len(of) if of else 0.0


def features(question: str, passages: list, spans: list) -> np.ndarray:
    """One row of FEATURES per span."""
    x = np.zeros((len(spans), len(FEATURES)), np.float32)
    if not spans:
        return x
    used = sorted({s.passage_index for s in spans})
    bounds = {i: _sentence_bounds(passages[i].text) for i in used}
    sentence_of = []
    for s in spans:
        b = bounds[s.passage_index]
        j = next((k for k, (a, e) in enumerate(b) if a <= s.c0 < e), len(b) - 1)
        sentence_of.append((s.passage_index, j))
    sentences = sorted(set(sentence_of))
    texts = [
        question,
        *(passages[i].text for i in used),
        *(passages[i].text[slice(*bounds[i][j])] for i, j in sentences),
        *(passages[s.passage_index].text[s.c0 : s.c1] for s in spans),
    ]
    tokens = [set(t) for t in bm25_tokenize(texts)]  # one call: stemming is per word
    q_terms = tokens[0]
    passage_terms = dict(zip(used, tokens[1 : 1 + len(used)]))
    sentence_terms = dict(zip(sentences, tokens[1 + len(used) : 1 + len(used) + len(sentences)]))
    span_terms = tokens[1 + len(used) + len(sentences) :]
    number_asked = bool(_NUMBER_ASKED.search(question))
    person_asked = bool(_PERSON_ASKED.search(question))
    norms = [_NORM.sub(" ", passages[s.passage_index].text[s.c0 : s.c1].lower()).strip() for s in spans]
    # where each answer text was read: chunks overlap, so one mention read in two passages counts once
    places: dict[str, set[tuple[str, int]]] = {}
    for s, n in zip(spans, norms):
        p = passages[s.passage_index]
        places.setdefault(n, set()).add((p.document, p.start + s.c0))
    for r, (s, a_terms, sent, norm) in enumerate(zip(spans, span_terms, sentence_of, norms)):
        text = passages[s.passage_index].text[s.c0 : s.c1]
        prior = passages[s.passage_index].log_prior
        has_number = bool(_DIGIT.search(text) or _NUMBER_WORD.search(text))
        x[r] = (
            np.clip(s.margin, -30, 30),
            max(math.log(max(s.p_span, 1e-300)), -30.0),
            max(prior, -30.0) if prior is not None else 0.0,
            math.log1p(s.passage_index),
            math.log1p(s.window_rank),
            math.log1p(len(text.split())),
            _share(q_terms, a_terms),
            _share(sentence_terms[sent] - a_terms, q_terms),
            _share(passage_terms[s.passage_index], q_terms),
            math.log1p(len(places[norm]) - 1),
            float(number_asked and has_number),
            float(number_asked and not has_number),
            float(person_asked and text[:1].isupper()),
        )
    return x


def read_row(q, kind: str, question: str, passages, reader, answerable: bool) -> dict:
    """One read's spans: features, text, passage rank, F1 against the gold answers, the reader's own evidence."""
    from qa.squad import score_question

    spans = reader.read(question, passages)
    texts = [passages[s.passage_index].text[s.c0 : s.c1] for s in spans]
    return {
        "id": q.id,
        "title": q.title,
        "kind": kind,
        "x": features(question, passages, spans).tolist(),
        "texts": texts,
        "f1": [score_question(q, t)[1] if answerable else 0.0 for t in texts],
        "rank": [s.passage_index for s in spans],
        "reader": reader.logits(passages, spans).tolist(),
    }


def collect(path: Path, index_dir: Path, limit: int, progress: bool) -> list[dict]:
    from qa.evaluate import open_corpus
    from qa.schema import Passage
    from qa.squad import load_squad, sample
    from qa.train.data.mining import entity_pools, swap_entity

    data = load_squad(path)
    pipe, _, _, _ = open_corpus(path, data, index_dir, progress=progress)
    pipe.warm_up()
    reader = pipe.reader
    reader.spans_per_window = SPANS_PER_WINDOW
    pools = entity_pools(data)
    rng = random.Random(13)
    rows = []
    for q in common.progress_bar(sample(data.questions, limit), path.stem, not progress):
        question, _ = reader.truncate_question(q.question)
        rows.append(read_row(q, "open", question, pipe.retrieve(question, top_k=max(TOP_KS)), reader, True))
        alone = [Passage.from_text(q.context)]
        rows.append(read_row(q, "alone", question, alone, reader, True))
        swapped = swap_entity(q.question, q.context, q.answers, pools[q.title], rng)
        if swapped:
            rows.append(read_row(q, "swap", reader.truncate_question(swapped)[0], alone, reader, False))
    return rows


def tensors(rows: list[dict], mean: np.ndarray, scale: np.ndarray):
    import torch

    n = max(1, max(len(r["texts"]) for r in rows))
    x = torch.zeros(len(rows), n, len(FEATURES))
    gold = torch.zeros(len(rows), n, dtype=torch.bool)
    valid = torch.zeros(len(rows), n, dtype=torch.bool)
    for i, r in enumerate(rows):
        m = len(r["texts"])
        if m:
            x[i, :m] = torch.from_numpy(((np.array(r["x"]).reshape(m, -1) - mean) / scale).astype(np.float32))
            gold[i, :m], valid[i, :m] = torch.tensor(np.array(r["f1"]) >= 0.5), True
    return x, gold, valid


def fit(rows: list[dict], kind: str, seed: int = 0):
    """A selector of one `kind` fitted on `rows`; returns row -> one score per span."""
    import torch

    torch.manual_seed(seed)
    xs = np.vstack([np.array(r["x"]).reshape(len(r["texts"]), -1) for r in rows if r["texts"]])
    mean, scale = xs.mean(0), xs.std(0)
    scale[scale < 1e-6] = 1.0
    x, gold, valid = tensors(rows, mean, scale)
    has = gold.any(1)
    if kind == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(len(FEATURES), 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    else:
        net = torch.nn.Linear(len(FEATURES), 1)
    null = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([*net.parameters(), null], lr=0.01, weight_decay=1e-3)
    for _ in range(300):
        opt.zero_grad()
        s = net(x)[..., 0]
        if kind == "pointwise":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(s[valid], gold[valid].float())
        else:  # listwise with a "no answer" option: right spans if any, else the null
            s = s.masked_fill(~valid, -1e9)
            s0 = null.expand(len(rows), 1)
            everything = torch.logsumexp(torch.cat([s, s0], 1), 1)
            right = torch.where(has, torch.logsumexp(s.masked_fill(~gold, -1e9), 1), s0[:, 0])
            loss = (everything - right).mean()
        loss.backward()
        opt.step()

    def score(r: dict) -> np.ndarray:
        if not r["texts"]:
            return np.zeros(0)
        z = torch.from_numpy(((np.array(r["x"]).reshape(len(r["texts"]), -1) - mean) / scale).astype(np.float32))
        return net(z)[:, 0].detach().numpy().astype(np.float64)

    return score


def pick(row: dict, s: np.ndarray, top_k: int) -> tuple[str, float]:
    s = np.where(np.array(row["rank"]) < top_k, s, -np.inf)
    if not row["texts"] or not np.isfinite(s.max()):
        return "", -np.inf
    i = int(np.argmax(s))
    return row["texts"][i], float(s[i])


def measure(rows: list[dict], questions: dict, scores: dict[int, np.ndarray]) -> dict:
    """Open-mode F1 at each top_k, and v2-style F1 on alone + swapped questions at the best threshold."""
    from qa.squad import squad_metrics

    opened = [r for r in rows if r["kind"] == "open"]
    qs = [questions[r["id"]] for r in opened]
    out = {"open_f1": {}}
    for k in TOP_KS:
        preds = {q.id: pick(r, scores[id(r)], k)[0] for q, r in zip(qs, opened)}
        out["open_f1"][k] = round(squad_metrics(qs, preds)["f1"], 2)
    out["open_errors"] = {k: where_wrong(opened, scores, k) for k in (1, 5)}
    v2_qs, best = [], []
    for r in rows:
        if r["kind"] in ("alone", "swap") and r["texts"]:
            q = questions[r["id"]]
            if r["kind"] == "swap":
                q = replace(q, id=q.id + "-swap", answers=[], answer_starts=[], is_impossible=True)
            v2_qs.append(q)
            best.append((q.id, *pick(r, scores[id(r)], 1)))
    results = []
    for t in np.quantile([b[2] for b in best], np.linspace(0, 1, 41)):
        m = squad_metrics(v2_qs, {i: (text if s >= t else "") for i, text, s in best})
        results.append((round(m["f1"], 2), round(m["HasAns"]["f1"], 2), round(m["NoAns"]["f1"], 2)))
    f1, has, no = max(results)
    out["v2_style"] = {"questions": len(v2_qs), "best_f1": f1, "has_ans_f1": has, "no_ans_f1": no}
    return out


def where_wrong(opened: list[dict], scores: dict[int, np.ndarray], top_k: int) -> dict[str, int]:
    """Questions by what the chosen span is: right (F1 >= 0.5); no right span among the passages read; a
    right span in the chosen span's passage but another chosen; the span taken from a passage without one."""
    counts = dict.fromkeys(("right", "no_right_span_read", "wrong_span_in_a_right_passage", "wrong_passage"), 0)
    for r in opened:
        rank, f1 = np.array(r["rank"], int), np.array(r["f1"])
        s = np.where(rank < top_k, scores[id(r)], -np.inf)
        read = rank < top_k
        if not read.any() or not (f1[read] >= 0.5).any():
            counts["no_right_span_read"] += 1
            continue
        i = int(np.argmax(s))
        if f1[i] >= 0.5:
            counts["right"] += 1
        elif (f1[read & (rank == rank[i])] >= 0.5).any():
            counts["wrong_span_in_a_right_passage"] += 1
        else:
            counts["wrong_passage"] += 1
    return counts


def cross_validated(rows: list[dict], kind: str) -> dict[int, np.ndarray]:
    """Each row's span scores from a selector fitted on the other articles (FOLDS folds by article)."""
    titles = sorted({r["title"] for r in rows})
    folds = min(FOLDS, len(titles))
    fold = {t: i % folds for i, t in enumerate(titles)}
    scores = {}
    for f in range(folds):
        score = fit([r for r in rows if fold[r["title"]] != f], kind)
        scores.update({id(r): score(r) for r in rows if fold[r["title"]] == f})
    return scores


def main() -> None:
    from qa.squad import load_squad

    p = common.base_parser(__doc__.splitlines()[0], "answer_selector")
    common.add_holdout_arg(p)
    p.add_argument("--reuse-spans", action="store_true", help="read the spans saved in --work by an earlier run with the same sample")
    args = p.parse_args()
    run = common.Run("answer_selector", args)
    held = common.holdout_train(args)
    key = {"file": str(held), "limit": args.limit, "features": list(FEATURES), "reader": common.reader_info()}
    rows = common.cached_json(
        args.work / "spans-holdout_train.json",
        key,
        args.reuse_spans,
        lambda: collect(held, args.work / "holdout-index", args.limit, not args.no_progress),
    )
    questions = {q.id: q for q in load_squad(held).questions}
    if len({r["title"] for r in rows}) < 2:
        sys.exit("cross-validation by article needs questions from at least 2 held-out articles (raise --limit, lower --holdout-every)")
    reader = measure(rows, questions, {id(r): np.array(r["reader"]) for r in rows})
    out = {
        "questions": len({r["id"] for r in rows}),
        "spans": sum(len(r["texts"]) for r in rows),
        "features": list(FEATURES),
        "selectors": {"reader (margin + ranker log-odds)": reader},
    }
    for kind in ("pointwise", "listwise", "mlp"):
        out["selectors"][f"{kind}, cross-validated by article"] = measure(rows, questions, cross_validated(rows, kind))
    for name, m in out["selectors"].items():
        print(name, json.dumps(m), file=sys.stderr)
    run.write(out)


if __name__ == "__main__":
    main()
