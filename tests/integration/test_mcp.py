"""MCP as agents use it: the official `mcp` client starts `qa mcp` over stdio, and talks streamable
HTTP to a real `qa serve --mcp` at /mcp; both list the tools, ask, and get verbatim spans at the
offsets they cite (with logins and tokens: tests/integration/test_serve_auth.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from tests.conftest import ROOT, run_qa
from tests.integration.test_ui import ServerProcess

pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install -e '.[mcp]'")

from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

SHERMAN = "What did Sherman say?"
NATO = "Who is the NATO Secretary General?"
UNANSWERED = "What is the boiling point of mercury?"  # the seeds don't say (as test_cli's no-answer case)


def document_text(seeds: Path, doc: str, pipeline) -> str:
    """A text file as the person wrote it (the seed file itself); an HTML file's text as extracted."""
    if pipeline.version.documents[doc]["kind"] == "text":
        return (seeds / doc).read_text(encoding="utf-8")
    return pipeline.document_text(doc)


async def exercise(session: ClientSession, seeds: Path, pipeline) -> None:
    """What an agent does: read the tools, ask, check each cited span against the seed file, list documents."""
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"ask", "list_documents"}
    ask = tools["ask"]
    assert "verbatim" in (ask.description or "") and "no_answer" in (ask.description or "")
    assert set(ask.input_schema["properties"]) == {"question", "top_k", "documents"} and ask.input_schema["required"] == ["question"]
    assert ask.output_schema is not None and {"no_answer", "answers"} <= set(ask.output_schema["properties"])

    outs = {}
    for question, no_answer in ((SHERMAN, False), (NATO, False), (UNANSWERED, True)):
        res = await session.call_tool("ask", {"question": question})
        assert not res.is_error, res.content
        out = outs[question] = res.structured_content
        assert out is not None and out["question"] == question and out["no_answer"] is no_answer and out["answers"]
        for a in out["answers"]:
            doc = document_text(seeds, a["document"], pipeline)
            assert doc[a["start"] : a["end"]] == a["text"]
            assert doc[a["passage_start"] : a["passage_start"] + len(a["passage"])] == a["passage"]
            assert a["line"] == doc.count("\n", 0, a["start"]) + 1 and a["page"] is None
            assert 0.0 <= a["confidence"] <= 1.0
        # the same answers as `qa ask --json` gives (its `score` is `confidence` here)
        expected = pipeline(question).to_json()["answers"]
        assert [(a["text"], a["document"], a["start"], a["end"], a["confidence"]) for a in out["answers"]] == [
            (a["text"], a["document"], a["start"], a["end"], a["score"]) for a in expected
        ]
    assert len(outs[SHERMAN]["answers"]) > 1  # each of her statements, cited
    assert "Stoltenberg" in outs[NATO]["answers"][0]["text"]
    assert len(outs[UNANSWERED]["answers"]) == 1  # no answer: the closest guess alone, flagged

    within = await session.call_tool("ask", {"question": NATO, "documents": ["nato-russia-council.txt"]})
    assert not within.is_error and within.structured_content is not None
    assert {a["document"] for a in within.structured_content["answers"]} == {"nato-russia-council.txt"}
    assert within.structured_content["documents"] == ["nato-russia-council.txt"]
    nowhere = await session.call_tool("ask", {"question": NATO, "documents": ["no-such-*.pdf"]})
    assert nowhere.is_error and "no-such-*.pdf" in nowhere.content[0].text

    bad = await session.call_tool("ask", {"question": "?!"})
    assert bad.is_error and "the question has no letters or digits" in bad.content[0].text

    listed = (await session.call_tool("list_documents", {})).structured_content
    assert listed is not None
    docs = {d["id"]: d for d in listed["documents"]}
    indexed = pipeline.version.documents
    assert set(docs) == set(indexed) and "nato-russia-council.txt" in docs
    nato = docs["nato-russia-council.txt"]
    assert nato["kind"] == "text" and nato["size"] == (seeds / "nato-russia-council.txt").stat().st_size
    assert nato["pages"] is None and nato["chunks"] == indexed["nato-russia-council.txt"]["chunks"][1] > 0


def test_qa_mcp_over_stdio(index_dir, seeds_dir, pipeline):
    """A desktop agent's way: it starts `qa mcp` and speaks MCP on its stdin/stdout."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qa.cli", "mcp", "--seeds", str(seeds_dir), "--index", str(index_dir)],
        env={"HF_HUB_OFFLINE": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        cwd=ROOT,
    )

    async def run() -> None:
        with open(os.devnull, "w") as errlog:  # the server's messages; stdout is the protocol alone
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                await exercise(session, seeds_dir, pipeline)

    anyio.run(run)


def test_http_endpoint_at_mcp(pipeline, seeds_dir, index_dir, tmp_path):
    """A remote agent's way: streamable HTTP at a real `qa serve --mcp`'s /mcp (and /mcp/). On loopback,
    without logins (the serve tests give it a token beyond loopback), a request naming another host
    (a DNS-rebinding page's) is refused."""
    import httpx2

    server = ServerProcess(seeds_dir, index_dir, tmp_path / "serve.log", args=("--mcp",))
    url = server.url + "mcp"

    async def run() -> None:
        async with httpx2.AsyncClient(timeout=120) as http:
            async with streamable_http_client(url, http_client=http) as (read, write), ClientSession(read, write) as session:
                await exercise(session, seeds_dir, pipeline)
            async with streamable_http_client(url + "/", http_client=http) as (read, write), ClientSession(read, write) as session:
                await session.initialize()  # /mcp/ too (the mount)
                assert {t.name for t in (await session.list_tools()).tools} == {"ask", "list_documents"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}}}
        async with httpx2.AsyncClient(headers={"Host": "rebound.example"}, timeout=30) as rebound:
            r = await rebound.post(url, json=init, headers={"Accept": "application/json, text/event-stream"})
            assert r.status_code == 421 and "host" in r.text.lower(), r.text

    try:
        anyio.run(run)
    finally:
        server.stop()


def test_qa_mcp_without_the_extra_names_it(tmp_path):
    """Without the mcp package, `qa mcp` says which extra to install, before loading anything."""
    hide = tmp_path / "sitecustomize.py"
    hide.write_text("import sys\nsys.modules['mcp'] = None  # as if the mcp extra were not installed\n", encoding="utf-8")
    r = run_qa("mcp", "--index", str(tmp_path / "none"), env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"})
    assert r.returncode == 2, r.stderr
    assert "pip install 'qa-docs[mcp]'" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_no_index_is_a_tool_error_that_says_so(tmp_path):
    """Served before there is an index: each tool call is an error whose message says what is missing."""
    from mcp import Client

    from qa.pipeline import QAPipeline
    from qa.ui.agent_tools import build_mcp
    from qa.ui.app import Server

    (tmp_path / "seeds").mkdir()
    server = build_mcp(Server(QAPipeline(tmp_path / "index", tmp_path / "seeds")))

    async def run() -> None:
        async with Client(server) as client:  # in-process: no model loads, the index is checked first
            for tool, args in (("ask", {"question": NATO}), ("list_documents", {})):
                res = await client.call_tool(tool, args)
                assert res.is_error and "no index" in res.content[0].text.lower(), res.content

    anyio.run(run)
