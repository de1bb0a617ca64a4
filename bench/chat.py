"""A chat that remembers: follow-up questions answered with the conversation, alone, and as a person rewrote them.

bench/chat/conversations.jsonl holds conversations written by hand over the trust corpora (news, man pages and
--help texts, Python API docs, HTML manuals, PDFs, legal texts, mail threads and IRC logs), one a line:
{"id", "kind", "turns": [{"question", "standalone", "answers", "document"}]}; the answers are exact substrings of
the text the product extracts ([] when the documents cannot answer). One index per kind (bench/work/chat/<kind>).

Each follow-up is asked three ways, side by side in one run: with the conversation so far (the answers the product
gave), alone (today's behaviour) and as its standalone rewrite (the ceiling). Reported: shown F1 (an abstention
scores 0) and always-answer F1 of each, first-turn F1 (asked with an empty history and without one: must be equal),
abstention on the unanswerable follow-ups, the ratio with-history / ceiling, and the warm p50 of `resolve()` and
of a whole answer with and without history.

    bash bench/trust/fetch_news.sh      # the news articles (not committed)
    python bench/chat.py                # all conversations
    python bench/chat.py --limit 3      # a smoke run: 3 conversations
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CHAT = common.BENCH / "chat" / "conversations.jsonl"


def load(path: Path, limit: int) -> list[dict]:
    convs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit and len(convs) > limit:
        convs = convs[:: -(-len(convs) // limit)]
    return convs


def judged(res, turn: dict, kind: str, cid: str, latency: float) -> dict:
    from qa.evaluate import SetQuestion, judge

    row = judge(res, SetQuestion(cid, turn["question"], list(turn["answers"]), turn["document"], kind=kind))
    row["latency_s"] = latency
    return row


def summary(rows: list[dict]) -> dict:
    """The figures `qa eval` gives a question set (`qa.evaluate.set_metrics`), the ones this report shows."""
    from qa.evaluate import set_metrics

    m = set_metrics(rows)
    return {k: m[k] if k == "questions" else round(m[k], 1) for k in ("questions", "shown_f1", "always_f1", "right_document", "abstention")}


def p50_ms(xs: list[float]) -> float:
    return round(1000 * statistics.median(xs), 2) if xs else 0.0


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "chat")
    p.add_argument("--set", type=Path, default=CHAT, help="conversations (JSON lines)")
    p.add_argument("--kinds", default="", help="comma-separated kinds of document to run (default: all)")
    args = p.parse_args()
    run = common.Run("chat", args)
    from qa.backends import open_store
    from qa.followup import Turn, resolve
    from qa.pipeline import QAPipeline, choose_seeds
    from qa.train.confidence import kind_corpus

    wanted = set(filter(None, args.kinds.split(",")))
    convs = load(args.set, 0 if wanted else args.limit)
    if wanted:
        convs = [c for c in convs if c["kind"] in wanted][: args.limit or None]
    rows: dict[str, list[dict]] = {"first": [], "first_with_history": [], "with_history": [], "alone": [], "standalone": []}
    per_kind: dict[str, dict[str, list[dict]]] = {}
    resolve_s: list[float] = []
    examples = []
    for kind in sorted({c["kind"] for c in convs}):
        store = open_store(args.work / kind / "index")
        pipe = QAPipeline(store, choose_seeds(store, kind_corpus(common.ROOT / "bench" / "trust" / "corpus", kind), reseed=True))
        pipe.rebuild(show_progress_bar=not args.no_progress)
        pipe.warm_up()
        pipe("warm-up question")
        kr = per_kind.setdefault(kind, {"with_history": [], "alone": [], "standalone": []})
        for conv in (c for c in convs if c["kind"] == kind):
            history: list[Turn] = []
            for n, turn in enumerate(conv["turns"]):
                t = time.perf_counter()
                with_h = pipe(turn["question"], history=history)
                lat_h = time.perf_counter() - t
                t = time.perf_counter()
                alone = pipe(turn["question"])
                lat_a = time.perf_counter() - t
                t = time.perf_counter()
                resolve(turn["question"], history)
                resolve_s.append(time.perf_counter() - t)
                cid = f"{conv['id']}#{n}"
                if n == 0:
                    rows["first"].append(judged(alone, turn, kind, cid, lat_a))
                    rows["first_with_history"].append(judged(with_h, turn, kind, cid, lat_h))
                else:
                    std = pipe(turn["standalone"]) if turn["standalone"] != turn["question"] else alone
                    for name, res, lat in (("with_history", with_h, lat_h), ("alone", alone, lat_a), ("standalone", std, lat_a)):
                        row = judged(res, turn, kind, cid, lat)
                        rows[name].append(row)
                        kr[name].append(row)
                    examples.append(
                        {
                            "id": cid,
                            "question": turn["question"],
                            "resolved": with_h.resolved_question,
                            "standalone": turn["standalone"],
                            "f1": [rows[x][-1]["f1"] for x in ("with_history", "alone", "standalone")],
                            "no_answer": [rows[x][-1]["no_answer"] for x in ("with_history", "alone", "standalone")],
                        }
                    )
                history.append(Turn.of(with_h))
    report = {name: summary(r) for name, r in rows.items()}
    ceiling = report["standalone"]["shown_f1"]
    report["ratio_with_history_to_ceiling"] = round(report["with_history"]["shown_f1"] / ceiling, 3) if ceiling else None
    report["ratio_alone_to_ceiling"] = round(report["alone"]["shown_f1"] / ceiling, 3) if ceiling else None
    report["first_turns_identical"] = all(
        a["answer"] == b["answer"] and a["no_answer"] == b["no_answer"] for a, b in zip(rows["first"], rows["first_with_history"])
    )
    report["per_kind"] = {k: {n: summary(r) for n, r in v.items()} for k, v in per_kind.items()}
    every_h = [r["latency_s"] for r in rows["with_history"] + rows["first_with_history"]]
    every_a = [r["latency_s"] for r in rows["alone"] + rows["first"]]
    report["latency_ms_p50"] = {"resolve": p50_ms(resolve_s), "answer_with_history": p50_ms(every_h), "answer_alone": p50_ms(every_a)}
    report["latency_ms_p50"]["added_by_history"] = round(
        report["latency_ms_p50"]["answer_with_history"] - report["latency_ms_p50"]["answer_alone"], 2
    )
    for name in ("first", "with_history", "alone", "standalone"):
        m = report[name]
        print(
            f"{name:14} n={m['questions']:3}  shown F1 {m['shown_f1']:5.1f}  always F1 {m['always_f1']:5.1f}"
            f"  abstain {m['abstention']:5.1f}",
            file=sys.stderr,
        )
    print(
        f"with history / ceiling {report['ratio_with_history_to_ceiling']}  alone / ceiling {report['ratio_alone_to_ceiling']}",
        file=sys.stderr,
    )
    print(f"first turns identical: {report['first_turns_identical']}  p50 ms: {report['latency_ms_p50']}", file=sys.stderr)
    run.write({"summary": report, "conversations": len(convs), "follow_ups": len(rows["with_history"]), "examples": examples})


if __name__ == "__main__":
    main()
