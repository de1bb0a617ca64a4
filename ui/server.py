"""The one web server `qa serve` runs: the browser chat (Gradio), the HTTP API (`/api`) and, with
`--mcp`, the MCP endpoint (`/mcp`), all behind one gate and one users file.

The gate is deny-by-default: with logins on, a request reaches a route only when it carries a
login (the browser's session cookie from Gradio's login page, or `Authorization: Bearer TOKEN`),
except the few paths that draw the login page itself (`PUBLIC`: the page shell, its scripts and
styles, and Gradio's /config, which says only "log in" without a login). A route added later is
closed until someone lists it here. Failed logins (the browser form, a wrong token, a wrong
password) count per user name and per client address (`qa.users.LoginLimiter`); too many get 429.

Without a users file the server only binds to loopback (`check_exposure`): nothing leaves the
machine without a login.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.users import LoginLimiter, User, Users, password_hasher

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_API_BODY = 1_000_000  # bytes: a question, a history of 50 turns and a documents filter fit many times over
MAX_LOGIN_BODY = 16_384
# What the login page needs before a login (GET/HEAD): none of it holds document text.
PUBLIC_EXACT = {
    "/",
    "/config",
    "/config/",
    "/theme.css",
    "/favicon.ico",
    "/robots.txt",
    "/manifest.json",
    "/logout",
    "/gradio_api/theme.css",
}
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
LOGIN_PATHS = {"/login", "/login/"}
LOG_IN = "log in first: the browser login page, or Authorization: Bearer TOKEN (`qa users token NAME`)"
AUTH_MESSAGE = "Log in with your qa user name and password. After {n} failed tries a name waits {m} minutes."


class ServeProblem(QAError):
    """`qa serve` cannot start as asked; the message says how to set it up."""

    exit_code = 2


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, share: bool, users: Users | None, no_auth: bool, warn: bool = True) -> None:
    """Refuse to serve beyond loopback (or through a share link) without logins, unless --no-auth says so."""
    if users is not None:
        if not len(users):
            raise ServeProblem(f"the users file {users.path} has no users: add one with `qa users add NAME --users {users.path}`")
        return
    if is_loopback(host) and not share:
        return
    where = "a public share link" if share else f"{host} (beyond this machine)"
    if no_auth:
        if not warn:
            return
        print(f"WARNING: serving {where} WITHOUT logins (--no-auth): anyone who can reach it reads your documents.", file=sys.stderr)
        return
    raise ServeProblem(
        f"refusing to serve {where} without logins. Create users with `qa users add NAME --role write --users users.json`, "
        "then start with `qa serve --users users.json` (or set QA_USERS); or pass --no-auth to serve without logins anyway"
    )


@dataclass
class Gate:
    """Who is asking: from a bearer token, HTTP Basic (name and password) or the browser's Gradio cookie."""

    users: Users
    by_name: LoginLimiter = field(default_factory=lambda: LoginLimiter(max_failures=5, window_s=300))
    # higher: people behind one proxy or NAT share an address, and one of them mistyping must not lock out the rest
    by_address: LoginLimiter = field(default_factory=lambda: LoginLimiter(max_failures=20, window_s=300))

    def locked(self, address: str, name: str | None) -> float:
        """Seconds until this address (and this name, when one is given) may try again; 0: now."""
        return max(self.by_address.retry_after(address), self.by_name.retry_after(name) if name else 0.0)

    def failed(self, address: str, name: str | None) -> None:
        self.by_address.failed(address)
        if name:
            self.by_name.failed(name)

    def succeeded(self, name: str) -> None:
        self.by_name.succeeded(name)

    browser_sessions: Callable[[str], str | None] = lambda cookie_header: None  # set once Gradio is mounted

    def login(self, name: str, password: str) -> bool:
        """Gradio's login form (its auth callable): the gate has already checked the lockouts."""
        return self.users.check_password(name, password) is not None

    def identify(self, scope: Scope) -> tuple[User | None, str | None]:
        """(the user, None), or (None, why) when credentials were sent and are wrong, or (None, None) when none were."""
        auth = _header(scope, b"authorization")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            user = self.users.check_token(value.strip())
            return (user, None) if user else (None, "the bearer token is not valid (make one with `qa users token NAME`)")
        if scheme.lower() == "basic" and value.strip():
            credentials = _basic_credentials(scope)
            if credentials is None:
                return None, "the Basic credentials do not decode"
            user = self.users.check_password(*credentials)
            return (user, None) if user else (None, "wrong user name or password")
        cookie = _header(scope, b"cookie")
        session = self.browser_sessions(cookie) if cookie else None
        user = self.users.get(session) if session else None  # a removed user's browser session ends too
        return user, None


class GateMiddleware:
    """Deny-by-default authentication, failed-login limits and body-size limits, in front of every route."""

    def __init__(self, app: ASGIApp, gate: Gate | None, upload_limit: int = MAX_API_BODY, api_prefixes: tuple[str, ...] = ("/api", "/mcp")):
        self.app, self.gate, self.api_prefixes = app, gate, api_prefixes
        self.upload_limit = upload_limit  # POST /api/documents: files up to the size the indexer reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path: str = scope.get("path", "")
        is_api = path.startswith(self.api_prefixes)
        if scope["type"] == "http" and (is_api or path in LOGIN_PATHS):
            upload = path == "/api/documents" and scope.get("method") == "POST"
            limit = self.upload_limit if upload else MAX_API_BODY if is_api else MAX_LOGIN_BODY
            body = await _read_body(receive, limit)
            if body is None:
                return await _json(send, 413, f"the request body is over {limit} bytes" + (": send fewer files at once" if upload else ""))
            receive = _replay(body, receive)
        else:
            body = b""
        gate = self.gate
        if gate is None:  # logins off (loopback): everyone may do everything
            scope.setdefault("state", {})["user"] = User("local", "write")
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("?", 0))[0]
        if path in LOGIN_PATHS and scope.get("method") == "POST":
            return await self._browser_login(scope, receive, send, body, address)
        if is_api and scope.get("method") not in ("GET", "HEAD") and not _header(scope, b"authorization"):
            # a browser's cookie opens /api's docs and lists, but changes need a token: no cross-site form can send one
            return await _json(send, 401, "send Authorization: Bearer TOKEN (`qa users token NAME`) with this request", challenge=True)
        name = _basic_name(scope)  # a password sent with the request: locked names and addresses are not even checked
        if name and (wait := gate.locked(address, name)):
            return await _json(send, 429, f"too many failed logins: try again in {wait:.0f} s", retry=wait)
        user, wrong = await _in_thread(gate.identify, scope)
        if wrong is not None:
            if wait := gate.locked(address, name):
                return await _json(send, 429, f"too many failed logins: try again in {wait:.0f} s", retry=wait)
            gate.failed(address, name)
            return await _json(send, 401, wrong, challenge=True)
        if user is None:
            if scope.get("method") in ("GET", "HEAD") and (path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)):
                return await self.app(scope, receive, send)
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _json(send, 401, LOG_IN, challenge=True)
        if name:
            gate.succeeded(name)
        scope.setdefault("state", {})["user"] = user
        return await self.app(scope, receive, send)

    async def _browser_login(self, scope: Scope, receive: Receive, send: Send, body: bytes, address: str) -> None:
        assert self.gate is not None
        from starlette.requests import Request

        try:
            form = await Request(scope, _replay(body, receive)).form()
            name = str(form.get("username") or "").strip()
        except Exception:  # a malformed form: Gradio answers it as it does
            name = ""
        wait = self.gate.locked(address, name or None)
        if wait:
            return await _json(send, 429, f"too many failed logins: try again in {wait:.0f} s", retry=wait)
        status: dict[str, int] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, _replay(body, receive), watch)
        if status.get("code") == 200:
            self.gate.succeeded(name)
        elif status.get("code") in (400, 401):
            self.gate.failed(address, name or None)


def _header(scope: Scope, name: bytes) -> str:
    return dict(scope.get("headers") or []).get(name, b"").decode("latin-1")


def _basic_credentials(scope: Scope) -> tuple[str, str] | None:
    """(name, password) of an `Authorization: Basic` header; None without one, or when it does not decode."""
    scheme, _, value = _header(scope, b"authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except ValueError:
        return None
    return name, password


def _basic_name(scope: Scope) -> str | None:
    credentials = _basic_credentials(scope)
    return credentials[0] or None if credentials else None


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Password checks cost tens of ms on purpose (Argon2): off the event loop."""
    import anyio

    return await anyio.to_thread.run_sync(fn, *args)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is (or says it is) over `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the client's own messages (its disconnect, for a stream)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _json(send: Send, status: int, message: str, retry: float = 0, challenge: bool = False) -> None:
    headers = [(b"content-type", b"application/json")]
    if retry:
        headers.append((b"retry-after", str(int(retry) + 1).encode()))
    if challenge:
        headers.append((b"www-authenticate", b'Bearer realm="qa"'))
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _gradio_sessions(gradio_app: Any) -> Callable[[str], str | None]:
    """The user name behind a browser's Gradio login cookie (Gradio keeps its sessions in `tokens`)."""

    def user(cookie_header: str) -> str | None:
        cookies = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except Exception:
            return None
        for key in (f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}"):
            if key in cookies:
                name = gradio_app.tokens.get(cookies[key].value)
                if name:
                    return name
        return None

    return user


def build_server_app(
    server: Any, blocks: Any, users: Users | None, mcp: bool = False, host: str = "127.0.0.1", **gradio_kwargs: Any
) -> Any:
    """One FastAPI app: /api, optionally /mcp, and the Gradio page at /, behind the gate; `host` is the
    address it listens on (MCP checks a loopback server's Host header against DNS rebinding)."""
    import gradio as gr
    from fastapi import FastAPI

    from qa.ui.api import api_router, json_errors

    gate = Gate(users) if users is not None else None
    lifespans: list[Callable[[], contextlib.AbstractAsyncContextManager[None]]] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for enter in lifespans:
                await stack.enter_async_context(enter())
            yield

    app = FastAPI(
        title="qa-docs",
        summary="Ask questions of your documents; answers are exact, cited spans.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    json_errors(app)
    app.include_router(api_router(server))
    if mcp:  # MCP over streamable HTTP at /mcp (qa.ui.agent_tools), its lifespan entered by this app's
        try:
            from qa.ui.agent_tools import mcp_http_app, require_mcp

            require_mcp()
            mcp_app, mcp_lifespan = mcp_http_app(server, host=host)
        except ImportError as e:
            raise ServeProblem(f"--mcp needs the mcp package: pip install 'qa-docs[mcp]' ({e})") from None
        lifespans.append(mcp_lifespan)
        app.mount("/mcp", mcp_app)  # behind the gate: a bearer token (any role); the app's own route is its "/"
        app.add_middleware(_SlashAfter, prefix="/mcp")
    if gate is not None:
        n, m = gate.by_name.max_failures, int(gate.by_name.window_s // 60)
        gradio_kwargs.update(auth=gate.login, auth_message=AUTH_MESSAGE.format(n=n, m=m))
    app = gr.mount_gradio_app(app, blocks, path="/", **gradio_kwargs)
    if gate is not None:
        gradio_app = next(r.app for r in app.routes if getattr(r, "path", None) == "" and hasattr(r, "app"))
        gate.browser_sessions = _gradio_sessions(gradio_app)
    # outermost: runs before every route and Gradio's own middleware; an upload's body is its files (up to
    # Server.max_upload_bytes in all) and their form fields
    app.add_middleware(GateMiddleware, gate=gate, upload_limit=server.max_upload_bytes + MAX_LOGIN_BODY)
    return app


class _SlashAfter:
    """`/mcp` reaches the app mounted there as `/mcp/` does, without a redirect (MCP clients post to the bare URL)."""

    def __init__(self, app: ASGIApp, prefix: str):
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == self.prefix:
            scope = {**scope, "path": self.prefix + "/", "raw_path": (self.prefix + "/").encode()}
        await self.app(scope, receive, send)


class Running:
    """A server running in a thread: `url`, and `close()` to stop it."""

    def __init__(self, app: Any, host: str, port: int):
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uvicorn.run, name="qa-serve", daemon=True)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"

    def start(self, timeout: float = 60) -> Running:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServeProblem(f"the server did not start on {self.url} (is the port in use?)")
            time.sleep(0.05)
        return self

    def share(self) -> None:
        """A public link through Gradio's share service (needs the internet); the local server runs on without one."""
        import secrets

        from gradio import networking

        host, port = self.uvicorn.config.host, self.uvicorn.config.port
        local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        try:
            link = networking.setup_tunnel(local, port, secrets.token_urlsafe(32), None, None)
            print(f"qa serve: public share link {link}", flush=True)
        except Exception as e:  # no internet, or the share service refused
            print(f"qa serve: no share link ({type(e).__name__}: {e})", file=sys.stderr, flush=True)

    def wait(self) -> None:
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.uvicorn.should_exit = True
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(10)


def open_users(path: Path | str | None) -> Users | None:
    if path is None:
        return None
    password_hasher()  # the serve extra, named when missing, before the models load
    return Users(path).load(must_exist=True)
