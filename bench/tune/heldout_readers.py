"""Readers side by side on held-out SQuAD train articles: is a newly trained reader worth shipping?

Model selection without reading a dev set. The held-out articles (every 50th train article,
`qa.train.data.mining`) were never trained on. Each reader is measured on them
- alone: each question read with its own paragraph (EM/F1);
- open: the articles' paragraphs as documents, answered end to end at each --top-k;
- made-up unanswerables: the same questions plus an entity-swapped and a negated or antonym
  copy of each (`qa.train.data.mining.write_made_up_v2`), read with their paragraph, at each reader's own
  calibrated threshold (SQuAD 2.0 rules: HasAns / NoAns).
Each reader's `reader.json` calibration on dev-v2.0-part-a (made by its export) is copied in beside.

    python -m bench.tune.heldout_readers --reader shipped=qa/models/reader --reader new=PATH/TO/NEW/MODEL
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import common

KEEP = ("questions", "exact", "f1", "HasAns", "NoAns", "no_answer_threshold")


def named_dir(text: str) -> tuple[str, Path]:
    name, _, path = text.partition("=")
    if not path:
        raise SystemExit(f"--reader takes NAME=FOLDER, got {text!r}")
    return name, Path(path).expanduser()


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "heldout_readers")
    common.add_holdout_arg(p)
    p.add_argument("--reader", action="append", type=named_dir, required=True, help="NAME=FOLDER; repeat to compare")
    p.add_argument("--top-k", default="1,5", help="comma-separated top_k values for the open runs")
    p.add_argument("--index", type=Path, default=None, help="index of the held-out paragraphs (default: in --work)")
    args = p.parse_args()
    run = common.Run("heldout_readers", args)
    from qa.evaluate import evaluate_open, evaluate_reader
    from qa.reader import ExtractiveReader
    from qa.train.data.mining import write_made_up_v2

    held = common.holdout_train(args)
    made_up = write_made_up_v2(held, args.work / "holdout-made-up-v2.json")
    index = args.index or args.work / "holdout-index"
    results: dict = {"holdout": held.name, "made_up": made_up.name, "readers": {}}
    for name, folder in args.reader:
        print(f"reader {name}: {folder}", file=sys.stderr)
        row = {"folder": str(folder)}
        reader = ExtractiveReader(folder)  # loaded once for both reader-alone runs
        alone = evaluate_reader(held, args.limit, progress=not args.no_progress, reader=reader)
        row["alone"] = {k: alone[k] for k in KEEP if k in alone}
        for k in [int(x) for x in args.top_k.split(",")]:
            r = evaluate_open(held, args.limit, top_k=k, index_dir=index, reader_dir=folder, progress=not args.no_progress)
            row[f"open_top_k_{k}"] = {x: r[x] for x in KEEP if x in r}
        v2 = evaluate_reader(made_up, args.limit, progress=not args.no_progress, reader=reader)
        row["made_up_v2"] = {k: v2[k] for k in KEEP if k in v2}
        config = reader.config
        calibration = ("no_answer_threshold", "v2_metrics", "v2_best_threshold", "v2_best_metrics")
        row["dev_v2_part_a_calibration"] = {k: config.get(k) for k in calibration}
        results["readers"][name] = row
        print(json.dumps(row), file=sys.stderr)
    run.write(results)


if __name__ == "__main__":
    main()
