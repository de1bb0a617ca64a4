"""The Milvus store against a real Milvus-compatible server (Milvus Lite's gRPC server on a free local
port), driven through the CLI as a person would: the same answers as the local store, incremental
rebuilds that touch only the changed document, a killed rebuild, servers sharing one store while it
is rebuilt, clear errors, and embedding on a local Ray cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import build_until, run_qa, stop_process
from tests.integration.test_serve_load import ASKED
from tests.integration.test_ui import ServerProcess, free_port

FERRY = "The ferry to Holmvik leaves at 06:40 every weekday.\n"
NATO = "Who is the NATO Secretary General?"
RAY_ENV = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": os.urandom(16).hex()}
FERRY_Q = "When does the ferry to Holmvik leave?"


def _wait_for(what: str, ok, proc: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 120) -> None:
    """Poll `ok()` until it holds; fail with the process's log if it dies or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not ok():
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up:\n{log.read_text()[-3000:] if log else ''}")
        time.sleep(0.2)


class MilvusServer:
    """`milvus-lite server` in a subprocess, with its data in a temporary folder."""

    def __init__(self, data: Path, log: Path):
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--port", str(self.port)],
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
        )
        _wait_for("milvus-lite", self._answers, self.proc, log)

    def _answers(self) -> bool:
        from qa.milvus_store import milvus_client

        try:
            milvus_client(f"127.0.0.1:{self.port}", timeout=1).list_collections()
            return True
        except Exception:
            return False

    def url(self, name: str) -> str:
        return f"milvus://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def milvus(tmp_path_factory, index_dir):
    """One server for the module, and a private model cache seeded with the local index's export
    (the same content-addressed folder, so no test pays for exporting it again)."""
    root = tmp_path_factory.mktemp("milvus")
    cache = root / "models"
    shutil.copytree(index_dir / "models", cache)
    old = os.environ.get("QA_MODEL_CACHE")
    os.environ["QA_MODEL_CACHE"] = str(cache)
    server = MilvusServer(root / "data", root / "server.log")
    yield server
    server.stop()
    if old is None:
        os.environ.pop("QA_MODEL_CACHE", None)
    else:
        os.environ["QA_MODEL_CACHE"] = old


def _ask(store: str, question: str, *extra: str) -> dict:
    r = run_qa("ask", question, "--json", "--store", store, *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _index(seeds: Path, store: str, *extra: str, env: dict | None = None) -> str:
    r = run_qa("index", "--seeds", str(seeds), "--store", store, "-q", *extra, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _rows(store: str) -> dict[int, dict]:
    """Every chunk row the server holds, any version: id -> doc_id, born, dead."""
    from qa.backends import open_store

    s = open_store(store)
    return {r["id"]: r for r in s.query_all(s.chunks_c, "id >= 0", ["id", "doc_id", "born", "dead"])}


def test_seed_questions_give_the_same_answers_and_offsets_as_the_local_store(milvus, seeds_dir, index_dir, pipeline):
    from qa.pipeline import QAPipeline

    url = milvus.url("same")
    assert _index(seeds_dir, url).startswith("+3 added, 0 changed, 0 removed")
    for q in ASKED[:3]:  # the CLI, as people script it
        local = run_qa("ask", q, "--json", "--index", str(index_dir))
        assert local.returncode == 0, local.stderr
        assert _ask(url, q) == json.loads(local.stdout)
    remote = QAPipeline(url, seeds_dir)
    for q in ASKED:  # every seed question, retrieval included
        want, got = pipeline(q), remote(q)
        assert got.to_json() == want.to_json(), q
        assert [(p.document, p.start, p.end) for p in got.passages] == [(p.document, p.start, p.end) for p in want.passages], q
        for a in got.answers:
            assert remote.document_text(a.document, got.version)[a.start : a.end] == a.text


def test_incremental_add_change_and_remove_touch_only_that_documents_rows(milvus, seeds_dir, tmp_path):
    from qa.backends import open_store
    from qa.milvus_store import ALIVE

    seeds = tmp_path / "seeds"
    shutil.copytree(seeds_dir, seeds)
    url = milvus.url("incr")
    _index(seeds, url)
    before = _rows(url)
    v1 = open_store(url).open()

    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    assert _index(seeds, url).startswith("+1 added, 0 changed, 0 removed, 10 chunks reused, 1 embedded")
    after = _rows(url)
    assert {i: after[i] for i in before} == before  # not one row of the other documents was rewritten
    new = [r for i, r in after.items() if i not in before]
    assert [(r["doc_id"], r["born"], r["dead"]) for r in new] == [("ferry.txt", 2, ALIVE)]
    a = _ask(url, FERRY_Q)["answers"][0]
    assert a["document"] == "ferry.txt" and "06:40" in a["text"] and FERRY[a["start"] : a["end"]] == a["text"]
    assert v1.document_text("ferry.txt") is None and "ferry.txt" not in v1.documents  # an open version keeps its view

    (seeds / "harbour.html").write_text("<p>The lighthouse at Port Elwyn was built in 1880 by Ada Quayle.</p>", encoding="utf-8")
    assert _index(seeds, url).startswith("+0 added, 1 changed, 0 removed")
    third = _rows(url)
    for i, r in after.items():
        assert third[i] == ({**r, "dead": 3} if r["doc_id"] == "harbour.html" else r)
    assert {r["doc_id"] for i, r in third.items() if i not in after} == {"harbour.html"}
    assert _ask(url, "Who built the lighthouse at Port Elwyn?")["answers"][0]["text"] == "Ada Quayle"

    (seeds / "ferry.txt").unlink()
    assert _index(seeds, url).startswith("+0 added, 0 changed, 1 removed")
    assert _rows(url) == {i: ({**r, "dead": 4} if r["doc_id"] == "ferry.txt" else r) for i, r in third.items()}
    assert all(a["document"] != "ferry.txt" for a in _ask(url, FERRY_Q)["answers"])
    assert "Stoltenberg" in _ask(url, NATO)["answers"][0]["text"]


def test_a_killed_rebuild_leaves_the_previous_version_answering(milvus, seeds_dir, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(seeds_dir, seeds)
    url = milvus.url("killed")
    _index(seeds, url)
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    proc = build_until(seeds, url, "writing index: switching", "kill")  # every row written, the switch not made
    proc.communicate(timeout=300)
    assert proc.returncode == -9
    assert all(a["document"] != "ferry.txt" for a in _ask(url, FERRY_Q)["answers"])
    assert "Stoltenberg" in _ask(url, NATO)["answers"][0]["text"]
    # the next build takes over the dead builder's lock at once (same host, process gone) and undoes its rows
    assert _index(seeds, url).startswith("+1 added, 0 changed, 0 removed, 10 chunks reused, 1 embedded")
    assert "06:40" in _ask(url, FERRY_Q)["answers"][0]["text"]
    assert [r["doc_id"] for r in _rows(url).values()].count("ferry.txt") == 1  # the killed build's row is gone


@pytest.mark.slow
def test_two_servers_answer_from_one_store_while_a_third_process_rebuilds_it(milvus, seeds_dir, tmp_path):
    from gradio_client import Client

    seeds = tmp_path / "seeds"
    shutil.copytree(seeds_dir, seeds)
    url = milvus.url("shared")
    _index(seeds, url)
    servers = []
    try:
        for n in range(2):
            servers.append(ServerProcess(seeds, url, tmp_path / f"server{n}.log"))
        clients = [Client(s.url, verbose=False) for s in servers]
        (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        go = tmp_path / "go"
        builder = build_until(seeds, url, "writing index: switching", "pause", go)
        assert "AT-STEP" in builder.stdout.readline()  # the third process holds the lock, its rows written, not switched
        busy = run_qa("index", "--seeds", str(seeds), "--store", url, "-q", env={"QA_LOCK_WAIT": "0.5"})
        assert busy.returncode == 1 and "another `qa index`" in busy.stderr, busy.stderr
        for c in clients:
            assert "Stoltenberg" in c.predict(NATO, 5, api_name="/ask")["answers"][0]["text"]
        go.touch()
        out, err = builder.communicate(timeout=300)
        assert builder.returncode == 0 and "+1 added" in out, err
        for c in clients:  # still answering, from the version each opened (kept on the server)
            assert "Stoltenberg" in c.predict(NATO, 5, api_name="/ask")["answers"][0]["text"]
        assert "06:40" in _ask(url, FERRY_Q)["answers"][0]["text"]  # a new process sees the new version
        assert "+0 added" in clients[0].predict(api_name="/rebuild")  # a server's rebuild moves it to the live version
        assert "06:40" in clients[0].predict(FERRY_Q, 5, api_name="/ask")["answers"][0]["text"]
    finally:
        for s in servers:
            s.stop()


def test_server_down_foreign_collection_or_bad_url_exit_2_with_one_clear_line(milvus, seeds_dir):
    from pymilvus import DataType, MilvusClient

    from qa.milvus_store import milvus_client

    down = f"milvus://127.0.0.1:{free_port()}"
    for args in (["ask", NATO], ["index", "--seeds", str(seeds_dir)]):
        r = run_qa(*args, "--store", down, timeout=60)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "cannot reach the Milvus server" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr

    client = milvus_client(f"127.0.0.1:{milvus.port}")
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    client.create_collection("foreign_chunks", schema=schema)
    for args in (["ask", NATO], ["index", "--seeds", str(seeds_dir)]):
        r = run_qa(*args, "--store", milvus.url("foreign"))
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "foreign_chunks" in r.stderr and "another schema" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert [f["name"] for f in client.describe_collection("foreign_chunks")["fields"]] == ["id", "vector"]  # left as it was
    assert not {"foreign_docs", "foreign_meta", "foreign_lock"} & set(client.list_collections())

    for bad in ("milvus://", "milvus://127.0.0.1:99999", "milvus://127.0.0.1:1/bad-name!", "redis://127.0.0.1:1"):
        r = run_qa("ask", NATO, "--store", bad)
        assert r.returncode == 2 and r.stderr.startswith("Error:") and "Traceback" not in r.stderr, (bad, r.stderr)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A head and one worker node, one CPU each, started with `ray start --block` (stopped by their own pid)."""
    root = tmp_path_factory.mktemp("ray")
    # ray's own files in a short path: its socket paths must stay under AF_UNIX's 107 bytes, which a
    # deep pytest temp folder (pytest-xdist's per-worker one) exceeds
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray-"))
    port = free_port()
    ray = str(Path(sys.executable).parent / "ray")
    common = ["--block", "--num-cpus=1", "--object-store-memory=300000000", "--node-ip-address=127.0.0.1"]
    # token auth with a token of its own: the same on every node whatever ~/.ray holds
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **RAY_ENV}
    procs = []
    try:
        for name, args in (
            ("head", ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={ray_tmp}"]),
            ("worker", [f"--address=127.0.0.1:{port}"]),
        ):
            log = root / f"{name}.log"
            procs.append(subprocess.Popen([ray, "start", *args, *common], stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env))
            _wait_for(f"ray {name}", lambda log=log: "Ray runtime started" in log.read_text(), procs[-1], log)
        yield f"127.0.0.1:{port}"
    finally:
        for p in reversed(procs):
            stop_process(p, 60)
        shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.mark.slow
def test_index_with_embedding_on_a_two_node_ray_cluster(milvus, ray_cluster, seeds_dir, index_dir):
    url = milvus.url("ray")
    # two one-CPU actors on two one-CPU nodes: one runs on each node, or the build would never finish
    r = run_qa("index", "--seeds", str(seeds_dir), "--store", url, "--ray", ray_cluster, "--ray-workers", "2", env=RAY_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("+3 added, 0 changed, 0 removed, 0 chunks reused, 10 embedded"), r.stdout
    for q in ASKED[:3]:  # ONNX vectors on the workers, sentence-transformers locally: the same answers
        want = json.loads(run_qa("ask", q, "--json", "--index", str(index_dir)).stdout)
        cited = [[(a["document"], a["start"], a["end"]) for a in out["answers"]] for out in (_ask(url, q), want)]
        assert cited[0] == cited[1], q


def test_asked_within_a_document_milvus_filters_inside_its_search_as_the_local_store(milvus, tmp_path, index_dir):
    """A `doc_key` filter expression in both of Milvus' searches: the chosen document answers past a
    better-scoring distractor, with the very passages and answers the local store gives."""
    from qa.backends import open_store
    from qa.errors import NoMatchingDocuments
    from qa.indexer import build_index
    from qa.pipeline import QAPipeline
    from tests.test_scope import CHOSEN, DISTRACTOR, QUESTION, build_scope_index

    seeds, index = build_scope_index(tmp_path, index_dir)
    url = milvus.url("scope")
    build_index(open_store(url), seeds)
    local = QAPipeline(index, seeds)
    remote = QAPipeline(url, seeds, reader=local.reader)
    assert remote(QUESTION).answers[0].document == DISTRACTOR
    for patterns in ([CHOSEN], ["faq/"], ["*.md", "ferry.txt"]):
        want, got = local(QUESTION, documents=patterns), remote(QUESTION, documents=patterns)
        assert got.to_json() == want.to_json(), patterns
        assert [(p.document, p.start, p.end) for p in got.passages] == [(p.document, p.start, p.end) for p in want.passages]
    assert "Quayle" in remote(QUESTION, documents=[CHOSEN]).answers[0].text
    with pytest.raises(NoMatchingDocuments, match="'nope'"):
        remote(QUESTION, documents=["nope"])
