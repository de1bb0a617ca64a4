"""Turn bench/results/*.json into the tables of docs/benchmarks.md (and docs/tuning.md, docs/scaling.md) and the latency plot.

Tables go between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers, NAME being the results
file's name (bench/results/open_qa.json -> `<!-- bench:open_qa -->`), so the prose around them stays
as written and the figures always come from the results files.

    python bench/report.py [--results bench/results] [--doc docs/tuning.md docs/benchmarks.md docs/scaling.md]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PLOT = common.ROOT / "docs" / "latency_vs_corpus.png"
DOCS = [common.ROOT / "docs" / "tuning.md", common.ROOT / "docs" / "benchmarks.md", common.ROOT / "docs" / "scaling.md"]


def table(head: list[str], rows: list[list]) -> str:
    def cell(x) -> str:
        if isinstance(x, float):
            return f"{x:,.1f}" if abs(x) >= 10 else f"{x:.2f}"
        return str(x)

    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def provenance(d: dict) -> str:
    m = d["machine"]
    g = d["git"]
    commit = (g["commit"][:10] or "?") + (" (+ uncommitted changes)" if g.get("dirty") else "")
    threads = ", ".join(f"{k}={v}" for k, v in m.get("threads_env", {}).items() if v) or "default threads"
    r = d.get("reader") or {}
    step = f", training step {r['training_step']}" if r.get("training_step") else ""
    reader = f"reader `{r.get('dir')}` ({r.get('variant')}{step})"
    return (
        f"*`{d['command']}` — {d['date_utc']}, {m['cpu_model']} × {m['cores']} cores, {threads}, load average "
        f"{m['loadavg_at_start'][0]} at start, {reader}, commit {commit}, {d['wall_s']:.0f} s.*"
    )


def reader_tables(d: dict) -> str:
    r = d["results"]
    rows = []
    for name, e in r["engines"].items():
        lat = e["latency"]
        rows.append(
            [
                name,
                e["exact"],
                e["f1"],
                e["f1_minus_reference"],
                lat["p50_ms"],
                lat["p95_ms"],
                lat["mean_ms"],
                f"{e['p50_vs_reference']:.2f}×",
                f"{e['same_answer_as_reference_pct']:.1f}%",
            ]
        )
    head = ["engine", "EM", "F1", "ΔF1 vs shipped", "p50 ms/q", "p95 ms/q", "mean ms/q", "p50 vs shipped", "same answer as shipped"]
    sizes = ", ".join(f"{k} {v} MB" for k, v in r.get("model_mb", {}).items())
    return (
        f"SQuAD v1.1 dev, {r['questions']} questions, reader alone (gold paragraph); shipped variant "
        f"`{r.get('shipped_variant')}`; window {r['window']}; torch threads {r['threads']['torch']}; sizes: {sizes}.\n\n"
        + table(head, rows)
        + "\n\n"
        + provenance(d)
    )


def open_qa_tables(d: dict) -> str:
    r = d["results"]
    sweep = table(["top_k", "EM", "F1", "p50 ms/question"], [[s["top_k"], s["exact"], s["f1"], s["latency_ms_p50"]] for s in r["sweep"]])
    rec = r["recall"]
    ks = list(next(iter(rec.values())))
    recall = table(["retrieval", *[f"recall{k}" for k in ks]], [[m, *[rec[m][k] for k in ks]] for m in rec])
    return (
        f"{r['documents']} documents ({r['chunks']} chunks), {r['questions']} questions. Chosen top_k: "
        f"**{r['chosen_top_k']}** ({r['rule']}).\n\n"
        + sweep
        + "\n\nGold paragraph among the retrieved passages:\n\n"
        + recall
        + "\n\n"
        + provenance(d)
    )


def latency_tables(d: dict) -> str:
    def row(name: str, x: dict, cold: dict, warm: dict) -> list:
        w = warm["warm"]
        return [
            name,
            x["documents"],
            x["chunks"],
            cold["wall_s_median"],
            cold["peak_rss_mb_median"],
            warm["load_s"],
            warm["first_question_ms"],
            f"{w['total']['p50_ms']:.0f} / {w['total']['p95_ms']:.0f}",
            f"{w['embed']['p50_ms']:.1f} / {w['embed']['p95_ms']:.1f}",
            f"{w['search']['p50_ms']:.1f} / {w['search']['p95_ms']:.1f}",
            f"{w['rank']['p50_ms']:.1f} / {w['rank']['p95_ms']:.1f}" if "rank" in w else "—",
            f"{w['read']['p50_ms']:.0f} / {w['read']['p95_ms']:.0f}",
            warm["questions"],
            warm["peak_rss_mb"],
        ]

    rows, ratios = [], []
    for name, x in d["results"]["indexes"].items():
        b = x.get("baseline")
        rows.append(row(f"{name} (this commit)" if b else name, x, x["cold"], x["warm"]))
        if b:
            rows.append(row(f"{name} (at {b['ref']})", x, b["cold"], b["warm"]))
            ratios.append(
                f"{name}: warm p50 {b['warm_p50_ratio']:.2f}×, reader p50 {b['read_p50_ratio']:.2f}×, cold "
                f"{x['cold']['wall_s_median'] / b['cold']['wall_s_median']:.2f}× the code and models at {b['ref']}"
            )
    head = [
        "index",
        "docs",
        "chunks",
        "cold `qa ask` s (median)",
        "cold peak RSS MB",
        "warm load s",
        "1st question ms",
        "warm total p50/p95 ms",
        "embed p50/p95",
        "search p50/p95",
        "rank p50/p95",
        "read p50/p95",
        "warm questions",
        "warm peak RSS MB",
    ]
    side = ("\n\nSide by side, same run: " + "; ".join(ratios) + " (below 1: faster now).") if ratios else ""
    return table(head, rows) + side + "\n\n" + provenance(d)


def _f1_cited(cell: dict) -> str:
    return f"{cell['f1']:.1f} ({cell['cites_gold']:.0f}%)"


def _cells(sweep: list[dict], **match) -> dict[int, dict]:
    return {s["top_k"]: s for s in sweep if all(s[key] == value for key, value in match.items())}


def interpolation_tables(d: dict) -> str:
    r = d["results"]
    c = r["chosen"]
    held, dev = r["holdout_train"], r["dev"]
    ks = [k for k in r["top_ks"] if k > 1]  # a prior cannot reorder a single passage
    head = [*[f"held-out top_k {k}" for k in ks], *[f"dev top_k {k}" for k in ks]]
    rows = []
    for prior in dict.fromkeys(s["prior"] for s in held["sweep"]):  # rank, then fused or ranker (what ordered the passages)
        for lam in r["lambdas"]:
            if prior != "rank" and not lam:
                continue  # λ = 0 is "no prior", shown once
            key = {"prior": prior if lam else "rank", "lambda": lam}
            h, v = _cells(held["sweep"], **key), _cells(dev["sweep"], **key)
            if h and v:
                rows.append([prior if lam else "none", lam, *[_f1_cited(h[k]) for k in ks], *[_f1_cited(v[k]) for k in ks]])
    parts = [
        f"Chosen on held-out train articles at top_k {c['top_k']}: prior **{c['prior']}**, λ = **{c['lambda']}** "
        f"(held-out train F1 {c['holdout_train_f1']} vs {c['holdout_train_f1_at_0']} at λ = 0; dev F1 {c['dev_f1']} vs "
        f"{c['dev_f1_at_0']}). {held['questions']} held-out train questions over {held['documents']} documents, "
        f"{dev['questions']} dev questions over {dev['documents']}; F1 (share of answers citing the gold paragraph).",
        table(["prior", "λ", *head], rows),
    ]
    if "chosen_aggregation" in r:
        a = r["chosen_aggregation"]
        rows = []
        for match in dict.fromkeys(s["match"] for s in held["aggregation"]):
            for beta in dict.fromkeys(s["beta"] for s in held["aggregation"]):
                h, v = _cells(held["aggregation"], match=match, beta=beta), _cells(dev["aggregation"], match=match, beta=beta)
                if h and v:
                    rows.append([match if beta else "none", beta, *[_f1_cited(h[k]) for k in ks], *[_f1_cited(v[k]) for k in ks]])
        parts += [
            f"Answer aggregation on top of that prior (an answer's evidence summed over the passages that give it, "
            f"weight β for the repeats), chosen on held-out train articles at top_k {a['top_k']}: grouping "
            f"**{a['match']}**, β = **{a['beta']}** (held-out train F1 {a['holdout_train_f1']}; dev F1 {a['dev_f1']} "
            f"vs {a['dev_f1_at_0']} at β = 0).",
            table(["grouping", "β", *head], rows),
        ]
    return "\n\n".join(parts) + "\n\n" + provenance(d)


def reader_speed_tables(d: dict) -> str:
    r = d["results"]
    rows = [[k, v["p50_ms"], v["p95_ms"], v["mean_ms"], v["n"]] for k, v in r["onnx_run"].items()]
    rows += [[f"{k}, whole reader call", v["p50_ms"], v["p95_ms"], v["mean_ms"], v["n"]] for k, v in r["reader_call"].items()]
    ratios = "; ".join(f"{k}: {v:.3f}×" for k, v in r["ratios"].items())
    return (
        f"{r['questions']} held-out train questions ({r['windows']} windows), interleaved, one window per run.\n\n"
        + table(["reader, session", "p50 ms", "p95 ms", "mean ms", "runs"], rows)
        + f"\n\nThis tree's reader against the baseline's, p50 (below 1: faster now): {ratios}.\n\n"
        + provenance(d)
    )


def heldout_readers_tables(d: dict) -> str:
    r = d["results"]
    ks = sorted(int(k.rsplit("_", 1)[1]) for k in next(iter(r["readers"].values())) if k.startswith("open_top_k_"))
    head = [
        "reader",
        "alone EM / F1",
        *[f"open top_k {k} EM / F1" for k in ks],
        "made-up v2 F1 (HasAns / NoAns)",
        "dev-v2 part a F1 (HasAns / NoAns) at threshold",
        "best dev-v2 part a F1 (threshold)",
    ]
    rows = []

    def v2(m: dict) -> str:
        return f"{m['f1']:.1f} ({m['HasAns']['f1']:.1f} / {m['NoAns']['f1']:.1f})"

    for name, row in r["readers"].items():
        cal = row["dev_v2_part_a_calibration"]
        rows.append(
            [
                name,
                *[f"{row[c]['exact']:.1f} / {row[c]['f1']:.1f}" for c in ["alone", *[f"open_top_k_{k}" for k in ks]]],
                v2(row["made_up_v2"]),
                f"{v2(cal['v2_metrics'])} at {cal['no_answer_threshold']}",
                f"{cal['v2_best_metrics']['f1']:.1f} ({cal['v2_best_threshold']})",
            ]
        )
    first = next(iter(r["readers"].values()))
    lead = (
        f"Held-out train articles ({r['holdout']}): {first['alone']['questions']} questions; made-up v2: "
        f"{first['made_up_v2']['questions']} (each question plus its entity-swapped and negated/antonym copies)."
    )
    return lead + "\n\n" + table(head, rows) + "\n\n" + provenance(d)


def ranking_tables(d: dict) -> str:
    r = d["results"]
    rows = []
    for name, label in (("dev", "SQuAD v1.1 dev"), ("holdout_train_fitted", "held-out train (fitted on)")):
        x = r[name]
        for order, y in x["orders"].items():
            rows.append([label, order, y["@1"], y["@5"], y["@20"], y["p50_ms"], y["p95_ms"]])
    head = ["questions", "order", "recall@1", "recall@5", "recall@20", "p50 ms", "p95 ms"]
    dev = r["dev"]
    sizes = (
        f"dev: {dev['questions']} questions over {dev['documents']} paragraph documents ({dev['chunks']} chunks); "
        f"held-out train: {r['holdout_train_fitted']['questions']} questions. Times per question: query embedding, "
        f"search and (second row of each pair) ranking, {r['threads']} threads; both orders of a question run one after "
        "the other."
    )
    return sizes + "\n\n" + table(head, rows) + "\n\n" + provenance(d)


def indexing_tables(d: dict) -> str:
    r = d["results"]
    rows = [
        [k, s["seconds"], s["chunks_embedded"], s["chunks_reused"], s["changes"], s["chunks_per_s"] or ""] for k, s in r["steps"].items()
    ]
    base = r.get("baseline_full_rebuild")
    if base:
        name = f"full_rebuild with the code at {base['ref']}"
        rows.insert(2, [name, base["seconds"], base["chunks"], 0, "", base["chunks_per_s"]])
    side = f" ({r['speedup_full_rebuild_vs_baseline']}x the code at {base['ref']}, timed in the same run)" if base else ""
    return (
        f"{r['documents']} documents, {r['chunks']} chunks; full build **{r['chunks_per_s_full_build']} chunks/s**{side}.\n\n"
        + table(["build", "seconds", "embedded", "reused", "changes", "chunks/s"], rows)
        + "\n\n"
        + provenance(d)
    )


def scale_tables(d: dict) -> str:
    r = d["results"]
    rows = []
    for s in r["sizes"]:
        w = s["worker"]["warm"]
        rows.append(
            [
                f"{s['chunks']:,}",
                s["replicated_chunks"],
                s["faiss"],
                s["recall_at_10_vs_flat"],
                s["search_ms_product_index"],
                s["search_ms_exact_flat"],
                w["embed"]["p50_ms"],
                w["search"]["p50_ms"],
                w["search"]["p95_ms"],
                w["read"]["p50_ms"],
                w["total"]["p50_ms"],
                w["total"]["p95_ms"],
                s["worker"]["peak_rss_mb"],
                s["disk_mb"],
                s["index_write_s"],
            ]
        )
    head = [
        "chunks",
        "of which replicated",
        "FAISS",
        "recall@10 vs exact",
        "FAISS ms (product)",
        "FAISS ms (exact)",
        "embed p50",
        "search p50",
        "search p95",
        "read p50",
        "total p50",
        "total p95",
        "peak RSS MB",
        "index MB on disk",
        "index write s",
    ]
    return (
        f"{r['real_chunks']:,} real chunks from {r['paragraphs']:,} {r['source']} paragraphs; replicas carry noise of norm "
        f"{r['noise']}; {r['questions_per_size']} warm questions per size, {r['recall_queries']} recall queries; "
        f"flat limit {r['flat_limit']:,}. Times in ms.\n\n" + table(head, rows) + "\n\n" + provenance(d)
    )


def scaling_tables(d: dict) -> str:
    """docs/scaling.md: local FAISS store vs the Milvus endpoint per size, then embedding on Ray."""
    r = d["results"]
    head = [
        "chunks",
        "store",
        "retrieval p50 / p95 ms",
        "dense / BM25 / fetch p50 ms",
        "dense recall@10 vs exact",
        "gold hit@10",
        "BM25 top-10 agreement",
        "query process RSS MB",
        "server RSS MB",
        "write s (rows/s)",
    ]
    rows = []
    for size in r["sizes"]:
        for key, name in (("local_faiss", "local FAISS"), ("milvus_lite", "Milvus (Lite)")):
            x = size[key]
            rows.append(
                [
                    f"{size['chunks']:,}",
                    name,
                    f"{x['retrieval_ms']['p50_ms']:.1f} / {x['retrieval_ms']['p95_ms']:.1f}",
                    f"{x['dense_ms']['p50_ms']:.1f} / {x['lexical_ms']['p50_ms']:.1f} / {x['fetch_ms']['p50_ms']:.2f}",
                    f"{x['dense_recall_at_10_vs_exact']:.3f}",
                    f"{x['gold_paragraph_hit_at_10']:.3f}",
                    f"{size['bm25_top10_agreement']:.3f}" if key == "milvus_lite" else "—",
                    f"{x['query_process_rss_after_load_mb']:.0f} ({x['query_process_peak_rss_mb']:.0f})",
                    f"{x['server_rss_mb']:.0f}" if "server_rss_mb" in x else "— (in the query process)",
                    f"{x['index_write_s']:.1f}" + (f" ({x['rows_per_s']:,.0f})" if "rows_per_s" in x else ""),
                ]
            )
    out = [provenance(d), "", table(head, rows)]
    ix = r.get("indexing")
    if ix:
        out += ["", f"Embedding {ix['chunks']} product-sized chunks (mean {ix['mean_chars']:.0f} characters):", ""]
        irows = [["in process (sentence-transformers, all cores)", ix["in_process_sentence_transformers"]["chunks_per_s"], "—", "—"]]
        for w in (1, 2):
            x = ix[f"ray_{w}_workers"]
            irows.append(
                [
                    f"Ray, {w} worker{'s' if w > 1 else ''} (ONNX Runtime, 1 CPU each)",
                    x["chunks_per_s_steady"],
                    x["chunks_per_s_end_to_end"],
                    f"{x['min_cosine_vs_sentence_transformers']:.4f}",
                ]
            )
        out.append(
            table(
                ["embedding", "chunks/s (steady)", "chunks/s with Ray start and model load", "min cosine vs sentence-transformers"], irows
            )
        )
    return "\n".join(out)


def baseline_tables(d: dict) -> str:
    r = d["results"]
    rows = []
    for stage in ("embed", "search", "read", "total"):
        p, b = r["product"]["latency"][stage], r["baseline"]["latency"][stage]
        rows.append(
            [
                stage,
                p["p50_ms"],
                b["p50_ms"],
                f"{r['speedup_p50'].get(stage, float('nan')):.2f}×",
                p["mean_ms"],
                b["mean_ms"],
                f"{r['speedup_mean'].get(stage, float('nan')):.2f}×",
            ]
        )
    q = table(
        ["", "EM", "F1", "engine"],
        [
            ["product", r["product"]["exact"], r["product"]["f1"], r["product"]["engine"]],
            ["baseline", r["baseline"]["exact"], r["baseline"]["f1"], r["baseline"]["engine"]],
        ],
    )
    return (
        f"{r['questions']} SQuAD v1.1 dev questions over {r['chunks']} chunks, top_k {r['top_k']}. Same retrieved passages: "
        f"{r['same_retrieved_passages_pct']}%; same answer text: {r['same_answer_text_pct']}%.\n\n"
        + table(
            ["stage", "product p50 ms", "baseline p50 ms", "speed-up p50", "product mean ms", "baseline mean ms", "speed-up mean"], rows
        )
        + "\n\n"
        + q
        + "\n\n"
        + provenance(d)
    )


def fusion_tables(d: dict) -> str:
    r = d["results"]
    t, c, dev = r["train"], r["train"]["chosen"], r["dev"]
    equal = t["grid"].get("w=1.0 k=60")
    train_rows = [[f"dense {c['dense_weight']}, k {c['rrf_k']} (chosen)", *c["recall"].values()]]
    if equal:
        train_rows.append(["equal weights, k 60", *equal.values()])
    ks = list(c["recall"])
    return (
        f"Embedder `{r.get('embedder', 'auto')}`. Chosen on {t['questions']} questions of {t['articles']} SQuAD train articles "
        f"({t['documents']} paragraph documents), best recall@1, then recall@5, over {len(t['grid'])} (dense weight, k) pairs:\n\n"
        + table(["fusion", *[f"recall{k}" for k in ks]], train_rows)
        + f"\n\nThen read off on SQuAD v1.1 dev: {dev['questions']} questions over {dev['documents']} paragraph documents "
        f"({dev['chunks']} chunks), the same two ranked lists for every row:\n\n"
        + table(["retrieval", *[f"recall{k}" for k in ks]], [[name, *x.values()] for name, x in dev["recall"].items()])
        + "\n\n"
        + provenance(d)
    )


def pdf_pages_tables(d: dict) -> str:
    r = d["results"]
    rows = [
        ["text extraction alone", r["extract_s"], r["extract_pages_per_s"], "—"],
        ["whole build (extraction, chunking, embedding, index)", r["build_s"], r["build_pages_per_s"], r["chunks_per_s"]],
    ]
    return (
        f"A {r['pages']}-page PDF ({r['pdf_mb']} MB, {r['characters']:,} characters of text), {r['chunks']} chunks; {r['note']}.\n\n"
        + table(["step", "seconds", "pages/s", "chunks/s"], rows)
        + "\n\n"
        + provenance(d)
    )


def ocr_tables(d: dict) -> str:
    r = d["results"]
    t, s = r["text_pdf"], r["scanned_pdf"]
    rows = [
        ["text PDF (its text layer)", t["f1"], t["right_page"], t["right_document"], t["build_s"], "—"],
        [f"scanned copy (OCR at {r['ocr_dpi']} dpi)", s["f1"], s["right_page"], s["right_document"], s["build_s"], s["build_pages_per_s"]],
        ["scanned / text", f"{r['f1_ratio']}%", f"{r['right_page_ratio']}%", "", "", ""],
    ]
    sweep = [[x["engine"], x["pages_per_s"], x["cpu_s_per_page"], x["word_f1"]] for x in r["by_dpi"]]
    skipped = f" Skipped: {'; '.join(s['skipped'])}." if s.get("skipped") else ""
    return (
        f"{r['pages']} pages, scanned at {r['scan_dpi']} dpi (grayscale JPEG pictures, no text layer); "
        f"{t['questions']} answerable questions; F1 and shares in percent, always-answer.{skipped}\n\n"
        + table(["documents", "F1", "right page", "right document", "build s", "pages/s"], rows)
        + f"\n\nOCR alone on {r['sweep']} (word F1 of each page's OCR text against its text layer):\n\n"
        + table(["engine, render dpi", "pages/s (wall)", "CPU s/page", "word F1"], sweep)
        + "\n\n"
        + provenance(d)
    )


def nonwiki_tables(d: dict) -> str:
    r = d["results"]
    rows = [[name, x["recall@1"], x["recall@5"], x["answer_right"]] for name, x in r["by_retrieval"].items()]
    sizes = "; ".join(f"index `{k}`: {v['documents']} documents, {v['chunks']} chunks" for k, v in r["indexes"].items())
    return (
        f"{r['questions']} hand-written questions; {sizes}. Percent of questions; top_k 5 for the answer.\n\n"
        + table(["retrieval", "recall@1", "recall@5", "best answer right"], rows)
        + "\n\n"
        + provenance(d)
    )


def kinds_tables(d: dict) -> str:
    """Per kind of document and per reader folder: what a person sees, and how well the confidence is calibrated."""
    head = ["reader", "kind", "questions (unanswerable)", "shown F1", "always-answer F1", "right document", "abstains when unanswerable",
            "answers shown (single-answer)", "single-answer without a wrong extra", "ECE"]  # fmt: skip
    rows = []
    for name, r in d["results"]["readers"].items():
        for kind, m in r["kinds"].items():
            rows.append([name, kind, f"{m['questions']} ({m['unanswerable']})", f"{m['shown_f1']:.1f}", f"{m['always_f1']:.1f}",
                         f"{m['right_document']:.1f}", f"{m['abstention']:.1f}", f"{m['mean_shown']:.2f} ({m['single_mean_shown']:.2f})",
                         f"{m['single_no_wrong_extra']:.1f}", f"{m['ece']:.3f}"])  # fmt: skip
    lat = "; ".join(f"{n} {r['latency_ms_p50']} ms" for n, r in d["results"]["readers"].items())
    return (
        "The test split of each question set (split by document; the confidence is fitted on the other half), and SQuAD v2.0 "
        "dev part a's test articles. F1 over the answerable questions (shown: an abstention scores 0); percent; ECE over all "
        f"questions (P(best answer right) against F1 >= 0.5). Warm p50 per question: {lat}.\n\n"
        + table(head, rows)
        + "\n\n![Reliability of the confidence per kind](reliability.png)\n\n"
        + provenance(d)
    )


def chat_tables(d: dict) -> str:
    """Follow-ups asked with the conversation, alone (no memory) and as a person rewrote them (the ceiling)."""
    r, s = d["results"], d["results"]["summary"]
    head = ["asked", "questions", "shown F1", "always-answer F1", "right document", "abstains when unanswerable"]
    names = {"first": "first turns", "with_history": "follow-ups with the conversation", "alone": "follow-ups alone",
             "standalone": "follow-ups as rewritten by a person (ceiling)"}  # fmt: skip
    rows = [[label, s[k]["questions"], s[k]["shown_f1"], s[k]["always_f1"], s[k]["right_document"], s[k]["abstention"]]
            for k, label in names.items()]  # fmt: skip
    lat = s["latency_ms_p50"]
    return (
        f"{r['conversations']} conversations, {r['follow_ups']} follow-ups. With the conversation / ceiling: "
        f"**{s['ratio_with_history_to_ceiling']}** (alone: {s['ratio_alone_to_ceiling']}); first turns identical with an empty "
        f"history: {s['first_turns_identical']}. Warm p50: resolve {lat['resolve']} ms; a whole answer {lat['answer_with_history']} ms "
        f"with history, {lat['answer_alone']} ms without.\n\n" + table(head, rows) + "\n\n" + provenance(d)
    )


def serve_api_tables(d: dict) -> str:
    """The HTTP API under load with logins on, a rebuild halfway."""
    r = d["results"]
    lat, rb = r["latency_s"], r["rebuild"]
    head = ["clients", "seconds", "requests", "errors", "requests/s", "p50 s", "p95 s", "p99 s", "max s", "p95 s during the rebuild"]
    row = [r["clients"], r["seconds"], r["requests"], r["errors"], r["throughput_rps"], lat["p50"], lat["p95"], lat["p99"], lat["max"]]
    return (
        table(head, [[*row, r["during_rebuild"]["p95_s"]]])
        + f"\n\nThe rebuild (a document added, POST /api/rebuild by a writer) took {rb['seconds']} s: {rb['summary']}; the new document "
        f"answered right after: {rb['new_document_answered']}. Server concurrency {r['server_concurrency']}.\n\n" + provenance(d)
    )


def upload_tables(d: dict) -> str:
    r = d["results"]
    rows = [
        [
            f.get("round", 1),
            f["file"] + (" (first upload after start)" if f["first_upload_after_start"] else ""),
            f["kb"],
            f["qa_index_s"],
            f["upload_to_cited_answer_s"],
            f["target_s"],
            "yes" if f["within_target"] else "**no**",
        ]
        for f in r["files"]
    ]
    verdict = "every file within it" if r["all_within_target"] else "**not every file within it**"
    launches = r["server_launch_s"] if isinstance(r["server_launch_s"], list) else [r["server_launch_s"]]
    return (
        f"Target: {r['target']}; {verdict}. Each round is a fresh server (ready {', '.join(map(str, launches))} s after it "
        f"started); {r['note']}.\n\n"
        + table(["round", "file", "KB", "`qa index` s", "drop to cited answer s", "target s", "within"], rows)
        + "\n\n"
        + provenance(d)
    )


def plot(results: Path, dest: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = _load(results / "scale.json")
    lat = _load(results / "latency.json")
    if not scale and not lat:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    if scale:
        sizes = scale["results"]["sizes"]
        x = [s["chunks"] for s in sizes]
        for stage, style in (("total", "o-"), ("read", "s--"), ("search", "^-"), ("embed", "v:")):
            ax1.plot(x, [s["worker"]["warm"][stage]["p50_ms"] for s in sizes], style, label=f"{stage} p50 (scale.py)")
        ax1.plot(x, [s["worker"]["warm"]["total"]["p95_ms"] for s in sizes], "o:", color="grey", label="total p95 (scale.py)")
        ax2.plot(x, [s["search_ms_product_index"] for s in sizes], "o-", label="FAISS, index the product picks")
        ax2.plot(x, [s["search_ms_exact_flat"] for s in sizes], "s--", label="FAISS, exact flat")
        ax2b = ax2.twinx()
        ax2b.plot(x, [s["worker"]["peak_rss_mb"] for s in sizes], "d-.", color="tab:red", label="peak RSS (MB)")
        ax2b.set_ylabel("peak RSS of the query process (MB)", color="tab:red")
        ax2b.legend(loc="lower right", fontsize=8)
        for s in sizes:
            ax2.annotate(
                s["faiss"].replace("Index", ""),
                (s["chunks"], s["search_ms_product_index"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, 4),
            )
    if lat:
        for name, v in lat["results"]["indexes"].items():
            ax1.plot([v["chunks"]], [v["warm"]["warm"]["total"]["p50_ms"]], "k*", markersize=11)
            ax1.annotate(
                f"{name} (latency.py)",
                (v["chunks"], v["warm"]["warm"]["total"]["p50_ms"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(5, -10),
            )
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel="corpus size (chunks)",
        ylabel="warm time per question (ms)",
        title="Question latency vs corpus size (top_k 5)",
    )
    ax2.set(
        xscale="log",
        yscale="log",
        xlabel="corpus size (chunks)",
        ylabel="one FAISS search, 50 neighbours (ms)",
        title="Vector search and memory vs corpus size",
    )
    for ax in (ax1, ax2):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
    m = (scale or lat)["machine"]
    fig.suptitle(f"{m['cpu_model']}, {m['cores']} cores — made by bench/report.py from bench/results/", fontsize=9)
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest, dpi=110)
    return dest


def scoped_tables(d: dict) -> str:
    """Recall within the question's own documents in the full index, against those documents indexed alone."""
    r = d["results"]
    head = ["kind", "questions", "within @1", "within @5", "alone @1", "alone @5", "whole index @5", "within − alone @5", "same top 5"]
    rows = [[kind, m["questions"], m["within@1"], m["within@5"], m["alone@1"], m["alone@5"], m["everything@5"],
             f"{m['within_minus_alone@5']:+.1f}", m["same_top5"]]
            for kind, m in [*r["kinds"].items(), ("pooled", r["pooled"])]]  # fmt: skip
    met = "met" if r["target_met"] else "**not met**"
    return (
        f"Recall in percent; full index {r['full_index']['documents']:,} documents, {r['full_index']['chunks']:,} chunks; "
        f"{r['scopes']} scopes indexed alone. Target (recall@5 within >= alone, every kind and pooled): {met}.\n\n"
        + table(head, rows)
        + "\n\n"
        + provenance(d)
    )


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


MAKERS = {
    "reader": reader_tables,
    "open_qa": open_qa_tables,
    "latency": latency_tables,
    "interpolation": interpolation_tables,
    "reader_speed": reader_speed_tables,
    "heldout_readers": heldout_readers_tables,
    "ranking": ranking_tables,
    "indexing": indexing_tables,
    "scale": scale_tables,
    "baseline": baseline_tables,
    "scaling": scaling_tables,
    "fusion": fusion_tables,
    "pdf_pages": pdf_pages_tables,
    "ocr": ocr_tables,
    "nonwiki": nonwiki_tables,
    "kinds": kinds_tables,
    "chat": chat_tables,
    "scoped": scoped_tables,
    "serve_api": serve_api_tables,
    "upload": upload_tables,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=common.RESULTS)
    p.add_argument("--doc", type=Path, nargs="+", default=DOCS, help="the pages whose markers are filled")
    p.add_argument("--plot", type=Path, default=PLOT)
    args = p.parse_args()
    texts = {doc: doc.read_text(encoding="utf-8") for doc in args.doc if doc.exists()}
    for path in sorted(args.results.glob("*.json")):
        d = _load(path)
        make = MAKERS.get(d.get("benchmark", "")) if isinstance(d, dict) else None
        if make is None:
            continue  # not one of ours (or not a benchmark results file)
        name = path.stem
        block = f"<!-- bench:{name} -->\n{make(d)}\n<!-- /bench:{name} -->"
        pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
        docs = [doc for doc, text in texts.items() if pattern.search(text)]
        for doc in docs:
            texts[doc] = pattern.sub(lambda _m, b=block: b, texts[doc])
        if not docs:
            print(f"no marker for {name} in {', '.join(map(str, args.doc))}; tables printed here instead:\n{block}\n")
    for doc, text in texts.items():
        if doc.read_text(encoding="utf-8") != text:  # pages whose tables did not change are left alone
            doc.write_text(text, encoding="utf-8")
            print(f"updated {doc}")
    made = plot(args.results, args.plot)
    if made:
        print(f"drew {made}")


if __name__ == "__main__":
    main()
