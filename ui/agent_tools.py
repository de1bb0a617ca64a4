"""MCP: the documents as tools for an AI agent (`qa mcp` over stdio, `qa serve --mcp` over HTTP).

Two tools over the one `Server` (its pipeline, models loaded once): `ask`, the `qa ask --json`
answers as structured output, and `list_documents`. Their descriptions are written for the agent
that reads them: answers are verbatim spans of a document, and `no_answer` means the documents
don't say. The `mcp` package comes with the `mcp` extra and is imported only when a server is
built, so the base install and `qa ask` never need it (`require_mcp` says which extra to install,
before anything heavy loads).

This module holds no annotations-as-strings (`from __future__ import annotations`): the MCP SDK
reads the tools' signatures at run time to make their JSON schemas.
"""

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from importlib.metadata import version
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from qa.errors import USAGE, BadQuestion, IndexProblem, QAError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp

    from qa.pipeline import QAPipeline
    from qa.ui.app import Server

INSTALL = "pip install 'qa-docs[mcp]'"
INSTRUCTIONS = (
    "Answers questions from the user's own documents (a local folder indexed by qa-docs). Every answer is a "
    "verbatim span of one document, cited by document, line (and page for a PDF) and character offsets; "
    "quote it as it is. When `no_answer` is true the documents do not answer the question: say so instead "
    "of presenting the closest guess. Call list_documents to see what the documents are."
)
ASK_DESCRIPTION = """Answer a question from the user's indexed documents, with exact citations.

The answers are extractive: each answer's `text` is a verbatim span copied from a document (the
document's text from character `start` to `end`), never a paraphrase or a generated sentence. Quote it
as it is and cite `document`, `line` (and `page` for a PDF). `passage` is the text around the span
(it begins at character `passage_start`), to check the answer in its context. `confidence` is the
probability that the answer is right.

Several answers, best first, when the question asks for several ("Which countries ...", "What did X
say?": each statement, cited) or when a second is nearly as likely as the first.

No answer: when `no_answer` is true the documents do not say. The one answer listed is then only the
closest guess, below the confidence threshold: tell the user the documents don't answer the question
rather than presenting it as the answer.

Each call is a self-contained question: this tool keeps no conversation, so name people and things
instead of "he" or "it". `warnings` lists anything to know (a truncated question). A question that
cannot be asked (empty, no letters or digits) or a missing index is an error whose message says why."""
LIST_DESCRIPTION = """List the documents the index holds, to see what can be asked about.

Each document's `id` is its path inside the documents folder, exactly as `ask` cites it in `document`
(and as `ask`'s `documents` takes it, beside file names, globs and folders); `kind` is how it was read
(text, html, pdf, docx); `size` is the file's size in bytes; `pages` is a PDF's page count (null for
other kinds); `chunks` is how many passages of it are indexed."""


class MissingExtra(QAError, ImportError):
    """The `mcp` package is not installed; the message names the extra that brings it (an ImportError
    too, for callers that catch that)."""

    exit_code = USAGE


class Citation(BaseModel):
    """One answer: a verbatim span of a document and where it is."""

    text: str = Field(description="The answer, verbatim: the document's text from `start` to `end`.")
    document: str = Field(description="The document's id: its path inside the documents folder.")
    page: int | None = Field(None, description="1-based page of the answer in a PDF; null for other documents.")
    line: int = Field(description="1-based line of the answer's start in the document's text.")
    start: int = Field(description="Character offset of the answer's start in the document's text.")
    end: int = Field(description="Character offset just past the answer's end (text == document_text[start:end]).")
    passage: str = Field(description="The text around the answer, to read it in context.")
    passage_start: int = Field(description="Character offset of the passage's start in the document's text.")
    confidence: float = Field(description="Probability that the answer is right, 0 to 1.")


class Answers(BaseModel):
    """What `ask` returns: the answers, best first, and whether the documents answer at all."""

    question: str = Field(description="The question as it was asked.")
    no_answer: bool = Field(
        description="True when the documents do not answer the question: the one answer listed is then only "
        "the closest guess, below the confidence threshold, and should not be presented as the answer."
    )
    answers: list[Citation] = Field(description="Best first. With no_answer, the closest guess alone (or none).")
    documents: list[str] | None = Field(None, description="The ids of the documents it was asked within; null: every document.")
    warnings: list[str] = Field(default_factory=list, description="Anything to know about this answer (a truncated question).")


class Document(BaseModel):
    id: str = Field(description="Its path inside the documents folder, as `ask` cites it.")
    kind: str = Field(description="How it was read: text, html, pdf or docx.")
    size: int = Field(description="The file's size in bytes.")
    pages: int | None = Field(None, description="A PDF's page count; null for other kinds.")
    chunks: int = Field(description="How many passages of it are indexed.")


class DocumentList(BaseModel):
    documents: list[Document] = Field(description="Every indexed document, by id.")


def require_mcp() -> None:
    """Fail with the extra to install when the `mcp` package is missing (before any model loads)."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise MissingExtra(f"MCP needs the mcp extra: {INSTALL}") from None


def answers_of(obj: dict) -> Answers:
    """`Server.ask`'s object (the `qa ask --json` one) as the tool's output: `score` is `confidence`."""
    return Answers(
        question=obj["question"],
        no_answer=obj["no_answer"],
        answers=[Citation(**{k: v for k, v in a.items() if k != "score"}, confidence=a["score"]) for a in obj["answers"]],
        documents=obj.get("documents"),
        warnings=obj.get("warnings", []),
    )


def documents_of(documents: dict[str, dict]) -> DocumentList:
    """The index version's documents (id -> manifest entry) as `list_documents` shows them."""
    return DocumentList(
        documents=[
            Document(
                id=doc,
                kind=info.get("kind", "text"),
                size=info.get("size", 0),
                pages=len(info["pages"]) if info.get("pages") else None,
                chunks=info["chunks"][1] if info.get("chunks") else 0,  # [first chunk id, count]
            )
            for doc, info in sorted(documents.items())
        ]
    )


def build_mcp(server: "Server") -> "MCPServer":
    """The MCP server (the SDK's `MCPServer`, which was `FastMCP` before mcp 2) with the two tools over `server`."""
    require_mcp()
    import gradio as gr
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    # The SDK runs each call of a plain function in a worker thread; as many questions are read at
    # once as the browser chat allows (QA_UI_CONCURRENCY), the rest wait their turn.
    reading = threading.BoundedSemaphore(server.pipeline.settings.concurrency)
    mcp = MCPServer("qa-docs", version=version("qa-docs"), instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @mcp.tool(title="Ask the documents", description=ASK_DESCRIPTION, annotations=read_only, structured_output=True)
    def ask(
        question: Annotated[str, Field(description="The question, self-contained (names, not pronouns).")],
        top_k: Annotated[int, Field(ge=1, le=100, description="Passages to read; more finds answers spread wider, slower.")] = 5,
        documents: Annotated[
            list[str] | None,
            Field(
                description="Ask within these documents only: ids as list_documents gives them, file names, globs (*.pdf) "
                "or folders (notes/); each must match a document. Every document when omitted."
            ),
        ] = None,
    ) -> Answers:
        try:
            with reading:
                return answers_of(server.ask(question, top_k, documents=documents))
        except (BadQuestion, IndexProblem) as e:
            raise ToolError(str(e)) from None
        except gr.Error as e:  # Server.ask's errors, as the browser chat shows them
            raise ToolError(e.message) from None

    @mcp.tool(title="List the documents", description=LIST_DESCRIPTION, annotations=read_only, structured_output=True)
    def list_documents() -> DocumentList:
        try:
            return documents_of(server.pipeline.version.documents)
        except IndexProblem as e:
            raise ToolError(str(e)) from None

    return mcp


def mcp_http_app(server: "Server", host: str = "127.0.0.1") -> "tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]":
    """The streamable-HTTP endpoint as an ASGI app, and the lifespan its parent must enter.

    The app answers MCP at whatever path it is given: mounted at `/mcp` it serves `/mcp/`, so the
    parent sends a bare `/mcp` there too (`qa.ui.server` rewrites it; a route for `/mcp` would do). Stateless, JSON responses: each request
    stands alone (no session to keep, no event stream), as the two tools need. Starlette does not
    run a mounted app's lifespan, so the parent enters the returned one in its own (`async with
    lifespan(): yield`). `host` is the address the parent listens on: on a loopback one, requests
    must name a loopback Host (and Origin, when they send one), against DNS rebinding; on any other
    the check is off. Authentication is the parent's.
    """
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

    mcp = build_mcp(server)
    mcp.streamable_http_app(stateless_http=True, json_response=True, host=host)  # makes the session manager
    manager = mcp.session_manager
    return StreamableHTTPASGIApp(manager), manager.run


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Anything written to stdout (a library's print, a native library's message) goes to stderr,
    so the MCP client reading stdout sees nothing but the protocol."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_stdio(pipeline: "QAPipeline", watch: bool = False) -> None:
    """`qa mcp`: load the models once (building the index when there is none yet), then serve MCP
    on stdin/stdout until the client closes it; messages go to stderr."""
    require_mcp()
    with _stdout_to_stderr():
        from qa.ui.app import Server

        server = Server(pipeline)
        server.prepare()
        if watch:
            server.watch_seeds()
        mcp = build_mcp(server)
    print(f"qa mcp: ready on stdin/stdout ({server.index_location}, seeds {server.seeds})", file=sys.stderr, flush=True)
    try:
        mcp.run("stdio")
    finally:
        if server.watcher is not None:
            server.watcher.stop()


__all__ = ["build_mcp", "mcp_http_app", "run_stdio", "require_mcp", "MissingExtra", "Answers", "DocumentList"]
