"""The HTTP JSON API under `/api`, on the same server (and the same users) as the browser chat.

`POST /api/ask` answers with exactly the `qa ask --json` object; `GET /api/documents` lists the seeds
folder's documents beside what the index holds of them, and the trash; `POST /api/rebuild`, `POST
/api/documents` (an upload), `DELETE /api/documents/{name}` (to the trash) and `POST
/api/trash/{id}/restore` change them (write role), each returning once the index answers from the change. Who is asking is decided before a
request gets here, by the server's gate (`qa.ui.server`), from a bearer token (`qa users token`);
these routes only check the role. Every error is JSON, `{"error": message}`, with its status:
400 a bad question or body, 401 no or a wrong login, 403 the role does not allow it, 409 a build is
running, 413 a body too large, 429 too many failed logins, 503 no index yet.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from gradio import Error as GradioError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.errors import BadQuestion, DocumentNotFound, DocumentRefused, IndexBusy, IndexProblem
from qa.pipeline import MAX_QUESTION_CHARS
from qa.ui.app import HISTORY_TURNS, Server
from qa.users import User

MAX_DOCUMENTS_FILTER = 1000  # documents one question may be limited to
MAX_HISTORY = 1000  # turns a client may send; the last HISTORY_TURNS are read, as the browser's /ask does


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain words.")
    top_k: int = Field(5, ge=1, le=100, description="Passages the reader reads.")
    history: list[dict[str, Any]] | None = Field(
        None,
        max_length=MAX_HISTORY,
        description=f"The conversation so far: the objects earlier /api/ask calls returned, oldest first (the last {HISTORY_TURNS} count).",
    )
    documents: list[Annotated[str, Field(min_length=1, max_length=1000)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_DOCUMENTS_FILTER,
        description="Answer only from these documents: names as listed, file names, globs (*.pdf) or folders (notes/).",
    )


class Error(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Error, "description": text}
    for code, text in {
        400: "A bad question or request body",
        401: "No login, or a wrong one",
        403: "The user's role does not allow it",
        413: "The request body is too large",
        429: "Too many failed logins: wait Retry-After seconds",
        503: "No index yet",
    }.items()
}

# Advertises the bearer scheme in the OpenAPI docs; the gate in qa.ui.server has checked it already.
bearer = HTTPBearer(auto_error=False, description="A token from `qa users token NAME`.")


def current_user(request: Request, _: Any = Depends(bearer)) -> User:
    user = getattr(request.state, "user", None)
    if user is None:  # the gate lets no one without a login through; this is the second lock
        raise HTTPException(401, "log in: send Authorization: Bearer TOKEN (a token from `qa users token NAME`)")
    return user


def writer(user: User = Depends(current_user)) -> User:
    if not user.can_write:
        raise HTTPException(403, f"user {user.name!r} has the read role; rebuilding and changing documents need the write role")
    return user


def _status(e: GradioError) -> tuple[int, str]:
    """`Server` raises gr.Error for the browser; the error it stands for (its context) decides the status."""
    cause = e.__context__
    if isinstance(cause, BadQuestion):
        return 400, str(cause)
    if isinstance(cause, IndexBusy):
        return 409, str(cause)
    if isinstance(cause, IndexProblem):
        return 503, str(cause)
    return 400, str(e)


def api_router(server: Server) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["qa"], dependencies=[Depends(current_user)], responses=ERRORS)
    limiter: dict[str, anyio.CapacityLimiter] = {}
    builds = anyio.CapacityLimiter(1)  # document changes wait for each other (the build lock would refuse them)

    def questions() -> anyio.CapacityLimiter:
        """As many questions at once as the browser chat answers (QA_UI_CONCURRENCY); the rest wait."""
        if "ask" not in limiter:
            limiter["ask"] = anyio.CapacityLimiter(server.pipeline.settings.concurrency)
        return limiter["ask"]

    @router.post("/ask", summary="Answer a question: the `qa ask --json` object")
    async def ask(body: AskRequest) -> dict[str, Any]:
        def answer() -> dict[str, Any]:
            return server.ask(body.question, body.top_k, body.history, documents=body.documents)

        try:
            return await anyio.to_thread.run_sync(answer, limiter=questions())
        except GradioError as e:
            code, message = _status(e)
            raise HTTPException(code, message) from None

    @router.get("/documents", summary="The documents: the seeds folder's files beside what the index holds, and the trash")
    def documents() -> dict[str, Any]:
        try:
            version = server.pipeline.version.name
        except IndexProblem as e:
            raise HTTPException(503, str(e)) from None
        return {"version": version, **server.list_documents()}

    async def changed(change: Any) -> dict[str, Any]:
        """A change to the documents, then the rebuild it needs (one build at a time, as /rebuild)."""
        try:
            return await anyio.to_thread.run_sync(change, limiter=builds)
        except DocumentNotFound as e:
            raise HTTPException(404, str(e)) from None
        except DocumentRefused as e:
            raise HTTPException(400, str(e)) from None
        except GradioError as e:
            code, message = _status(e)
            raise HTTPException(code, message) from None

    @router.post("/documents", summary="Add documents (write role): answerable when this returns", dependencies=[Depends(writer)])
    async def add_documents(
        files: Annotated[list[UploadFile], File(description="The files, as a multipart form's `files` fields.")],
        rename: Annotated[bool, Form(description="Give a taken name a free one (name (2).ext) instead of refusing it.")] = False,
    ) -> dict[str, Any]:
        """Each file is checked as the indexer reads it (kind, size, conversion in a bounded child process)
        before it enters the seeds folder; a refused one is listed with its reason and nothing else changes."""
        given = [(f.filename or "", await f.read()) for f in files]
        return await changed(lambda: server.add_documents(given, rename=rename))

    @router.delete("/documents/{name:path}", summary="Move a document to the trash (write role)", dependencies=[Depends(writer)])
    async def remove_document(name: str) -> dict[str, Any]:
        return await changed(lambda: server.remove_document(name))

    @router.post("/trash/{entry}/restore", summary="Put a removed document back (write role)", dependencies=[Depends(writer)])
    async def restore_document(entry: str) -> dict[str, Any]:
        return await changed(lambda: server.restore_document(entry))

    @router.post("/rebuild", summary="Refresh the index from the seeds folder (write role)", dependencies=[Depends(writer)])
    async def rebuild() -> dict[str, str]:
        try:
            return {"summary": await anyio.to_thread.run_sync(server.rebuild)}
        except GradioError as e:
            code, message = _status(e)
            raise HTTPException(code, message) from None

    return router


def json_errors(app: FastAPI) -> None:
    """Every error the API gives is `{"error": message}` with its status code."""

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    async def bad_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = [f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'body'}: {err.get('msg', 'invalid')}" for err in exc.errors()]
        return JSONResponse({"error": "bad request: " + "; ".join(parts[:5])}, status_code=400)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_request)
