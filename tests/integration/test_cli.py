"""The `qa` command as people script it: JSON schema, human output, exit codes, eval."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import RERANKED, run_qa
from tests.squad_fixture import write_tiny_squad


def _ask(index, seeds, *extra):
    return run_qa("ask", *extra, "--index", str(index), "--seeds", str(seeds))


def test_ask_json_schema_and_exact_offsets(index_dir, seeds_dir, pipeline):
    r = run_qa("ask", "Who is the NATO Secretary General?", "--json", "--index", str(index_dir), "--seeds", str(seeds_dir))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"question", "no_answer", "answers"}
    assert out["question"] == "Who is the NATO Secretary General?" and out["no_answer"] is False
    assert out["answers"] and "Stoltenberg" in out["answers"][0]["text"]
    for a in out["answers"]:
        assert set(a) == {"text", "score", "document", "start", "end", "line", "passage", "passage_start"}
        assert 0.0 <= a["score"] <= 1.0
        doc = pipeline.document_text(a["document"])
        assert doc[a["start"] : a["end"]] == a["text"]
        assert doc[a["passage_start"] : a["passage_start"] + len(a["passage"])] == a["passage"]
        assert a["line"] == doc.count("\n", 0, a["start"]) + 1
    scores = [a["score"] for a in out["answers"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_human_output_cites_document_and_line(index_dir, seeds_dir):
    r = _ask(index_dir, seeds_dir, "When did the meeting begin?")
    assert r.returncode == 0, r.stderr
    assert "10:07" in r.stdout and "nato-russia-council.txt:" in r.stdout and "[[" in r.stdout


def test_unanswerable_question_says_so_and_exits_zero(index_dir, seeds_dir):
    r = _ask(index_dir, seeds_dir, "What is the boiling point of mercury?", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["no_answer"] is True


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", "   "], "empty"),
        (["ask", "?!?"], "no letters"),
        (["ask", "hello", "--index", "/nonexistent/index"], "qa index"),
        (["index", "--seeds", "/nonexistent/seeds", "--index", "/tmp/x"], "does not exist"),
        (["ask", "hello", "--top-k", "0"], "top-k"),
    ],
)
def test_bad_input_exits_2_with_one_line_message(args, message):
    r = run_qa(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr


def test_qa_index_prints_changes_and_skips(tmp_path, seeds_dir):
    import shutil

    seeds = tmp_path / "s"
    shutil.copytree(seeds_dir, seeds)
    r = run_qa("index", "--seeds", str(seeds), "--index", str(tmp_path / "i"))
    assert r.returncode == 0, r.stderr
    assert "+3 added, 0 changed, 0 removed, 0 chunks reused" in r.stdout
    assert "skipped image.png" in r.stderr
    (seeds / "new.md").write_text("# New\n\nThe ferry leaves at 06:40 every weekday.", encoding="utf-8")
    r = run_qa("index", "--seeds", str(seeds), "--index", str(tmp_path / "i"))
    assert r.stdout.startswith("+1 added, 0 changed, 0 removed")


def test_stale_index_is_reported_and_rebuild_flag_refreshes_it(fresh):
    seeds, index = fresh
    (seeds / "ferry.txt").write_text("The ferry to Holmvik leaves at 06:40 every weekday.", encoding="utf-8")
    r = _ask(index, seeds, "When does the ferry to Holmvik leave?", "--json")
    assert r.returncode == 0
    assert "out of date" in r.stderr and "+1 added" in r.stderr
    assert "out of date" in json.loads(r.stdout)["warnings"][0]
    r = _ask(index, seeds, "When does the ferry to Holmvik leave?", "--json", "--rebuild")
    out = json.loads(r.stdout)
    assert "rebuilt index" in r.stderr and "warnings" not in out
    assert out["answers"][0]["document"] == "ferry.txt" and "06:40" in out["answers"][0]["text"]


def test_env_vars_set_default_folders(index_dir, seeds_dir, tmp_path):
    r = run_qa(
        "ask", "Who is the NATO Secretary General?", "--json", cwd=tmp_path, env={"QA_INDEX": str(index_dir), "QA_SEEDS": str(seeds_dir)}
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["answers"]


def test_ask_does_not_import_torch(index_dir, seeds_dir):
    code = (
        "import sys; from qa.cli import cli; sys.argv=['qa','ask','Who is the NATO Secretary General?','--index',"
        f"{str(index_dir)!r},'--seeds',{str(seeds_dir)!r}]\n"
        "try:\n    cli()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "print('IMPORTED', bad)"
    )
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert "IMPORTED []" in r.stdout, r.stdout + r.stderr


def test_eval_reader_only_and_open_mode(tmp_path):
    v1 = write_tiny_squad(tmp_path / "tiny.json")
    r = run_qa("eval", str(v1), "--reader-only", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["questions"] == 6 and rep["mode"] == "reader-only" and rep["f1"] >= 50
    r = run_qa("eval", str(v1), "--json", "--index", str(tmp_path / "idx"), env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["mode"] == "open" and rep["documents"] == 4
    assert set(rep["recall"]) == {"dense", "bm25", "hybrid"} | RERANKED and rep["recall"]["hybrid"]["@5"] == 100.0
    v2 = write_tiny_squad(tmp_path / "tiny2.json", impossible=True)
    rep = json.loads(run_qa("eval", str(v2), "--reader-only", "--json", "--limit", "8").stdout)
    assert rep["questions"] == 8 and {"HasAns", "NoAns"} <= set(rep)


def test_eval_a_question_set_over_your_own_documents_writes_predictions_and_calibration(tmp_path, seeds_dir):
    """`qa eval FILE.jsonl --seeds DIR --predictions OUT`: one line per question with the best answer even
    when the product abstains, and the report's calibration error."""
    questions = [
        {
            "id": "q1",
            "question": "Who is the NATO Secretary General?",
            "answers": ["Jens Stoltenberg"],
            "document": "nato-russia-council.txt",
        },
        {"id": "q2", "question": "Who built the lighthouse at Port Elwyn?", "answers": ["Thomas Quayle"], "document": "harbour.html"},
        {"id": "q3", "question": "What colour is the lighthouse's lamp room?", "answers": []},
    ]
    qfile = tmp_path / "mine.jsonl"
    qfile.write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    preds = tmp_path / "out.jsonl"
    args = ("eval", str(qfile), "--seeds", str(seeds_dir), "--index", str(tmp_path / "idx"), "--predictions", str(preds), "--json")
    r = run_qa(*args)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["questions"] == 3 and rep["answerable"] == 2 and 0 <= rep["ece"] <= 1 and rep["right_document"] == 100.0
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [p["id"] for p in lines] == ["q1", "q2", "q3"]
    assert all(set(p) == {"id", "answer", "confidence", "no_answer"} and 0 <= p["confidence"] <= 1 for p in lines)
    assert "Stoltenberg" in lines[0]["answer"] and "Quayle" in lines[1]["answer"] and lines[2]["answer"]  # a guess, even abstaining
    qfile.write_text(json.dumps(questions[0]) + "\n{not json\n", encoding="utf-8")
    bad = run_qa(*args)
    assert bad.returncode == 2 and f"{qfile}:2" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_index_remembers_its_seeds_folder_and_refuses_another_without_reseed(tmp_path, seeds_dir):
    """`qa index --seeds A --index X`, then `qa ask --index X --rebuild` from a folder with its own
    seeds/: X is still A's index; another folder takes `--reseed`, never ./seeds by accident."""
    import shutil

    a, index, elsewhere = tmp_path / "A", tmp_path / "X", tmp_path / "elsewhere"
    shutil.copytree(seeds_dir, a)
    (elsewhere / "seeds").mkdir(parents=True)
    (elsewhere / "seeds" / "other.txt").write_text("The tram to Saltvik opened in 1912.", encoding="utf-8")
    assert run_qa("index", "--seeds", str(a), "--index", str(index)).returncode == 0
    q = "Who is the NATO Secretary General?"
    r = run_qa("ask", q, "--index", str(index), "--rebuild", "--json", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert "rebuilt" not in r.stderr and "out of date" not in r.stderr  # A is unchanged: no rebuild, no false warning
    assert "Stoltenberg" in json.loads(r.stdout)["answers"][0]["text"]
    r = run_qa("index", "--index", str(index), cwd=elsewhere)  # no --seeds: the index's own folder
    assert r.returncode == 0 and r.stdout.startswith("+0 added, 0 changed, 0 removed"), (r.stdout, r.stderr)
    for cmd in (["index"], ["ask", q, "--rebuild"]):  # another folder is refused, and nothing changes
        r = run_qa(*cmd, "--seeds", "seeds", "--index", str(index), cwd=elsewhere)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "was built from" in r.stderr and "--reseed" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_qa("ask", q, "--index", str(index), "--json", cwd=elsewhere)
    assert "Stoltenberg" in json.loads(r.stdout)["answers"][0]["text"]
    r = run_qa("index", "--seeds", "seeds", "--index", str(index), "--reseed", cwd=elsewhere)  # meant: now it moves
    assert r.returncode == 0 and r.stdout.startswith("+1 added, 0 changed, 3 removed"), (r.stdout, r.stderr)


def test_several_answers_are_printed_numbered_with_their_citations(index_dir, seeds_dir, pipeline):
    q = "Which countries could get NATO combat units?"  # asks for several: the Baltic republics and Poland, Romania and Bulgaria (line 19)
    res = pipeline(q)
    assert not res.no_answer and len(res.answers) >= 2
    r = _ask(index_dir, seeds_dir, q)
    assert r.returncode == 0, r.stderr
    for n, a in enumerate(res.answers, 1):
        assert f"{n}. {a.text}" in r.stdout and f"{a.document}:{a.line}  [characters {a.start}-{a.end}]" in r.stdout


def test_cli_reports_a_bad_ranker_setting(tmp_path, index_dir):
    r = run_qa("ask", "Who founded the station?", "--index", str(index_dir), env={"QA_RANKER": str(tmp_path / "missing.json")})
    assert r.returncode == 2 and "QA_RANKER=" in r.stderr and "Traceback" not in r.stderr, r.stderr
