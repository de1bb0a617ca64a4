"""Asking within some documents: does the rest of the index cost the chosen documents any recall?

One index holds every document: the trust corpora of bench/trust (API docs, conversations, HTML
manuals, legal texts, man pages, PDFs; news too once bench/trust/fetch_news.sh has fetched it) and
the first SQuAD v1.1 dev articles, one file per paragraph in a folder per article. Each answerable
question is asked within its own scope, as `qa ask --doc` does: a trust question within its
document (`<kind>/<file>`), a SQuAD question within its article's folder (`squad/<title>/`).
The same scope is also indexed alone (same ids, same vectors: the alone indexes reuse the full
index's vectors, so only what is indexed differs), and the question asked there.

Recall@k: a trust question counts as found when one of the top k passages contains one of its
answers (whitespace and case aside); a SQuAD question when the top k hold its gold paragraph. The
target: recall@5 within the chosen documents >= recall@5 with them indexed alone, per kind and
pooled. Recall@5 of the whole index unfiltered is reported beside it, for what the filter buys.

    python bench/scoped.py                          # every trust question, 10 SQuAD articles
    python bench/scoped.py --squad-articles 0       # the trust corpora only
    python bench/scoped.py --limit 20               # a smoke run: 20 questions per kind
    python bench/scoped.py --kinds legal,pdf        # some kinds only
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TRUST = common.BENCH / "trust"
KS = (1, 5)


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def trust_scopes(seeds: Path, limit: int, wanted: set[str]) -> list[dict]:
    """Each trust kind's documents copied under seeds/<kind>/; its answerable questions, each scoped to its document."""
    from qa.evaluate import load_question_set
    from qa.train.confidence import kind_corpus

    out = []
    for path in sorted((TRUST / "questions").glob("*.jsonl")):
        kind = path.stem
        if wanted and kind not in wanted:
            continue
        try:
            corpus = kind_corpus(TRUST / "corpus", kind)
        except FileNotFoundError as e:
            print(f"skipping {kind}: {e}", file=sys.stderr)
            continue
        if not (seeds / kind).exists():
            shutil.copytree(corpus, seeds / kind)
        qs = [q for q in load_question_set(path) if q.answers and q.document and (corpus / q.document).is_file()]
        if limit and len(qs) > limit:
            qs = qs[:: -(-len(qs) // limit)]
        out += [{"kind": kind, "question": q.question, "scope": f"{kind}/{q.document}", "answers": q.golds} for q in qs]
    return out


def squad_scopes(seeds: Path, squad_dir: Path, articles: int, limit: int) -> list[dict]:
    """The first SQuAD dev articles, one file per paragraph under seeds/squad/<title>/; each question scoped to its article."""
    from qa.evaluate import write_corpus
    from qa.squad import SquadFile, load_squad, sample

    if not articles:
        return []
    data = load_squad(common.squad_file(squad_dir, "dev-v1.1"))
    titles = list(dict.fromkeys(data.titles.values()))[:articles]
    pids = [p for p, t in data.titles.items() if t in titles]
    subset = SquadFile(questions=[q for q in data.questions if q.title in titles])
    subset.paragraphs, subset.titles = {p: data.paragraphs[p] for p in pids}, {p: data.titles[p] for p in pids}
    doc_of = {p: f"squad/{d}" for p, d in write_corpus(subset, seeds / "squad").items()}
    qs = sample(subset.questions, limit)
    return [
        {"kind": "squad", "question": q.question, "scope": doc_of[q.paragraph_id].rsplit("/", 1)[0] + "/", "gold": doc_of[q.paragraph_id]}
        for q in qs
    ]


def found(passages, q: dict, k: int) -> bool:
    top = passages[:k]
    if "gold" in q:
        return any(p.document == q["gold"] for p in top)
    return any(norm(a) in norm(p.text) for p in top for a in q["answers"])


def vectors_by_text(version) -> dict[str, object]:
    """Every chunk's vector in the full index, by its text: the alone indexes get the very same vectors."""
    out = {}
    for doc in version.documents:
        text = version.document_text(doc) or ""
        spans, vectors = version.document_chunks(doc)
        for (s, e), v in zip(spans, vectors):
            out[text[s:e]] = v
    return out


def slug(scope: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", scope.strip("/"))[:80]


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "scoped")
    p.add_argument("--squad-articles", type=int, default=10, help="SQuAD v1.1 dev articles in the index (0: none)")
    p.add_argument("--squad-questions", type=int, default=300, help="SQuAD questions asked (a fixed sample of those articles')")
    p.add_argument("--kinds", default="", help="comma-separated trust kinds (default: every question set)")
    args = p.parse_args()
    run = common.Run("scoped", args)
    import numpy as np

    from qa.backends import open_store
    from qa.indexer import build_index
    from qa.pipeline import QAPipeline
    from qa.scope import select_documents

    work = Path(args.work)
    full_seeds = work / "full" / "seeds"
    full_seeds.mkdir(parents=True, exist_ok=True)
    kinds_wanted = set(filter(None, args.kinds.split(",")))
    questions = trust_scopes(full_seeds, args.limit, kinds_wanted)
    questions += squad_scopes(full_seeds, args.squad, args.squad_articles, args.squad_questions)
    full_store = open_store(work / "full" / "index")
    report = build_index(full_store, full_seeds, show_progress_bar=not args.no_progress)
    print(f"full index: {report.summary()}", file=sys.stderr)
    full = QAPipeline(full_store, full_seeds)
    full.warm_up()
    version = full.version
    by_text = vectors_by_text(version)

    def reuse(texts: list[str], progress) -> np.ndarray:
        return np.stack([by_text[t] for t in texts]).astype(np.float32)

    alone: dict[str, QAPipeline] = {}
    rows = []
    for q in common.progress_bar(questions, "asking", args.no_progress):
        scope = q["scope"]
        if scope not in alone:  # the scope's documents alone: same relative ids, same vectors, the full index's query embedder
            root = work / "alone" / slug(scope)
            seeds = root / "seeds"
            if not seeds.exists():
                for doc in select_documents([scope], version.documents) or ():
                    (seeds / doc).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(full_seeds / doc, seeds / doc)
            if not (root / "index" / "models").exists():
                shutil.copytree(work / "full" / "index" / "models", root / "index" / "models")
            store = open_store(root / "index")
            build_index(store, seeds, embed=reuse)
            alone[scope] = QAPipeline(store, seeds, reader=full.reader)
        k = max(KS)
        lists = {
            "within": full.retrieve(q["question"], top_k=k, documents=[scope]),
            "alone": alone[scope].retrieve(q["question"], top_k=k),
            "everything": full.retrieve(q["question"], top_k=k),
        }
        spans = {name: [(p.document, p.start) for p in passages] for name, passages in lists.items()}
        row = {"kind": q["kind"], "same_top5": spans["within"] == spans["alone"]}
        for name, passages in lists.items():
            for kk in KS:
                row[f"{name}@{kk}"] = found(passages, q, kk)
        rows.append(row)

    def summary(sel: list[dict]) -> dict:
        n = max(1, len(sel))
        out = {"questions": len(sel)}
        for name in ("within", "alone", "everything"):
            for kk in KS:
                out[f"{name}@{kk}"] = round(100 * sum(r[f"{name}@{kk}"] for r in sel) / n, 1)
        out["same_top5"] = round(100 * sum(r["same_top5"] for r in sel) / n, 1)
        out["within_minus_alone@5"] = round(out["within@5"] - out["alone@5"], 1)
        return out

    kinds = {kind: summary([r for r in rows if r["kind"] == kind]) for kind in dict.fromkeys(r["kind"] for r in rows)}
    pooled = summary(rows)
    results = {
        "full_index": {"documents": len(version.documents), "chunks": version.n_chunks},
        "scopes": len(alone),
        "kinds": kinds,
        "pooled": pooled,
        "target_met": all(m["within@5"] >= m["alone@5"] for m in [*kinds.values(), pooled]),
    }
    run.write(results)
    print(f"pooled: {pooled}", file=sys.stderr)


if __name__ == "__main__":
    main()
