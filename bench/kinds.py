"""Answers you can trust on every kind of document: accuracy, abstention and calibration per kind.

The question sets in bench/trust/questions were written by hand over real documents of seven kinds
(news, man pages and --help texts, Python API docs, HTML manuals, PDFs, legal texts, conversations;
sources and licences in bench/trust/sources), each split by document into `fit` (what the
confidence is fitted on, `python -m qa.train.confidence`) and `test` (what this reports). SQuAD v2.0
dev (part a) joins as one more kind, split by article the same way. One index per kind.

For each reader folder given (side by side, in one run): per kind, shown F1 (an abstention scores 0)
and always-answer F1 over the answerable questions, the share whose best answer cites the right
document, abstention on the unanswerable ones, answers shown (all questions answered, and the
single-answer ones), the share of single-answer questions with no wrong extra answer, and the
expected calibration error of the best answer's confidence (P(F1 >= 0.5)), with a reliability plot.

    bash bench/trust/fetch_news.sh                     # the news articles (not committed: fetched, checked)
    python bench/kinds.py                              # the shipped reader and its decision layer
    python bench/kinds.py --reader before=/tmp/reader-without-confidence --reader shipped=shipped
    python bench/kinds.py --limit 8                    # a smoke run: 8 test questions per kind
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TRUST = common.ROOT / "bench" / "trust"


def kind_rows(kind: str, questions: Path, work: Path, limit: int, progress: bool) -> list[dict]:
    from qa.evaluate import ask_question_set
    from qa.train.confidence import kind_corpus

    return ask_question_set(questions, kind_corpus(TRUST / "corpus", kind), work / kind, split="test", progress=progress, limit=limit)


def plot(per_reader: dict, out: Path) -> None:
    """Reliability diagram: the share right against the stated confidence, one line per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(per_reader), figsize=(5.5 * len(per_reader), 5), squeeze=False)
    for ax, (name, kinds) in zip(axes[0], per_reader.items()):
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
        for kind, m in kinds.items():
            pts = m["reliability"]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{kind} (ECE {m['ece']:.2f})")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="stated confidence of the best answer", ylabel="share right (F1 >= 0.5)", title=name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "kinds")
    p.add_argument("--reader", action="append", default=[], metavar="NAME=FOLDER", help="reader folders side by side ('shipped')")
    p.add_argument("--squad-limit", type=int, default=400, help="SQuAD v2.0 test-split questions (0: no SQuAD row)")
    p.add_argument("--kinds", default="", help="comma-separated kinds to run (default: every question set)")
    p.add_argument("--plot", type=Path, default=common.ROOT / "docs" / "reliability.png")
    args = p.parse_args()
    run = common.Run("kinds", args)
    import os

    from qa.evaluate import ask_squad_open, set_metrics

    pairs = [r.partition("=")[::2] for r in args.reader] or [("shipped", "shipped")]
    per_reader: dict[str, dict] = {}
    for name, folder in pairs:
        if folder != "shipped":
            os.environ["QA_READER_DIR"] = str(Path(folder).expanduser())
        else:
            os.environ.pop("QA_READER_DIR", None)
        rows_by_kind = {}
        wanted = set(filter(None, args.kinds.split(",")))
        for questions in sorted((TRUST / "questions").glob("*.jsonl")):
            if not wanted or questions.stem in wanted:
                rows_by_kind[questions.stem] = kind_rows(questions.stem, questions, args.work, args.limit, not args.no_progress)
        if args.squad_limit:
            squad = common.squad_file(args.squad, "dev-v2.0-part-a")
            rows_by_kind["squad"] = ask_squad_open(
                squad,
                args.work / "squad",
                split="test",
                limit=min(args.limit or args.squad_limit, args.squad_limit),
                progress=not args.no_progress,
            )
        kinds = {k: set_metrics(rows) for k, rows in rows_by_kind.items()}
        every = [r for rows in rows_by_kind.values() for r in rows]
        kinds["pooled"] = set_metrics(every)
        for k, m in kinds.items():
            print(
                f"{name:10} {k:13} shown F1 {m['shown_f1']:5.1f} / always {m['always_f1']:5.1f}  right doc {m['right_document']:5.1f}"
                f"  abstain {m['abstention']:5.1f}  shown {m['mean_shown']:.2f} (single {m['single_mean_shown']:.2f},"
                f" clean {m['single_no_wrong_extra']:.0f}%)  ECE {m['ece']:.3f}",
                file=sys.stderr,
            )
        per_reader[name] = {
            "kinds": kinds,
            "rows": {k: [{x: r[x] for x in r if x != "evidence"} for r in v] for k, v in rows_by_kind.items()},
        }
        per_reader[name]["latency_ms_p50"] = round(1000 * sorted(r["latency_s"] for r in every)[len(every) // 2], 1)
    if args.plot:
        plot({n: {k: m for k, m in r["kinds"].items() if k != "pooled"} for n, r in per_reader.items()}, args.plot)
    run.write({"readers": per_reader})


if __name__ == "__main__":
    main()
