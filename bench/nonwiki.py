"""Retrieval and answers on documents that are not Wikipedia: manuals, API docs and a news article.

SQuAD is Wikipedia, and its questions share many words with their passages; this set checks that
what is tuned there does not hurt elsewhere. The corpus is made on this machine at run time (not
committed): Debian man pages rendered by `man` (tar, grep and distractors), Python's own module
documentation rendered by pydoc (gzip, json, csv, textwrap and distractors), and the seed news
article. The questions were written by hand for this benchmark, paraphrased rather than copied.

For each retrieval (the bundled MiniLM with equal weights and k 60, with the fusion tuned on
SQuAD train, the shipped fine-tuned embedder and fusion, and that with the feature ranker), each
embedder with its own index: recall@1/@5 (a top passage is from the right document and holds the
expected words), and the end-to-end answer at top_k 5 (the best answer is from the right document
and holds them).

    python bench/nonwiki.py
    python bench/nonwiki.py --reader shipped=shipped --reader new=PATH/TO/MODEL   # readers side by side
    python bench/nonwiki.py --limit 5      # every 10th question, over its documents only (the tests' smoke run)
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

MAN_PAGES = ["tar", "grep", "find", "sed", "ls", "cp", "chmod", "gzip"]
PY_MODULES = ["gzip", "json", "csv", "textwrap", "shutil", "zipfile", "tarfile", "argparse"]
# (question, document, words the answer or passage must hold (any of them))
QUESTIONS = [
    ("Which tar option deletes the files from disk once they are in the archive?", "man/tar.txt", ["--remove-files"]),
    ("How do I drop leading directories from file names when extracting with tar?", "man/tar.txt", ["--strip-components"]),
    ("Which tar option changes to another directory before doing anything else?", "man/tar.txt", ["--directory", "-C"]),
    ("How can tar leave out version control folders?", "man/tar.txt", ["--exclude-vcs"]),
    ("Which tar option runs the archive through zstd?", "man/tar.txt", ["--zstd"]),
    ("What exit status does grep give when no lines were selected?", "man/grep.txt", ["1"]),
    ("How do I make grep ignore the difference between upper and lower case?", "man/grep.txt", ["--ignore-case", "-i"]),
    ("How can grep print some lines of context after each match?", "man/grep.txt", ["--after-context", "-A"]),
    ("Which grep option prints only how many lines matched in each file?", "man/grep.txt", ["--count", "-c"]),
    ("Which environment variable controls the colors grep uses?", "man/grep.txt", ["GREP_COLORS"]),
    ("What compression level does Python's GzipFile use by default?", "python/gzip.txt", ["9"]),
    ("Which gzip compresslevel is the fastest?", "python/gzip.txt", ["1"]),
    ("What is written as the modification time when mtime is not given to GzipFile?", "python/gzip.txt", ["current time"]),
    ("Which textwrap function removes the common leading whitespace from every line?", "python/textwrap.txt", ["dedent"]),
    ("What is the default width that textwrap wraps text to?", "python/textwrap.txt", ["70"]),
    ("Which exception is raised when the JSON being decoded is invalid?", "python/json.txt", ["JSONDecodeError"]),
    ("Which argument of json.dumps sorts the keys of dictionaries?", "python/json.txt", ["sort_keys"]),
    ("When does csv.QUOTE_MINIMAL quote a field?", "python/csv.txt", ["only when required", "required"]),
    ("Who is the NATO Secretary General?", "nato-russia-council.txt", ["Stoltenberg"]),
    ("When did the meeting begin?", "nato-russia-council.txt", ["10:07"]),
    ("Who was Russia's ambassador to NATO from 2011 to 2018?", "nato-russia-council.txt", ["Grushko"]),
    ("How much longer than expected did the discussions last?", "nato-russia-council.txt", ["four hours"]),
    ("Where did the Russians speak to the press?", "nato-russia-council.txt", ["embassy"]),
    ("What does NATO plan to do if diplomacy fails?", "nato-russia-council.txt", ["troop movements", "prepare", "monitor"]),
    ("How do I match file names with find without caring about letter case?", "man/find.txt", ["-iname"]),
    ("Which find test selects files whose data changed a given number of days ago?", "man/find.txt", ["-mtime"]),
    ("How can I stop find from going deeper than a certain number of directory levels?", "man/find.txt", ["-maxdepth"]),
    ("Which sed option edits the files themselves instead of printing the result?", "man/sed.txt", ["--in-place", "-i"]),
    ("How do I stop sed from printing every line automatically?", "man/sed.txt", ["--quiet", "-n", "--silent"]),
    ("Which sed flag turns on extended regular expressions?", "man/sed.txt", ["--regexp-extended", "-E"]),
    ("How do I get ls to print sizes like 1K and 234M?", "man/ls.txt", ["--human-readable", "-h"]),
    ("Which ls option lists the largest files first?", "man/ls.txt", ["-S"]),
    ("How can ls show the entries whose names start with a dot?", "man/ls.txt", ["--all", "-a"]),
    ("How do I make cp refuse to overwrite files that are already there?", "man/cp.txt", ["--no-clobber", "-n"]),
    ("Which cp option copies only when the source is newer than the destination?", "man/cp.txt", ["--update", "-u"]),
    ("How can chmod change a directory and everything inside it?", "man/chmod.txt", ["--recursive", "-R"]),
    ("How do I give a file the same mode as another file with chmod?", "man/chmod.txt", ["--reference"]),
    ("Which gzip option keeps the input files instead of deleting them?", "man/gzip.txt", ["--keep", "-k"]),
    ("What compression level does the gzip command use by default?", "man/gzip.txt", ["-6", "6"]),
    ("How do I check that a compressed file is not corrupted with gzip?", "man/gzip.txt", ["--test", "-t"]),
    ("What does shutil.copytree raise when the destination exists and dirs_exist_ok is false?", "python/shutil.txt", ["FileExistsError"]),
    ("Which shutil function reports the total, used and free space of a disk?", "python/shutil.txt", ["disk_usage"]),
    ("How can I quickly tell whether a file is a ZIP archive in Python?", "python/zipfile.txt", ["is_zipfile"]),
    ("Which exception does zipfile raise for a broken archive?", "python/zipfile.txt", ["BadZipFile"]),
    ("Which mode string opens a tar archive for reading with gzip compression?", "python/tarfile.txt", ["r:gz"]),
    ("Which tarfile function says whether a file is a tar archive it can read?", "python/tarfile.txt", ["is_tarfile"]),
    ("Which ArgumentParser parameter lets long options be abbreviated?", "python/argparse.txt", ["allow_abbrev"]),
    (
        "Which formatter class adds the default value of each argument to the help?",
        "python/argparse.txt",
        ["ArgumentDefaultsHelpFormatter"],
    ),
]


def write_corpus(seeds: Path, only: set[str] | None = None) -> list[str]:
    """The man pages and module docs (only those named in `only`, as 'man/tar.txt', when given) and the
    news article as files under `seeds`; returns the documents written."""
    (seeds / "man").mkdir(parents=True)
    (seeds / "python").mkdir()
    made = []
    from qa.train.data.manuals import render_man, render_module

    for page in MAN_PAGES:
        if only is not None and f"man/{page}.txt" not in only:
            continue
        text = render_man(page, timeout=60)
        if text.strip():
            (seeds / "man" / f"{page}.txt").write_text(text, encoding="utf-8")
            made.append(f"man/{page}.txt")
    for name in PY_MODULES:
        if only is not None and f"python/{name}.txt" not in only:
            continue
        (seeds / "python" / f"{name}.txt").write_text(render_module(name), encoding="utf-8")
        made.append(f"python/{name}.txt")
    shutil.copy(common.ROOT / "seeds" / "nato-russia-council.txt", seeds / "nato-russia-council.txt")
    return made + ["nato-russia-council.txt"]


def holds(text: str, words: list[str]) -> bool:
    return any(w.lower() in text.lower() for w in words)


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "nonwiki")
    p.add_argument("--embedder", default="auto", help="QA_EMBEDDER of the shipped retrieval (auto: the fine-tuned layers)")
    p.add_argument("--ranker", default="auto", help="QA_RANKER of the ranked row (auto: the shipped ranker; off: no such row)")
    p.add_argument(
        "--reader",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="readers side by side: only the shipped retrieval, once per reader (repeat; 'shipped' = qa/models/reader)",
    )
    args = p.parse_args()
    run = common.Run("nonwiki", args)
    from qa.pipeline import QAPipeline
    from qa.ranker import choose_ranker_file
    from qa.settings import Settings

    shutil.rmtree(args.work, ignore_errors=True)
    asked = QUESTIONS
    if args.limit:  # a quick run: every n-th question, and only the documents they ask about (fewer distractors)
        asked = QUESTIONS[:: math.ceil(len(QUESTIONS) / args.limit)]
    docs = write_corpus(args.work / "seeds", {d for _, d, _ in asked} if args.limit else None)
    asked = [q for q in asked if q[1] in docs]  # a man page missing on this machine drops its questions
    shipped = Settings()
    # (embedder, dense weight, k, QA_RANKER): the bundled MiniLM with equal weights and with the fusion tuned on
    # SQuAD train, then the shipped fine-tuned embedder and fusion, alone and with the feature ranker after it
    shipped_fusion = f"fine-tuned embedder ({args.embedder}), dense {shipped.dense_weight}, k {shipped.rrf_k}"
    fusion = (args.embedder, shipped.dense_weight, shipped.rrf_k)
    configs = {
        "bundled MiniLM, equal weights, k 60": ("bundled", 1.0, 60, "off"),
        "bundled MiniLM, dense 0.4, k 10": ("bundled", 0.4, 10, "off"),
        shipped_fusion: (*fusion, "off"),
    }
    if choose_ranker_file(args.ranker) is not None:  # off, or auto with no ranker shipped: no such row
        configs[f"{shipped_fusion} + ranker ({args.ranker})"] = (*fusion, args.ranker)
    readers: list[Path | None] = []  # empty: one reader, the shipped one, for every row
    if args.reader:  # the readers side by side, on the shipped retrieval alone
        pairs = [r.partition("=")[::2] for r in args.reader]
        readers = [None if f == "shipped" else Path(f).expanduser() for _, f in pairs]
        configs = {f"{shipped_fusion} + ranker ({args.ranker}), reader {n}": (*fusion, args.ranker) for n, _ in pairs}
    results, reader, sizes = {}, None, {}
    for n, (name, (emb, w, k, ranker)) in enumerate(configs.items()):
        settings = shipped.with_(dense_weight=w, rrf_k=k, embedder=emb, ranker=ranker)
        if readers:
            settings, reader = settings.with_(reader_dir=readers[n]), None
        pipe = QAPipeline(args.work / f"index-{emb}", args.work / "seeds", reader=reader, settings=settings)
        if emb not in sizes:
            report = pipe.rebuild(show_progress_bar=not args.no_progress)
            sizes[emb] = {"documents": report.n_documents, "chunks": report.n_chunks}
        reader = pipe.reader
        r1 = r5 = 0
        rows = []
        for q, doc, words in asked:
            passages = pipe.retrieve(q, top_k=5)
            ok = [x.document == doc and holds(x.text, words) for x in passages]
            r1 += bool(ok[:1] and ok[0])
            r5 += any(ok)
            res = pipe(q, top_k=5)
            best = res.answers[0] if res.answers else None
            good = bool(best and best.document == doc and holds(best.text, words))
            rows.append(
                {
                    "question": q,
                    "answer": best.text if best else "",
                    "document": best.document if best else "",
                    "right": good,
                    "no_answer": res.no_answer,
                }
            )
        n = len(asked)
        results[name] = {
            "recall@1": round(100 * r1 / n, 1),
            "recall@5": round(100 * r5 / n, 1),
            "answer_right": round(100 * sum(r["right"] for r in rows) / n, 1),
            "rows": rows,
        }
        print(name, {k: v for k, v in results[name].items() if k != "rows"}, file=sys.stderr)
    run.write({"indexes": sizes, "questions": len(asked), "by_retrieval": results})


if __name__ == "__main__":
    main()
