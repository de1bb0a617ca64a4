"""Two readers' speed, interleaved on the same windows: what a new reader file costs, without drift.

`bench/latency.py --baseline-ref` runs the two products one after the other, so a machine that
speeds up or slows down between them shows as a difference of a few percent (identical graphs
measured 1.01-1.04× there). Here every window is run by each reader in turn, alternating the order,
so drift falls on both alike. Each reader is timed with ONNX Runtime's denormals-as-zero setting
off and on (qa's sessions turn it on), both for the ONNX run alone and for the whole reader call
(tokenising, the run, span decoding), on one window per run as the product does.

    python -m bench.tune.reader_speed --baseline-ref 11f09a2 --questions 400
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import common


def sessions(model: Path, threads: int) -> dict[str, object]:
    """The reader's ONNX file in qa's session, with denormals kept and flushed to zero."""
    from qa.onnx_utils import session

    return {name: session(model, threads, denormals_as_zero=daz) for name, daz in (("denormals kept", False), ("denormals as zero", True))}


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "reader_speed")
    p.add_argument("--baseline-ref", required=True, help="git ref whose shipped reader is compared with this tree's")
    p.add_argument("--questions", type=int, default=400, help="held-out train questions, each read against its paragraph")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: one per core, the product's default)")
    common.add_holdout_arg(p)
    args = p.parse_args()
    run = common.Run("reader_speed", args)

    from qa.reader import ExtractiveReader, default_model_dir, pad_batch
    from qa.schema import Passage
    from qa.squad import load_squad, sample

    base_dir = common.git_tree(args.baseline_ref, args.work / "baseline", "qa/models/reader") / "qa" / "models" / "reader"
    dirs = {"this tree": default_model_dir(), f"at {args.baseline_ref}": base_dir}
    readers = {name: ExtractiveReader(d, threads=args.threads) for name, d in dirs.items()}
    for r in readers.values():
        r.warm_up()
    runs = {}
    for name, d in dirs.items():
        for mode, s in sessions(d / readers[name].config.get("onnx", "reader.onnx"), args.threads).items():
            runs[(name, mode)] = s
    qs = sample(load_squad(common.holdout_train(args)).questions, args.questions)
    tok = next(iter(readers.values()))._tokenizer  # the same tokenizer file for both (checked below)
    windows = [w for q in qs for e in [tok.encode(q.question, q.context)] for w in [e, *e.overflowing]]
    onnx_s = {k: [] for k in runs}
    call_s = {name: [] for name in readers}
    for i, w in enumerate(windows):
        ids, mask, types = pad_batch([w])
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        for k in list(runs)[:: 1 if i % 2 == 0 else -1]:
            t = time.perf_counter()
            runs[k].run(None, feed)
            onnx_s[k].append(time.perf_counter() - t)
    for i, q in enumerate(qs):
        passage = [Passage.from_text(q.context)]
        for name in list(readers)[:: 1 if i % 2 == 0 else -1]:
            t = time.perf_counter()
            readers[name](q.question, passage, top_n=1)
            call_s[name].append(time.perf_counter() - t)

    same_tokenizer = len({(d / "tokenizer.json").read_bytes() for d in dirs.values()}) == 1
    out = {
        "windows": len(windows),
        "questions": len(qs),
        "same_tokenizer": same_tokenizer,
        "readers": {
            name: {"dir": str(d), **{k: readers[name].config.get(k) for k in ("variant", "training_step")}} for name, d in dirs.items()
        },
        "onnx_run": {f"{name}, {mode}": common.summary_ms(v) for (name, mode), v in onnx_s.items()},
        "reader_call": {name: common.summary_ms(v) for name, v in call_s.items()},
    }
    new, old = dirs
    onnx = {k: v["p50_ms"] for k, v in out["onnx_run"].items()}
    out["ratios"] = {  # this tree's reader against the baseline's, p50 (below 1: faster now)
        "onnx run, both denormals as zero": onnx[f"{new}, denormals as zero"] / onnx[f"{old}, denormals as zero"],
        "onnx run, both denormals kept": onnx[f"{new}, denormals kept"] / onnx[f"{old}, denormals kept"],
        "onnx run, this tree as zero against the baseline kept": onnx[f"{new}, denormals as zero"] / onnx[f"{old}, denormals kept"],
        "reader call, both in qa's sessions": out["reader_call"][new]["p50_ms"] / out["reader_call"][old]["p50_ms"],
    }
    run.write(out)


if __name__ == "__main__":
    main()
