"""`qa ask --doc` and `qa chat --doc` as people script them: a document by path, name, glob or folder
answers past a better-scoring distractor; a pattern that names nothing exits 2 and says what exists."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_qa
from tests.integration.test_chat import chat
from tests.test_scope import CHOSEN, DISTRACTOR, OTHER, QUESTION, build_scope_index


@pytest.fixture(scope="module")
def scope_index(tmp_path_factory, index_dir):
    return build_scope_index(tmp_path_factory.mktemp("scope-cli"), index_dir)


def _ask(scope_index, *extra: str):
    seeds, index = scope_index
    return run_qa("ask", QUESTION, "--index", str(index), "--seeds", str(seeds), *extra)


def test_ask_doc_by_name_glob_or_folder_answers_from_those_documents(scope_index):
    r = _ask(scope_index, "--json", "--doc", "port-elwyn.md")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["documents"] == [CHOSEN] and "Quayle" in out["answers"][0]["text"]
    assert {a["document"] for a in out["answers"]} == {CHOSEN}
    r = _ask(scope_index, "--doc", "*.md")  # the human output
    assert r.returncode == 0, r.stderr
    assert "Quayle" in r.stdout and f"{CHOSEN}:5" in r.stdout and DISTRACTOR not in r.stdout
    r = _ask(scope_index, "--json", "--doc", "faq/", "--doc", "notes")  # repeatable: the union
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["documents"] == [OTHER, DISTRACTOR, CHOSEN]


def test_ask_doc_that_names_nothing_exits_2_with_what_exists(scope_index):
    r = _ask(scope_index, "--json", "--doc", "notes/", "--doc", "lighthouse.md")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.startswith("Error: no document matches 'lighthouse.md'; the index holds faq/ferry.txt, faq/lighthouse.txt")


def test_chat_doc_keeps_every_turn_within_the_documents(scope_index):
    seeds, index = scope_index
    r = chat(index, seeds, [QUESTION, "What did Quayle say?"], "--json", "--doc", "notes")
    assert r.returncode == 0, r.stderr
    first, said = (json.loads(line) for line in r.stdout.splitlines())
    assert "Quayle" in first["answers"][0]["text"] and first["documents"] == [CHOSEN]
    assert [a["text"] for a in said["answers"]] == ["A harbour without a light is a harbour that buries its sons"]
    r = chat(index, seeds, [QUESTION], "--json", "--doc", "nope/")
    assert r.returncode == 2 and r.stdout == "" and "no document matches 'nope/'" in r.stderr
