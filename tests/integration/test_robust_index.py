"""Robustness, the index: a broken index is named and never answers; crashes and races lose nothing.

`qa ask` on a missing, truncated or corrupted index (or one from another format or
model) exits 2 with one line that says what is wrong and `qa index --full`; the next
`qa index` rebuilds. `qa index` killed at any moment leaves the previous index answering,
and two builders at once leave one valid index.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broken_index import BREAKAGES, NEEDS_FULL_REBUILD, garbage, version_dir
from tests.conftest import ROOT, build, build_until, open_version, run_qa

QUESTION = "Who is the NATO Secretary General?"
SEED_DOCS = {"harbour.html", "nato-russia-council.txt", "notes/aurora station.md"}


def _assert_refused(proc, words: list[str]) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""  # never an answer from a broken index
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert "qa index" in lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])


def _answers_from(index: Path, seeds: Path, docs: set[str] = SEED_DOCS) -> dict:
    """`qa ask --json` works, and every answer is an exact span of a document of this index."""
    proc = run_qa("ask", QUESTION, "--json", "--index", str(index), "--seeds", str(seeds), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    store = open_version(index)
    assert not out["no_answer"] and "Stoltenberg" in out["answers"][0]["text"], out  # answered, and right
    for a in out["answers"]:
        assert a["document"] in docs
        assert store.document_text(a["document"])[a["start"] : a["end"]] == a["text"]
    return out


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_ask_on_a_broken_index_names_the_problem_and_the_fix(fresh, breakage):
    seeds, index = fresh
    breaks, words = BREAKAGES[breakage]
    breaks(index)
    proc = run_qa("ask", QUESTION, "--json", "--index", str(index), "--seeds", str(seeds), timeout=120)
    _assert_refused(proc, words)
    if breakage in NEEDS_FULL_REBUILD or breakage.startswith(("bm25", "query")):
        assert "qa index --full" in proc.stderr


def test_qa_index_says_it_rebuilt_a_corrupt_index_and_ask_works_again(fresh):
    seeds, index = fresh
    garbage(version_dir(index) / "vectors.faiss")
    proc = run_qa("index", "--seeds", str(seeds), "--index", str(index), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "full rebuild" in proc.stdout
    assert "note: the previous index could not be used, so everything was rebuilt: vector index" in proc.stderr
    _answers_from(index, seeds)


# ---- crashes and races ----------------------------------------------------------------------


def _new_text(path: Path, paragraphs: int) -> None:
    """Varied text that takes a while to embed: about one chunk per two paragraphs."""
    rng = random.Random(paragraphs)
    words = (
        "harbour lighthouse keeper ship cargo crew tide quay ferry storm lamp beacon log master pilot "
        "dock anchor rope sail mast gull net herring salt boat"
    ).split()
    path.write_text(
        "\n\n".join(f"Entry {i}. " + " ".join(rng.choice(words) for _ in range(60)) + "." for i in range(paragraphs)), encoding="utf-8"
    )


def _index_cmd(seeds: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "index", "--seeds", str(seeds), "--index", str(index), "-q"]


def _assert_previous_index_intact(index: Path, seeds: Path, version: str) -> None:
    store = open_version(index)
    assert store.dir.name == version and set(store.documents) == SEED_DOCS
    store.bm25()
    _answers_from(index, seeds)


def test_qa_index_killed_at_several_moments_leaves_the_previous_index_answering(fresh):
    """Killed while reading, when embedding starts, mid-embedding, and while writing the new version."""
    seeds, index = fresh
    version = version_dir(index).name
    _new_text(seeds / "logbook.txt", 200)  # ~100 chunks: several embedding batches of 16
    for step in ("reading", "embedding", "embedded 16/", "embedded 48/", "writing index"):
        proc = build_until(seeds, index, step, "kill")
        assert proc.wait(timeout=300) == -signal.SIGKILL, (step, proc.communicate())
        _assert_previous_index_intact(index, seeds, version)
    proc = run_qa("index", "--seeds", str(seeds), "--index", str(index), "-q", timeout=600)
    assert proc.returncode == 0, proc.stderr
    store = open_version(index)
    assert set(store.documents) == SEED_DOCS | {"logbook.txt"}
    assert not list((index / "versions").glob(".building-*"))
    assert len(list((index / "versions").iterdir())) <= 2  # the live version and the one before


def test_qa_index_killed_at_each_step_of_a_build(fresh):
    """Deterministic kills: while reading, before writing, and after writing the new version but before the swap.

    The change is a removal, so these builds need no embedding model (mid-embedding kills are the timed test's).
    """
    seeds, index = fresh
    version = version_dir(index).name
    (seeds / "harbour.html").unlink()
    for step in ("reading", "writing index", "done"):  # "done": the new version is live, the build not yet reported
        proc = build_until(seeds, index, step, "kill")
        assert proc.wait(timeout=300) == -signal.SIGKILL, (step, proc.communicate())
        if step != "done":
            _assert_previous_index_intact(index, seeds, version)
    # killed after the swap: the new version is whole and answers
    assert version_dir(index).name != version
    _answers_from(index, seeds, SEED_DOCS - {"harbour.html"})
    swapped = version_dir(index).name
    report = build(seeds, index)
    assert not report.changes.any and report.chunks_embedded == 0
    assert version_dir(index).name == report.version
    assert not list((index / "versions").glob(".building-*")) and not list(index.glob("CURRENT.tmp*"))
    assert {p.name for p in (index / "versions").iterdir()} == {swapped, report.version}  # orphans dropped
    _answers_from(index, seeds, SEED_DOCS - {"harbour.html"})


def test_two_qa_index_at_once_one_waits_or_says_busy_and_one_valid_index_results(fresh, tmp_path):
    seeds, index = fresh
    _new_text(seeds / "logbook.txt", 20)
    go = tmp_path / "go"
    first = build_until(seeds, index, "embedding", "pause", go)  # holds the lock, paused before embedding
    assert first.stdout.readline().startswith("AT-STEP embedding"), first.communicate()
    # a second builder that will not wait exits with one clear line
    busy = run_qa("index", "--seeds", str(seeds), "--index", str(index), "-q", env={"QA_LOCK_WAIT": "0"})
    assert busy.returncode == 1, busy.stderr
    assert busy.stderr.strip().splitlines() == [f"Error: another `qa index` is building {index}; try again when it finishes"]
    # one that waits starts after the first finishes and finds nothing left to do
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    waiter = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "index", "--index", str(index), "-q"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _answers_from(index, seeds)  # questions are answered meanwhile, from the previous version
    go.touch()
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = waiter.communicate(timeout=300)
    assert first.returncode == 0 and waiter.returncode == 0, (err1, err2)
    assert out1.startswith("+1 added") and out2.startswith("+0 added, 0 changed, 0 removed"), (out1, out2)
    store = open_version(index)
    assert set(store.documents) == SEED_DOCS | {"logbook.txt"}
    assert not list((index / "versions").glob(".building-*"))
    _answers_from(index, seeds, SEED_DOCS | {"logbook.txt"})
